"""Re-execute the chapters under other numerics and report every claim that fails.

    python tools/check_robustness.py                         # every setting, every chapter
    python tools/check_robustness.py --settings avx2 --chapters 01 03
    python tools/check_robustness.py --json robustness.json
    python tools/check_robustness.py --reader-seeds 0-4 --chapters 04 05   # claims counted over reader seeds

A claim of the text must hold on every reader's machine, not only on the one that stored the
outputs. Floating-point results change with the processor's instruction set and with the
number of threads a model trains on, so each setting below runs nbval over the chapters (the
test command's way: every hidden claim is strict) with a fresh, empty model cache, so that
every model is trained again under that setting:

* ``one-thread``: every model on one thread, as in the chapters' own runs, and the evaluation too
  (torch, OpenMP and MKL limited to one thread);
* ``two-threads``: every model on two threads (the chapters otherwise pin one per model; one
  worker process, so that two threads do not fight over the cores of a 2-core machine);
* ``avx2``: torch's kernels, MKL, oneDNN and NumPy's OpenBLAS limited to AVX2, as on a processor without
  AVX-512 (on such a processor this setting is the machine's own).

The report lists, per setting, the time, the cells that failed and the claim lines they
printed. Exit status 0 when nbval passed under every setting. It takes about as long as
``make nbval`` per setting: it is not part of the test command.

``--reader-seeds 0-4`` runs the chapters instead as readers who change the seed would, once per
reader seed N: ``$SUBCLASS_LIB_READER_SEED=N`` turns every seed s the library draws (each config's,
each seed of a sweep, chapter 5's teacher) into s + 1000 N, claims are in the reader's mode and every
claim is recorded (``$SUBCLASS_LIB_CLAIMS_LOG``). It reports, for every claim of every chapter, on how
many seeds it held, and exits non-zero if any claim failed on any seed, a chapter raised, or a
chapter seeds a generator itself (a seed the reader seed would not change). The seeds share one
model cache (its keys hold the reader seed).

The closing chapter (06) trains nothing: it reads chapters 1-5's models from the model cache. Under
``--reader-seeds`` it reads the default (shared) cache, so chapters 1-5 must have run there for each
reader seed; under the settings, whose caches start empty, name chapters 01-05 with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETTINGS: dict[str, dict[str, str]] = {
    "one-thread": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "SUBCLASS_LIB_THREADS": "1"},
    "two-threads": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "SUBCLASS_LIB_THREADS": "2",
                    "SUBCLASS_LIB_WORKERS": "1"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2",
             "OPENBLAS_CORETYPE": "Haswell"},
}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FAILED = re.compile(r"^FAILED (.+?)(?: - .*)?$", re.M)
_CLAIM = re.compile(r"claim not met in this run: .*")
_SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|error).*? in [\d.]+s.*?)\s*=*$", re.M)


#: Chapters that train nothing: they read the models of the chapters named (by prefix) from the model
#: cache, so those must run before them with the same cache (the closing chapter reads chapters 1-5's).
READS_FROM = {"06_what_passes.ipynb": ("01", "02", "03", "04", "05")}


@contextlib.contextmanager
def kept_files(folder: Path):
    """Put ``folder``'s files back as they were when the block ends: the chapters write figures
    into the checkout as they run (chapter 4's training animation), and a reader seed's or another
    setting's copy must not replace the one the book stores."""
    before = {f: f.read_bytes() for f in folder.rglob("*") if f.is_file()} if folder.is_dir() else {}
    try:
        yield
    finally:
        if folder.is_dir():
            for f in folder.rglob("*"):
                if f.is_file() and f not in before:
                    f.unlink()
        for f, data in before.items():
            if not f.exists() or f.read_bytes() != data:
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes(data)


def unmet_sources(chapters: list[Path]) -> list[str]:
    """For each chapter of ``chapters`` that only reads other chapters' models (:data:`READS_FROM`), the
    chapters it reads that do not run before it here: with a fresh model cache it would stop at once."""
    out = []
    for i, p in enumerate(chapters):
        before = [q.name for q in chapters[:i]]
        lacking = [n for n in READS_FROM.get(p.name, ()) if not any(b.startswith(n) for b in before)]
        if lacking:
            out.append(f"{p.name} reads the models of chapters {', '.join(lacking)}: run them before it "
                       f"(e.g. --chapters {' '.join(READS_FROM[p.name])} {p.name[:2]})")
    return out


def chapter_paths(names: list[str] | None) -> list[Path]:
    every = sorted((ROOT / "chapters").glob("*.ipynb"))
    if not names:
        return every
    out = []
    for n in names:
        hits = [p for p in every if p.name.startswith(n) or p.stem == n]
        if not hits:
            raise SystemExit(f"no chapter matches {n!r} (have: {', '.join(p.stem for p in every)})")
        out += [h for h in hits if h not in out]
    return sorted(out)


def _capability(env: dict) -> str:
    code = "import torch; print(torch.backends.cpu.get_cpu_capability(), torch.get_num_threads())"
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return res.stdout.strip() or res.stderr.strip()[-200:]


def run_setting(name: str, chapters: list[Path], keep_cache: Path | None = None, log_dir: Path | None = None) -> dict:
    """nbval over ``chapters`` with the setting's environment and a fresh model cache; the whole
    pytest log goes to ``log_dir/<setting>.log`` when ``log_dir`` is given."""
    env = dict(os.environ, **SETTINGS[name], SUBCLASS_LIB_CLAIMS="strict", PYTHONUNBUFFERED="1",
               NO_COLOR="1", PY_COLORS="0")
    with tempfile.TemporaryDirectory(prefix=f"robustness-{name}-") as tmp:
        env["SUBCLASS_LIB_CACHE"] = str(keep_cache / name if keep_cache else Path(tmp) / "models")
        capability = _capability(env)
        print(f"[{name}] {' '.join(f'{k}={v}' for k, v in SETTINGS[name].items())}  "
              f"(torch: capability, threads = {capability})", flush=True)
        cmd = [sys.executable, "-m", "pytest", "-q", "-ra", "--color=no", "-p", "no:cacheprovider", "--nbval-lax",
               "--nbval-current-env", "--nbval-cell-timeout=1800", *map(str, chapters)]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        took = time.perf_counter() - t0
    log = _ANSI.sub("", res.stdout + res.stderr)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / f"{name}.log").write_text(log)
    summary = _SUMMARY.findall(log)
    return {"setting": name, "env": SETTINGS[name], "torch": capability, "seconds": round(took, 1),
            "passed": res.returncode == 0, "summary": summary[-1] if summary else log.strip()[-300:],
            "failed_cells": _FAILED.findall(log), "claims": sorted(set(_CLAIM.findall(log)))}


