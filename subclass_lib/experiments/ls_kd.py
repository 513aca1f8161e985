"""Chapter 3 recipes: label smoothing (LS), temperature and knowledge distillation (KD).

Following Chandrasegaran et al. (2022), "Revisiting Label Smoothing and Knowledge
Distillation Compatibility: What was Missing?", which builds on Müller, Kornblith and
Hinton (2019), "When does label smoothing help?":

* two teachers of one architecture, trained with hard labels (``eps = 0``) and with
  label smoothing (``eps > 0``), cached per ``eps`` (:class:`TeacherSpec`, :func:`train_teacher`);
* students distilled from each teacher at several temperatures ``T`` (pure soft
  targets, ``alpha = 1``, as in the paper), all starting from the same initial weights
  (:class:`StudentSpec`, :func:`train_student`);
* :func:`run_ls_kd`: both, the soft-target entropy of each teacher against ``T`` (appendix H)
  and the measurements of :mod:`~subclass_lib.experiments.ls_kd_geometry` (projection, clusters, diffusion).

``python -m subclass_lib ls-kd`` runs :func:`run_ls_kd` and prints its tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import ClassVar

import numpy as np
import torch

from .. import losses, metrics, runner
from ..cache import memo
from ..checks import (check_classes, check_dropout, check_eps, check_fraction, check_hidden, check_lr, check_pos_int,
                      check_scale, check_seed, check_temperature, parse_temperatures)
from .base import Scaled
from ..data import load_mnist, subset
from ..metrics import entropy_curve
from ..models import MLP, predict
from ..train import FitConfig, fit, run_seed, seed_everything
from .ls_kd_geometry import (cluster_geometry, diffusion_rows, digit_sets, penultimate_projection,
                             wrong_class_profile)

__all__ = [
    "LSKDConfig", "LSKDResult", "DEFAULT_TEMPERATURES", "ENTROPY_TEMPERATURES",
    "TeacherSpec", "StudentSpec", "teacher_spec", "student_spec",
    "make_teacher", "make_student", "train_teacher", "train_student", "teacher_logits_on_transfer_set", "transfer_set_labels",
    "teacher_wrong_class_profiles", "penultimate_features", "mnist_test_accuracy", "run_ls_kd", "run_ls_kd_specs", "run_interactive",
]

DEFAULT_TEMPERATURES: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 8.0, 64.0)
ENTROPY_TEMPERATURES: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0, 32.0, 64.0)


# ----------------------------------------------------------------------------- config

@dataclass(frozen=True)
class LSKDConfig(Scaled):
    """One setting of the chapter's experiment. Defaults are the book's default scale.

    Teachers: MLP ``784-512-512-10`` trained on all 60k training images (``teacher_fraction``) for
    ``teacher_epochs`` epochs, with hard labels (eps = 0) and with LS (``eps``).
    Students: MLP ``784-256-10`` trained on a fixed random
    ``transfer_fraction`` of the training images (the transfer set) for
    ``student_epochs`` epochs on the teacher's soft targets only (``alpha = 1``).
    ``student_seeds`` students of each (teacher, T) pair differ only in their seed (initial
    weights and batch order, seeds ``seed + 1``, ``seed + 2``, ...): their mean and spread say
    which differences between temperatures are more than noise. The first of them is the
    student whose penultimate layer the chapter measures.
    ``scale="full"`` (:meth:`for_scale`) switches to Hinton et al.'s sizes.
    """

    eps: float = 0.1
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    seed: int = 0
    teacher_hidden: tuple[int, ...] = (512, 512)
    teacher_epochs: int = 4
    teacher_dropout: float = 0.0
    teacher_fraction: float = 1.0
    student_hidden: tuple[int, ...] = (256,)
    student_epochs: int = 6
    transfer_fraction: float = 0.5
    alpha: float = 1.0
    batch_size: int = 128
    lr: float = 1e-3
    classes: tuple[int, int, int] = (4, 9, 0)
    feature_examples: int = 10_000
    student_seeds: int = 3
    scale: str = "default"
    device: str = "auto"

    def __post_init__(self):
        check_scale(self.scale)
        check_eps(self.eps, "eps")
        if self.eps == 0:
            raise ValueError("eps is the LS teacher's smoothing and must be > 0 (the hard-label teacher is always trained too)")
        object.__setattr__(self, "temperatures", parse_temperatures(self.temperatures, "temperatures"))
        object.__setattr__(self, "classes", check_classes(self.classes, "classes"))
        check_fraction(self.transfer_fraction, "transfer_fraction", low_open=True)
        check_fraction(self.teacher_fraction, "teacher_fraction", low_open=True)
        check_fraction(self.alpha, "alpha")
        for name in ("teacher_epochs", "student_epochs", "batch_size", "feature_examples", "student_seeds"):
            check_pos_int(getattr(self, name), name)
        check_seed(self.seed, "seed")
        for name in ("teacher_hidden", "student_hidden"):
            object.__setattr__(self, name, check_hidden(getattr(self, name), name, allow_int=False))
        check_dropout(self.teacher_dropout, "teacher_dropout")
        check_lr(self.lr, "lr")

    # what differs at each scale (:meth:`for_scale`): ``"full"`` has 2x1200 teachers with dropout and
    # 2x800 students on the whole training set, more epochs (for the CLI and a GPU)
    SCALES = {"default": {},
              "full": dict(teacher_hidden=(1200, 1200), teacher_epochs=30, teacher_dropout=0.3,
                           student_hidden=(800, 800), student_epochs=30, transfer_fraction=1.0)}

    def interactive(self, **overrides) -> "LSKDConfig":
        """The smaller setting of the slider panel (a retrain in seconds): same networks,
        the teacher trained for half the epochs on half the training images, the student on
        a quarter of them for half the epochs (the full scale stays as it is); ``overrides`` on
        top. Cached by config like every other run."""
        if self.scale == "full":
            return replace(self, **overrides) if overrides else self
        return replace(self, **{**dict(teacher_epochs=max(1, self.teacher_epochs // 2),
                                       teacher_fraction=min(self.teacher_fraction, 0.5),
                                       student_epochs=max(1, self.student_epochs // 2),
                                       transfer_fraction=min(self.transfer_fraction, 0.25), student_seeds=1),
                                **overrides})

    def student_seed_list(self) -> list[int]:
        """The students' seeds: ``seed + 1``, ..., ``seed + student_seeds``."""
        return [self.seed + 1 + i for i in range(self.student_seeds)]


