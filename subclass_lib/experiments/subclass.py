"""Recipes of chapter 4: a teacher that invents subclasses (MNIST-2x5).

The teacher sees only the super-class label (digits of group A vs group B of ``split``)
and has ``c * n_sub`` sub-logits in class-major layout; its class probability is the sum
of its subclasses' probabilities (:func:`subclass_lib.losses.grouped_cross_entropy`). An
auxiliary loss keeps the subclasses in use: the paper's contrastive loss (Eq. 6-7), the
NumPy demo's bounded diversity/sharpness surrogate, or none (the subclasses collapse).

Public API (stable; chapter 5 builds on it):

* :class:`SubclassConfig`: every knob, validated; defaults = the chapter's default scale
  (with :func:`load_data` and the published numbers, in :mod:`.subclass_config`).
* :func:`train_teacher` -> :class:`TeacherResult` (trained once, then from the model cache).
* :func:`train_label_free_student` -> :class:`StudentResult`: the demo's student, trained
  only on ``softmax(teacher sub-logits / T)``, never a label.
* :class:`TeacherSpec`, :class:`LabelFreeSpec` (:func:`teacher_spec`, :func:`label_free_spec`): the
  two models as specs, for ``runner.train_many``, which trains many at once.
* :func:`run_subclass` -> the JSON dict of ``python -m subclass_lib subclass``.
* :func:`evaluate_logits`, :func:`entropy_report`: the measurements.

Many teachers, seeds and ensembles: :mod:`subclass_lib.experiments.subclass_seeds`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import ClassVar

import numpy as np
import torch

from .. import data as D
from .. import losses as L
from .. import metrics as M
from .. import cache, runner
from ..cache import memo
from ..models import ConvTeacher, MLP, predict
from ..train import FitConfig, History, fit, run_seed, seed_everything
from .subclass_config import AUX_KINDS, DEMO, PAPER_ENTROPY_BITS, TEACHERS, Groups, SubclassConfig, load_data

__all__ = [
    "SubclassConfig", "DEMO", "PAPER_ENTROPY_BITS", "AUX_KINDS", "TEACHERS", "load_data",  # from subclass_config
    "TeacherResult", "StudentResult", "evaluate_logits", "entropy_report", "loss_terms", "teacher_loss_fn", "train_teacher",
    "train_label_free_student", "TeacherSpec", "LabelFreeSpec", "teacher_spec", "label_free_spec", "run_subclass",
]


# ---------------------------------------------------------------------------- metrics

def _digit_columns(digits: torch.Tensor, order: Sequence[int]) -> np.ndarray:
    """Map digits to their column in the class-major ``order``."""
    inv = np.empty(10, dtype=np.int64)
    inv[list(order)] = np.arange(10)
    return inv[np.asarray(digits)]


def evaluate_logits(logits: torch.Tensor, cfg: SubclassConfig, digits: torch.Tensor, labels: torch.Tensor) -> dict:
    """Super-class accuracy, contingency (rows: sub-logit argmax, cols: digits in class-major
    order) and recovery of a c*n_sub head."""
    g = L.grouped_logits(logits, cfg.n_sub)
    sup = float((g.argmax(1) == labels).float().mean())
    table = M.contingency(logits.argmax(1).numpy(), _digit_columns(digits, cfg.digit_order),
                          cfg.n_classes * cfg.n_sub, 10)
    rec = M.subclass_recovery(table)
    return {"super_accuracy": sup, "contingency": np.asarray(table), "recovery": rec}


def entropy_report(logits: torch.Tensor, class_labels: torch.Tensor, n_sub: int, recovery: float) -> dict:
    """Per-example and utilisation entropies in bits (paper section 4.1) and the effective
    extra label bits per example of a q-ary symmetric channel at recovery P (q = n_sub)."""
    probs = torch.softmax(logits.double(), dim=1).numpy()
    ent = M.subclass_entropies(probs, class_labels.numpy(), n_sub)
    ent["effective_label_bits"] = float(M.effective_label_bits(recovery, q=max(2, n_sub)))
    ent["max_bits"] = math.log2(probs.shape[1])
    return ent


@dataclass
class _SubclassResult:
    """A trained model with c*n_sub sub-logits and what chapter 4 measures on it (test set): the
    ``model``, ``history`` and ``from_cache`` of every ``train_*`` result
    (:class:`subclass_lib.runner.Trained`), and the chapter's measurements."""

    config: SubclassConfig
    model: torch.nn.Module
    test_logits: torch.Tensor
    super_accuracy: float
    contingency: np.ndarray
    recovery: dict
    history: History
    train_time_s: float = 0.0
    from_cache: bool = False

    @property
    def recovery_any(self) -> float:
        return self.recovery["any_mapping"]

    @property
    def recovery_one_to_one(self) -> float:
        return self.recovery["one_to_one"]

    def summary(self) -> dict:
        return {"super_accuracy": self.super_accuracy, "recovery_any": self.recovery_any,
                "recovery_one_to_one": self.recovery_one_to_one,
                "contingency": self.contingency.astype(int).tolist()}


