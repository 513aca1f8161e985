"""Recipe of chapter 1: Hinton et al. (2015) distillation on MNIST.

A big teacher (2x1200 ReLU, dropout, max-norm, jitter), a small net trained on hard
labels and the same small net distilled at temperature ``T`` with task balance ``alpha``.
The sweeps over T, alpha and seeds are in :mod:`subclass_lib.experiments.hinton_sweeps`;
chapter 2 (:mod:`subclass_lib.experiments.mythical3`) reuses these nets.

Two scales, one code path (:meth:`HintonConfig.for_scale`):

* ``default`` (the book and CI): the 2x1200 teacher (20% dropout, max-norm, +-1 px jitter) for 4
  epochs on 55,000 images with a cosine learning-rate decay, students (2x800) for 6 epochs at a
  constant rate on a 10,000-image transfer set (the book's speed budget sets the epochs; the lab
  notes' validation search the rest). A small transfer set is also where
  distillation helps most, and it keeps a notebook within minutes on a laptop CPU.
* ``full`` (the papers' size): the teacher with Hinton et al.'s 50% hidden / 20% input
  dropout for 60 epochs, students for 30 epochs on the whole 55,000-image transfer set, all
  with a cosine learning-rate decay (teacher 0.9906, distilled 0.9895 at seed 0; Adam at a
  constant rate left the teacher at 0.9884).

The first 5,000 images of a seeded permutation of the MNIST training set are held out
(validation; also chapter 2's unlabelled images for choosing the bias shift). The teacher
is cached under a key made only of its own settings (:func:`teacher_settings`), so chapter 2
reuses chapter 1's teacher and every student and slider setting shares it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch

from .. import losses
from ..cache import memo
from ..data import N_DIGITS, SPLIT_SEED, VAL_SIZE, load_splits, omit_digits, parse_digits  # noqa: F401
from ..losses import soft_targets
from ..metrics import accuracy
from ..models import MLP, hidden_label, predict
from .. import runner
from .base import Scaled
from ..train import FitConfig, check_lr_schedule, fit, run_seed, seed_everything
from ..checks import (check_bool, check_dropout, check_fraction, check_hidden, check_int, check_lr, check_pos_int,
                      check_real, check_scale, check_seed, check_temperature)

__all__ = [
    "HintonConfig", "SOURCE_HINTON", "parse_digits", "load_splits", "transfer_set", "TeacherSpec", "StudentSpec",
    "teacher_spec", "student_spec", "make_student", "train_teacher", "train_student", "student_epochs", "evaluate",
    "per_class_accuracy", "run_hinton", "soft_targets", "soft_gradient_norms", "test_logits",
]

ProgressFn = Callable[[float, str], None]


#: The sources' numbers (test accuracy; errors on the 10,000 test images).
SOURCE_HINTON = {
    "write-up": {"teacher": 0.9901, "small": 0.9833, "distilled": 0.9891},
    "Hinton et al. (errors)": {"teacher": 67, "small": 146, "distilled": 74},
}


# ----------------------------------------------------------------------------- configs

@dataclass(frozen=True)
class HintonConfig(Scaled):
    """Chapter 1's experiment. Defaults are the book's (default) scale.

    ``temperature`` and ``alpha`` are the distilled student's T and task balance
    (``alpha`` weighs the soft term, ``1 - alpha`` the hard-label term). ``transfer_size``
    is the size of the students' transfer set (None: all 55,000 training images).
    """

    seed: int = 0
    scale: str = "default"
    temperature: float = 4.0
    alpha: float = 0.5
    teacher_hidden: tuple[int, ...] = (1200, 1200)
    student_hidden: tuple[int, ...] = (800, 800)
    teacher_epochs: int = 4
    student_epochs: int = 6
    transfer_size: int | None = 10000
    teacher_dropout: float = 0.2
    teacher_input_dropout: float = 0.0
    max_norm: float = 3.5
    jitter: int = 1
    lr: float = 1e-3
    batch_size: int = 128
    device: str = "auto"
    lr_schedule: str = "constant"
    teacher_lr_schedule: str | None = "cosine"
    match_steps: bool = False

    def __post_init__(self):
        check_scale(self.scale)
        check_lr_schedule(self.lr_schedule)
        if self.teacher_lr_schedule is not None:
            check_lr_schedule(self.teacher_lr_schedule)
        check_bool(self.match_steps, "match_steps")
        check_seed(self.seed, "seed")
        check_temperature(self.temperature, "temperature")
        check_fraction(self.alpha, "alpha")
        for name in ("teacher_hidden", "student_hidden"):
            object.__setattr__(self, name, check_hidden(getattr(self, name), name, allow_int=False))
        for name in ("teacher_epochs", "student_epochs", "batch_size"):
            check_pos_int(getattr(self, name), name)
        check_pos_int(self.transfer_size, "transfer_size", allow_none=True)
        for name in ("teacher_dropout", "teacher_input_dropout"):
            check_dropout(getattr(self, name), name)
        check_real(self.max_norm, "max_norm", 0.0, strict=True)
        check_int(self.jitter, "jitter", 0, 8)
        check_lr(self.lr, "lr")

    # the one place where the scales differ
    # (default: milder dropout and a cosine decay so that the teacher is good after 4 epochs; full:
    # Hinton et al.'s 50% hidden / 20% input dropout, trained long enough for it to pay off, every
    # net with a cosine decay)
    SCALES = {
        "default": dict(teacher_epochs=4, student_epochs=6, transfer_size=10000, teacher_dropout=0.2,
                        teacher_input_dropout=0.0, jitter=1, lr_schedule="constant", teacher_lr_schedule="cosine"),
        "full": dict(teacher_epochs=60, student_epochs=30, transfer_size=None, jitter=2,
                     teacher_dropout=0.5, teacher_input_dropout=0.2, lr_schedule="cosine", teacher_lr_schedule=None),
    }

    @property
    def teacher_schedule(self) -> str:
        """The teacher's learning-rate schedule: ``teacher_lr_schedule``, or (None) ``lr_schedule``."""
        return self.lr_schedule if self.teacher_lr_schedule is None else self.teacher_lr_schedule

    def fit_config(self, epochs: int, jitter: int = 0, seed: int | None = None, teacher: bool = False) -> FitConfig:
        return FitConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr,
                         seed=self.seed if seed is None else seed, jitter=jitter, device=self.device,
                         lr_schedule=self.teacher_schedule if teacher else self.lr_schedule)


