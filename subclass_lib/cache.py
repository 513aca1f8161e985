"""The model cache: a trained model's weights and history on disk, keyed by its spec, and one
in-memory memo for what a process computes from a cached model (its logits on a data set).

A :class:`~subclass_lib.runner.Spec` is the key: its class's ``name`` and ``version``, its
fields (everything the model depends on), :data:`subclass_lib.train.FIT_VERSION` and the
reader seed (:func:`subclass_lib.train.run_seed`; left out at 0, the book's own seeds).
Files live under :func:`cache_dir` (``$SUBCLASS_LIB_CACHE``) and are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .files import atomic_write, to_jsonable
from .train import FIT_VERSION, History, reader_seed

CACHE_ENV = "SUBCLASS_LIB_CACHE"


def cache_dir() -> Path:
    """Folder of trained models: ``$SUBCLASS_LIB_CACHE``, default ``~/.cache/subclass_lib/models``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path("~/.cache/subclass_lib/models").expanduser()


def _not_in_a_key(obj):
    raise ValueError(f"cannot use a {type(obj).__name__} in a cache key")


def cache_key(spec) -> str:
    """Stable hash of a spec: its name, version and fields, the training code's version and the reader seed."""
    fields = {"name": spec.name, "version": spec.version, "fit": FIT_VERSION, "spec": to_jsonable(spec)}
    if reader_seed():
        fields["reader_seed"] = reader_seed()
    payload = json.dumps(fields, sort_keys=True, default=_not_in_a_key)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def cached_path(spec) -> Path:
    """The file the model of ``spec`` is kept in."""
    return cache_dir() / f"{spec.name}-{cache_key(spec)}.pt"


def is_cached(spec) -> bool:
    """Whether the model of ``spec`` is on disk."""
    return cached_path(spec).exists()


_MEMO: dict[tuple, object] = {}


def memo(spec, what, compute: Callable[[], object]):
    """``compute()``, once per process for ``(spec, what)`` and cache folder: e.g. a teacher's logits on
    a transfer set (``what`` names the data). The one per-process memo of the library."""
    key = (str(cache_dir()), cache_key(spec), what)
    if key not in _MEMO:
        _MEMO[key] = compute()
    return _MEMO[key]


def forget(spec, what) -> None:
    """Drop ``(spec, what)`` from the memo."""
    _MEMO.pop((str(cache_dir()), cache_key(spec), what), None)


def clear_memory_cache() -> None:
    """Forget everything memoised in this process (the files on disk stay)."""
    _MEMO.clear()


def load(spec, model: nn.Module) -> History | None:
    """Load the cached weights of ``spec`` into ``model`` and return its history (None: not cached,
    unreadable or not fitting the model; a warning says which)."""
    path = cached_path(spec)

    def read():
        if not path.exists():
            return None
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            return payload["model"], payload["history"]
        except Exception as exc:  # corrupt or from an incompatible torch: retrain
            warnings.warn(f"ignoring unreadable cached model {path.name}: {exc}", stacklevel=3)
            return None

    state = memo(spec, "state", read)
    if state is None:
        forget(spec, "state")
        return None
    try:
        model.load_state_dict(state[0])
    except (RuntimeError, KeyError) as exc:
        warnings.warn(f"cached model {path.name} does not fit the model; retraining ({exc})", stacklevel=3)
        forget(spec, "state")
        return None
    return History.from_dict(state[1])


def store(spec, model: nn.Module, hist: History, on_disk: bool = True) -> None:
    """Keep ``model``'s weights and ``hist`` as the trained model of ``spec``: in the memo and
    (``on_disk``) atomically on disk."""
    state = ({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, hist.to_dict())
    forget(spec, "state")
    memo(spec, "state", lambda: state)
    if on_disk:
        try:
            payload = {"model": state[0], "history": state[1], "name": spec.name}
            atomic_write(cached_path(spec), lambda f: torch.save(payload, f))
        except OSError as exc:
            print(f"note: could not write the model cache ({exc}); continuing without it", file=sys.stderr)