# ---------------------------------------------------------------------------- teacher

def loss_terms(logits: torch.Tensor, class_labels: torch.Tensor, n_sub: int) -> dict:
    """The teacher's loss terms measured on a whole set of images at once (e.g. the 5,000 validation
    images after an epoch), in nats: ``grouped_ce`` (Eq. 1-2); ``diversity``, the entropy of the mean
    subclass distribution inside each class (averaged over the classes; at most log s, when each
    class spreads evenly over its s sub-logits); ``sharpness``, the mean entropy of one image's
    subclass distribution inside its class (0 when every image commits to one sub-logit).
    The diversity-and-sharpness auxiliary loss with weight ``sharpen`` is then
    ``-diversity + sharpen * sharpness``, whose floor is ``-log s``."""
    with torch.no_grad():
        without = L.diversity_sharpness_aux_loss(logits, class_labels, n_sub, 0.0)
        with_one = L.diversity_sharpness_aux_loss(logits, class_labels, n_sub, 1.0)
        return {"grouped_ce": float(L.grouped_cross_entropy(logits, class_labels, n_sub)),
                "diversity": float(-without), "sharpness": float(with_one - without)}


def teacher_loss_fn(cfg: SubclassConfig) -> Callable:
    """``loss_fn(model, batch)`` of the teacher: grouped CE (Eq. 1-2) + beta * aux (Eq. 8)
    + ``consistency`` * view consistency (one forward pass over the batch and its views).
    The views are drawn from a generator seeded with ``cfg.seed``, so a run is repeatable."""
    n_sub, beta, gamma = cfg.n_sub, cfg.aux_weight, cfg.consistency
    gens: dict = {}

    def loss_fn(model, batch):
        x = batch["x"]
        if gamma > 0:
            g = gens.get(x.device)
            if g is None:
                g = gens[x.device] = torch.Generator(device=x.device).manual_seed(run_seed(cfg.seed) + 1000)
            both = model(torch.cat([x, D.random_view(x, cfg.view_shift, cfg.view_noise, generator=g)]))
            z, z_view = both[: len(x)], both[len(x):]
        else:
            z = model(x)
        if cfg.aux == "diversity" and beta > 0:  # the two in one pass (the same loss, fewer tensor ops)
            loss = L.grouped_cross_entropy_with_diversity(z, batch["y"], n_sub, beta, cfg.sharpen)
        else:
            loss = L.grouped_cross_entropy(z, batch["y"], n_sub)
        if gamma > 0:
            loss = loss + gamma * L.view_consistency_loss(z, z_view, batch["y"], n_sub)
        if cfg.aux == "contrastive" and beta > 0 and z.shape[0] >= 2:
            loss = loss + beta * L.contrastive_aux_loss(z, cfg.aux_temperature)
        return loss

    return loss_fn


