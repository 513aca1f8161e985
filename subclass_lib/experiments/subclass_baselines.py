"""Chapter 4's two reference teachers: the subclass teacher's network without its subclasses.

* ``labels="binary"``: one plain logit per super-class, trained on the binary labels. Beside the
  subclass teacher it answers the paper's Table 1 question: does the subclass head cost binary
  accuracy?
* ``labels="digits"``: ten plain logits trained on the true digits, which the subclass teacher
  never sees. Its 10-way accuracy is the supervised ceiling of subclass recovery.

Both are the subclass teacher's own spec (:class:`.subclass.TeacherSpec`) with one sub-logit per
class and neither auxiliary nor view-consistency term: with ``n_sub = 1`` the grouped
cross-entropy is the ordinary cross-entropy, and both terms would be zero anyway (one subclass
has no entropy). The digit teacher's classes are the ten digits (the split ``0|1|...|9``).
Network, epochs, batch, optimiser and seed are the configuration's, so each reference teacher
trains exactly like the subclass teacher apart from its head and its loss.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from .. import data as D
from .. import losses as L
from ..checks import check_choice
from .subclass import SubclassConfig, TeacherResult, evaluate_logits, load_data

__all__ = ["LABELS", "DIGITS_SPLIT", "plain_teacher_config", "evaluate_on"]

LABELS = ("binary", "digits")
#: every digit its own class: the "super-classes" of the digit teacher
DIGITS_SPLIT = "|".join(str(d) for d in range(10))


def plain_teacher_config(cfg: SubclassConfig, labels: str = "binary") -> SubclassConfig:
    """The teacher of ``cfg`` with one plain logit per class, trained on ``labels``
    (``"binary"``: the super-classes of ``cfg.split``; ``"digits"``: the ten digits), by the
    ordinary cross-entropy alone (``n_sub = 1``, ``aux = "none"``, ``consistency = 0``)."""
    if not isinstance(cfg, SubclassConfig):
        raise ValueError(f"cfg must be a SubclassConfig, got {type(cfg).__name__}")
    check_choice(labels, "labels", LABELS)
    split = cfg.split if labels == "binary" else DIGITS_SPLIT
    return replace(cfg, n_sub=1, aux="none", consistency=0.0, split=split)


def evaluate_on(result: TeacherResult, split: str = "val", binary_split: str | None = None) -> dict:
    """A trained teacher measured on the 5,000 validation images (``"val"``) or the test set:
    ``{"accuracy", "recovery"}``, its class accuracy (the binary task; the ten digits for a
    digit teacher) and its any-mapping subclass recovery (:func:`.subclass.evaluate_logits`).

    With ``binary_split`` (a split such as ``"01234"``) also ``"binary_accuracy"``: each predicted
    class stands for the binary group of its digits (the paper's Table 1 evaluates its CIFAR-10
    teacher on the binary task this way). Every class of the teacher must lie in one group."""
    if not isinstance(result, TeacherResult):
        raise ValueError(f"result must be a TeacherResult, got {type(result).__name__}")
    check_choice(split, "split", ("val", "test"))
    cfg = result.config
    data = load_data(cfg.split, cfg.teacher_fraction)
    logits = result.val_logits if split == "val" else result.test_logits
    ev = evaluate_logits(logits, cfg, data[f"digit_{split}"], data[f"y_{split}"])
    pred = L.grouped_logits(logits, cfg.n_sub).argmax(1)
    out = {"accuracy": float((pred == data[f"y_{split}"]).float().mean()),
           "recovery": ev["recovery"]["any_mapping"]}
    if binary_split is not None:
        groups = D.check_groups(binary_split)
        group_of_digit = D.superclass_labels(torch.arange(10), groups)
        group_of = [sorted({int(group_of_digit[d]) for d in c}) for c in cfg.groups]
        if any(len(g) != 1 for g in group_of):
            raise ValueError(f"the classes {cfg.groups} of this teacher do not each lie in one group of "
                             f"{binary_split!r}")
        pred_group = torch.tensor([g[0] for g in group_of])[pred]
        truth = D.superclass_labels(data[f"digit_{split}"], groups)
        out["binary_accuracy"] = float((pred_group == truth).float().mean())
    return out
