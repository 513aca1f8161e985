"""Atomic file writes: the one writer of the model cache, the snapshot store, JSON results
and the MNIST cache, so that an interrupted write never leaves a half-written file that is
later read."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | os.PathLike, content: bytes | str | Callable[[BinaryIO], None], *,
                 mode: int | None = None) -> Path:
    """Write ``content`` to ``path`` atomically and return the path.

    ``content`` is bytes, a str (written as UTF-8) or a function that writes to the open
    binary file (e.g. ``lambda f: torch.save(obj, f)``). The data go to a temporary file in
    the same folder (created if missing), are flushed to disk, then the file is renamed over
    ``path`` and the folder flushed too (where the platform allows it), so the rename itself
    survives a crash; on any error the temporary file is removed and the error raised.
    ``mode``: the file's permissions (default: the temporary file's, readable by the owner only).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode("utf-8") if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(path.parent)
    return path


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk; a no-op where folders cannot be opened (Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