@dataclass(frozen=True)
class TeacherSpec(Groups, runner.Spec):
    """The subclass teacher: the fields of :class:`SubclassConfig` that it depends on, named alike
    (so :func:`teacher_loss_fn` takes either), and None for the settings of a loss that is off
    (:func:`teacher_spec`). After each epoch the validation contingency table is appended to
    ``history.records`` and the loss terms on the validation images (:func:`loss_terms`) to ``history.terms``; halfway through an even number of epochs the model is also kept as the
    teacher of half the epochs (with Adam at a constant rate, seeded shuffles and views, the first
    N/2 epochs of a run are exactly an N/2-epoch run: tested)."""

    name: ClassVar[str] = "subclass-teacher"
    version: ClassVar[int] = 2  # 2: the loss terms on the validation images recorded per epoch
    teacher: str
    hidden: tuple[int, ...]
    n_sub: int
    split: str
    teacher_epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    jitter: int
    teacher_fraction: float
    seed: int
    aux: str
    consistency: float
    aux_weight: float | None = None
    sharpen: float | None = None
    aux_temperature: float | None = None
    view_shift: int | None = None
    view_noise: float | None = None
    conv_dropout: float | None = None

    def cost(self) -> float:
        per_epoch = self.teacher_fraction * (10.0 if self.teacher == "conv" else 1.0) * (2.0 if self.consistency > 0 else 1.0)
        return self.teacher_epochs * per_epoch

    def build(self) -> torch.nn.Module:
        seed_everything(self.seed)  # same seed -> same initial weights
        out = self.n_classes * self.n_sub
        if self.teacher == "conv":
            return ConvTeacher(out_dim=out, dropout=self.conv_dropout)
        return MLP(hidden=self.hidden, out_dim=out)

    def fit(self, model, needs, device, callback):
        data = load_data(self.split, self.teacher_fraction)
        fc = FitConfig(epochs=self.teacher_epochs, batch_size=self.batch_size, lr=self.lr,
                       weight_decay=self.weight_decay, seed=self.seed, jitter=self.jitter, device=device)
        order_cols = _digit_columns(data["digit_val"], self.digit_order)
        half = self.teacher_epochs // 2 if self.teacher_epochs % 2 == 0 else None

        def record(model, epoch, epochs, hist):
            z_val = predict(model, data["x_val"])
            pred = z_val.argmax(1).numpy()
            hist.records.append(M.contingency(pred, order_cols, self.n_classes * self.n_sub, 10).astype(int).tolist())
            hist.terms.append(loss_terms(z_val, data["y_val"], self.n_sub))
            if epoch == half and not cache.is_cached(replace(self, teacher_epochs=half)):
                cache.store(replace(self, teacher_epochs=half), model, History.from_dict(hist.to_dict()))
            callback(model, epoch, epochs, hist)

        return fit(model, teacher_loss_fn(self), {"x": data["x_train"], "y": data["y_train"]}, fc, name="teacher",
                   verbose=False, callback=record)


def teacher_spec(cfg: SubclassConfig) -> TeacherSpec:
    """The teacher of ``cfg``: the student's fields left out (changing T does not retrain it), and the
    settings of an auxiliary loss that is off too (beta = 0 is one teacher whatever the loss kind)."""
    if not isinstance(cfg, SubclassConfig):
        raise ValueError(f"cfg must be a SubclassConfig, got {type(cfg).__name__}")
    d = {f.name: getattr(cfg, f.name) for f in fields(TeacherSpec)}
    if cfg.aux == "none" or cfg.aux_weight == 0:  # no auxiliary term: its kind is moot
        d["aux"] = "none"
    drop = ["sharpen"] * (d["aux"] != "diversity") + ["aux_temperature"] * (d["aux"] != "contrastive")
    drop += ["aux_weight"] * (d["aux"] == "none") + ["conv_dropout"] * (cfg.teacher != "conv")
    drop += ["view_shift", "view_noise"] * (cfg.consistency == 0)
    return TeacherSpec(**{**d, **dict.fromkeys(drop)})


