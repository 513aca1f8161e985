"""The whole book's speed budget, measured on the current machine.

    python benchmarks/bench_book.py                   # everything (about 15-25 minutes on 2 cores)
    python benchmarks/bench_book.py --skip-notebooks  # retrains, throughput and GFLOP/s only
    python benchmarks/bench_book.py --notebooks-only --cells   # the chapters, and what each cell trains

Prints, at the default scale:
* the execution time and peak memory of every chapter notebook, each in a fresh kernel, the book's
  chapters in order sharing one cold (empty, temporary) model cache (as CI runs them), and of the
  whole book, measured and on the reference core; with ``--cells``, every cell of a second or more:
  its seconds and the models it trained (the cache files it wrote), i.e. the cost of each sweep;
* one slider retrain per chapter (and the chapter-specific figures), from each chapter's own
  benchmark script run in its retrain-only mode;
* the chapter-1 teacher's training throughput (from bench_hinton.py) next to this machine's
  float32 matrix-multiply GFLOP/s, and how close the teacher's training step comes to it.
Targets on the 2-core CPU (AVX-512 or AVX2): whole book < 12 min, every retrain's first result < 5 s,
peak memory < 4 GiB.
Numbers to compare between machines and commits, not a test. Other processes on the machine
inflate every number: the load average is printed beside them. Your own model cache is neither
read nor written (SUBCLASS_LIB_CACHE points at a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import _machine  # benchmarks/_machine.py: the machine line every benchmark prints first

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

# each chapter's benchmark script, in the mode that times its slider retrains
CHAPTER_SCRIPTS = (
    ("chapters 1-2", ["bench_hinton.py", "--skip-notebooks"]),
    ("chapter 3", ["bench_ls_kd.py", "--skip-notebook"]),
    ("chapter 4", ["bench_subclass.py"]),
    ("chapter 5", ["bench_subclass_students.py", "--skip-default"]),
)


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _when(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def cell_costs(executed: Path, cache: Path, min_seconds: float = 1.0) -> list[dict]:
    """The cells of an executed notebook that ran ``min_seconds`` or more (nbclient's timing metadata):
    the cell's number among the code cells, its first line, its seconds and the models it trained (the
    model-cache files written while it ran, counted by model kind)."""
    import nbformat

    files = [(f.stat().st_mtime, f.name.rsplit("-", 1)[0]) for f in cache.glob("*.pt")]
    nb = nbformat.read(executed, as_version=4)
    out = []
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        t = cell.metadata.get("execution", {})
        if "iopub.execute_input" not in t or "shell.execute_reply" not in t:
            continue
        a, b = _when(t["iopub.execute_input"]), _when(t["shell.execute_reply"])
        if b - a < min_seconds:
            continue
        kinds: dict[str, int] = {}
        for when, kind in files:
            if a - 0.5 <= when <= b + 0.5:
                kinds[kind] = kinds.get(kind, 0) + 1
        first = next((ln.strip("# ").strip() for ln in cell.source.splitlines() if ln.strip()), "")
        out.append({"cell": i, "first line": first[:70], "seconds": b - a, "models": kinds})
    return out


def notebook_times(env: dict, gflops: float, cells: bool = False, only: list[str] | None = None) -> tuple[float, float]:
    """Execute every chapter (or those whose name starts with one of ``only``) in a fresh kernel, in
    order, sharing the cold cache of ``env``; returns (total seconds, peak MiB)."""
    wrapper = textwrap.dedent("""
        import resource, sys, time
        sys.path.insert(0, sys.argv[1])
        import run_notebooks
        from pathlib import Path
        took = run_notebooks.execute(Path(sys.argv[2]))
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"__BENCH__ {took:.3f} {max(own, kids) / 1024:.1f}")
    """)
    total, peak = 0.0, 0.0
    for nb in sorted((ROOT / "chapters").glob("*.ipynb")):
        if only and not any(nb.name.startswith(o) for o in only):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / nb.name
            copy.write_bytes(nb.read_bytes())
            if (ROOT / "chapters" / "figures").is_dir():
                (Path(tmp) / "figures").mkdir()
            res = subprocess.run([PY, "-c", wrapper, str(ROOT / "tools"), str(copy)], capture_output=True,
                                 text=True, env=env, cwd=ROOT)
            costs = cell_costs(copy, Path(env["SUBCLASS_LIB_CACHE"])) if cells and res.returncode == 0 else []
        if res.returncode != 0:
            print(f"  {nb.name}: FAILED\n{res.stderr[-2000:]}")
            continue
        _, took, mib = [ln for ln in res.stdout.splitlines() if ln.startswith("__BENCH__")][-1].split()
        total += float(took)
        peak = max(peak, float(mib))
        ref = _machine.on_reference(float(took), gflops)
        print(f"  {nb.name:42s} {float(took):7.1f} s (reference core {ref:5.0f} s)   peak {float(mib):6.0f} MiB   "
              f"({_load()})", flush=True)
        for c in costs:
            models = ", ".join(f"{n} {k}" for k, n in sorted(c["models"].items())) or "no model trained"
            print(f"      cell {c['cell']:3d} {c['seconds']:6.1f} s  {models:38s} {c['first line']}", flush=True)
    return total, peak


def chapter_scripts(env: dict) -> str:
    out = []
    for name, argv in CHAPTER_SCRIPTS:
        print(f"{name}: benchmarks/{' '.join(argv)}", flush=True)
        res = subprocess.run([PY, str(ROOT / "benchmarks" / argv[0]), *argv[1:]], capture_output=True,
                             text=True, env=env, cwd=ROOT)
        text = res.stdout if res.returncode == 0 else res.stdout + "\nFAILED:\n" + res.stderr[-2000:]
        print(textwrap.indent(text.rstrip(), "  "), flush=True)
        out.append(text)
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-notebooks", action="store_true", help="retrains, throughput and GFLOP/s only")
    p.add_argument("--notebooks-only", action="store_true", help="the chapters only, no slider retrains")
    p.add_argument("--cells", action="store_true", help="every cell of a second or more, and what it trained")
    p.add_argument("--chapters", default=None, help="e.g. 01,04: these chapters only (default: all)")
    args = p.parse_args(argv)
    print(_machine.describe(), flush=True)
    gflops = _machine.one_thread_gflops()
    print(_machine.reference_line(gflops), flush=True)
    only = args.chapters.split(",") if args.chapters else None
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SUBCLASS_LIB_CACHE=cache, MPLBACKEND="Agg")
        if not args.skip_notebooks:
            print("notebooks (fresh kernel, cold model cache):")
            total, peak = notebook_times(env, gflops, args.cells, only)
            ref = _machine.on_reference(total, gflops)
            print(f"  {'whole book' if only is None else 'these chapters'}: {total:.0f} s = {total / 60:.1f} min, "
                  f"on the reference core {ref / 60:.1f} min (target < 12 min); "
                  f"peak memory {peak:.0f} MiB (target < 4096 MiB)")
    if args.notebooks_only:
        return 0
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SUBCLASS_LIB_CACHE=cache, MPLBACKEND="Agg")
        text = chapter_scripts(env)
    g = _machine.matmul_gflops()
    print(f"float32 matrix multiply (1024 x 1024): {g:.1f} GFLOP/s")
    m = re.search(r"(\d[\d,]*) examples/s", text)
    if m:
        from subclass_lib.experiments import hinton

        cfg = hinton.HintonConfig.for_scale("default")
        sizes = (784, *cfg.teacher_hidden, 10)
        macs = sum(a * b for a, b in zip(sizes, sizes[1:]))  # weights of the teacher's layers
        ex_s = float(m.group(1).replace(",", ""))
        achieved = 6 * macs * ex_s / 1e9          # forward 2 flops per MAC, backward 4
        print(f"chapter-1 teacher ({'-'.join(map(str, cfg.teacher_hidden))}) training: {ex_s:,.0f} examples/s = {achieved:.1f} GFLOP/s, "
              f"{100 * achieved / g:.0f}% of the matrix-multiply figure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
