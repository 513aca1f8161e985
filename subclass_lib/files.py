"""Files: atomic writes (the one writer of the model cache, JSON results and the MNIST cache,
so that an interrupted write never leaves a half-written file that is later read) and the one
converter of results and configurations to JSON."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch


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


def to_jsonable(obj):
    """Dataclasses, tensors, numpy arrays and scalars to plain JSON types (a non-finite float is
    a ``ValueError``; other objects are returned as they are, for ``json.dumps`` to refuse)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return to_jsonable(obj.detach().cpu().numpy())
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"refusing to write a non-finite number ({obj}) to JSON")
    return obj


def write_json(obj, path: str | os.PathLike) -> Path:
    """Write ``obj`` as indented JSON (:func:`to_jsonable`), atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=False, allow_nan=False)
    return atomic_write(path, text + "\n")
