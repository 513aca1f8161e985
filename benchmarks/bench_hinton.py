"""Speed of chapters 1-2 (Hinton distillation, the mythical 3) on the current machine.

    python benchmarks/bench_hinton.py                  # everything
    python benchmarks/bench_hinton.py --skip-notebooks # retrain, memory and throughput only

Prints, at the default scale:
* the execution time of chapters/01_distillation.ipynb and chapters/02_mythical_3.ipynb, each in a
  fresh kernel with a cold (empty, temporary) model cache, teacher training included, and their
  peak memory (max RSS of the child process and its kernel);
* the time of one slider retrain of each panel at a setting not trained before (the teacher cached): to its
  first result (the distilled student after a third of its epochs, 2 of 6 at the default scale, which the
  panel shows) and to the end;
* the chapter-1 teacher's training throughput (examples/s) and the students' per-epoch time.
Targets on the reference core (measured time x the factor printed first): each notebook < 3 min, each
retrain's first result < 5 s and its complete result < 10 s. Other processes on the
machine inflate every number: the load average is printed beside them.
Your own model cache is neither read nor written (SUBCLASS_LIB_CACHE points at a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import _machine  # benchmarks/_machine.py: the machine line every benchmark prints first

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
NOTEBOOKS = ("01_distillation.ipynb", "02_mythical_3.ipynb")


def _child(code: str, env: dict) -> tuple[float, float, str]:
    """Run ``code`` in a fresh Python; return (wall seconds, peak RSS MiB of it and its children, stdout)."""
    wrapper = textwrap.dedent("""
        import resource, sys, time
        _bench_t0 = time.perf_counter()
        exec(compile(sys.argv[1], "<bench>", "exec"), {"__name__": "__bench__"})
        took = time.perf_counter() - _bench_t0
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"__BENCH__ {took:.3f} {max(own, kids) / 1024:.1f}")
    """)
    res = subprocess.run([PY, "-c", wrapper, code], capture_output=True, text=True, env=env, cwd=ROOT)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("__BENCH__")][-1]
    _, took, mib = line.split()
    return float(took), float(mib), res.stdout


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def notebook_times(env: dict) -> None:
    for name in NOTEBOOKS:
        nb = ROOT / "chapters" / name
        if not nb.exists():
            print(f"{name}: missing")
            continue
        with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
            copy = Path(tmp) / name
            copy.write_bytes(nb.read_bytes())
            code = (f"import sys; sys.path.insert(0, {str(ROOT / 'tools')!r}); import run_notebooks; "
                    f"run_notebooks.execute(__import__('pathlib').Path({str(copy)!r}))")
            before = _load()
            took, mib, _ = _child(code, dict(env, SUBCLASS_LIB_CACHE=cache))
        print(f"{name}: {took:.1f} s cold (target < 180 s), peak memory {mib:.0f} MiB  [{before} before]",
              flush=True)


CORE = """
import time
from dataclasses import replace
from subclass_lib.experiments import hinton as H
from subclass_lib.experiments import mythical3 as M
from subclass_lib.data import load_mnist
from subclass_lib.models import hidden_label
from subclass_lib.widgets.hinton import retrain_distillation, retrain_mythical3
load_mnist("train"), load_mnist("test")
cfg = H.HintonConfig()
teacher, th, _ = H.train_teacher(cfg, verbose=False)
n = 60000 - H.VAL_SIZE
print(f"teacher {hidden_label(cfg.teacher_hidden)} (dropout, max-norm, jitter {cfg.jitter}): "
      f"{n * len(th.epoch_time_s) / th.train_time_s:.0f} examples/s over {len(th.epoch_time_s)} epochs "
      f"({th.train_time_s / len(th.epoch_time_s):.1f} s per epoch of {n} images)")
small, sh, _ = H.train_student(cfg, None, "hard", verbose=False)
print(f"student {hidden_label(cfg.student_hidden)} on {cfg.transfer_size} images: {sh.train_time_s / len(sh.epoch_time_s):.2f} s "
      f"per epoch, {sh.train_time_s:.1f} s for {len(sh.epoch_time_s)} epochs")
# slider retrains at settings the panels have not seen (teacher and hard-label students cached, the panel's
# default setting run once, as when the panel is built), as the panels run them: the first result is the
# distilled student after a third of its epochs (the panel shows it while the rest trains), then the complete one
def timed(run, cfg):
    t0, first = time.perf_counter(), []
    run(cfg, preview=lambda r: first.append(time.perf_counter() - t0))
    return (first[0] if first else float("nan")), time.perf_counter() - t0

H.run_hinton(cfg, verbose=False)  # what the panel shows when it is built (the chapter has trained it)
f, t = timed(retrain_distillation, replace(cfg, temperature=6.0, alpha=0.7))
print(f"chapter 1 slider retrain (T=6, alpha=0.7, {hidden_label(cfg.student_hidden)}): first result after {f:.1f} s "
      f"(target < 5 s), complete after {t:.1f} s")
m = M.Mythical3Config()
M.run_mythical3(m, verbose=False)  # what the panel shows when it is built (the chapter has trained it)
f, t = timed(retrain_mythical3, replace(m, temperature=8.0))
print(f"chapter 2 slider retrain (omit 3, T=8): first result after {f:.1f} s (target < 5 s), complete after {t:.1f} s")
f, t = timed(retrain_mythical3, replace(m, omit=(5,)))
print(f"chapter 2 slider retrain (omit 5: both students): first result after {f:.1f} s (target < 5 s), "
      f"complete after {t:.1f} s")
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-notebooks", action="store_true", help="only the retrain / throughput numbers")
    args = p.parse_args(argv)
    print(_machine.describe(), flush=True)
    print(_machine.reference_line(_machine.one_thread_gflops()), flush=True)
    env = dict(os.environ)
    print(f"[{_load()}, {os.cpu_count()} CPUs]")
    if not args.skip_notebooks:
        notebook_times(env)
    with tempfile.TemporaryDirectory() as cache:
        before = _load()
        took, mib, out = _child(CORE, dict(env, SUBCLASS_LIB_CACHE=cache))
    print("\n".join(ln for ln in out.splitlines() if not ln.startswith("__BENCH__")))
    print(f"(teacher + students + retrains: {took:.1f} s in one process, peak memory {mib:.0f} MiB; {before} before)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
