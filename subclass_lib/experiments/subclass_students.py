"""Recipes of chapter 5: students distilled from a teacher that invented subclasses.

The teacher is chapter 4's (:func:`subclass_lib.experiments.subclass.train_teacher`,
cached). Students are trained on the binary task (super-class A vs B) four ways, all from
the same seeded initial weights and the same data order:

* ``hard_labels``: cross-entropy with the binary label only (2 logits);
* ``distillation``: conventional distillation from the teacher's 2 *class* logits
  (``grouped_logits`` of its sub-logits), Eq. 4 with the class logits (2 logits);
* ``subclass_distillation``: Eq. 3-4 on all c*s sub-logits (c*s logits; the student's
  class prediction is the argmax of its grouped logits);
* ``penultimate``: Eq. 5, the squared distance between the teacher's penultimate
  activations and a learned linear projection ``W`` of the student's, plus the hard-label
  term (2 logits; ``W`` is an ``nn.Linear`` trained by ``fit`` through ``extra_modules``).

Plus the reference of the paper's Table 2 and Fig. 4, the ``oracle`` (same network, same
budget, trained on the true digit labels: 10 outputs in the sub-logits' class-major order, so
its binary prediction is the class with the larger summed probability, as for the c*s-logit
students), the paper's "no binary label" student (``no_label``: one softmax per class group,
``losses.intra_class_distillation_loss``, never told the binary label) and the NumPy
demo's label-free student (chapter 4's ``train_label_free_student``).

Public API:

* :class:`StudentsConfig` (``for_scale``, ``interactive``): every knob, validated.
* :func:`get_teacher`, :func:`transfer_set`, :func:`make_student`, :func:`student_loss_fn`,
  :func:`train_student` -> :class:`StudentRun`.
* :class:`StudentSpec` (:func:`student_spec`): a student as a spec for ``runner.train_many``, which trains many at once.
* :func:`run_students` -> the JSON dict of ``python -m subclass_lib subclass-students``.

Students over seeds and over a slider's values: :mod:`subclass_lib.experiments.subclass_students_sweeps`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from .. import data as D
from .. import losses as L
from .. import metrics as M
from .. import cache, runner
from ..cache import memo
from ..models import MLP, predict
from ..train import FitConfig, History, fit, run_seed, seed_everything
from ..checks import check_hidden
from .subclass import (SubclassConfig, TeacherResult, TeacherSpec, label_free_spec, load_data, teacher_spec,
                       train_label_free_student, train_teacher)
from .subclass_students_config import (ALL_METHODS, CHAPTER_TEACHER, LABELS, METHODS, OFFICIAL_NOTEBOOK_ACCURACY,
                                       ORACLE, PAPER_ERROR, PAPER_ERROR_STD, StudentsConfig, chapter_teacher)

__all__ = [
    # from subclass_students_config
    "METHODS", "ALL_METHODS", "ORACLE", "CHAPTER_TEACHER", "chapter_teacher", "PAPER_ERROR", "PAPER_ERROR_STD",
    "OFFICIAL_NOTEBOOK_ACCURACY", "LABELS", "StudentsConfig",
    # the recipes
    "StudentRun", "get_teacher", "transfer_set", "make_student", "student_loss_fn", "train_student",
    "StudentSpec", "student_spec", "run_students", "run_students_specs", "results_table", "check_hidden", "digit_labels",
]

# ---------------------------------------------------------------------------- teacher and data

def get_teacher(cfg: StudentsConfig, progress: Callable | None = None, *, verbose: bool = True,
                use_cache: bool = True) -> TeacherResult:
    """Chapter 4's teacher of ``cfg.teacher`` (trained once, then from the cache and, in this process, the memo)."""
    if not use_cache:
        return train_teacher(cfg.teacher, progress, verbose=verbose, use_cache=False)
    return memo(teacher_spec(cfg.teacher), "result", lambda: train_teacher(cfg.teacher, progress, verbose=verbose))


def _check_teacher(cfg: StudentsConfig, teacher: TeacherResult) -> None:
    if not isinstance(teacher, TeacherResult):
        raise ValueError("teacher must be a TeacherResult from subclass.train_teacher / get_teacher")
    if teacher_spec(teacher.config) != teacher_spec(cfg.teacher):
        raise ValueError("the teacher was trained with a different configuration than cfg.teacher")