# ----------------------------------------------------------------------------- data

def transfer_set(cfg, omit: Iterable[int] = (), seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The students' transfer set: ``cfg.transfer_size`` images of the training part (seeded by
    ``seed``, default ``cfg.seed``), then without the digits in ``omit``."""
    seed = cfg.seed if seed is None else check_seed(seed)
    (xt, yt), _, _ = load_splits()
    if cfg.transfer_size is not None and cfg.transfer_size < len(yt):
        g = torch.Generator().manual_seed(10_000 + run_seed(seed))
        idx, _ = torch.randperm(len(yt), generator=g)[:cfg.transfer_size].sort()
        xt, yt = xt[idx], yt[idx]
    omit = parse_digits(omit)
    if omit:
        xt, yt = omit_digits(xt, yt, omit)
    return xt, yt


@runner.pinned
def test_logits(spec: runner.Spec, model: MLP) -> torch.Tensor:
    """The logits on the 10,000 test images of the model of ``spec`` (once per process)."""
    return memo(spec, "test", lambda: predict(model, load_splits()[2][0]))


# ----------------------------------------------------------------------------- models

@dataclass(frozen=True)
class TeacherSpec(runner.Spec):
    """The big net: hidden layers ``hidden``, dropout, max-norm, jitter, hard labels, trained on the
    55,000 training images. Shared by chapters 1 and 2 and every student and slider setting."""

    name: ClassVar[str] = "hinton-teacher"
    seed: int
    hidden: tuple[int, ...]
    epochs: int
    dropout: float
    input_dropout: float
    max_norm: float
    jitter: int
    lr: float
    lr_schedule: str
    batch_size: int

    def cost(self) -> float:
        return float(sum(self.hidden))

    def build(self) -> MLP:
        seed_everything(self.seed)
        return MLP(self.hidden, dropout=self.dropout, input_dropout=self.input_dropout, max_norm=self.max_norm)

    def fit(self, model, needs, device, callback):
        (xt, yt), (xv, yv), _ = load_splits()
        fc = FitConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                       jitter=self.jitter, device=device, lr_schedule=self.lr_schedule)
        return fit(model, lambda m, b: losses.cross_entropy(m(b["x"]), b["y"]), {"x": xt, "y": yt}, fc,
                   val_fn=lambda m: accuracy(predict(m, xv), yv), name="teacher", verbose=False, callback=callback)


@dataclass(frozen=True)
class StudentSpec(runner.Spec):
    """A small net (no regularisation) on a transfer set of ``transfer_size`` images without the
    digits ``omit``: ``kind="hard"`` on the labels, ``kind="distilled"`` on
    :func:`subclass_lib.losses.distillation_loss` with ``teacher``'s logits at ``T`` and ``alpha``.
    ``seed`` seeds its initial weights, transfer subset and batch order."""

    name: ClassVar[str] = "hinton-student"
    kind: str
    hidden: tuple[int, ...]
    epochs: int
    transfer_size: int | None
    omit: tuple[int, ...]
    seed: int
    lr: float
    lr_schedule: str
    batch_size: int
    T: float | None = None
    alpha: float | None = None
    teacher: TeacherSpec | None = None

    def needs(self):
        return (self.teacher,) if self.teacher is not None else ()

    def cost(self) -> float:
        return float(sum(self.hidden))

    def build(self) -> MLP:
        return make_student(self.hidden, self.seed)

    def fit(self, model, needs, device, callback):
        x, y = transfer_set(self, self.omit, self.seed)
        data = {"x": x, "y": y}
        if self.kind == "hard":
            loss = lambda m, b: losses.cross_entropy(m(b["x"]), b["y"])  # noqa: E731
        else:
            data["teacher_logits"] = memo(self.teacher, ("transfer", self.transfer_size, self.omit, self.seed),
                                          lambda: predict(needs[0], x))
            loss = lambda m, b: losses.distillation_loss(  # noqa: E731
                m(b["x"]), b["teacher_logits"], b["y"], self.T, self.alpha)
        fc = FitConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed, device=device,
                       lr_schedule=self.lr_schedule)
        return fit(model, loss, data, fc, name=f"student {hidden_label(self.hidden)} {self.kind}", verbose=False,
                   callback=callback)


def teacher_spec(cfg: HintonConfig) -> TeacherSpec:
    """The teacher of ``cfg``: only its own settings, so chapter 2 reuses chapter 1's teacher."""
    return TeacherSpec(seed=cfg.seed, hidden=cfg.teacher_hidden, epochs=cfg.teacher_epochs, dropout=cfg.teacher_dropout,
                       input_dropout=cfg.teacher_input_dropout, max_norm=cfg.max_norm, jitter=cfg.jitter, lr=cfg.lr,
                       lr_schedule=cfg.teacher_schedule, batch_size=cfg.batch_size)