# ----------------------------------------------------------------------------- models

def _subset(fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    train = load_mnist("train")
    return subset(train.images, train.labels, fraction, seed=run_seed(seed))


def _transfer_logits(teacher: "TeacherSpec", model: MLP, fraction: float, seed: int) -> torch.Tensor:
    """The logits of ``teacher``'s trained ``model`` on the transfer set (``fraction``, ``seed``), once per process."""
    return memo(teacher, ("transfer", fraction, seed), lambda: predict(model, _subset(fraction, seed)[0]))


@dataclass(frozen=True)
class TeacherSpec(runner.Spec):
    """A teacher with label smoothing ``eps`` (0: hard labels) on ``fraction`` of the 60k training
    images (:func:`subclass_lib.losses.label_smoothing_cross_entropy`); both teachers of a seed
    start from the same weights."""

    name: ClassVar[str] = "lskd-teacher"
    eps: float
    seed: int
    hidden: tuple[int, ...]
    epochs: int
    dropout: float
    batch_size: int
    lr: float
    fraction: float

    def build(self) -> MLP:
        seed_everything(self.seed)
        return MLP(hidden=self.hidden, dropout=self.dropout)

    def fit(self, model, needs, device, callback):
        x, y = _subset(self.fraction, self.seed)
        fc = FitConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed, device=device)
        return fit(model, lambda m, b: losses.label_smoothing_cross_entropy(m(b["x"]), b["y"], self.eps),
                   {"x": x, "y": y}, fc, name=f"teacher eps={self.eps:g}", verbose=False, callback=callback)


@dataclass(frozen=True)
class StudentSpec(runner.Spec):
    """A student distilled from ``teacher`` at ``T`` with task balance ``alpha`` on the transfer set
    (``fraction`` of the training images, drawn with ``seed``); ``student_seed`` seeds its weights and
    batch order, so every student of one seed starts from the same weights."""

    name: ClassVar[str] = "lskd-student"
    teacher: TeacherSpec
    T: float
    seed: int
    student_seed: int
    hidden: tuple[int, ...]
    epochs: int
    alpha: float
    fraction: float
    batch_size: int
    lr: float

    def needs(self):
        return (self.teacher,)

    def build(self) -> MLP:
        seed_everything(self.student_seed)
        return MLP(hidden=self.hidden)

    def fit(self, model, needs, device, callback):
        x, y = _subset(self.fraction, self.seed)
        t = _transfer_logits(self.teacher, needs[0], self.fraction, self.seed)
        fc = FitConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.student_seed,
                       device=device)
        return fit(model, lambda m, b: losses.distillation_loss(m(b["x"]), b["t"], b["y"], self.T, self.alpha),
                   {"x": x, "y": y, "t": t}, fc, name=f"student T={self.T:g}", verbose=False, callback=callback)


