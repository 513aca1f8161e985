"""An nbclient ``NotebookClient`` that does not miss a shell reply (used by ``run_notebooks.py`` and
``check_robustness.py``)."""

from __future__ import annotations

import time
from queue import Empty

from jupyter_core.utils import ensure_async
from nbclient import NotebookClient


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


class PatientClient(NotebookClient):
    """A ``NotebookClient`` whose shell channel waits a second at a time (:func:`_patient`)."""

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        kc.shell_channel.get_msg = _patient(kc.shell_channel.get_msg)
        return kc