def student_spec(cfg: HintonConfig, kind: str, *, T: float | None = None, alpha: float | None = None,
                 hidden: tuple[int, ...] | None = None, omit: Iterable[int] = (), seed: int | None = None) -> StudentSpec:
    """The student of ``cfg`` of ``kind`` (``"hard"`` or ``"distilled"``); ``T``, ``alpha``, ``hidden``
    and ``seed`` default to the config's (a hard-label student has none of T, alpha and teacher)."""
    if kind not in ("hard", "distilled"):
        raise ValueError(f"kind must be 'hard' or 'distilled', got {kind!r}")
    omit, seed = parse_digits(omit), cfg.seed if seed is None else check_seed(seed)
    # the config's values are checked already; only the overrides are checked here
    T = cfg.temperature if T is None else check_temperature(T, "T")
    alpha = cfg.alpha if alpha is None else check_fraction(alpha, "alpha")
    hidden = cfg.student_hidden if hidden is None else check_hidden(hidden, "hidden", allow_int=False)
    soft = dict(T=T, alpha=alpha, teacher=teacher_spec(cfg)) if kind == "distilled" else {}
    return StudentSpec(kind=kind, hidden=hidden, epochs=student_epochs(cfg, omit, seed), transfer_size=cfg.transfer_size,
                       omit=omit, seed=seed, lr=cfg.lr, lr_schedule=cfg.lr_schedule, batch_size=cfg.batch_size, **soft)