#: Seeding calls in a chapter's code that a reader seed would not reach (the library's seeds go
#: through ``subclass_lib.train.run_seed``; a chapter seeds through the library, e.g. ``seed_everything``).
_OWN_SEED = re.compile(r"\b(?:manual_seed|np\.random\.seed|default_rng|random\.seed)\s*\(")


def unchanged_seeds(nb) -> list[int]:
    """Indices of a notebook's code cells that seed a random generator themselves, outside the
    library, so that a reader seed would not change them. Hidden check cells (``remove-cell``: a
    concept's few lines against the library's on random inputs) are not experiments and are skipped."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
            and "remove-cell" not in c.get("metadata", {}).get("tags", []) and _OWN_SEED.search(c.source)]


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5"`` -> [0, 2, 5]."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise ValueError(f"reader seeds: expected e.g. 0-4 or 0,2,5, got {text!r}")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    if not out or len(set(out)) != len(out):
        raise ValueError(f"reader seeds: expected distinct seeds, got {text!r}")
    return out


def _claim_ids(lines: list[dict]) -> list[tuple[str, dict]]:
    """Each recorded claim with an id that is the same on every seed: its label and, when the same
    label comes back (a claim in a loop), its occurrence."""
    seen: dict[str, int] = {}
    out = []
    for rec in lines:
        k = seen.get(rec["label"], 0)
        seen[rec["label"]] = k + 1
        out.append((rec["label"] if k == 0 else f"{rec['label']} (#{k + 1})", rec))
    return out


def run_reader_seeds(seeds: list[int], chapters: list[Path], keep_cache: Path | None = None,
                     log_dir: Path | None = None) -> dict:
    """Execute ``chapters`` top to bottom once per reader seed N (``$SUBCLASS_LIB_READER_SEED``: every
    seed s the library draws becomes s + 1000 N), claims in the reader's mode and every claim recorded;
    report, for each claim of each chapter, on how many seeds it held. One model cache for all seeds
    (its keys hold the reader seed): ``keep_cache`` or the default one."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from patient_client import PatientClient  # tools/patient_client.py: it does not miss a shell reply

    keys = ("SUBCLASS_LIB_CLAIMS", "SUBCLASS_LIB_CLAIMS_LOG", "SUBCLASS_LIB_READER_SEED", "SUBCLASS_LIB_CACHE")
    old = {k: os.environ.get(k) for k in keys}
    report = {"setting": f"reader-seeds-{','.join(map(str, seeds))}", "seeds": seeds, "chapters": {}}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="robustness-reader-") as tmp:
        logs = log_dir or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        os.environ["SUBCLASS_LIB_CLAIMS"] = "warn"
        if keep_cache:
            os.environ["SUBCLASS_LIB_CACHE"] = str(keep_cache / "reader-seeds")
        try:
            for path in chapters:
                nb0 = nbformat.read(path, as_version=4)
                ch = report["chapters"][path.name] = {"unchanged_seed_cells": unchanged_seeds(nb0), "errors": {},
                                                       "seconds": {}, "claims": {}}
                for seed in seeds:
                    nb = nbformat.read(path, as_version=4)
                    log = logs / f"{path.stem}.seed{seed}.jsonl"
                    log.unlink(missing_ok=True)
                    os.environ["SUBCLASS_LIB_READER_SEED"] = str(seed)
                    os.environ["SUBCLASS_LIB_CLAIMS_LOG"] = str(log)
                    client = PatientClient(nb, timeout=1800, kernel_name="python3",
                                           resources={"metadata": {"path": str(path.parent)}})
                    t1 = time.perf_counter()
                    error = None
                    try:
                        client.execute()
                    except CellExecutionError as exc:
                        error = str(exc).strip().splitlines()[-1][:300]
                    ch["seconds"][str(seed)] = round(time.perf_counter() - t1, 1)
                    if error:
                        ch["errors"][str(seed)] = error
                    lines = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
                    for cid, rec in _claim_ids(lines):
                        c = ch["claims"].setdefault(cid, {"held": [], "failed": {}})
                        if rec["held"]:
                            c["held"].append(seed)
                        else:
                            c["failed"][str(seed)] = ", ".join(rec["numbers"]) or rec["source"]
                    failed = sum(not r["held"] for r in lines)
                    print(f"[reader seed {seed}] {path.name}: {len(lines)} claims, {failed} failed, "
                          f"{'exception: ' + error if error else 'no exception'} ({ch['seconds'][str(seed)]:.0f} s)",
                          flush=True)
                for c in ch["claims"].values():   # a claim a seed never reached (an exception before it) failed there
                    for seed in seeds:
                        if seed not in c["held"] and str(seed) not in c["failed"]:
                            c["failed"][str(seed)] = "not reached"
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["passed"] = all(not ch["errors"] and not ch["unchanged_seed_cells"]
                           and all(not c["failed"] for c in ch["claims"].values())
                           for ch in report["chapters"].values())
    return report