@runner.pinned
def _transfer_data(tspec: TeacherSpec, model, transfer_fraction: float) -> dict:
    """The students' data from the teacher of ``tspec`` (its outputs computed once per process)."""
    data = load_data(tspec.split, tspec.teacher_fraction)
    t_logits, t_feats = memo(tspec, "train outputs", lambda: (predict(model.cpu(), data["x_train"]),
                                                                predict(model, data["x_train"], features=True)))
    idx = torch.arange(len(data["x_train"]))
    if transfer_fraction < 1:
        idx, _ = D.subset(idx, data["digit_train"], transfer_fraction, seed=0)
    return {
        "x": data["x_train"][idx], "y": data["y_train"][idx], "digit": data["digit_train"][idx],
        "teacher_logits": t_logits[idx], "teacher_features": t_feats[idx],
        "x_val": data["x_val"], "y_val": data["y_val"],
        "x_test": data["x_test"], "y_test": data["y_test"], "digit_test": data["digit_test"],
        "n_classes": tspec.n_classes, "n_sub": tspec.n_sub, "digit_order": tspec.digit_order,
    }


def transfer_set(cfg: StudentsConfig, teacher: TeacherResult) -> dict:
    """The students' data: ``x, y`` (super-class labels), ``digit``, ``teacher_logits``
    (c*s sub-logits) and ``teacher_features`` (penultimate activations) on the transfer
    set (``transfer_fraction`` of the teacher's training set, a fixed subset), plus
    ``x_val, y_val`` (validation) and ``x_test, y_test, digit_test``."""
    _check_teacher(cfg, teacher)
    return _transfer_data(teacher_spec(cfg.teacher), teacher.model, cfg.transfer_fraction)


# ---------------------------------------------------------------------------- students

_KINDS = ALL_METHODS + (ORACLE,)


def _out_dim(method: str, n_classes: int, n_sub: int) -> int:
    if method not in _KINDS:
        raise ValueError(f"method must be one of {_KINDS}, got {method!r}")
    return n_classes * n_sub if method in ("subclass_distillation", "no_label", ORACLE) else n_classes


def digit_labels(digits: torch.Tensor, digit_order: Sequence[int]) -> torch.Tensor:
    """The oracle's 10-way labels: each digit's position in ``digit_order`` (class-major, like
    the sub-logits), so that ``label // n_sub`` is the digit's super-class."""
    order = torch.empty(len(digit_order), dtype=torch.long)
    order[torch.as_tensor(list(digit_order))] = torch.arange(len(digit_order))
    return order[digits.long()]


def make_student(cfg: StudentsConfig, method: str) -> MLP:
    """The untrained student of ``method``, seeded with ``cfg.seed`` right before it is built.

    Every method builds the same hidden layers from the same seed, so all students start
    from identical hidden-layer weights; the three 2-logit students (hard labels,
    distillation, penultimate) are identical in every weight. The c*s-logit students share
    the hidden layers and differ only in the width of the last layer.
    """
    out = _out_dim(method, cfg.teacher.n_classes, cfg.teacher.n_sub)
    seed_everything(cfg.seed)
    return MLP(hidden=cfg.student_hidden, out_dim=out)


def make_projection(cfg: StudentsConfig, teacher_dim: int) -> nn.Linear:
    """W of Eq. 5: student penultimate (``student_hidden[-1]``) -> teacher penultimate, seeded."""
    torch.manual_seed(run_seed(cfg.seed) + 1)
    return nn.Linear(cfg.student_hidden[-1], teacher_dim)


