"""Recipe of chapter 1: Hinton et al. (2015) distillation on MNIST.

A big teacher (2x1200 ReLU, dropout, max-norm, +-2 px jitter), a small net trained on hard
labels and the same small net distilled at temperature ``T`` with task balance ``alpha``.
The sweeps over T, alpha and seeds are in :mod:`subclass_lib.experiments.hinton_sweeps`;
chapter 2 (:mod:`subclass_lib.experiments.mythical3`) reuses these nets.

Two scales, one code path (:meth:`HintonConfig.for_scale`):

* ``default`` (the book and CI): the 2x1200 teacher (20% dropout, max-norm, jitter) for 6
  epochs on 55,000 images with a cosine learning-rate decay, students (2x800) for 10 epochs at a
  constant rate on a 10,000-image transfer set. A small transfer set is also where
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

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import torch

from .. import losses
from ..data import N_DIGITS, load_mnist, omit_digits, parse_digits, train_val_split
from ..losses import soft_targets
from ..metrics import accuracy
from ..models import MLP, hidden_label, predict
from ..runner import Job, Trained, load_or_train, run_all, start_in_worker
from .base import Scaled
from ..train import FitConfig, check_lr_schedule, fit, progress_callback, run_seed, seed_everything
from ..checks import (check_bool, check_dropout, check_fraction, check_hidden, check_int, check_lr, check_pos_int,
                      check_real, check_scale, check_seed, check_temperature)

__all__ = [
    "HintonConfig", "SOURCE_HINTON", "parse_digits", "teacher_settings", "load_splits", "transfer_set",
    "make_student", "train_teacher", "train_student", "student_epochs", "teacher_job", "student_job", "evaluate",
    "per_class_accuracy", "run_hinton", "soft_targets", "soft_gradient_norms", "logits_once", "test_logits",
]

ProgressFn = Callable[[float, str], None]

#: Validation images held out of the teacher's training set (and of every transfer set).
VAL_SIZE = 5000
#: Seed of the train/validation split: part of the benchmark, the same for every run.
SPLIT_SEED = 0

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
    teacher_epochs: int = 6
    student_epochs: int = 10
    transfer_size: int | None = 10000
    teacher_dropout: float = 0.2
    teacher_input_dropout: float = 0.0
    max_norm: float = 3.5
    jitter: int = 2
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
    # (default: milder dropout and a cosine decay so that the teacher is good after 6 epochs; full:
    # Hinton et al.'s 50% hidden / 20% input dropout, trained long enough for it to pay off, every
    # net with a cosine decay)
    SCALES = {
        "default": dict(teacher_epochs=6, student_epochs=10, transfer_size=10000, teacher_dropout=0.2,
                        teacher_input_dropout=0.0, lr_schedule="constant", teacher_lr_schedule="cosine"),
        "full": dict(teacher_epochs=60, student_epochs=30, transfer_size=None,
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

@functools.lru_cache(maxsize=2)
def load_splits(seed: int = SPLIT_SEED):
    """``(x_train, y_train), (x_val, y_val), (x_test, y_test)``: 55,000 / 5,000 / 10,000 images (split
    once per process: every student, slider setting and evaluation reads the same tensors, unchanged)."""
    tr, te = load_mnist("train"), load_mnist("test")
    (xt, yt), (xv, yv) = train_val_split(tr.images, tr.labels, val_size=VAL_SIZE, seed=seed)
    return (xt, yt), (xv, yv), (te.images, te.labels)


def transfer_set(cfg: HintonConfig, omit: Iterable[int] = (), seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The students' transfer set: ``transfer_size`` images of the training part (seeded by
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


#: Logits of cached models, computed once per process: a slider panel asks for the same teacher's
#: logits on the test set and on a transfer set at every retrain (half a second each on one thread).
_LOGITS: dict[tuple, torch.Tensor] = {}


def logits_once(key: tuple, model: MLP, images: torch.Tensor) -> torch.Tensor:
    """``predict(model, images)``, kept for this process under ``key``, which must name both the model
    (e.g. its :class:`~subclass_lib.runner.Job`'s key, which includes the library's fingerprint) and
    the images."""
    if key not in _LOGITS:
        _LOGITS[key] = predict(model, images)
    return _LOGITS[key]


def test_logits(job: Job, model: MLP) -> torch.Tensor:
    """The logits on the 10,000 test images of the model that ``job`` trains into the cache (once per process)."""
    _, _, (xs, _) = load_splits()
    return logits_once(("test", *job.key), model, xs)


# ----------------------------------------------------------------------------- models

def teacher_settings(cfg: HintonConfig) -> dict:
    """The fields that define the teacher (its cache key): shared by chapters 1 and 2."""
    return dict(seed=cfg.seed, hidden=list(cfg.teacher_hidden), epochs=cfg.teacher_epochs,
                dropout=cfg.teacher_dropout, input_dropout=cfg.teacher_input_dropout,
                max_norm=cfg.max_norm, jitter=cfg.jitter, lr=cfg.lr, lr_schedule=cfg.teacher_schedule,
                batch_size=cfg.batch_size, val_size=VAL_SIZE, split_seed=SPLIT_SEED)


def _make_teacher(cfg: HintonConfig) -> MLP:
    seed_everything(cfg.seed)
    return MLP(cfg.teacher_hidden, dropout=cfg.teacher_dropout,
               input_dropout=cfg.teacher_input_dropout, max_norm=cfg.max_norm)


def train_teacher(cfg: HintonConfig, progress: ProgressFn | None = None, *, verbose: bool = True,
                  use_cache: bool = True) -> Trained:
    """The big net: hidden layers ``teacher_hidden`` (2 x 1200 ReLU), dropout, max-norm, jitter, hard labels.

    Trained on the 55,000 training images (all ten digits), cached by
    :func:`teacher_settings`. Prints one line per epoch when it trains. Like every model of
    the book it is trained by :func:`subclass_lib.runner.load_or_train`, so a seed gives the
    same numbers on a machine whatever its size or its load.
    """
    (xt, yt), (xv, yv), _ = load_splits()

    def train_fn(model):
        return fit(model, lambda m, b: losses.cross_entropy(m(b["x"]), b["y"]), {"x": xt, "y": yt},
                   cfg.fit_config(cfg.teacher_epochs, jitter=cfg.jitter, teacher=True),
                   val_fn=lambda m: accuracy(predict(m, xv), yv), name="teacher", verbose=verbose,
                   callback=progress_callback(progress, "teacher"))

    return load_or_train("hinton-teacher", teacher_settings(cfg), lambda: _make_teacher(cfg), train_fn,
                         use_cache=use_cache)


def make_student(hidden: tuple[int, ...], seed: int) -> MLP:
    """The untrained student (hidden layers ``hidden``, no regularisation), built right after seeding
    with ``seed``: a hard-label and a distilled student of one seed start from identical weights."""
    seed_everything(seed)
    return MLP(hidden)


def train_student(cfg: HintonConfig, teacher: MLP | None, kind: str, progress: ProgressFn | None = None, *,
                  T: float | None = None, alpha: float | None = None, hidden: tuple[int, ...] | None = None,
                  omit: Iterable[int] = (), seed: int | None = None, verbose: bool = True,
                  use_cache: bool = True, preview: Callable[[MLP, int, int], None] | None = None) -> Trained:
    """A small net (hidden layers ``hidden``, default ``cfg.student_hidden``; no regularisation) on the
    transfer set.

    ``seed`` (default ``cfg.seed``) seeds the student alone: its initial weights, its
    transfer subset and its batch order; the teacher stays the one of ``cfg``. A hard-label
    and a distilled student of one seed start from identical weights.

    ``kind="hard"``: cross-entropy on the labels. ``kind="distilled"``:
    :func:`subclass_lib.losses.distillation_loss` with the teacher's logits at temperature
    ``T`` and task balance ``alpha`` (defaults: the config's). The teacher's logits are
    computed once on the (un-jittered) transfer set and ride along with each batch.

    ``preview(model, epoch, epochs)``, when the student is trained (not loaded), is called once,
    halfway (after epoch ``epochs // 2``), with the student as it stands: a slider panel shows it
    while the rest trains. It changes nothing in the training.
    """
    args = _student_args(cfg, kind, T, alpha, hidden, omit, seed)
    T, alpha, hidden, omit, seed, epochs = (args[k] for k in ("T", "alpha", "hidden", "omit", "seed", "epochs"))
    if kind == "distilled" and teacher is None:
        raise ValueError("a distilled student needs a teacher")
    x, y = transfer_set(cfg, omit, seed)
    key = _student_key(cfg, kind, **args)
    label = f"student {hidden_label(hidden)} " + ("hard labels" if kind == "hard" else f"distilled T={T:g} alpha={alpha:g}")

    def train_fn(model):  # the teacher's logits are computed here too, where the runner trains
        if kind == "hard":
            data = {"x": x, "y": y}
            loss = lambda m, b: losses.cross_entropy(m(b["x"]), b["y"])  # noqa: E731
        else:
            t_logits = (logits_once(("transfer", *teacher_job(cfg).key, omit, seed), teacher, x) if use_cache
                        else predict(teacher, x))
            data = {"x": x, "y": y, "teacher_logits": t_logits}
            loss = lambda m, b: losses.distillation_loss(m(b["x"]), b["teacher_logits"], b["y"], T, alpha)  # noqa: E731
        report = progress_callback(progress, label)

        def callback(epoch, n_epochs, hist):
            if report is not None:
                report(epoch, n_epochs, hist)
            if preview is not None and epoch == n_epochs // 2:
                preview(model, epoch, n_epochs)

        return fit(model, loss, data, cfg.fit_config(epochs, seed=seed), name=label, verbose=False,
                   callback=callback)

    t0 = time.perf_counter()
    trained = load_or_train("hinton-student", key, lambda: make_student(hidden, seed), train_fn, use_cache=use_cache)
    if verbose:
        took = time.perf_counter() - t0
        how = "from the cache" if trained.from_cache else f"trained in {took:.1f} s"
        print(f"{label} on {len(y)} transfer images, {epochs} epochs: {how}", flush=True)
    return trained


def _student_args(cfg: HintonConfig, kind: str, T=None, alpha=None, hidden=None, omit=(), seed=None) -> dict:
    """:func:`train_student`'s settings, checked, with the config's defaults filled in."""
    if kind not in ("hard", "distilled"):
        raise ValueError(f"kind must be 'hard' or 'distilled', got {kind!r}")
    omit, seed = parse_digits(omit), cfg.seed if seed is None else check_seed(seed)
    return dict(T=check_temperature(cfg.temperature if T is None else T, "T"),
                alpha=check_fraction(cfg.alpha if alpha is None else alpha, "alpha"),
                hidden=check_hidden(cfg.student_hidden if hidden is None else hidden, "hidden", allow_int=False),
                omit=omit, seed=seed, epochs=student_epochs(cfg, omit, seed))


def student_epochs(cfg: HintonConfig, omit: Iterable[int] = (), seed: int | None = None) -> int:
    """The epochs of a student whose transfer set leaves out ``omit``: ``cfg.student_epochs``, or, with
    ``cfg.match_steps``, about as many optimisation steps as a student on the whole transfer set
    takes (fewer images, more epochs: ``round(student_epochs * all images / images kept)``)."""
    omit = parse_digits(omit)
    if not (cfg.match_steps and omit):
        return cfg.student_epochs
    n_all, n_kept = len(transfer_set(cfg, (), seed)[1]), len(transfer_set(cfg, omit, seed)[1])
    return max(1, round(cfg.student_epochs * n_all / n_kept))


def _student_key(cfg: HintonConfig, kind: str, T: float, alpha: float, hidden: tuple, omit: tuple, seed: int,
                 epochs: int) -> dict:
    """The fields a student depends on (its cache key)."""
    key = dict(kind=kind, hidden=list(hidden), epochs=epochs, transfer_size=cfg.transfer_size,
               omit=list(omit), seed=seed, lr=cfg.lr, lr_schedule=cfg.lr_schedule, batch_size=cfg.batch_size)
    if kind == "distilled":
        key.update(T=T, alpha=alpha, teacher=teacher_settings(cfg))
    return key


def teacher_job(cfg: HintonConfig) -> Job:
    """The teacher of ``cfg`` as a job for :func:`subclass_lib.runner.run_all`."""
    return Job(train_teacher, (cfg,), {"verbose": False}, entries=(("hinton-teacher", teacher_settings(cfg)),),
               cost=sum(cfg.teacher_hidden))


def student_job(cfg: HintonConfig, kind: str, **kw) -> Job:
    """A student of :func:`train_student` (``kw``: its keyword arguments, e.g. ``T=8, seed=1``) as
    a job for :func:`subclass_lib.runner.run_all`: the big students first, after their teacher."""
    args = _student_args(cfg, kind, **kw)
    kw = {k: v for k, v in args.items() if k != "epochs"}  # train_student works the epochs out again
    return Job(_train_student_job, (cfg, kind, kw), entries=(("hinton-student", _student_key(cfg, kind, **args)),),
               cost=sum(args["hidden"]), needs=(teacher_job(cfg),) if kind == "distilled" else ())


def _train_student_job(cfg: HintonConfig, kind: str, kw: dict) -> None:
    teacher = train_teacher(cfg, verbose=False).model if kind == "distilled" else None
    train_student(cfg, teacher, kind, verbose=False, **kw)


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
               progress: ProgressFn | None = None, partial: Callable[[dict], None] | None = None) -> dict:
    """Teacher, small net on hard labels, distilled small net: test accuracies and errors.

    Returns ``{"teacher", "small", "distilled"}`` (each ``test_accuracy``, ``test_errors``,
    ``train_time_s``: the training time recorded when the model was trained), ``config``
    and ``timing_s`` (wall-clock of this call, near 0 for cached models).

    With ``partial`` (a slider panel's preview), a distilled student that has to be trained trains
    in this process while the hard-label one (if it has to be trained too) trains in a worker beside
    it, and halfway through its epochs ``partial(result)`` gets the result so far: the distilled
    student as it stands, with ``"epochs_done"`` and ``"epochs"`` in its entry, and ``"small"``
    ``None`` unless the hard-label student is cached. The numbers are those of a run without it.
    """
    if not isinstance(cfg, HintonConfig):
        raise ValueError(f"cfg must be a HintonConfig, got {type(cfg).__name__}")
    _, _, (xs, ys) = load_splits()
    sub = None if progress is None else (lambda a, b: lambda f, t="": progress(a + (b - a) * f, t))
    (teacher, th, _), t_teacher = _timed(lambda: train_teacher(cfg, sub and sub(0.0, 0.6), verbose=verbose,
                                                               use_cache=use_cache))
    jobs = [student_job(cfg, "hard"), student_job(cfg, "distilled")]

    def on_test(job, model):
        return evaluate(test_logits(job, model) if use_cache else predict(model, xs), ys)

    teacher_on_test = on_test(teacher_job(cfg), teacher)
    side, preview = None, None
    if partial is not None and use_cache and not jobs[1].done():
        side = start_in_worker(jobs[0], cfg.device)  # the hard-label student beside the distilled one

        def preview(model, epoch, epochs):
            small = (train_student(cfg, None, "hard", verbose=False).model if jobs[0].done() else None)
            partial({"teacher": teacher_on_test,
                     "small": None if small is None else on_test(jobs[0], small),
                     "distilled": {**evaluate(predict(model, xs), ys), "epochs_done": epoch, "epochs": epochs},
                     "config": asdict(cfg)})
    elif use_cache:  # both students at once, side by side
        run_all(jobs, device=cfg.device)
    (dist, dh, _), t_dist = _timed(lambda: train_student(cfg, teacher, "distilled", sub and sub(0.6, 0.9),
                                                         verbose=verbose, use_cache=use_cache, preview=preview))
    if side is not None:
        side.result()
    (small, sh, _), t_small = _timed(lambda: train_student(cfg, None, "hard", sub and sub(0.9, 1.0),
                                                           verbose=verbose, use_cache=use_cache))
    evals = {"teacher": teacher_on_test, "small": on_test(jobs[0], small), "distilled": on_test(jobs[1], dist)}
    out = {name: {**evals[name], "train_time_s": hist.train_time_s}
           for name, hist in (("teacher", th), ("small", sh), ("distilled", dh))}
    out["teacher"]["examples_per_s"] = (cfg.teacher_epochs * (60000 - VAL_SIZE) / th.train_time_s
                                        if th.train_time_s > 0 else None)
    out["config"] = asdict(cfg)
    out["timing_s"] = {"teacher": t_teacher, "small": t_small, "distilled": t_dist,
                       "total": t_teacher + t_small + t_dist}
    return out
