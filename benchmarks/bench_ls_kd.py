"""Benchmark chapter 3: cold notebook time, slider retrain times, peak memory.

Run:  python benchmarks/bench_ls_kd.py [--skip-notebook] [--threads N]

Uses fresh temporary model caches (SUBCLASS_LIB_CACHE), so your real cache is neither used
nor touched. Measures

1. the chapter notebook executed top to bottom in a fresh kernel with a cold cache
   (target < 240 s on the 2-core CPU when the machine is otherwise quiet); the stored
   notebook is not modified;
2. the slider panel's retrains at the interactive setting (``LSKDConfig().interactive()``):
   a new T (student only) and a new eps (teacher + student), target < 5 s each, and a
   change of digits only (re-projection of cached models);
3. the peak resident memory of this process during the retrains.

Prints the 1-minute load average before and after: on a shared machine the times are
inflated by the other processes (compare with ``nproc``). ``--threads`` sets torch's
intra-op threads (and OMP_NUM_THREADS for the notebook kernel); under heavy contention
1 thread is much faster than 2.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import _machine  # benchmarks/_machine.py: the machine line every benchmark prints first

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "chapters" / "03_temperature_label_smoothing.ipynb"


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_notebook(cache: str, threads: int | None) -> float:
    """Execute a copy of the notebook in a fresh kernel with an empty model cache."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    env_backup = dict(os.environ)
    os.environ["SUBCLASS_LIB_CACHE"] = cache
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        t0 = time.perf_counter()
        client.execute()
        return time.perf_counter() - t0
    finally:
        os.environ.clear()
        os.environ.update(env_backup)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-notebook", action="store_true", help="time only the slider retrains")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = p.parse_args(argv)
    print(_machine.describe(), flush=True)
    gflops = _machine.one_thread_gflops()
    print(_machine.reference_line(gflops), flush=True)
    load0 = os.getloadavg()[0]
    ok = True
    if not args.skip_notebook:
        with tempfile.TemporaryDirectory(prefix="ls_kd_bench_nb_") as cache:
            took = time_notebook(cache, args.threads)
        ok &= took < 240
        print(f"notebook {NOTEBOOK.name}, cold cache: {took:.1f} s "
              f"(target < 240 s: {'met' if took < 240 else 'NOT met'})", flush=True)
    with tempfile.TemporaryDirectory(prefix="ls_kd_bench_") as cache:
        os.environ["SUBCLASS_LIB_CACHE"] = cache
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        from subclass_lib.data import load_mnist
        from subclass_lib.experiments import ls_kd as L

        load_mnist("train"), load_mnist("test")
        icfg = L.LSKDConfig().interactive()
        print(f"interactive setting: teacher {icfg.teacher_hidden} x {icfg.teacher_epochs} epochs on "
              f"{icfg.teacher_fraction:.0%} of the training set; student {icfg.student_hidden} x "
              f"{icfg.student_epochs} epochs on {icfg.transfer_fraction:.0%}", flush=True)
        t = time.perf_counter()
        L.run_interactive(eps=0.1, T=4.0, cfg=icfg)
        first = time.perf_counter() - t
        print(f"  panel start (teacher eps=0.1 + student T=4, cold): {first:.1f} s", flush=True)
        t, c = time.perf_counter(), _cpu_s()
        L.run_interactive(eps=0.1, T=8.0, cfg=icfg)
        new_T, new_T_cpu = time.perf_counter() - t, _cpu_s() - c
        t, c = time.perf_counter(), _cpu_s()
        shown = []  # the panel shows the new teacher first (its preview), while the student trains
        L.run_interactive(eps=0.2, T=8.0, cfg=icfg, preview=lambda r: shown.append(time.perf_counter() - t))
        new_eps, new_eps_cpu = time.perf_counter() - t, _cpu_s() - c
        new_eps_first = shown[0] if shown else new_eps
        t = time.perf_counter()
        L.run_interactive(eps=0.1, T=4.0, classes=(3, 5, 8), cfg=icfg)
        cached = time.perf_counter() - t
    load1 = os.getloadavg()[0]
    ref = _machine.on_reference(1.0, gflops)
    worst = max(new_T, new_eps_first) * ref
    ok &= worst < 5.0
    print(f"slider retrain, new T (student only): {new_T:.1f} s wall, {new_T_cpu:.1f} s CPU")
    print(f"slider retrain, new eps (teacher + student): first result (the teacher) after {new_eps_first:.1f} s, "
          f"complete after {new_eps:.1f} s wall, {new_eps_cpu:.1f} s CPU")
    print(f"  first results on the reference core: new T {new_T * ref:.1f} s, new eps "
          f"{new_eps_first * ref:.1f} s; target < 5 s: {'met' if worst < 5 else 'NOT met'}")
    print(f"new digits on cached models (projection only): {cached:.2f} s")
    print(f"peak resident memory of the retrains: {_peak_mib():.0f} MiB")
    print(f"load average (1 min) before/after: {load0:.1f} / {load1:.1f} on {os.cpu_count()} CPUs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
