"""Chapter 5's configuration: the students (:class:`StudentsConfig`), the teacher they learn
from (:func:`chapter_teacher`, chapter 4's default spelled out) and the paper's numbers. The
recipes are in :mod:`.subclass_students`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..checks import (check_fraction, check_hidden, check_int, check_lr, check_pos_int, check_real, check_scale,
                      check_seed, check_temperature)
from .base import Scaled
from .subclass_config import SubclassConfig

__all__ = [
    "METHODS", "ALL_METHODS", "ORACLE", "PAPER_ERROR", "PAPER_ERROR_STD", "OFFICIAL_NOTEBOOK_ACCURACY", "CHAPTER_TEACHER",
    "chapter_teacher", "LABELS", "StudentsConfig",
]

#: The four students of the chapter's table, in the paper's order.
METHODS = ("hard_labels", "distillation", "subclass_distillation", "penultimate")
#: ... and the student that never sees the binary label (paper section 4.4).
ALL_METHODS = METHODS + ("no_label",)
#: The reference student of the paper's Table 2 (first row) and Fig. 4 (dashed line): the same
#: network and budget trained on the *true digit labels* (10-way), scored on the binary task.
ORACLE = "oracle"

#: Binary test error on MNIST-2x5, paper section 4.4 (mean and std over runs).
PAPER_ERROR = {"teacher": 0.0073, "hard_labels": 0.0157, "distillation": 0.0123,
               "subclass_distillation": 0.0093, "no_label": 0.0206}
PAPER_ERROR_STD = {"teacher": 0.0009, "hard_labels": 0.0006, "distillation": 0.0004,
                   "subclass_distillation": 0.0006, "no_label": 0.0018}
#: Binary test accuracy in the paper's official notebook (MNIST-2x5).
OFFICIAL_NOTEBOOK_ACCURACY = {"teacher": 0.9935, "hard_labels": 0.9853, "distillation": 0.9872,
                              "subclass_distillation": 0.9901}

#: Chapter 4's default MLP teacher, spelled out so that this chapter's numbers do not move
#: when chapter 4 retunes its defaults: 784-256-10, diversity/sharpness auxiliary loss
#: (sharpen 0.4) plus view consistency (shift 1 px, noise 0.5), 16 epochs.
CHAPTER_TEACHER = dict(teacher="mlp", hidden=(256,), teacher_epochs=16, batch_size=256, lr=1e-3,
                       weight_decay=1e-4, aux="diversity", aux_weight=1.0, sharpen=0.4,
                       consistency=1.0, view_shift=1, view_noise=0.5, n_sub=5,
                       split="01234", jitter=0, seed=0)


def chapter_teacher(**overrides) -> SubclassConfig:
    """The teacher configuration of this chapter (:data:`CHAPTER_TEACHER` with ``overrides``)."""
    return SubclassConfig(**{**CHAPTER_TEACHER, **overrides})


#: The students' names in tables and figures.
LABELS = {"hard_labels": "hard labels", "distillation": "distillation",
          "subclass_distillation": "subclass distillation", "penultimate": "penultimate-layer distillation",
          "no_label": "no binary label (intra-class)", "oracle": "oracle (true digits, 10-way)"}


@dataclass(frozen=True)
class StudentsConfig(Scaled):
    """Configuration of chapter 5's students (the teacher is ``teacher``, chapter 4's config).

    * ``student_hidden``: hidden layer sizes of every student MLP (default scale 2 x 128;
      the paper's is 2 x 784, ``scale="full"``).
    * ``temperature``, ``alpha``: temperature T and task balance of Eq. 4 (distillation and subclass
      distillation; ``alpha`` also weighs the penultimate term against the hard labels).
    * ``penultimate_weight``: extra factor on Eq. 5 (the paper sweeps it: 0.3 ... 30), so the
      penultimate student minimises ``alpha * penultimate_weight * L_pen + (1 - alpha) * CE``.
      Eq. 5 sums squared differences over the teacher's 256 penultimate units (about 300 at
      the start for chapter 4's teacher, against a cross-entropy below 1), hence 0.01.
    * ``transfer_fraction``: fraction of the teacher's training set the students train on
      (a fixed random subset, seed 0); ``student_epochs`` counts passes over that subset.
    * ``eval_every``: steps between validation-accuracy points of the training-speed
      curves (None: per epoch only).
    * ``device``: where the students and their teacher train (it replaces ``teacher.device``).
    * ``seed``: the students' seed (initial weights and data order); the teacher has its own
      (``teacher.seed``).
    """

    teacher: SubclassConfig = field(default_factory=chapter_teacher)
    student_hidden: tuple[int, ...] = (128, 128)
    student_epochs: int = 8
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    temperature: float = 4.0
    alpha: float = 0.5
    penultimate_weight: float = 0.01
    transfer_fraction: float = 1.0
    eval_every: int | None = 43
    seed: int = 0
    scale: str = "default"
    device: str = "auto"

    def __post_init__(self):
        if not isinstance(self.teacher, SubclassConfig):
            raise ValueError(f"teacher must be a SubclassConfig, got {type(self.teacher).__name__}")
        object.__setattr__(self, "student_hidden", check_hidden(self.student_hidden, "student_hidden"))
        check_pos_int(self.student_epochs, "student_epochs")
        check_int(self.batch_size, "batch_size", 2)
        check_lr(self.lr, "lr")
        check_real(self.weight_decay, "weight_decay", 0.0, strict=False)
        check_temperature(self.temperature, "temperature")
        check_fraction(self.alpha, "alpha (task balance)")
        check_real(self.penultimate_weight, "penultimate_weight", 0.0, strict=False)
        check_fraction(self.transfer_fraction, "transfer_fraction", low_open=True)
        check_pos_int(self.eval_every, "eval_every", allow_none=True)
        check_seed(self.seed, "seed")
        check_scale(self.scale)
        if self.teacher.device != self.device:
            object.__setattr__(self, "teacher", replace(self.teacher, device=self.device))

    # what differs at each scale (:meth:`for_scale`): ``"default"`` is chapter 4's default teacher,
    # 2 x 128 students, 8 epochs; ``"full"`` the paper's conv teacher, 2 x 784 students, 12 epochs,
    # batch 256
    SCALES = {"default": {},
              "full": dict(teacher=SubclassConfig.for_scale("full"), student_hidden=(784, 784), student_epochs=12,
                           batch_size=256, eval_every=50)}

    def interactive(self, **overrides) -> "StudentsConfig":
        """The smaller configuration of the slider panel: same teacher, 24 passes over 10% of the transfer
        set, no step curves (a retrain of the four students takes seconds). The chapter's ordering of the
        methods holds there on every seed (chapter 5, "A small transfer set"); in fewer passes it does not."""
        base = dict(transfer_fraction=0.1, student_epochs=24, eval_every=None)
        base.update(overrides)
        return replace(self, **base)
