"""Re-execute the chapters under other numerics and report every claim that fails.

    python tools/check_robustness.py                         # every setting, every chapter
    python tools/check_robustness.py --settings avx2 --chapters 01 03
    python tools/check_robustness.py --json robustness.json
    python tools/check_robustness.py --reader-seed 1 --chapters 01 03   # a reader's run with another seed

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

``--reader-seed N`` runs the chapters instead as a reader who changes the seed would: every
``...Config()`` of a code cell becomes ``...Config(seed=N)``, claims are in the reader's mode
(one printed line each, no exception), and the run must end without an exception; the claim
lines that the other seed printed are listed.
"""

from __future__ import annotations

import argparse
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
    return out


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


def run_reader_seed(seed: int, chapters: list[Path], keep_cache: Path | None = None) -> dict:
    """Execute ``chapters`` top to bottom with their configs' seed set to ``seed``, claims in the
    reader's (warn) mode; report exceptions and the claim lines printed."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    config = re.compile(r"\b(\w*Config)\(\)")
    report = {"setting": f"reader-seed-{seed}", "env": {"SUBCLASS_LIB_CLAIMS": "warn"}, "chapters": {}}
    old = {k: os.environ.get(k) for k in ("SUBCLASS_LIB_CLAIMS", "SUBCLASS_LIB_CACHE")}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="robustness-reader-") as tmp:
        os.environ["SUBCLASS_LIB_CLAIMS"] = "warn"
        if keep_cache:
            os.environ["SUBCLASS_LIB_CACHE"] = str(keep_cache / f"reader-seed-{seed}")
        try:
            for path in chapters:
                nb = nbformat.read(path, as_version=4)
                changed = 0
                for cell in nb.cells:
                    if cell.cell_type == "code":
                        cell.source, n = config.subn(rf"\1(seed={seed})", cell.source)
                        changed += n
                client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                                        resources={"metadata": {"path": str(path.parent)}})
                error = None
                try:
                    client.execute()
                except CellExecutionError as exc:
                    error = str(exc).strip().splitlines()[-1][:300]
                printed = []
                for cell in nb.cells:
                    for out in cell.get("outputs", []):
                        printed += _CLAIM.findall(out.get("text", ""))
                report["chapters"][path.name] = {"configs_changed": changed, "error": error, "claims": printed}
                print(f"[reader-seed-{seed}] {path.name}: {changed} config(s) set to seed {seed}; "
                      f"{'exception: ' + error if error else 'no exception'}; {len(printed)} claim line(s)",
                      flush=True)
                for line in printed:
                    print(f"    {line}")
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["passed"] = all(c["error"] is None for c in report["chapters"].values())
    return report


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
    p.add_argument("--reader-seed", type=int, default=None, metavar="N",
                   help="instead of the settings: run the chapters as a reader with seed N would (no exception allowed)")
    args = p.parse_args(argv)
    chapters = chapter_paths(args.chapters)
    print(f"chapters: {', '.join(c.name for c in chapters)}", flush=True)
    report = []
    if args.reader_seed is not None:
        if args.reader_seed < 0:
            p.error("--reader-seed must be a non-negative integer")
        report.append(run_reader_seed(args.reader_seed, chapters, args.keep_cache))
    for name in ([] if args.reader_seed is not None else args.settings):
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