def student_loss_fn(method: str, cfg: StudentsConfig, projection: nn.Module | None = None) -> Callable:
    """``loss_fn(model, batch)`` of a student; ``batch`` has ``x, y, teacher_logits`` (and
    ``teacher_features`` for ``penultimate``, which needs ``projection``)."""
    n_sub, T, alpha = cfg.teacher.n_sub, cfg.temperature, cfg.alpha
    if method == "hard_labels":
        return lambda model, b: L.cross_entropy(model(b["x"]), b["y"])
    if method == "distillation":
        # the teacher's class logits: log-sum-exp of each class's sub-logits (Eq. 1-2)
        return lambda model, b: L.distillation_loss(model(b["x"]), L.grouped_logits(b["teacher_logits"], n_sub),
                                                    b["y"], T, alpha)
    if method == "subclass_distillation":
        return lambda model, b: L.subclass_distillation_loss(model(b["x"]), b["teacher_logits"], b["y"],
                                                             T, alpha, n_sub)
    if method == "no_label":
        return lambda model, b: L.intra_class_distillation_loss(model(b["x"]), b["teacher_logits"], n_sub, T)
    if method == ORACLE:  # the true digits (``digit_labels``), nothing from the teacher
        return lambda model, b: L.cross_entropy(model(b["x"]), b["digit_label"])
    if method == "penultimate":
        if projection is None:
            raise ValueError("the penultimate student needs a projection (nn.Linear student dim -> teacher dim)")
        w = alpha * cfg.penultimate_weight

        def loss_fn(model, b):
            feats = model.features(b["x"])
            hard = L.cross_entropy(model.head(feats), b["y"])
            if w == 0:
                return hard
            pen = L.penultimate_distillation_loss(feats, b["teacher_features"], projection)
            return w * pen + (1 - alpha) * hard

        return loss_fn
    raise ValueError(f"method must be one of {_KINDS}, got {method!r}")


def binary_predictions(logits: torch.Tensor, n_classes: int, n_sub: int) -> torch.Tensor:
    """Class predictions of a student: argmax of its logits (c of them) or of its grouped
    logits (c*s sub-logits)."""
    if logits.shape[1] == n_classes:
        return logits.argmax(1)
    return L.grouped_logits(logits, n_sub).argmax(1)


@dataclass
class StudentRun:
    """One trained student and its numbers (fractions in [0, 1]); like every ``train_*`` result it
    has ``model``, ``history`` and ``from_cache`` (:class:`subclass_lib.runner.Trained`)."""

    method: str
    test_accuracy: float
    test_error: float
    val_accuracy: float
    curve: list  # [(step, validation accuracy)] every ``eval_every`` steps
    train_time_s: float
    from_cache: bool
    n_outputs: int
    recovery_one_to_one: float | None = None  # c*s-logit students: sub-logit argmax vs digit
    contingency: list | None = None
    model: nn.Module | None = field(default=None, repr=False)
    history: History | None = field(default=None, repr=False)

    def summary(self) -> dict:
        d = {"method": self.method, "test_error": self.test_error, "test_accuracy": self.test_accuracy,
             "val_accuracy": self.val_accuracy, "train_time_s": self.train_time_s,
             "from_cache": self.from_cache, "n_outputs": self.n_outputs}
        if self.recovery_one_to_one is not None:
            d["recovery_one_to_one"] = self.recovery_one_to_one
        return d


@dataclass(frozen=True)
class StudentSpec(runner.Spec):
    """A student of ``method`` learning from ``teacher`` on ``transfer_fraction`` of its training set:
    the fields of :class:`StudentsConfig` it depends on, named alike (None where its loss has no such
    setting: the hard-label student has no temperature)."""

    name: ClassVar[str] = "subclass-student"
    method: str
    teacher: TeacherSpec
    student_hidden: tuple[int, ...]
    student_epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    transfer_fraction: float
    eval_every: int | None
    seed: int
    temperature: float | None = None
    alpha: float | None = None
    penultimate_weight: float | None = None

    def needs(self):
        return (self.teacher,)

    def cost(self) -> float:
        return self.student_epochs * self.transfer_fraction

    def build(self) -> MLP:
        return make_student(self, self.method)

    def fit(self, model, needs, device, callback):
        data = _transfer_data(self.teacher, needs[0], self.transfer_fraction)
        train = {"x": data["x"], "y": data["y"]}
        if self.method in ("distillation", "subclass_distillation", "no_label"):
            train["teacher_logits"] = data["teacher_logits"]
        if self.method == ORACLE:
            train["digit_label"] = digit_labels(data["digit"], data["digit_order"])
        extra: list[nn.Module] = []
        if self.method == "penultimate":
            train["teacher_features"] = data["teacher_features"]
            extra = [make_projection(self, data["teacher_features"].shape[1])]
        c, s, x_val, y_val = self.teacher.n_classes, self.teacher.n_sub, data["x_val"], data["y_val"]
        fc = FitConfig(epochs=self.student_epochs, batch_size=self.batch_size, lr=self.lr,
                       weight_decay=self.weight_decay, seed=self.seed, eval_every=self.eval_every, device=device)
        return fit(model, student_loss_fn(self.method, self, extra[0] if extra else None), train, fc,
                   val_fn=lambda m: float((binary_predictions(predict(m, x_val), c, s) == y_val).double().mean()),
                   extra_modules=extra, name=self.method, verbose=False, callback=callback)