def teacher_spec(cfg: LSKDConfig, eps: float) -> TeacherSpec:
    """The teacher of ``cfg`` with label smoothing ``eps``."""
    return TeacherSpec(eps=check_eps(eps), seed=cfg.seed, hidden=cfg.teacher_hidden, epochs=cfg.teacher_epochs,
                       dropout=cfg.teacher_dropout, batch_size=cfg.batch_size, lr=cfg.lr, fraction=cfg.teacher_fraction)


def student_spec(cfg: LSKDConfig, eps: float, T: float, student_seed: int | None = None) -> StudentSpec:
    """The student of teacher ``eps`` at ``T``, seeded with ``student_seed`` (default ``cfg.seed + 1``)."""
    seed = cfg.student_seed_list()[0] if student_seed is None else check_seed(student_seed, "student_seed")
    return StudentSpec(teacher=teacher_spec(cfg, eps), T=check_temperature(T), seed=cfg.seed, student_seed=seed,
                       hidden=cfg.student_hidden, epochs=cfg.student_epochs, alpha=cfg.alpha,
                       fraction=cfg.transfer_fraction, batch_size=cfg.batch_size, lr=cfg.lr)


def make_teacher(cfg: LSKDConfig) -> MLP:
    """The teacher network, seeded with ``cfg.seed``: both teachers start from the same weights."""
    return teacher_spec(cfg, 0.0).build()


def make_student(cfg: LSKDConfig, student_seed: int | None = None) -> MLP:
    """The student network, seeded with ``student_seed`` (default ``cfg.seed + 1``): every
    student of one seed (each T, each teacher) starts from exactly the same initial weights."""
    return student_spec(cfg, 0.0, 1.0, student_seed).build()


def train_teacher(cfg: LSKDConfig, eps: float, progress: Callable[[float, str], None] | None = None, *,
                  verbose: bool = True, use_cache: bool = True) -> runner.Trained:
    """The teacher with label smoothing ``eps`` (:class:`TeacherSpec`), from the cache or trained here."""
    trained = runner.train(teacher_spec(cfg, eps), device=cfg.device, use_cache=use_cache,
                           progress=progress, label=f"teacher eps={eps:g}")
    if verbose and not trained.from_cache:
        print(f"teacher eps={eps:g}: trained in {trained.history.train_time_s:.1f} s", flush=True)
    return trained


@runner.pinned
def teacher_logits_on_transfer_set(cfg: LSKDConfig, eps: float, use_cache: bool = True) -> torch.Tensor:
    """The teacher's logits on the transfer set (once per teacher and transfer set with the cache)."""
    teacher = train_teacher(cfg, eps, verbose=False, use_cache=use_cache).model
    if not use_cache:
        return predict(teacher, _subset(cfg.transfer_fraction, cfg.seed)[0])
    return _transfer_logits(teacher_spec(cfg, eps), teacher, cfg.transfer_fraction, cfg.seed)


def transfer_set_labels(cfg: LSKDConfig) -> torch.Tensor:
    """The true labels of the transfer set, in the order of :func:`teacher_logits_on_transfer_set`."""
    return _subset(cfg.transfer_fraction, cfg.seed)[1]


def teacher_wrong_class_profiles(cfg: LSKDConfig, temperatures: Sequence[float],
                                 use_cache: bool = True) -> dict[float, dict]:
    """Both teachers' mean soft targets on the transfer set, own class against the wrong classes
    (:func:`~subclass_lib.experiments.ls_kd_geometry.wrong_class_profile`), keyed by ``eps``."""
    y = transfer_set_labels(cfg)
    return {eps: wrong_class_profile(teacher_logits_on_transfer_set(cfg, eps, use_cache), y, temperatures)
            for eps in (0.0, cfg.eps)}


