"""One training loop for every chapter, plus a cache of trained models.

``fit`` trains any model with any loss: the loss is a function ``loss_fn(model, batch)``
where ``batch`` is a dict of tensors sliced from the training dict (``"x"`` holds the
images; other keys, e.g. ``"y"`` or ``"teacher_logits"``, ride along row by row).
Per epoch the data are shuffled once (one permutation; each step gathers its batch's rows),
which keeps the per-step overhead small on a laptop CPU, and subnormal floats are flushed to
zero (:func:`flush_denormals`), which keeps the last epochs as fast as the first.

Models are described by specs and trained into the model cache by :mod:`subclass_lib.runner`.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.optim.adam import adam as _adam_step

from .checks import check_seed
from .data import jitter as jitter_images

Batch = dict[str, torch.Tensor]


def flush_denormals() -> None:
    """Make this thread's CPU arithmetic treat subnormal floats (below about 1.2e-38) as zero.

    Late in training, gradients and Adam's second moments fall into that range, where a CPU
    computes 10-100 times slower: a subclass teacher's last epochs ran twice as slow as its first.
    Threads started afterwards (torch's worker threads) inherit the setting, so it is applied when
    this module is imported and again at every :func:`fit`. Flushing is deterministic: the same
    seed still gives the same numbers on the same machine.
    """
    torch.set_flush_denormal(True)


flush_denormals()


#: Environment variable: a reader seed N >= 0 turns every seed s that the library draws from into
#: ``s + 1000 * N`` (:func:`run_seed`), so that a whole chapter runs as a reader with other seeds would
#: run it: every config's seed, every seed of a sweep (``range(5)``), chapter 5's teacher. Unset: 0.
READER_SEED_ENV = "SUBCLASS_LIB_READER_SEED"

#: Version of the training code shared by every model (:func:`fit`, the losses, the models): part of
#: every cache key (:mod:`subclass_lib.cache`). Bump it when a change alters what a model becomes.
FIT_VERSION = 1


def reader_seed() -> int:
    """The reader seed N of ``$SUBCLASS_LIB_READER_SEED`` (0 when unset: the book's own seeds)."""
    text = os.environ.get(READER_SEED_ENV, "").strip()
    if not text:
        return 0
    if not text.isdigit():
        raise ValueError(f"${READER_SEED_ENV} must be an integer >= 0, got {text!r}")
    return int(text)


def run_seed(seed: int) -> int:
    """The seed a run actually draws from: ``seed + 1000 * reader_seed()`` (``seed`` itself unless
    ``$SUBCLASS_LIB_READER_SEED`` is set). Every seed of a model, a shuffle, a transfer subset or a
    perturbation goes through here; the model cache's keys hold the reader seed."""
    return check_seed(seed) + 1000 * reader_seed()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a run is repeatable on one machine
    (with :func:`run_seed`'s reader offset)."""
    seed = run_seed(seed)
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
    #: what a recipe's ``fit`` callback records per epoch (e.g. chapter 4's contingency tables);
    #: it is stored with the model in the cache
    records: list = field(default_factory=list)
    #: named numbers a recipe's ``fit`` callback measures per epoch (e.g. chapter 4's loss terms on the
    #: validation images), one dict an epoch; stored with the model in the cache
    terms: list = field(default_factory=list)

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


class Adam:
    """Adam with torch's defaults (betas 0.9 and 0.999, eps 1e-8; L2 ``weight_decay`` added to the gradient),
    computed by torch's own function ``torch.optim.adam.adam``, with its fused kernel where the parameters
    allow it (float32 on the CPU or a GPU). The steps are bit for bit those of
    ``torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)`` (tested), without the
    optimizer class: its first construction in a process imports torch's compiler (0.7 s), and each of its
    steps adds bookkeeping that weighs on a small model's step of about a millisecond.
    ``lr`` may be changed between steps (the cosine schedule does).
    """

    def __init__(self, params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0):
        self.params = list(params)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.fused = all(p.dtype == torch.float32 and p.device.type in ("cpu", "cuda") for p in self.params)
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device if self.fused else "cpu")
                      for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        _adam_step([self.params[i] for i in live], [self.params[i].grad for i in live],
                   [self.exp_avg[i] for i in live], [self.exp_avg_sq[i] for i in live], [],
                   [self.steps[i] for i in live], foreach=False, fused=self.fused, amsgrad=False,
                   beta1=0.9, beta2=0.999, lr=self.lr, weight_decay=self.weight_decay, eps=1e-8,
                   maximize=False)


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


def progress_callback(progress: Callable[[float, str], None] | None, what: str):
    """A ``fit`` callback that moves ``progress(fraction, text)`` (e.g. a widget's bar) after every
    epoch, the text naming ``what`` and the epoch; None when there is no ``progress``."""
    if progress is None:
        return None
    return lambda model, epoch, epochs, hist: progress(epoch / epochs, f"{what}: epoch {epoch}/{epochs}")


def fit(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, Batch], torch.Tensor],
    train: Mapping[str, torch.Tensor],
    config: FitConfig = FitConfig(),
    val_fn: Callable[[nn.Module], float] | None = None,
    extra_modules: Iterable[nn.Module] = (),
    name: str = "model",
    verbose: bool = True,
    callback: Callable[[nn.Module, int, int, History], None] | None = None,
) -> History:
    """Train ``model`` in place by minimising ``loss_fn(model, batch)`` and return its history.

    ``extra_modules`` are trained too (e.g. the projection of penultimate-layer
    distillation). ``val_fn(model) -> accuracy`` is called after every epoch (model in
    eval mode). ``callback(model, epoch, epochs, history)`` is called after every epoch, e.g.
    to move a progress bar. A non-finite loss stops the run with a ``FloatingPointError``
    naming the epoch and the step. Progress is printed as plain text, one line an epoch.
    """
    if not isinstance(config, FitConfig):
        raise ValueError(f"config must be a FitConfig, got {type(config).__name__}")
    if config.patience is not None and val_fn is None:
        raise ValueError("early stopping (patience) needs a val_fn")
    n = _check_train_dict(train)
    device = resolve_device(config.device)
    flush_denormals()
    extra_modules = list(extra_modules)
    torch.manual_seed(run_seed(config.seed))
    gen = torch.Generator().manual_seed(run_seed(config.seed))
    model.to(device)
    for m in extra_modules:
        m.to(device)
    params = [p for m in [model, *extra_modules] for p in m.parameters() if p.requires_grad]
    opt = Adam(params, lr=config.lr, weight_decay=config.weight_decay)
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
        total = torch.zeros((), device=device)
        for step in range(n_steps):
            # gather each batch's rows when it is needed: copying the whole shuffled set once an
            # epoch moved as many bytes but through main memory, not the cache (1.6 s of a 22 s run)
            rows = perm[step * bs:(step + 1) * bs]
            batch = {k: v.index_select(0, rows) for k, v in data.items()}
            if config.jitter:
                batch["x"] = jitter_images(batch["x"], config.jitter, generator=gen)
            loss = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{name}: the loss became {loss.item()} at epoch {epoch}, step {step + 1} "
                    f"of {n_steps}; lower the learning rate or check the inputs")
            opt.zero_grad()
            loss.backward()
            if config.lr_schedule == "cosine":
                opt.lr = 0.5 * config.lr * (1.0 + math.cos(math.pi * hist.steps / total_steps))
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
            callback(model, epoch, config.epochs, hist)
        if config.patience is not None and bad_epochs >= config.patience:
            hist.stopped_early = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return hist
