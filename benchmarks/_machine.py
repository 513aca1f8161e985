"""What every benchmark prints first: the processor, torch's CPU kernels and the load.

Speed differs between processors (an AVX-512 machine and an AVX2 one run other matrix
kernels) and with other work on the machine, so a figure is only comparable beside this line.
``ATEN_CPU_CAPABILITY=avx2`` (with ``MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2``) makes
an AVX-512 machine compute like an AVX2 one: the line then says ``AVX2``.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from check_robustness import SETTINGS  # noqa: E402  (tools/check_robustness.py: the settings it runs)

#: Environment that makes an AVX-512 machine compute like an AVX2 one: torch's own kernels, MKL, oneDNN
#: and NumPy's OpenBLAS (the NumPy demo run beside ours by ``bench_subclass.py --demo``), as
#: ``tools/check_robustness.py --settings avx2`` sets it. Set it before torch is imported.
AVX2_ENV = SETTINGS["avx2"]


def use_avx2() -> None:
    """Apply :data:`AVX2_ENV` to this process and the processes it starts (before importing torch)."""
    os.environ.update(AVX2_ENV)


def processor() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, else what Python knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown processor"


def describe() -> str:
    """One line: processor, CPUs, torch version, CPU capability (the kernels torch runs), threads, load."""
    import torch

    cap = torch.backends.cpu.get_cpu_capability()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {processor()}, {os.cpu_count()} CPUs; torch {torch.__version__}, CPU capability {cap}, "
            f"{torch.get_num_threads()} threads; load average {load}")


#: The reference core of the book's speed budget: one thread of torch's float32 matrix multiply at 95 GFLOP/s
#: (about one core of the slowest processor the book has met). A time on it is the measured time x (this
#: machine's one-thread rate / 95): a core twice as fast must take half the time.
REFERENCE_GFLOPS = 95.0


def one_thread_gflops() -> float:
    """This machine's one-thread float32 matrix-multiply rate (best of three rounds), in GFLOP/s."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return matmul_gflops(rounds=3)
    finally:
        torch.set_num_threads(old)


def on_reference(seconds: float, gflops: float) -> float:
    """``seconds`` measured on a core of ``gflops`` (:func:`one_thread_gflops`), on the reference core."""
    return seconds * gflops / REFERENCE_GFLOPS


def reference_line(gflops: float) -> str:
    """The line every benchmark prints under the machine line: how its times map to the reference core."""
    return (f"one-thread float32 matmul: {gflops:.0f} GFLOP/s; a time on the reference core "
            f"({REFERENCE_GFLOPS:.0f} GFLOP/s) is the measured time x {gflops / REFERENCE_GFLOPS:.2f}")


def matmul_gflops(n: int = 1024, reps: int = 20, rounds: int = 1) -> float:
    """float32 matrix-multiply rate of this process in GFLOP/s (an n x n product, ``reps`` times
    after one untimed product), the best of ``rounds`` rounds, at torch's current thread count."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best
