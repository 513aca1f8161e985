"""The model cache: a trained model's weights and history on disk under :func:`cache_dir`, written
atomically and keyed by its :class:`~subclass_lib.runner.Spec`, and one in-memory memo for what a process
computes from a cached model (e.g. its logits on a data set)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from pathlib import Path

import torch

from .files import atomic_write, to_jsonable
from .train import FIT_VERSION, History, reader_seed

CACHE_ENV = "SUBCLASS_LIB_CACHE"
_MEMO: dict[tuple, object] = {}


def cache_dir() -> Path:
    """Folder of trained models: ``$SUBCLASS_LIB_CACHE``, default ``~/.cache/subclass_lib/models``."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/subclass_lib/models").expanduser()


def _not_in_a_key(obj):
    raise ValueError(f"cannot use a {type(obj).__name__} in a cache key")


def cache_key(spec) -> str:
    """Stable hash of a spec: its name, version and fields, the training code's version and the reader seed."""
    fields = {"name": spec.name, "version": spec.version, "fit": FIT_VERSION, "spec": to_jsonable(spec)}
    if reader_seed():
        fields["reader_seed"] = reader_seed()
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=_not_in_a_key).encode()).hexdigest()[:20]


def cached_path(spec) -> Path:
    return cache_dir() / f"{spec.name}-{cache_key(spec)}.pt"


def is_cached(spec) -> bool:
    return cached_path(spec).exists()


def memo(spec, what, compute=None):
    """``compute()``, once per process for ``(spec, what)`` and cache folder: e.g. a teacher's logits on
    a transfer set (``what`` names the data); no ``compute`` forgets it. The library's one per-process memo."""
    key = (str(cache_dir()), cache_key(spec), what)
    if compute is None:
        return _MEMO.pop(key, None)
    if key not in _MEMO:
        _MEMO[key] = compute()
    return _MEMO[key]


def clear_memory_cache() -> None:
    """Forget everything memoised in this process (the files on disk stay)."""
    _MEMO.clear()


def _read(path: Path):
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        return payload["model"], payload["history"]
    except Exception as exc:  # corrupt or from an incompatible torch: retrain
        warnings.warn(f"ignoring unreadable cached model {path.name}: {exc}", stacklevel=4)
        return None


def load(spec, model) -> History | None:
    """Load the cached weights of ``spec`` into ``model`` and return its history (None: not cached,
    unreadable or not fitting the model, with a warning)."""
    state = memo(spec, "state", lambda: _read(cached_path(spec)))
    try:
        if state is not None:
            model.load_state_dict(state[0])
            return History.from_dict(state[1])
    except (RuntimeError, KeyError) as exc:
        warnings.warn(f"cached model {cached_path(spec).name} does not fit the model; retraining ({exc})",
                      stacklevel=3)
    memo(spec, "state")  # forgotten: read again next time
    return None


def store(spec, model, hist: History, on_disk: bool = True) -> None:
    """Keep ``model``'s weights and ``hist`` as the trained model of ``spec``: in the memo and
    (``on_disk``) atomically on disk."""
    state = ({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, hist.to_dict())
    memo(spec, "state")
    memo(spec, "state", lambda: state)
    if on_disk:
        try:
            payload = {"model": state[0], "history": state[1], "name": spec.name}
            atomic_write(cached_path(spec), lambda f: torch.save(payload, f))
        except OSError as exc:
            print(f"note: could not write the model cache ({exc}); continuing without it", file=sys.stderr)