def student_spec(cfg: StudentsConfig, method: str) -> StudentSpec:
    """The student of ``method`` of ``cfg`` (changing T does not retrain the hard-label student)."""
    _out_dim(method, 2, 1)  # validates the name
    if not isinstance(cfg, StudentsConfig):
        raise ValueError(f"cfg must be a StudentsConfig, got {type(cfg).__name__}")
    d = {f.name: getattr(cfg, f.name) for f in fields(StudentSpec) if f.name not in ("method", "teacher")}
    drop = (["alpha"] * (method in ("hard_labels", "no_label", ORACLE))
            + ["temperature"] * (method in ("hard_labels", "penultimate", ORACLE))
            + ["penultimate_weight"] * (method != "penultimate"))
    return StudentSpec(method=method, teacher=teacher_spec(cfg.teacher), **{**d, **dict.fromkeys(drop)})


@runner.pinned
def train_student(cfg: StudentsConfig, method: str, teacher: TeacherResult | None = None,
                  progress: Callable | None = None, *, data: dict | None = None, verbose: bool = True,
                  use_cache: bool = True) -> StudentRun:
    """Train (or load from the cache) the student of ``method`` and evaluate it on the test set.

    ``teacher``: chapter 4's teacher of ``cfg.teacher`` (trained or loaded when None).
    ``data``: a :func:`transfer_set` of this config and teacher, to skip recomputing it.
    ``progress(fraction, text)`` is called after every epoch. Training and evaluation run
    pinned (``runner.pinned``), so a seed's numbers do not depend on the machine's load.
    """
    spec = student_spec(cfg, method)
    teacher = teacher if teacher is not None else get_teacher(cfg, verbose=verbose, use_cache=use_cache)
    data = data if data is not None else transfer_set(cfg, teacher)
    c, s = data["n_classes"], data["n_sub"]
    t0 = time.perf_counter()
    model, hist, from_cache = runner.train(spec, device=cfg.device, use_cache=use_cache, needs=[teacher.model],
                                           progress=progress, label=LABELS[method])
    took = time.perf_counter() - t0
    model.cpu()
    logits = predict(model, data["x_test"])
    acc = float((binary_predictions(logits, c, s) == data["y_test"]).double().mean())
    run = StudentRun(method=method, test_accuracy=acc, test_error=1.0 - acc,
                     val_accuracy=hist.val_accuracy[-1] if hist.val_accuracy else float("nan"),
                     curve=[list(p) for p in hist.step_eval], train_time_s=hist.train_time_s,
                     from_cache=from_cache, n_outputs=logits.shape[1], model=model, history=hist)
    if logits.shape[1] == c * s and s > 1:
        order = np.empty(10, dtype=np.int64)
        order[list(data["digit_order"])] = np.arange(10)
        table = M.contingency(logits.argmax(1).numpy(), order[data["digit_test"].numpy()], c * s, 10)
        run.contingency = table.astype(int).tolist()
        run.recovery_one_to_one = M.subclass_recovery(table)["one_to_one"]
    if verbose:
        how = "cached" if run.from_cache else f"trained {cfg.student_epochs} epochs in {took:.1f} s"
        print(f"student {method:<22} seed {cfg.seed}: {how}; binary test error {run.test_error:.4f}", flush=True)
    return run


def initial_students(cfg: StudentsConfig, methods: Sequence[str] = ALL_METHODS) -> dict[str, MLP]:
    """The untrained students (as :func:`make_student` builds them), e.g. to check that
    they start from identical weights."""
    return {m: make_student(cfg, m) for m in methods}


def _label_free_config(cfg: StudentsConfig) -> SubclassConfig:
    """Chapter 4's label-free student of ``cfg``'s teacher at ``cfg``'s temperature and epochs."""
    return replace(cfg.teacher, temperature=cfg.temperature, student_epochs=cfg.student_epochs)