@dataclass(frozen=True)
class LabelFreeSpec(runner.Spec):
    """The demo's student: a 784-``hidden``-c*n_sub MLP (the teacher's ``hidden``) trained only on
    ``soft_cross_entropy(student, teacher, temperature)`` (T^2-scaled), never on a label."""

    name: ClassVar[str] = "subclass-student-label-free"
    teacher: TeacherSpec
    student_epochs: int
    temperature: float

    def needs(self):
        return (self.teacher,)

    def cost(self) -> float:
        return 0.6 * self.student_epochs * self.teacher.teacher_fraction

    def build(self) -> MLP:
        seed_everything(self.teacher.seed)
        return MLP(hidden=self.teacher.hidden, out_dim=self.teacher.n_classes * self.teacher.n_sub)

    def fit(self, model, needs, device, callback):
        t = self.teacher
        data = load_data(t.split, t.teacher_fraction)
        logits = memo(t, "train logits", lambda: predict(needs[0], data["x_train"]))
        fc = FitConfig(epochs=self.student_epochs, batch_size=t.batch_size, lr=t.lr, weight_decay=t.weight_decay,
                       seed=t.seed, device=device)
        return fit(model, lambda m, b: L.soft_cross_entropy(m(b["x"]), b["t"], self.temperature),
                   {"x": data["x_train"], "t": logits}, fc, name="student", verbose=False, callback=callback)


def label_free_spec(cfg: SubclassConfig) -> LabelFreeSpec:
    """The label-free student of ``cfg``."""
    return LabelFreeSpec(teacher=teacher_spec(cfg), student_epochs=cfg.student_epochs, temperature=cfg.temperature)


@dataclass
class TeacherResult(_SubclassResult):
    """A trained subclass teacher and what chapter 4 measures on it (test set)."""

    snapshots: list | None = None  # per-epoch validation contingency tables (None if unknown)
    entropies: dict = field(default_factory=dict)
    _val_logits: torch.Tensor | None = field(default=None, repr=False)

    @property
    @runner.pinned
    def val_logits(self) -> torch.Tensor:
        """Logits on the 5,000 validation images (computed on first use: only the ensemble
        needs them, and a conv teacher takes seconds)."""
        if self._val_logits is None:
            x_val = load_data(self.config.split, self.config.teacher_fraction)["x_val"]
            self._val_logits = predict(self.model, x_val)
        return self._val_logits


@runner.pinned
def train_teacher(cfg: SubclassConfig = SubclassConfig(), progress: Callable | None = None, *,
                  verbose: bool = True, use_cache: bool = True) -> TeacherResult:
    """Train (or load from the cache) the subclass teacher of ``cfg``.

    ``progress(fraction, text)`` is called after every epoch (for a widget bar);
    ``verbose`` prints one line per model. Per-epoch validation contingency tables are
    recorded (``snapshots``) for the training animation.
    """
    t0 = time.perf_counter()
    model, hist, from_cache = runner.train(teacher_spec(cfg), device=cfg.device, use_cache=use_cache,
                                           progress=progress, label="teacher")
    took = time.perf_counter() - t0
    if progress is not None:
        progress(1.0, "teacher ready")
    data = load_data(cfg.split, cfg.teacher_fraction)
    model.cpu()
    test_logits = predict(model, data["x_test"])
    ev = evaluate_logits(test_logits, cfg, data["digit_test"], data["y_test"])
    res = TeacherResult(config=cfg, model=model, test_logits=test_logits,
                        super_accuracy=ev["super_accuracy"], contingency=ev["contingency"],
                        recovery=ev["recovery"], history=hist, snapshots=hist.records or None,
                        train_time_s=hist.train_time_s, from_cache=from_cache)
    res.entropies = entropy_report(test_logits, data["y_test"], cfg.n_sub, res.recovery_one_to_one)
    if verbose:
        how = "cached" if from_cache else f"trained {cfg.teacher_epochs} epochs in {took:.1f} s"
        print(f"teacher {cfg.teacher} aux={cfg.aux} seed {cfg.seed}: {how}; super acc "
              f"{res.super_accuracy:.4f}, recovery {res.recovery_any:.4f} (1-to-1 {res.recovery_one_to_one:.4f})",
              flush=True)
    return res