def train_student(cfg: LSKDConfig, eps: float, T: float, progress: Callable[[float, str], None] | None = None, *,
                  student_seed: int | None = None, verbose: bool = True, use_cache: bool = True) -> runner.Trained:
    """The student of :func:`student_spec` (soft targets only at the default ``alpha = 1``: the
    T²-scaled soft cross-entropy), from the cache or trained here."""
    spec = student_spec(cfg, eps, T, student_seed)
    needs = None if use_cache else [train_teacher(cfg, eps, verbose=False, use_cache=False).model]
    trained = runner.train(spec, device=cfg.device, use_cache=use_cache, needs=needs,
                           progress=progress, label=f"student T={spec.T:g}")
    if verbose and not trained.from_cache:
        print(f"student eps={eps:g} T={spec.T:g}: trained in {trained.history.train_time_s:.1f} s", flush=True)
    return trained


# ----------------------------------------------------------------------------- evaluation

def mnist_test_accuracy(model) -> float:
    """Accuracy of ``model`` on the 10,000 MNIST test images."""
    test = load_mnist("test")
    return metrics.accuracy(predict(model, test.images), test.labels)


def penultimate_features(cfg: LSKDConfig, model) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate activations and labels of the first ``cfg.feature_examples`` test images."""
    test = load_mnist("test")
    n = min(cfg.feature_examples, len(test.labels))
    return predict(model, test.images[:n], features=True).numpy(), test.labels[:n].numpy()


# ----------------------------------------------------------------------------- the experiment

@dataclass
class LSKDResult:
    """What :func:`run_ls_kd` returns. :meth:`to_json` gives the CLI's JSON (four keys)."""

    teachers: list[dict]
    students: list[dict]
    diffusion_index: list[dict]
    config: dict
    entropy: list[dict] = field(default_factory=list)
    similar: list[list[int]] = field(default_factory=list)
    dissimilar: list[list[int]] = field(default_factory=list)
    geometry: list[dict] = field(default_factory=list)
    train_time_s: float = 0.0

    def to_json(self) -> dict:
        return {"teachers": self.teachers, "students": self.students,
                "diffusion_index": [{k: r[k] for k in ("eps", "T_from", "T_to", "similar", "dissimilar")}
                                    for r in self.diffusion_index],
                "config": self.config}

    def student_accuracy(self, eps: float, T: float) -> float:
        """Test accuracy of the first seed's student."""
        return self._student_row(eps, T)["test_accuracy"]

    def _student_row(self, eps: float, T: float) -> dict:
        for r in self.students:
            if r["eps"] == float(eps) and r["T"] == float(T):
                return r
        raise KeyError(f"no student for eps={eps}, T={T}")

    def student_mean(self, eps: float, T: float) -> float:
        """Mean test accuracy over the students' seeds."""
        return self._student_row(eps, T)["mean_test_accuracy"]

    def student_std(self, eps: float, T: float) -> float:
        """Sample standard deviation (ddof 1) of the test accuracy over the students' seeds."""
        return self._student_row(eps, T)["std_test_accuracy"]

    def teacher_accuracy(self, eps: float) -> float:
        for r in self.teachers:
            if r["eps"] == float(eps):
                return r["test_accuracy"]
        raise KeyError(f"no teacher for eps={eps}")


def _run_specs(cfg: LSKDConfig) -> dict:
    return {(eps, float(T), seed): student_spec(cfg, eps, T, seed) for eps in (0.0, cfg.eps) for T in cfg.temperatures
            for seed in cfg.student_seed_list()}


def run_ls_kd_specs(cfg: LSKDConfig = LSKDConfig()) -> list:
    """The students :func:`run_ls_kd` trains (their teachers are their needs), for one ``runner.train_many``
    over a whole chapter."""
    return list(_run_specs(cfg).values())


