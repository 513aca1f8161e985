"""Benchmark chapter 5: training time of each student and of one slider retrain.

Run:  python benchmarks/bench_subclass_students.py [--skip-default]

Uses a fresh temporary model cache (SUBCLASS_LIB_CACHE), so your real cache is neither
used nor touched. Trains chapter 4's default teacher first (timed, reported apart), then
each student of the chapter at the default scale, then one retrain of the slider panel
(the four students at the interactive scale, teacher cached, as the panel runs them: the first result
is the subclass-distillation student halfway). Targets on the reference core (``_machine``): first
result 5 s, complete retrain 10 s. Prints the 1-minute load average before and after: on a shared machine the times
are inflated by the other processes (compare with `nproc`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import _machine  # benchmarks/_machine.py: the machine line every benchmark prints first


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-default", action="store_true", help="time only the teacher and the slider retrain")
    args = p.parse_args(argv)
    print(_machine.describe(), flush=True)
    gflops = _machine.one_thread_gflops()
    print(_machine.reference_line(gflops), flush=True)
    with tempfile.TemporaryDirectory(prefix="subclass_students_bench_") as cache:
        os.environ["SUBCLASS_LIB_CACHE"] = cache
        from subclass_lib.experiments import subclass_students as S  # after setting the cache

        load0 = os.getloadavg()[0]
        cfg = S.StudentsConfig()
        t0 = time.perf_counter()
        teacher = S.get_teacher(cfg, verbose=False)
        data = S.transfer_set(cfg, teacher)
        print(f"teacher ({cfg.teacher.teacher}, {cfg.teacher.teacher_epochs} epochs) + teacher outputs: "
              f"{time.perf_counter() - t0:.1f} s")
        if not args.skip_default:
            total = 0.0
            for m in S.ALL_METHODS:
                t = time.perf_counter()
                run = S.train_student(cfg, m, teacher, data=data, verbose=False)
                took = time.perf_counter() - t
                total += took
                print(f"  {m:<22} {took:5.1f} s ({took / cfg.student_epochs:.2f} s/epoch, "
                      f"{len(run.curve)} validation points), test error {run.test_error:.4f}")
            print(f"five students at the default scale: {total:.1f} s")
        from subclass_lib.widgets.subclass_students import retrain_students  # the panel's own retrain

        small = cfg.interactive()
        S.transfer_set(small, teacher)  # the teacher's outputs, computed when the chapter ran
        # the chapter's cells have trained students side by side before a reader touches a slider, so its
        # worker pool is running: start it here with another setting (a fresh pool costs seconds more)
        warm = cfg.interactive(temperature=16.0)
        t = time.perf_counter()
        retrain_students(warm, teacher)
        print(f"first retrain in a fresh process (starting the worker pool): {time.perf_counter() - t:.1f} s")
        t, first = time.perf_counter(), []
        retrain_students(small, teacher, preview=lambda r: first.append(time.perf_counter() - t))
        retrain = time.perf_counter() - t
        t = time.perf_counter()
        retrain_students(small, teacher)
        again = time.perf_counter() - t
        load1 = os.getloadavg()[0]
    f = first[0] if first else float("nan")
    ref = gflops / _machine.REFERENCE_GFLOPS
    ok = f * ref < 5.0 and retrain * ref < 10.0
    print(f"slider retrain (four students, {small.student_epochs} epochs on {small.transfer_fraction:.0%} of the "
          f"transfer set): first result (subclass distillation halfway) after {f:.1f} s ({f * ref:.1f} s on the "
          f"reference core; target 5 s), complete after {retrain:.1f} s ({retrain * ref:.1f} s; target 10 s): "
          f"{'met' if ok else 'NOT met'}; same setting again (cache): {again:.2f} s")
    print(f"load average (1 min) before/after: {load0:.1f} / {load1:.1f} on {os.cpu_count()} CPUs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