# ---------------------------------------------------------------------------- student

@dataclass
class StudentResult(_SubclassResult):
    """The demo's label-free student (trained only on the teacher's softened sub-logits)."""


@runner.pinned
def train_label_free_student(cfg: SubclassConfig, teacher_result: TeacherResult,
                             progress: Callable | None = None, *, verbose: bool = True,
                             use_cache: bool = True) -> StudentResult:
    """The demo's student: a 784-``hidden``-c*n_sub MLP trained only on
    ``soft_cross_entropy(student, teacher, T)`` (T^2-scaled), never on a label.

    Its super-class prediction is the argmax of its grouped logits; its clusters are the
    argmax of its sub-logits. The student is seeded with ``cfg.seed`` before construction.
    """
    if not isinstance(teacher_result, TeacherResult):
        raise ValueError("teacher_result must be a TeacherResult from train_teacher")
    if teacher_spec(teacher_result.config) != teacher_spec(cfg):
        raise ValueError("teacher_result was trained with a different teacher configuration than cfg")
    data = load_data(cfg.split, cfg.teacher_fraction)
    T = cfg.temperature
    t0 = time.perf_counter()
    model, hist, from_cache = runner.train(label_free_spec(cfg), device=cfg.device, use_cache=use_cache,
                                           needs=[teacher_result.model], progress=progress, label="student")
    took = time.perf_counter() - t0
    model.cpu()
    logits = predict(model, data["x_test"])
    ev = evaluate_logits(logits, cfg, data["digit_test"], data["y_test"])
    res = StudentResult(config=cfg, model=model, test_logits=logits, super_accuracy=ev["super_accuracy"],
                        contingency=ev["contingency"], recovery=ev["recovery"], history=hist,
                        train_time_s=hist.train_time_s, from_cache=from_cache)
    if verbose:
        how = "cached" if from_cache else f"trained {cfg.student_epochs} epochs in {took:.1f} s"
        print(f"label-free student T={T:g} seed {cfg.seed}: {how}; super acc {res.super_accuracy:.4f}, "
              f"recovery {res.recovery_any:.4f} (1-to-1 {res.recovery_one_to_one:.4f})", flush=True)
    return res


# ---------------------------------------------------------------------------- runs

def run_subclass(cfg: SubclassConfig = SubclassConfig(), progress: Callable | None = None, *,
                 verbose: bool = True, use_cache: bool = True) -> dict:
    """Teacher + label-free student; the JSON of ``python -m subclass_lib subclass``."""
    t0 = time.perf_counter()
    tp = (lambda f, s="": progress(0.5 * f, s)) if progress else None
    sp = (lambda f, s="": progress(0.5 + 0.5 * f, s)) if progress else None
    teacher = train_teacher(cfg, tp, verbose=verbose, use_cache=use_cache)
    t1 = time.perf_counter()
    student = train_label_free_student(cfg, teacher, sp, verbose=verbose, use_cache=use_cache)
    t2 = time.perf_counter()
    return {
        "teacher": teacher.summary(),
        "student": student.summary(),
        "entropies_bits": {k: v for k, v in teacher.entropies.items()},
        "config": asdict(cfg),
        "digit_order": cfg.digit_order,
        "cached": {"teacher": teacher.from_cache, "student": student.from_cache},
        "timing_s": {"teacher": t1 - t0, "student": t2 - t1, "total": t2 - t0},
    }
