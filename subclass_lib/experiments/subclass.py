"""Recipes of chapter 4: a teacher that invents subclasses (MNIST-2x5).

The teacher sees only the super-class label (digits of group A vs group B of ``split``)
and has ``c * n_sub`` sub-logits in class-major layout; its class probability is the sum
of its subclasses' probabilities (:func:`subclass_lib.losses.grouped_cross_entropy`). An
auxiliary loss keeps the subclasses in use: the paper's contrastive loss (Eq. 6-7), the
NumPy demo's bounded diversity/sharpness surrogate, or none (the subclasses collapse).

Public API (stable; chapter 5 builds on it):

* :class:`SubclassConfig`: every knob, validated; defaults = the chapter's default scale.
* :func:`train_teacher` -> :class:`TeacherResult` (cached with ``runner.load_or_train``).
* :func:`train_label_free_student` -> :class:`StudentResult`: the demo's student, trained
  only on ``softmax(teacher sub-logits / T)``, never a label.
* :func:`run_subclass` -> the JSON dict of ``python -m subclass_lib subclass``.
* :func:`recovery_over_seeds`, :func:`teacher_ensemble`: variance and ensembles.
* :func:`load_data`: the (memoised) train / validation / test tensors of a config.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from .. import data as D
from .. import losses as L
from .. import metrics as M
from .. import runner
from ..metrics import mean_std
from ..models import ConvTeacher, MLP, predict
from ..runner import cache_dir, cache_key, cpu_threads, default_workers, is_cached, load_or_train, store_cached
from ..train import FitConfig, History, fit, resolve_device, seed_everything
from ..checks import check_int, check_real, check_scale
from ..files import atomic_write

__all__ = [
    "SubclassConfig", "TeacherResult", "StudentResult", "DEMO", "AUX_KINDS", "TEACHERS",
    "load_data", "teacher_loss_fn", "train_teacher", "train_label_free_student", "run_subclass",
    "recovery_over_seeds", "teacher_ensemble", "prefetch_teachers", "train_many", "align_logits",
    "entropy_report", "in_cache",
]

AUX_KINDS = ("contrastive", "diversity", "none")
TEACHERS = ("mlp", "conv")

#: The NumPy demo's published numbers (source 000): seed 0 and seeds 0-4.
DEMO = {
    "recovery_seed0": 0.8288,
    "recovery_mean": 0.7387,
    "recovery_std": 0.0586,
    "recovery_1to1_mean": 0.7361,
    "teacher_super_accuracy_seed0": 0.980,
    "student_super_accuracy_seed0": 0.9795,
    "student_super_accuracy_mean": 0.9778,
    "wall_clock_s_here": 49.0,
}
#: The paper's CIFAR-2x5 entropies with the auxiliary loss (bits).
PAPER_ENTROPY_BITS = {"per_example": 0.42, "utilisation": 3.19}


@dataclass(frozen=True)
class SubclassConfig:
    """Configuration of the chapter-4 teacher and the demo's label-free student.

    Field names follow the NumPy demo's flags (``--n-epochs-teacher`` -> ``n_epochs_teacher``).

    * ``aux``: ``"contrastive"`` (paper Eq. 6-7, temperature ``aux_temperature``),
      ``"diversity"`` (the demo's bounded surrogate, ``sharpen``) or ``"none"``;
      ``aux_weight`` is the paper's beta (Eq. 8).
    * ``n_sub``: subclasses per class; ``split``: the digits of super-class A as a string
      (``"01234"``: A = 0-4, B = 5-9) or groups separated by ``|`` (see ``data.check_groups``).
    * ``teacher``: ``"mlp"`` (784-``hidden``-c*n_sub) or ``"conv"`` (the paper's conv net).
    * ``temperature``: distillation temperature of the label-free student (same ``hidden``).
    * ``consistency``: weight of the view-consistency loss (``losses.view_consistency_loss``):
      each training image's subclass is the target for a perturbed copy of it, shifted by up
      to ``view_shift`` pixels with Gaussian pixel noise of std ``view_noise``
      (``data.random_view``); 0 turns it off (the demo has none).
    * ``jitter``: random shifts (pixels) of the teacher's training images.
    * ``conv_dropout``: dropout rate of the conv teacher (the paper's 0.5).
    * ``train_fraction``: fraction of the 55k training images used (1 = all; small values
      are for tests and quick looks).

    The defaults are the demo's MLP and diversity loss (sharpen 0.4 instead of the demo's
    0.5) plus the view-consistency loss (weight 1, shift 1 px, noise 0.5), trained 16 epochs
    at batch 256: chapter 4 ("Reaching 85%") shows what each change adds on seeds 0-4, and
    ``tools/sweep_teacher.py`` reproduces the sweep that chose sharpen 0.4. :meth:`demo`
    gives the demo's exact configuration.
    """

    seed: int = 0
    n_epochs_teacher: int = 16
    n_epochs_student: int = 12
    temperature: float = 4.0
    aux: str = "diversity"
    aux_weight: float = 1.0
    aux_temperature: float = 1.0
    sharpen: float = 0.4
    consistency: float = 1.0
    view_shift: int = 1
    view_noise: float = 0.5
    n_sub: int = 5
    split: str = "01234"
    teacher: str = "mlp"
    hidden: int = 256
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    jitter: int = 0
    train_fraction: float = 1.0
    conv_dropout: float = 0.5
    scale: str = "default"

    def __post_init__(self):
        check_int("seed", self.seed, 0)
        check_int("n_epochs_teacher", self.n_epochs_teacher, 1)
        check_int("n_epochs_student", self.n_epochs_student, 1)
        check_real("temperature", self.temperature, 0.0, strict=True)
        if self.aux not in AUX_KINDS:
            raise ValueError(f"aux must be one of {AUX_KINDS}, got {self.aux!r}")
        check_real("aux_weight (beta)", self.aux_weight, 0.0, strict=False)
        check_real("aux_temperature", self.aux_temperature, 0.0, strict=True)
        check_real("sharpen", self.sharpen, 0.0, strict=False)
        check_real("consistency", self.consistency, 0.0, strict=False)
        check_int("view_shift", self.view_shift, 0, 27)
        check_real("view_noise", self.view_noise, 0.0, strict=False)
        check_int("n_sub", self.n_sub, 1, 50)
        if not isinstance(self.split, str):
            raise ValueError(f"split must be a digit string like '01234', got {self.split!r}")
        try:
            D.check_groups(self.split)
        except ValueError as exc:
            raise ValueError(f"split {self.split!r} is not a partition of the digits 0-9: {exc}") from None
        if self.teacher not in TEACHERS:
            raise ValueError(f"teacher must be one of {TEACHERS}, got {self.teacher!r}")
        check_int("hidden", self.hidden, 1)
        check_int("batch_size", self.batch_size, 2)
        check_real("lr", self.lr, 0.0, strict=True)
        check_real("weight_decay", self.weight_decay, 0.0, strict=False)
        check_int("jitter", self.jitter, 0, 8)
        cd = check_real("conv_dropout", self.conv_dropout, 0.0, strict=False)
        if cd >= 1:
            raise ValueError(f"conv_dropout must be in [0, 1), got {self.conv_dropout!r}")
        tf = check_real("train_fraction", self.train_fraction, 0.0, strict=True)
        if tf > 1:
            raise ValueError(f"train_fraction must be in (0, 1], got {self.train_fraction!r}")
        check_scale(self.scale)

    # ------------------------------------------------------------------ helpers
    @classmethod
    def for_scale(cls, scale: str = "default", **overrides) -> "SubclassConfig":
        """The chapter's default configuration or the paper's size (``"full"``: the
        paper's conv teacher, 12 epochs, and a 784-unit MLP student), with ``overrides`` on
        top. The full scale trains the conv teacher without dropout: with the paper's 0.5 the
        diversity loss is met by dropout noise and the subclasses collapse at test time
        (chapter 4); pass ``conv_dropout=0.5`` for the paper's exact net."""
        check_scale(scale)
        base = {} if scale == "default" else dict(teacher="conv", conv_dropout=0.0, hidden=784,
                                                  n_epochs_teacher=12, n_epochs_student=12)
        base.update(overrides)
        return cls(scale=scale, **base)

    @classmethod
    def demo(cls, **overrides) -> "SubclassConfig":
        """The NumPy demo's configuration (MLP 256, 12 + 12 epochs, T 4, diversity aux, beta 1,
        sharpen 0.5, no view consistency, batch 128, lr 1e-3, weight decay 1e-4)."""
        base = dict(n_epochs_teacher=12, n_epochs_student=12, temperature=4.0, aux="diversity",
                    aux_weight=1.0, sharpen=0.5, consistency=0.0, n_sub=5, split="01234", teacher="mlp", hidden=256,
                    batch_size=128, lr=1e-3, weight_decay=1e-4, jitter=0)
        base.update(overrides)
        return cls(**base)

    @property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        return D.check_groups(self.split)

    @property
    def n_classes(self) -> int:
        return len(self.groups)

    @property
    def digit_order(self) -> list[int]:
        """Digits in the class-major order of the split (contingency columns)."""
        return D.subclass_order(self.groups)

    def teacher_key(self) -> dict:
        """The fields the teacher depends on (student fields left out, so changing T does
        not retrain the teacher; settings of an auxiliary loss that is off are left out too,
        so beta = 0 is one teacher whatever the loss kind)."""
        d = asdict(self)
        for k in ("n_epochs_student", "temperature", "scale"):
            d.pop(k)
        if self.aux == "none" or self.aux_weight == 0:  # no auxiliary term: its kind is moot
            d["aux"] = "none"
        if d["aux"] != "diversity":
            d.pop("sharpen")
        if d["aux"] != "contrastive":
            d.pop("aux_temperature")
        if d["aux"] == "none":
            d.pop("aux_weight")
        if self.teacher != "conv":
            d.pop("conv_dropout")
        if self.consistency == 0:
            d.pop("view_shift")
            d.pop("view_noise")
        return d


# ---------------------------------------------------------------------------- data

_DATA: dict[tuple, dict] = {}


def load_data(split: str = "01234", train_fraction: float = 1.0) -> dict:
    """Train (55k, minus a 5k validation split; optionally a subset), validation and
    test tensors: ``x_*`` images, ``digit_*`` digits, ``y_*`` super-class labels. Memoised."""
    groups = D.check_groups(split)
    key = (groups, float(train_fraction))
    if key not in _DATA:
        tr, te = D.load_mnist("train"), D.load_mnist("test")
        (x, d), (xv, dv) = D.train_val_split(tr.images, tr.labels, val_size=5000, seed=0)
        if train_fraction < 1:
            x, d = D.subset(x, d, train_fraction, seed=0)
        _DATA[key] = {
            "x_train": x, "digit_train": d, "y_train": D.superclass_labels(d, groups),
            "x_val": xv, "digit_val": dv, "y_val": D.superclass_labels(dv, groups),
            "x_test": te.images, "digit_test": te.labels, "y_test": D.superclass_labels(te.labels, groups),
        }
    return _DATA[key]


# ---------------------------------------------------------------------------- metrics

def _digit_columns(digits: torch.Tensor, order: Sequence[int]) -> np.ndarray:
    """Map digits to their column in the class-major ``order``."""
    inv = np.empty(10, dtype=np.int64)
    inv[list(order)] = np.arange(10)
    return inv[np.asarray(digits)]


def _evaluate(logits: torch.Tensor, cfg: SubclassConfig, digits: torch.Tensor, labels: torch.Tensor) -> dict:
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


# ---------------------------------------------------------------------------- teacher

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
                g = gens[x.device] = torch.Generator(device=x.device).manual_seed(cfg.seed + 1000)
            both = model(torch.cat([x, D.random_view(x, cfg.view_shift, cfg.view_noise, generator=g)]))
            z, z_view = both[: len(x)], both[len(x):]
        else:
            z = model(x)
        loss = L.grouped_cross_entropy(z, batch["y"], n_sub)
        if gamma > 0:
            loss = loss + gamma * L.view_consistency_loss(z, z_view, batch["y"], n_sub)
        if beta > 0 and z.shape[0] >= 2:
            if cfg.aux == "contrastive":
                loss = loss + beta * L.contrastive_aux_loss(z, cfg.aux_temperature)
            elif cfg.aux == "diversity":
                loss = loss + beta * L.diversity_sharpness_aux_loss(z, batch["y"], n_sub, cfg.sharpen)
        return loss

    return loss_fn


def _make_teacher(cfg: SubclassConfig) -> torch.nn.Module:
    seed_everything(cfg.seed)  # same seed -> same initial weights
    out = cfg.n_classes * cfg.n_sub
    if cfg.teacher == "conv":
        return ConvTeacher(out_dim=out, dropout=cfg.conv_dropout)
    return MLP(hidden=(cfg.hidden,), out_dim=out)


class _RecoveryView:
    """Shared read-outs of a teacher's or a student's sub-logit clustering (needs
    ``super_accuracy``, ``contingency`` and ``recovery``)."""

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


@dataclass
class TeacherResult(_RecoveryView):
    """A trained subclass teacher and what chapter 4 measures on it (test set)."""

    config: SubclassConfig
    model: torch.nn.Module
    test_logits: torch.Tensor
    super_accuracy: float
    contingency: np.ndarray
    recovery: dict
    history: History
    snapshots: list | None = None  # per-epoch validation contingency tables (None if unknown)
    entropies: dict = field(default_factory=dict)
    train_time_s: float = 0.0
    from_cache: bool = False
    _val_logits: torch.Tensor | None = field(default=None, repr=False)

    @property
    def val_logits(self) -> torch.Tensor:
        """Logits on the 5,000 validation images (computed on first use: only the ensemble
        needs them, and a conv teacher takes seconds)."""
        if self._val_logits is None:
            with cpu_threads():
                x_val = load_data(self.config.split, self.config.train_fraction)["x_val"]
                self._val_logits = predict(self.model, x_val)
        return self._val_logits


_SNAPSHOTS: dict[str, list] = {}


def _snapshot_path(name: str, key_cfg):
    return cache_dir() / f"{name}-{cache_key(name, key_cfg)}.snapshots.json"


def _store_snapshots(path, snaps: list, on_disk: bool = True) -> None:
    """Keep a run's per-epoch contingency tables in memory and (``on_disk``) beside its model."""
    _SNAPSHOTS[str(path)] = snaps
    if not on_disk:
        return
    try:
        atomic_write(path, json.dumps(snaps))
    except OSError:
        pass


def _progress_cb(progress, offset: float, share: float, label: str):
    if progress is None:
        return None

    def cb(epoch, epochs, hist):
        progress(offset + share * epoch / epochs, f"{label}: epoch {epoch}/{epochs}")

    return cb


def train_teacher(cfg: SubclassConfig = SubclassConfig(), progress: Callable | None = None, *,
                  verbose: bool = True, use_cache: bool = True, device: str = "auto") -> TeacherResult:
    """Train (or load from the cache) the subclass teacher of ``cfg``.

    ``progress(fraction, text)`` is called after every epoch (for a widget bar);
    ``verbose`` prints one line per model. Per-epoch validation contingency tables are
    recorded (``snapshots``) for the training animation. CPU work runs in
    :func:`cpu_threads` (one thread unless ``$SUBCLASS_LIB_THREADS`` says otherwise).
    """
    with cpu_threads():
        return _train_teacher(cfg, progress, verbose, use_cache, device)


def _teacher_name(cfg: SubclassConfig) -> str:
    """The model-cache name of ``cfg``'s teacher (``runner.load_or_train``)."""
    return f"subclass-teacher-{cfg.teacher}"


#: The model-cache name of the label-free student.
_STUDENT_NAME = "subclass-student-label-free"


def _train_teacher(cfg, progress, verbose, use_cache, device, evaluate: bool = True) -> TeacherResult | None:
    if not isinstance(cfg, SubclassConfig):
        raise ValueError(f"cfg must be a SubclassConfig, got {type(cfg).__name__}")
    data = load_data(cfg.split, cfg.train_fraction)
    name = _teacher_name(cfg)
    key_cfg = cfg.teacher_key()
    fc = FitConfig(epochs=cfg.n_epochs_teacher, batch_size=cfg.batch_size, lr=cfg.lr,
                   weight_decay=cfg.weight_decay, seed=cfg.seed, jitter=cfg.jitter, device=device)
    train = {"x": data["x_train"], "y": data["y_train"]}
    snaps: list = []
    order_cols = _digit_columns(data["digit_val"], cfg.digit_order)
    n_rows = cfg.n_classes * cfg.n_sub
    cb_progress = _progress_cb(progress, 0.0, 1.0, "teacher")

    half = cfg.n_epochs_teacher // 2 if cfg.n_epochs_teacher % 2 == 0 else None

    def callback(epoch, epochs, hist):
        pred = predict(model_ref[0], data["x_val"]).argmax(1).numpy()
        snaps.append(M.contingency(pred, order_cols, n_rows, 10).astype(int).tolist())
        if use_cache and epoch == half:
            # Adam at a constant rate with seeded shuffles and views: the first N/2 epochs of
            # this run are exactly an N/2-epoch run (tested), so keep that one too
            half_key = replace(cfg, n_epochs_teacher=half).teacher_key()
            if not is_cached(name, half_key):
                store_cached(name, half_key, model_ref[0], History.from_dict(hist.to_dict()))
                _store_snapshots(_snapshot_path(name, half_key), list(snaps))
        if cb_progress:
            cb_progress(epoch, epochs, hist)

    model_ref: list = []

    def make():
        m = _make_teacher(cfg)
        model_ref[:] = [m]
        return m

    def train_fn(model):
        return fit(model, teacher_loss_fn(cfg), train, fc, name="teacher", verbose=False, callback=callback)

    t0 = time.perf_counter()
    model, hist, from_cache = load_or_train(name, key_cfg, make, train_fn, use_cache=use_cache)
    took = time.perf_counter() - t0
    spath = _snapshot_path(name, key_cfg)
    skey = str(spath)
    if not from_cache:
        _store_snapshots(spath, snaps, on_disk=use_cache)
    elif skey not in _SNAPSHOTS and spath.exists():
        try:
            _SNAPSHOTS[skey] = json.loads(spath.read_text())
        except (OSError, ValueError):
            pass
    if progress is not None:
        progress(1.0, "teacher ready")
    if not evaluate:  # a worker that only fills the cache
        return None
    model.cpu()
    test_logits = predict(model, data["x_test"])
    ev = _evaluate(test_logits, cfg, data["digit_test"], data["y_test"])
    res = TeacherResult(config=cfg, model=model, test_logits=test_logits,
                        super_accuracy=ev["super_accuracy"], contingency=ev["contingency"],
                        recovery=ev["recovery"], history=hist, snapshots=_SNAPSHOTS.get(skey),
                        train_time_s=hist.train_time_s, from_cache=from_cache)
    res.entropies = entropy_report(test_logits, data["y_test"], cfg.n_sub, res.recovery_one_to_one)
    if verbose:
        how = "cached" if from_cache else f"trained {cfg.n_epochs_teacher} epochs in {took:.1f} s"
        print(f"teacher {cfg.teacher} aux={cfg.aux} seed {cfg.seed}: {how}; super acc "
              f"{res.super_accuracy:.4f}, recovery {res.recovery_any:.4f} (1-to-1 {res.recovery_one_to_one:.4f})",
              flush=True)
    return res


# ---------------------------------------------------------------------------- student

@dataclass
class StudentResult(_RecoveryView):
    """The demo's label-free student (trained only on the teacher's softened sub-logits)."""

    config: SubclassConfig
    model: torch.nn.Module
    test_logits: torch.Tensor
    super_accuracy: float
    contingency: np.ndarray
    recovery: dict
    history: History
    train_time_s: float = 0.0
    from_cache: bool = False


def _student_key(cfg: SubclassConfig) -> dict:
    return {"teacher": cfg.teacher_key(), "n_epochs_student": cfg.n_epochs_student, "temperature": cfg.temperature}


def train_label_free_student(cfg: SubclassConfig, teacher_result: TeacherResult,
                             progress: Callable | None = None, *, verbose: bool = True,
                             use_cache: bool = True, device: str = "auto") -> StudentResult:
    """The demo's student: a 784-``hidden``-c*n_sub MLP trained only on
    ``soft_cross_entropy(student, teacher, T)`` (T^2-scaled), never on a label.

    Its super-class prediction is the argmax of its grouped logits; its clusters are the
    argmax of its sub-logits. The student is seeded with ``cfg.seed`` before construction.
    """
    with cpu_threads():
        return _train_label_free_student(cfg, teacher_result, progress, verbose, use_cache, device)


def _train_label_free_student(cfg, teacher_result, progress, verbose, use_cache, device) -> StudentResult:
    if not isinstance(teacher_result, TeacherResult):
        raise ValueError("teacher_result must be a TeacherResult from train_teacher")
    if teacher_result.config.teacher_key() != cfg.teacher_key():
        raise ValueError("teacher_result was trained with a different teacher configuration than cfg")
    data = load_data(cfg.split, cfg.train_fraction)
    T = cfg.temperature
    teacher_train_logits = predict(teacher_result.model, data["x_train"])
    train = {"x": data["x_train"], "t": teacher_train_logits}
    fc = FitConfig(epochs=cfg.n_epochs_student, batch_size=cfg.batch_size, lr=cfg.lr,
                   weight_decay=cfg.weight_decay, seed=cfg.seed, device=device)

    def loss_fn(model, batch):
        return L.soft_cross_entropy(model(batch["x"]), batch["t"], T)

    def make():
        seed_everything(cfg.seed)
        return MLP(hidden=(cfg.hidden,), out_dim=cfg.n_classes * cfg.n_sub)

    def train_fn(model):
        return fit(model, loss_fn, train, fc, name="student", verbose=False,
                   callback=_progress_cb(progress, 0.0, 1.0, "student"))

    t0 = time.perf_counter()
    model, hist, from_cache = load_or_train(_STUDENT_NAME, _student_key(cfg), make, train_fn, use_cache=use_cache)
    took = time.perf_counter() - t0
    model.cpu()
    logits = predict(model, data["x_test"])
    ev = _evaluate(logits, cfg, data["digit_test"], data["y_test"])
    res = StudentResult(config=cfg, model=model, test_logits=logits, super_accuracy=ev["super_accuracy"],
                        contingency=ev["contingency"], recovery=ev["recovery"], history=hist,
                        train_time_s=hist.train_time_s, from_cache=from_cache)
    if verbose:
        how = "cached" if from_cache else f"trained {cfg.n_epochs_student} epochs in {took:.1f} s"
        print(f"label-free student T={T:g} seed {cfg.seed}: {how}; super acc {res.super_accuracy:.4f}, "
              f"recovery {res.recovery_any:.4f} (1-to-1 {res.recovery_one_to_one:.4f})", flush=True)
    return res


# ---------------------------------------------------------------------------- runs

def run_subclass(cfg: SubclassConfig = SubclassConfig(), progress: Callable | None = None, *,
                 verbose: bool = True, use_cache: bool = True, device: str = "auto") -> dict:
    """Teacher + label-free student; the JSON of ``python -m subclass_lib subclass``."""
    t0 = time.perf_counter()
    tp = (lambda f, s="": progress(0.5 * f, s)) if progress else None
    sp = (lambda f, s="": progress(0.5 + 0.5 * f, s)) if progress else None
    teacher = train_teacher(cfg, tp, verbose=verbose, use_cache=use_cache, device=device)
    t1 = time.perf_counter()
    student = train_label_free_student(cfg, teacher, sp, verbose=verbose, use_cache=use_cache, device=device)
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


# ---------------------------------------------------------------------------- parallel

def in_cache(cfg: SubclassConfig, student: bool = False) -> bool:
    """Whether the teacher (and student) of ``cfg`` are in the model cache on disk (the
    file names of ``runner.load_or_train``)."""
    return is_cached(_teacher_name(cfg), cfg.teacher_key()) and (
        not student or is_cached(_STUDENT_NAME, _student_key(cfg)))


def _train_in_worker(cfg: SubclassConfig, student: bool) -> None:
    """Runs in a runner worker: train and cache (nothing is sent back but success; the
    teacher's test-set evaluation is left to the caller that loads it)."""
    if not student:
        with cpu_threads():
            _train_teacher(cfg, None, False, True, "auto", evaluate=False)
        return
    t = train_teacher(cfg, verbose=False)
    train_label_free_student(cfg, t, verbose=False)


def _job_cost(cfg: SubclassConfig, student: bool) -> float:
    """Rough relative cost of training ``cfg`` (to start the longest jobs first)."""
    per_epoch = cfg.train_fraction * (10.0 if cfg.teacher == "conv" else 1.0) * (2.0 if cfg.consistency > 0 else 1.0)
    return cfg.n_epochs_teacher * per_epoch + (0.6 * cfg.n_epochs_student * cfg.train_fraction if student else 0.0)


def prefetch_teachers(cfgs: Sequence[SubclassConfig], *, student: bool | Sequence[bool] = False,
                      workers: int | None = None, verbose: bool = False, use_cache: bool = True,
                      device: str = "auto", progress: Callable | None = None, _here: bool = True) -> int:
    """Train the teachers of ``cfgs`` (and, where ``student`` is True -- one flag for all or
    one per configuration -- their label-free students) that are not in the model cache yet,
    in up to ``workers`` runner workers (default :func:`default_workers`), longest runs first, so
    that a chapter's many runs share one pool and keep every core busy. Returns how many
    configurations were trained; :func:`train_teacher` and :func:`train_many` then load them
    from the cache. Without the worker pool (one worker, one job, no cache or a GPU) the
    missing ones are trained here, one after another."""
    cfgs = list(cfgs)
    flags = [bool(student)] * len(cfgs) if isinstance(student, bool) else [bool(f) for f in student]
    if len(flags) != len(cfgs):
        raise ValueError(f"student: expected one flag or {len(cfgs)} flags, got {len(flags)}")
    for c in cfgs:
        if not isinstance(c, SubclassConfig):
            raise ValueError(f"every configuration must be a SubclassConfig, got {type(c).__name__}")
    n = default_workers() if workers is None else int(workers)
    if n < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    todo, seen = [], set()
    for c, st in zip(cfgs, flags):
        k = json.dumps([c.teacher_key(), _student_key(c) if st else None], sort_keys=True)
        if k not in seen and not (use_cache and in_cache(c, st)):
            seen.add(k)
            todo.append((c, st))
    todo.sort(key=lambda job: -_job_cost(*job))
    parallel = (use_cache and resolve_device(device).type == "cpu"
                and runner.run_in_workers(_train_in_worker, todo, n, progress=progress,
                                   what="teacher(s)" if verbose else None))
    if not parallel and _here:
        for i, (c, st) in enumerate(todo):
            t = train_teacher(c, verbose=verbose, use_cache=use_cache, device=device)
            if st:
                train_label_free_student(c, t, verbose=verbose, use_cache=use_cache, device=device)
            if progress is not None:
                progress(0.9 * (i + 1) / len(todo), f"{i + 1}/{len(todo)} trained")
    return len(todo) if (parallel or _here) else 0


def train_many(cfgs: Sequence[SubclassConfig], *, student: bool = False, workers: int | None = None,
               verbose: bool = False, use_cache: bool = True, device: str = "auto",
               progress: Callable | None = None) -> list:
    """Train (or load) the teachers of ``cfgs`` -- and with ``student=True`` their
    label-free students -- using up to ``workers`` runner workers (default
    :func:`default_workers`), one training thread each.

    The configurations not yet in the model cache are trained in parallel by the runner's workers
    (:func:`prefetch_teachers`), which write them to the cache; then every result is loaded
    here, in order. Each model trains on one thread from its own seed, so the numbers are the
    same as those of a sequential run on the same machine. Without the cache
    (``use_cache=False``), with one worker, or on a GPU the runs are sequential. Returns a
    list of ``TeacherResult`` (or of ``(TeacherResult, StudentResult)`` pairs with
    ``student=True``).
    """
    cfgs = list(cfgs)
    done = 0
    if use_cache:
        done = prefetch_teachers(cfgs, student=student, workers=workers, verbose=verbose, device=device,
                                 progress=progress, _here=False)  # sequential: trained (and timed) below
    elif workers is not None and int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    start = 0.9 if done else 0.0
    out = []
    for i, c in enumerate(cfgs):
        t = train_teacher(c, verbose=verbose, use_cache=use_cache, device=device)
        out.append((t, train_label_free_student(c, t, verbose=verbose, use_cache=use_cache, device=device))
                   if student else t)
        if progress is not None:
            progress(start + (1.0 - start) * (i + 1) / len(cfgs), f"{i + 1}/{len(cfgs)} ready")
    return out


def recovery_over_seeds(cfg: SubclassConfig, seeds: Sequence[int] = range(5), *, student: bool = False,
                        verbose: bool = False, use_cache: bool = True, device: str = "auto",
                        progress: Callable | None = None, workers: int | None = None) -> dict:
    """Teacher (and, with ``student=True``, label-free student) recovery for each seed,
    trained in parallel by :func:`train_many` (``workers``).

    Returns ``{"seeds", "teacher": {"recovery_any", "recovery_one_to_one", "super_accuracy"}
    (per-seed lists), "mean", "std", "mean_one_to_one", "std_one_to_one", ...}``; with a
    student also ``"student"`` lists and their mean/std. Std is the population std (ddof 0).
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    out = {"seeds": seeds, "teacher": {"recovery_any": [], "recovery_one_to_one": [], "super_accuracy": []}}
    if student:
        out["student"] = {"recovery_any": [], "recovery_one_to_one": [], "super_accuracy": []}
    runs = train_many([replace(cfg, seed=s) for s in seeds], student=student, workers=workers,
                      verbose=verbose, use_cache=use_cache, device=device, progress=progress)
    for r in runs:
        t, st = r if student else (r, None)
        for k in out["teacher"]:
            out["teacher"][k].append(getattr(t, k))
        if student:
            for k in out["student"]:
                out["student"][k].append(getattr(st, k))
    out["mean"], out["std"] = mean_std(out["teacher"]["recovery_any"], ddof=0)
    out["mean_one_to_one"], out["std_one_to_one"] = mean_std(out["teacher"]["recovery_one_to_one"], ddof=0)
    out["super_accuracy_mean"], _ = mean_std(out["teacher"]["super_accuracy"], ddof=0)
    if student:
        st = out["student"]
        out["student_mean"], out["student_std"] = mean_std(st["recovery_any"], ddof=0)
        out["student_super_accuracy_mean"], out["student_super_accuracy_std"] = mean_std(st["super_accuracy"], ddof=0)
    return out


def align_logits(reference_logits: torch.Tensor, logits: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """Permute the sub-logit columns of ``logits`` onto ``reference_logits``' ids by optimal
    matching of their argmax contingency (``metrics.match_columns``). Returns the permuted
    logits and ``perm`` (column ``b`` of ``logits`` becomes column ``perm[b]``)."""
    if reference_logits.shape != logits.shape:
        raise ValueError(f"logits shapes differ: {tuple(reference_logits.shape)} vs {tuple(logits.shape)}")
    n = logits.shape[1]
    perm = M.match_columns(reference_logits.argmax(1).numpy(), logits.argmax(1).numpy(), n)
    aligned = torch.empty_like(logits)
    aligned[:, torch.as_tensor(perm)] = logits
    return aligned, perm


def teacher_ensemble(cfg: SubclassConfig, seeds: Sequence[int] = range(5), *, verbose: bool = False,
                     use_cache: bool = True, device: str = "auto", workers: int | None = None) -> dict:
    """Teachers of several seeds, aligned to the first by optimal matching (on the
    validation set), their softmax probabilities averaged; recovery of the ensemble on test.

    Returns ``{"seeds", "members": per-seed recovery, "perms", "recovery_any",
    "recovery_one_to_one", "super_accuracy", "contingency", "mean_member"}``.
    """
    seeds = [int(s) for s in seeds]
    if len(seeds) < 1:
        raise ValueError("an ensemble needs at least one seed")
    data = load_data(cfg.split, cfg.train_fraction)
    members = train_many([replace(cfg, seed=s) for s in seeds], workers=workers, verbose=verbose,
                         use_cache=use_cache, device=device)
    ref = members[0]
    probs, perms = [], []
    for m in members:
        _, perm = align_logits(ref.val_logits, m.val_logits)  # match on validation, apply to test
        aligned = torch.empty_like(m.test_logits)
        aligned[:, torch.as_tensor(perm)] = m.test_logits
        probs.append(torch.softmax(aligned, 1))
        perms.append(perm.tolist())
    p = torch.stack(probs).mean(0)
    ev = _evaluate(p.log(), cfg, data["digit_test"], data["y_test"])
    rec = [m.recovery_any for m in members]
    return {"seeds": seeds, "members": rec, "perms": perms, "mean_member": float(np.mean(rec)),
            "recovery_any": ev["recovery"]["any_mapping"], "recovery_one_to_one": ev["recovery"]["one_to_one"],
            "super_accuracy": ev["super_accuracy"], "contingency": ev["contingency"]}
