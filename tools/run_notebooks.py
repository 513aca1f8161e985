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
from queue import Empty

import nbformat
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
# The stored outputs must come from a run in which every claim of the text holds: the kernels
# inherit this, so a failing hidden claim cell stops the run (subclass_lib/claims.py).
os.environ["SUBCLASS_LIB_CLAIMS"] = "strict"


def _patient(get_msg):
    """``get_msg`` that waits for a message at most a second at a time, up to its timeout. After a
    cell whose widgets keep a worker pool running (the live panels of chapters 1, 2 and 5), a single
    wait on the shell channel missed a reply that had already arrived and returned only at the cell
    timeout (the kernel's timestamps show the reply half a second after the cell started); a fresh
    wait sees it at once."""

    async def get(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            try:
                return await ensure_async(get_msg(timeout=step))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get


class _Client(NotebookClient):
    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        kc.shell_channel.get_msg = _patient(kc.shell_channel.get_msg)
        return kc


def execute(path: Path, timeout: int = 1800) -> float:
    nb = nbformat.read(path, as_version=4)
    client = _Client(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
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
