"""One training loop for every chapter, plus a cache of trained models.

``fit`` trains any model with any loss: the loss is a function ``loss_fn(model, batch)``
where ``batch`` is a dict of tensors sliced from the training dict (``"x"`` holds the
images; other keys, e.g. ``"y"`` or ``"teacher_logits"``, ride along row by row).
Per epoch the data are shuffled once (one permutation, then contiguous slices), which
keeps the per-step overhead small on a laptop CPU.

``train_cached`` wraps a training run in a cache keyed by a hash of its configuration,
the library version and the library's source code, written atomically, so a notebook
or a slider that asks for a configuration it has seen before gets the model at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import __version__
from .data import jitter as jitter_images

Batch = dict[str, torch.Tensor]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a run is repeatable on one machine."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when a GPU is present, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass
class History:
    """What a training run records, per epoch (and optionally every ``eval_every`` steps)."""

    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_time_s: list[float] = field(default_factory=list)
    step_eval: list[tuple[int, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    steps: int = 0

    @property
    def train_time_s(self) -> float:
        return float(sum(self.epoch_time_s))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["step_eval"] = [list(p) for p in self.step_eval]
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "History":
        d = dict(d)
        d["step_eval"] = [tuple(p) for p in d.get("step_eval", [])]
        return cls(**d)


LR_SCHEDULES = ("constant", "cosine")


def check_lr_schedule(schedule) -> str:
    """``schedule`` if it is one of :data:`LR_SCHEDULES`, else a clear ``ValueError``."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
    return schedule