def make_student(hidden: tuple[int, ...], seed: int) -> MLP:
    """The untrained student (hidden layers ``hidden``, no regularisation), built right after seeding
    with ``seed``: a hard-label and a distilled student of one seed start from identical weights."""
    seed_everything(seed)
    return MLP(hidden)


def train_teacher(cfg: HintonConfig, progress: ProgressFn | None = None, *, verbose: bool = True,
                  use_cache: bool = True) -> runner.Trained:
    """The teacher of ``cfg`` (:class:`TeacherSpec`), trained once and then read from the model cache."""
    t0 = time.perf_counter()
    trained = runner.train(teacher_spec(cfg), device=cfg.device, use_cache=use_cache,
                           progress=progress, label="teacher")
    if verbose and not trained.from_cache:
        print(f"teacher {hidden_label(cfg.teacher_hidden)}: trained in {time.perf_counter() - t0:.1f} s", flush=True)
    return trained


def train_student(cfg: HintonConfig, teacher: MLP | None, kind: str, progress: ProgressFn | None = None, *,
                  T: float | None = None, alpha: float | None = None, hidden: tuple[int, ...] | None = None,
                  omit: Iterable[int] = (), seed: int | None = None, verbose: bool = True,
                  use_cache: bool = True) -> runner.Trained:
    """The student of :func:`student_spec` (its keyword arguments), from the cache or trained here.
    ``teacher`` is the model of ``cfg``'s teacher (needed only when ``use_cache`` is False; otherwise
    the teacher is read from the cache)."""
    spec = student_spec(cfg, kind, T=T, alpha=alpha, hidden=hidden, omit=omit, seed=seed)
    if kind == "distilled" and teacher is None:
        raise ValueError("a distilled student needs a teacher")
    label = f"student {hidden_label(spec.hidden)} " + (
        "hard labels" if kind == "hard" else f"distilled T={spec.T:g} alpha={spec.alpha:g}")
    t0 = time.perf_counter()
    trained = runner.train(spec, device=cfg.device, use_cache=use_cache, progress=progress, label=label,
                           needs=None if use_cache else [teacher] * (kind == "distilled"))
    if verbose and not trained.from_cache:
        print(f"{label}, {spec.epochs} epochs: trained in {time.perf_counter() - t0:.1f} s", flush=True)
    return trained


def student_epochs(cfg: HintonConfig, omit: Iterable[int] = (), seed: int | None = None) -> int:
    """The epochs of a student whose transfer set leaves out ``omit``: ``cfg.student_epochs``, or, with
    ``cfg.match_steps``, about as many optimisation steps as a student on the whole transfer set
    takes (fewer images, more epochs: ``round(student_epochs * all images / images kept)``)."""
    omit = parse_digits(omit)
    if not (cfg.match_steps and omit):
        return cfg.student_epochs
    n_all, n_kept = len(transfer_set(cfg, (), seed)[1]), len(transfer_set(cfg, omit, seed)[1])
    return max(1, round(cfg.student_epochs * n_all / n_kept))


# ----------------------------------------------------------------------------- evaluation

def per_class_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> list[float]:
    """Accuracy on each digit 0..9 (NaN-free: every digit is in the MNIST test set)."""
    pred = logits.argmax(dim=1)
    return [float((pred[labels == d] == d).float().mean()) for d in range(N_DIGITS)]