def print_seed_counts(report: dict) -> None:
    """Per chapter: how many claims held on every seed; every claim that failed on some seed, with
    the seeds it held on and its numbers where it failed."""
    n = len(report["seeds"])
    for name, ch in report["chapters"].items():
        claims = ch["claims"]
        every = sum(len(c["held"]) == n for c in claims.values())
        print(f"{name}: {every} of {len(claims)} claims held on all {n} seeds")
        if ch["unchanged_seed_cells"]:
            print(f"    cells {ch['unchanged_seed_cells']} seed a generator themselves: a reader seed does not change them")
        for seed, err in ch["errors"].items():
            print(f"    seed {seed}: exception: {err}")
        for cid, c in claims.items():
            if c["failed"]:
                print(f"    held on {len(c['held'])}/{n}: {cid}")
                for seed, numbers in c["failed"].items():
                    print(f"        seed {seed}: {numbers}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=list(SETTINGS),
                   help="which settings to run (default: all)")
    p.add_argument("--chapters", nargs="+", default=None,
                   help="chapter notebooks by prefix, e.g. 01 03 (default: all)")
    p.add_argument("--keep-cache", type=Path, default=None,
                   help="keep each setting's trained models under this directory (default: a temporary one)")
    p.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    p.add_argument("--log-dir", type=Path, default=None, help="write each setting's whole pytest log here")
    p.add_argument("--reader-seeds", default=None, metavar="SEEDS",
                   help="instead of the settings: run the chapters once per reader seed (e.g. 0-4 or 1,3) and count "
                        "on how many seeds each claim holds; fails if any claim fails on any seed")
    args = p.parse_args(argv)
    with kept_files(ROOT / "chapters" / "figures"):
        return _run(p, args)


def _run(p: argparse.ArgumentParser, args) -> int:
    chapters = chapter_paths(args.chapters)
    print(f"chapters: {', '.join(c.name for c in chapters)}", flush=True)
    report = []
    if args.reader_seeds is not None:
        try:
            seeds = parse_seeds(args.reader_seeds)
        except ValueError as exc:
            p.error(str(exc))
        report.append(run_reader_seeds(seeds, chapters, args.keep_cache, args.log_dir))
        print_seed_counts(report[-1])
    unmet = [] if args.reader_seeds is not None else unmet_sources(chapters)
    if unmet:  # each setting starts from an empty model cache
        p.error("; ".join(unmet))
    for name in ([] if args.reader_seeds is not None else args.settings):
        r = run_setting(name, chapters, args.keep_cache, args.log_dir)
        report.append(r)
        print(f"[{name}] {'passed' if r['passed'] else 'FAILED'} in {r['seconds']:.0f} s: {r['summary']}", flush=True)
        for cell in r["failed_cells"]:
            print(f"    failed: {cell}")
        for line in r["claims"]:
            print(f"    {line}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    ok = all(r["passed"] for r in report)
    print("every setting passed" if ok else "some settings failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