def run_ls_kd(cfg: LSKDConfig = LSKDConfig(), use_cache: bool = True, verbose: bool = True,
              progress: Callable[[float, str], None] | None = None) -> LSKDResult:
    """The chapter's experiment: 2 teachers, ``2 × len(temperatures)`` students, entropy,
    geometry, diffusion index. Prints one line per trained model when ``verbose``."""
    epss = (0.0, cfg.eps)
    n_models = 2 + 2 * len(cfg.temperatures) * cfg.student_seeds
    done = 0

    def step(what: str):
        nonlocal done
        done += 1
        if progress is not None:
            progress(done / n_models, what)

    specs = _run_specs(cfg)  # every student, listed once
    trained = dict(zip(specs, runner.train_many(list(specs.values()), device=cfg.device, use_cache=use_cache)))
    teachers, students, entropy, geometry = [], [], [], []
    feats_by_eps: dict[float, dict[float, np.ndarray]] = {}
    time_s = 0.0
    teacher_feats = {}
    for eps in epss:
        t, h, _ = train_teacher(cfg, eps, verbose=False, use_cache=use_cache)
        acc = mnist_test_accuracy(t)
        time_s += h.train_time_s
        teachers.append({"eps": eps, "test_accuracy": acc})
        if verbose:
            print(f"teacher eps={eps:g}: test accuracy {acc:.4f}  ({h.train_time_s:.1f} s training)", flush=True)
        step(f"teacher eps={eps:g}")
        logits = teacher_logits_on_transfer_set(cfg, eps, use_cache)
        entropy.append({"eps": eps, "T": list(ENTROPY_TEMPERATURES),
                        "bits": entropy_curve(logits, ENTROPY_TEMPERATURES)})
        teacher_feats[eps], y_feat = penultimate_features(cfg, t)
        feats_by_eps[eps] = {}
        for T in cfg.temperatures:
            accs = []
            for i, seed in enumerate(cfg.student_seed_list()):
                s, hs, _ = trained[eps, float(T), seed]
                accs.append(mnist_test_accuracy(s))
                time_s += hs.train_time_s
                if i == 0:
                    feats_by_eps[eps][float(T)] = penultimate_features(cfg, s)[0]
            a = np.asarray(accs)
            students.append({"eps": eps, "T": float(T), "test_accuracy": accs[0], "seed_test_accuracy": accs,
                             "mean_test_accuracy": float(a.mean()),
                             "std_test_accuracy": float(a.std(ddof=1)) if len(a) > 1 else 0.0})
            if verbose:
                spread = f" (mean of {len(a)} seeds {a.mean():.4f} +- {students[-1]['std_test_accuracy']:.4f})" \
                    if len(a) > 1 else ""
                print(f"  student eps={eps:g} T={T:g}: test accuracy {accs[0]:.4f}{spread}", flush=True)
            for _ in range(cfg.student_seeds):
                step(f"student eps={eps:g} T={T:g}")
    similar, dissimilar = digit_sets(teacher_feats[0.0], y_feat)
    for eps in epss:
        g = cluster_geometry(teacher_feats[eps], y_feat, similar)
        geometry.append({"eps": eps, "model": "teacher", **g})
    diffusion = []
    for eps in epss:
        diffusion += diffusion_rows(eps, feats_by_eps[eps], y_feat, similar, dissimilar)
    config = asdict(cfg)
    config["temperatures"] = list(cfg.temperatures)
    return LSKDResult(teachers=teachers, students=students, diffusion_index=diffusion, config=config,
                      entropy=entropy, similar=similar, dissimilar=dissimilar, geometry=geometry,
                      train_time_s=time_s)


def run_interactive(eps: float = 0.1, T: float = 4.0, classes: Sequence[int] = (4, 9, 0),
                    cfg: LSKDConfig = LSKDConfig(), progress: Callable[[float, str], None] | None = None,
                    preview: Callable[[dict], None] | None = None) -> dict:
    """One slider setting: the teacher with ``eps`` (cached per eps) and its student at ``T``;
    returns their accuracies and penultimate projections of the three ``classes``. ``preview`` (if
    given) gets the result with the teacher alone (the student's entries None) when the student still
    has to train."""
    eps = check_eps(eps)
    T = check_temperature(T)
    cls = check_classes(classes)
    test = load_mnist("test")
    n = cfg.feature_examples
    x, y = test.images[:n], test.labels[:n]

    def part(lo, hi):
        return None if progress is None else (lambda f, text="": progress(lo + (hi - lo) * f, text))

    teacher = train_teacher(cfg, eps, part(0.0, 0.6), verbose=False).model
    out = {"eps": eps, "T": T, "classes": cls, "teacher_accuracy": mnist_test_accuracy(teacher),
           "teacher_projection": penultimate_projection(teacher, x, y, cls, max_per_class=300)}
    if preview is not None and not runner.is_cached(student_spec(cfg, eps, T)):
        preview({**out, "student_accuracy": None, "student_projection": None})
    student = train_student(cfg, eps, T, part(0.6, 1.0), verbose=False).model
    return {**out, "student_accuracy": mnist_test_accuracy(student),
            "student_projection": penultimate_projection(student, x, y, cls, max_per_class=300)}