@dataclass(frozen=True)
class FitConfig:
    """Optimisation settings of one run.

    ``jitter`` is the maximum random shift in pixels applied to ``batch["x"]`` each step
    (0: none). ``patience``: stop after that many epochs without a better validation
    accuracy and restore the best weights (needs ``val_fn``; None: train all epochs).
    ``lr_schedule``: ``"constant"`` (then the first k epochs of a run are exactly a k-epoch
    run) or ``"cosine"`` (the rate falls from ``lr`` to 0 along a half cosine over all steps).
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    jitter: int = 0
    patience: int | None = None
    eval_every: int | None = None
    device: str = "auto"
    lr_schedule: str = "constant"

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not isinstance(self.jitter, int) or not 0 <= self.jitter <= 8:
            raise ValueError(f"jitter must be an integer number of pixels in [0, 8], got {self.jitter!r}")
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 1):
            raise ValueError(f"patience must be a positive integer or None, got {self.patience!r}")
        if self.eval_every is not None and (not isinstance(self.eval_every, int) or self.eval_every < 1):
            raise ValueError(f"eval_every must be a positive integer or None, got {self.eval_every!r}")
        check_lr_schedule(self.lr_schedule)


def _make_optimizer(params: list[nn.Parameter], cfg: FitConfig, device: torch.device) -> torch.optim.Optimizer:
    kwargs = dict(lr=cfg.lr, weight_decay=cfg.weight_decay)
    # The fused kernel removes most of Adam's per-parameter Python overhead.
    with contextlib.suppress(RuntimeError, TypeError):
        return torch.optim.Adam(params, fused=True, **kwargs)
    return torch.optim.Adam(params, **kwargs)


def _check_train_dict(train: Mapping[str, torch.Tensor]) -> int:
    if "x" not in train:
        raise ValueError("the training dict needs the images under key 'x'")
    n = len(train["x"])
    if n == 0:
        raise ValueError("the training set is empty")
    for k, v in train.items():
        if not isinstance(v, torch.Tensor):
            raise ValueError(f"training field {k!r} must be a torch.Tensor, got {type(v).__name__}")
        if len(v) != n:
            raise ValueError(f"training field {k!r} has {len(v)} rows but 'x' has {n}")
    return n


def fit(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, Batch], torch.Tensor],
    train: Mapping[str, torch.Tensor],
    config: FitConfig = FitConfig(),
    val_fn: Callable[[nn.Module], float] | None = None,
    extra_modules: Iterable[nn.Module] = (),
    name: str = "model",
    verbose: bool = True,
    callback: Callable[[int, int, History], None] | None = None,
) -> History:
    """Train ``model`` in place by minimising ``loss_fn(model, batch)`` and return its history.

    ``extra_modules`` are trained too (e.g. the projection of penultimate-layer
    distillation). ``val_fn(model) -> accuracy`` is called after every epoch (model in
    eval mode). ``callback(epoch, epochs, history)`` is called after every epoch, e.g.
    to move a progress bar. A non-finite loss stops the run with a ``FloatingPointError``
    naming the epoch and the step. Progress is printed as plain text, one line an epoch.
    """
    if not isinstance(config, FitConfig):
        raise ValueError(f"config must be a FitConfig, got {type(config).__name__}")
    if config.patience is not None and val_fn is None:
        raise ValueError("early stopping (patience) needs a val_fn")
    n = _check_train_dict(train)
    device = resolve_device(config.device)
    extra_modules = list(extra_modules)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model.to(device)
    for m in extra_modules:
        m.to(device)
    params = [p for m in [model, *extra_modules] for p in m.parameters() if p.requires_grad]
    opt = _make_optimizer(params, config, device)
    data = {k: v.to(device) for k, v in train.items()}
    constrain = getattr(model, "apply_constraints", None)

    hist = History()
    best_acc, best_state, bad_epochs = -1.0, None, 0
    bs = config.batch_size
    n_steps = math.ceil(n / bs)
    total_steps = n_steps * config.epochs
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        for m in extra_modules:
            m.train()
        perm = torch.randperm(n, generator=gen).to(device)
        shuffled = {k: v.index_select(0, perm) for k, v in data.items()}
        total = torch.zeros((), device=device)
        for step in range(n_steps):
            batch = {k: v[step * bs:(step + 1) * bs] for k, v in shuffled.items()}
            if config.jitter:
                batch["x"] = jitter_images(batch["x"], config.jitter, generator=gen)
            loss = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{name}: the loss became {loss.item()} at epoch {epoch}, step {step + 1} "
                    f"of {n_steps}; lower the learning rate or check the inputs")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.lr_schedule == "cosine":
                for g in opt.param_groups:
                    g["lr"] = 0.5 * config.lr * (1.0 + math.cos(math.pi * hist.steps / total_steps))
            opt.step()
            if constrain is not None:
                constrain()
            total += loss.detach()
            hist.steps += 1
            if config.eval_every and val_fn is not None and hist.steps % config.eval_every == 0:
                hist.step_eval.append((hist.steps, float(val_fn(model))))
                model.train()
        hist.loss.append(float(total) / n_steps)
        hist.epoch_time_s.append(time.perf_counter() - t0)
        msg = f"{name}: epoch {epoch}/{config.epochs}  loss {hist.loss[-1]:.4f}"
        if val_fn is not None:
            acc = float(val_fn(model))
            hist.val_accuracy.append(acc)
            msg += f"  val acc {acc:.4f}"
            if acc > best_acc:
                best_acc, bad_epochs, hist.best_epoch = acc, 0, epoch
                if config.patience is not None:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
        if verbose:
            print(msg + f"  ({hist.epoch_time_s[-1]:.1f} s)", flush=True)
        if callback is not None:
            callback(epoch, config.epochs, hist)
        if config.patience is not None and bad_epochs >= config.patience:
            hist.stopped_early = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return hist


# ----------------------------------------------------------------------------- cache

def cache_dir() -> Path:
    """Folder of trained models: ``$SUBCLASS_LIB_CACHE``, default ``~/.cache/subclass_lib/models``."""
    env = os.environ.get("SUBCLASS_LIB_CACHE")
    return Path(env).expanduser() if env else Path("~/.cache/subclass_lib/models").expanduser()


_SOURCE_HASH: str | None = None


# Source that decides what a trained model is; figures and panels are left out so that
# editing a plot does not throw away every trained model.
_TRAINING_SOURCES = ("*.py", "experiments/*.py")
# ... and modules that never change a trained model (the command line, the chapters' claim checks)
_NOT_TRAINING = ("__main__.py", "claims.py")


def library_fingerprint() -> str:
    """Hash of the library's version and training source: a change to that code invalidates the cache."""
    global _SOURCE_HASH
    if _SOURCE_HASH is None:
        h = hashlib.sha256(__version__.encode())
        root = Path(__file__).parent
        for p in sorted(q for pattern in _TRAINING_SOURCES for q in root.glob(pattern) if q.name not in _NOT_TRAINING):
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
        _SOURCE_HASH = h.hexdigest()[:16]
    return _SOURCE_HASH


