"""The whole book's speed budget, measured on the current machine.

    python benchmarks/bench_book.py                   # everything (about 15-25 minutes on 2 cores)
    python benchmarks/bench_book.py --skip-notebooks  # retrains, throughput and GFLOP/s only

Prints, at the default scale:
* the execution time and peak memory of every chapter notebook, each in a fresh kernel with a
  cold (empty, temporary) model cache, and of the whole book;
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


def notebook_times(env: dict) -> tuple[float, float]:
    """Execute every chapter in a fresh kernel; returns (total seconds, peak MiB)."""
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
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / nb.name
            copy.write_bytes(nb.read_bytes())
            if (ROOT / "chapters" / "figures").is_dir():
                (Path(tmp) / "figures").mkdir()
            res = subprocess.run([PY, "-c", wrapper, str(ROOT / "tools"), str(copy)], capture_output=True,
                                 text=True, env=env, cwd=ROOT)
        if res.returncode != 0:
            print(f"  {nb.name}: FAILED\n{res.stderr[-2000:]}")
            continue
        _, took, mib = [ln for ln in res.stdout.splitlines() if ln.startswith("__BENCH__")][-1].split()
        total += float(took)
        peak = max(peak, float(mib))
        print(f"  {nb.name:42s} {float(took):7.1f} s   peak {float(mib):6.0f} MiB   ({_load()})", flush=True)
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
    args = p.parse_args(argv)
    print(_machine.describe(), flush=True)
    print(_machine.reference_line(_machine.one_thread_gflops()), flush=True)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SUBCLASS_LIB_CACHE=cache, MPLBACKEND="Agg")
        if not args.skip_notebooks:
            print("notebooks (fresh kernel, cold model cache):")
            total, peak = notebook_times(env)
            print(f"  whole book: {total:.0f} s = {total / 60:.1f} min (target < 12 min); "
                  f"peak memory {peak:.0f} MiB (target < 4096 MiB)")
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
