"""Execute chapter notebooks top to bottom in a fresh kernel and store their outputs.

    python tools/run_notebooks.py                 # every notebook in chapters/
    python tools/run_notebooks.py chapters/01_distillation.ipynb

Widget state is stored (so widget output already computed shows in the HTML book), and the
wall-clock time of each notebook is printed. Run it whenever the library or a notebook
changes; nbval in the tests re-executes the notebooks and catches what was not re-run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from patient_client import PatientClient  # noqa: E402  (tools/patient_client.py)

ROOT = Path(__file__).resolve().parent.parent
# The stored outputs must come from a run in which every claim of the text holds: the kernels
# inherit this, so a failing hidden claim cell stops the run (subclass_lib/claims.py).
os.environ["SUBCLASS_LIB_CLAIMS"] = "strict"


def execute(path: Path, timeout: int = 1800) -> float:
    nb = nbformat.read(path, as_version=4)
    client = PatientClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                           resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    took = time.perf_counter() - t0
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nbformat.write(nb, path)
    return took


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", type=Path)
    p.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    args = p.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    total = 0.0
    for path in paths:
        took = execute(path, args.timeout)
        total += took
        print(f"{path.name}: {took:.1f} s", flush=True)
    print(f"total: {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