def _jsonable(obj):
    if is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    raise ValueError(f"cannot use a {type(obj).__name__} in a cache key")


def cache_key(name: str, config) -> str:
    """Stable hash of a run's name, configuration (JSON-able or a dataclass) and the library."""
    payload = json.dumps({"name": name, "config": _jsonable(config), "lib": library_fingerprint()},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def cached_path(name: str, config) -> Path:
    """The file :func:`train_cached` keeps the model of ``(name, config)`` in."""
    return cache_dir() / f"{name}-{cache_key(name, config)}.pt"


def is_cached(name: str, config) -> bool:
    """Whether :func:`train_cached` would find ``(name, config)`` on disk (e.g. to decide
    which runs still need training before handing them to worker processes)."""
    return cached_path(name, config).exists()


_MEMORY: dict[str, tuple[dict, dict]] = {}


def _atomic_torch_save(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def train_cached(
    name: str,
    config,
    make_model: Callable[[], nn.Module],
    train_fn: Callable[[nn.Module], History],
    use_cache: bool = True,
    extra: Callable[[nn.Module], dict] | None = None,
) -> tuple[nn.Module, History]:
    """Return ``(model, history)`` for a configuration, training only if it is not cached.

    ``make_model()`` builds the (seeded) untrained model; ``train_fn(model)`` trains it in
    place and returns its :class:`History`. The result is kept in memory and on disk under
    :func:`cache_dir`, keyed by :func:`cache_key`. The file is written to a temporary name
    and renamed, so an interrupted run never leaves a half-written file that is later read;
    an unreadable cache file is ignored (with a warning) and retrained.
    """
    key = cache_key(name, config)
    path = cached_path(name, config)
    model = make_model()
    if use_cache:
        state = _MEMORY.get(key)
        if state is None and path.exists():
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                state = (state["model"], state["history"])
            except Exception as exc:  # corrupt or from an incompatible torch: retrain
                warnings.warn(f"ignoring unreadable cached model {path.name}: {exc}", stacklevel=2)
                state = None
        if state is not None:
            try:
                model.load_state_dict(state[0])
            except (RuntimeError, KeyError) as exc:
                warnings.warn(f"cached model {path.name} does not fit the model; retraining ({exc})",
                              stacklevel=2)
            else:
                _MEMORY[key] = state
                model.eval()
                return model, History.from_dict(state[1])
    hist = train_fn(model)
    model.eval()
    store_cached(name, config, model, hist, on_disk=use_cache)
    return model, hist


def store_cached(name: str, config, model: nn.Module, hist: History, on_disk: bool = True) -> None:
    """Keep ``model``'s current weights and ``hist`` as the trained model of ``(name, config)``,
    in memory and (``on_disk``) atomically on disk: what :func:`train_cached` does after
    training, also usable for a checkpoint that is exactly another configuration's result."""
    state_dict = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    _MEMORY[cache_key(name, config)] = (state_dict, hist.to_dict())
    if on_disk:
        try:
            _atomic_torch_save({"model": state_dict, "history": hist.to_dict(), "name": name},
                               cached_path(name, config))
        except OSError as exc:
            print(f"note: could not write the model cache ({exc}); continuing without it", file=sys.stderr)


def clear_memory_cache() -> None:
    """Forget the in-memory copies (the files on disk stay)."""
    _MEMORY.clear()