def evaluate(logits: torch.Tensor, labels: torch.Tensor, omit: Iterable[int] = ()) -> dict:
    """``test_accuracy``, ``test_errors`` and, if ``omit``, ``accuracy_on_omitted``/``errors_on_omitted``."""
    pred = logits.argmax(dim=1)
    out = {"test_accuracy": accuracy(pred, labels), "test_errors": int((pred != labels).sum())}
    omit = parse_digits(omit)
    if omit:
        mask = torch.isin(labels, torch.tensor(omit, dtype=labels.dtype))
        out["accuracy_on_omitted"] = accuracy(pred[mask], labels[mask])
        out["errors_on_omitted"] = int((pred[mask] != labels[mask]).sum())
    return out


# ----------------------------------------------------------------------------- soft targets

def soft_gradient_norms(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                        temperatures: Sequence[float]) -> dict:
    """Norm of d(loss)/d(student logits), by autograd, without and with the T^2 factor.

    ``raw`` is the gradient of the plain soft cross-entropy at temperature T (that is
    ``soft_cross_entropy / T**2``), which shrinks like 1/T^2; ``scaled`` is the gradient of
    :func:`subclass_lib.losses.soft_cross_entropy`, which stays of the same size.
    """
    raw, scaled = [], []
    for T in temperatures:
        T = check_temperature(T)
        z = student_logits.detach().double().clone().requires_grad_(True)
        loss = losses.soft_cross_entropy(z, teacher_logits.double(), T)
        (g_scaled,) = torch.autograd.grad(loss, z)
        scaled.append(float(g_scaled.norm()))
        raw.append(float(g_scaled.norm()) / T**2)
    return {"T": [float(t) for t in temperatures], "raw": raw, "scaled": scaled}


# ----------------------------------------------------------------------------- the experiment

def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_hinton(cfg: HintonConfig = HintonConfig(), use_cache: bool = True, verbose: bool = True,
               progress: ProgressFn | None = None) -> dict:
    """Teacher, small net on hard labels, distilled small net: test accuracies and errors.

    Returns ``{"teacher", "small", "distilled"}`` (each ``test_accuracy``, ``test_errors``,
    ``train_time_s``: the training time recorded when the model was trained), ``config``
    and ``timing_s`` (wall-clock of this call, near 0 for cached models). The two students
    train side by side (:func:`subclass_lib.runner.train_many`), after the teacher.
    """
    if not isinstance(cfg, HintonConfig):
        raise ValueError(f"cfg must be a HintonConfig, got {type(cfg).__name__}")
    _, _, (xs, ys) = load_splits()
    sub = None if progress is None else (lambda a, b: lambda f, t="": progress(a + (b - a) * f, t))
    (teacher, th, _), t_teacher = _timed(lambda: train_teacher(cfg, sub and sub(0.0, 0.6), verbose=verbose,
                                                               use_cache=use_cache))
    specs = [student_spec(cfg, "hard"), student_spec(cfg, "distilled")]
    if use_cache:
        runner.train_many(specs, device=cfg.device, progress=sub and sub(0.6, 0.9))
    (dist, dh, _), t_dist = _timed(lambda: train_student(cfg, teacher, "distilled", verbose=verbose,
                                                         use_cache=use_cache))
    (small, sh, _), t_small = _timed(lambda: train_student(cfg, None, "hard", verbose=verbose, use_cache=use_cache))

    def on_test(spec, model):
        return evaluate(test_logits(spec, model) if use_cache else predict(model, xs), ys)

    evals = {"teacher": on_test(teacher_spec(cfg), teacher), "small": on_test(specs[0], small),
             "distilled": on_test(specs[1], dist)}
    out = {name: {**evals[name], "train_time_s": hist.train_time_s}
           for name, hist in (("teacher", th), ("small", sh), ("distilled", dh))}
    out["teacher"]["examples_per_s"] = (cfg.teacher_epochs * (60000 - VAL_SIZE) / th.train_time_s
                                        if th.train_time_s > 0 else None)
    out["config"] = asdict(cfg)
    out["timing_s"] = {"teacher": t_teacher, "small": t_small, "distilled": t_dist,
                       "total": t_teacher + t_small + t_dist}
    if progress is not None:
        progress(1.0, "done")
    return out