def run_students_specs(cfg: StudentsConfig = StudentsConfig(), methods: Sequence[str] = METHODS, *,
                       no_label: bool = True, label_free: bool = False) -> list:
    """The specs of the students :func:`run_students` trains with these arguments (for one
    ``runner.train_many`` over a whole chapter)."""
    specs = [student_spec(cfg, m) for m in list(methods) + (["no_label"] if no_label else [])]
    return specs + ([label_free_spec(_label_free_config(cfg))] if label_free else [])


def run_students(cfg: StudentsConfig = StudentsConfig(), methods: Sequence[str] = METHODS,
                 teacher: TeacherResult | None = None, progress: Callable | None = None, *,
                 no_label: bool = True, label_free: bool = False, verbose: bool = True,
                 use_cache: bool = True) -> dict:
    """The teacher, the students of ``methods`` and (``no_label``) the no-binary-label student;
    (``label_free``) also the demo's label-free student. The JSON dict of
    ``python -m subclass_lib subclass-students``; ``runs`` holds the :class:`StudentRun`
    objects (models included) and is dropped by the CLI."""
    methods = list(methods)
    for m in methods:
        _out_dim(m, 2, 1)
    t0 = time.perf_counter()
    n_jobs = len(methods) + int(no_label) + int(label_free) + 1
    part = (lambda i: (lambda f, s="": progress((i + f) / n_jobs, s))) if progress else (lambda i: None)
    teacher = teacher if teacher is not None else get_teacher(cfg, part(0), verbose=verbose,
                                                              use_cache=use_cache)
    _check_teacher(cfg, teacher)
    t1 = time.perf_counter()
    if use_cache and cache.is_cached(teacher_spec(cfg.teacher)):  # the students read it from the cache
        runner.train_many(run_students_specs(cfg, methods, no_label=no_label, label_free=label_free),
                          device=cfg.device)
    data = transfer_set(cfg, teacher)
    runs = {}
    for i, m in enumerate(methods):
        runs[m] = train_student(cfg, m, teacher, part(1 + i), data=data, verbose=verbose,
                                use_cache=use_cache)
    t2 = time.perf_counter()
    out = {"teacher": {"test_accuracy": teacher.super_accuracy, "test_error": 1.0 - teacher.super_accuracy,
                       "recovery_one_to_one": teacher.recovery_one_to_one,
                       "recovery_any": teacher.recovery_any},
           "students": [runs[m].summary() for m in methods]}
    timing = {"teacher": t1 - t0, "students": t2 - t1}
    if no_label:
        runs["no_label"] = train_student(cfg, "no_label", teacher, part(1 + len(methods)), data=data,
                                         verbose=verbose, use_cache=use_cache)
        out["no_label_student"] = runs["no_label"].summary()
        timing["no_label_student"] = time.perf_counter() - t2
    if label_free:
        t3 = time.perf_counter()
        lf = train_label_free_student(_label_free_config(cfg), teacher, part(n_jobs - 1), verbose=verbose, use_cache=use_cache)
        out["label_free_student"] = lf.summary()
        runs["label_free"] = lf
        timing["label_free_student"] = time.perf_counter() - t3
    timing["total"] = time.perf_counter() - t0
    cfg_d = asdict(cfg)
    cfg_d["teacher"] = asdict(cfg.teacher)
    out.update({"paper_error": PAPER_ERROR, "official_notebook_accuracy": OFFICIAL_NOTEBOOK_ACCURACY,
                "config": cfg_d, "timing_s": timing, "runs": runs})
    if progress is not None:
        progress(1.0, "done")
    return out


def results_table(res: dict) -> list[dict]:
    """Rows of the chapter's table: our binary test error beside the paper's (errors) and
    its official notebook's (accuracies)."""
    rows = [{"model": "teacher", "test error": res["teacher"]["test_error"],
             "paper error": PAPER_ERROR["teacher"],
             "official notebook acc.": OFFICIAL_NOTEBOOK_ACCURACY["teacher"]}]
    for s in res["students"] + ([res["no_label_student"]] if "no_label_student" in res else []):
        rows.append({"model": LABELS[s["method"]], "test error": s["test_error"],
                     "paper error": PAPER_ERROR.get(s["method"]),
                     "official notebook acc.": OFFICIAL_NOTEBOOK_ACCURACY.get(s["method"])})
    return rows
