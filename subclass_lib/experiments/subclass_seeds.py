"""Chapter 4 over many runs: several teachers at once, recovery over seeds, aligned ensembles.

* :func:`train_many`: the teachers (and label-free students) of many configurations, trained
  at once by ``runner.train_many`` and then loaded in order.
* :func:`recovery_over_seeds`: recovery's mean and spread over seeds.
* :func:`align_logits`, :func:`teacher_ensemble`: sub-logits of different seeds matched to
  one another, and the teachers' averaged probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import torch

from .. import metrics as M
from .. import runner
from ..metrics import mean_std
from .subclass import (SubclassConfig, evaluate_logits, label_free_spec, load_data, teacher_spec,
                       train_label_free_student, train_teacher)

__all__ = ["train_many", "recovery_over_seeds", "align_logits", "teacher_ensemble"]


def train_many(cfgs: Sequence[SubclassConfig], *, student: bool = False, verbose: bool = False,
               use_cache: bool = True, progress: Callable | None = None) -> list:
    """Train (or load) the teachers of ``cfgs`` -- and with ``student=True`` their
    label-free students.

    The configurations not yet in the model cache are trained at once by ``runner.train_many``
    (in parallel on a CPU, longest first, with the numbers of a sequential run); then every
    result is loaded here, in order. Without the cache (``use_cache=False``) the runs are
    sequential. Returns a list
    of ``TeacherResult`` (or of ``(TeacherResult, StudentResult)`` pairs with ``student=True``).
    """
    cfgs = list(cfgs)
    specs = [spec for c in cfgs for spec in ([teacher_spec(c), label_free_spec(c)] if student else [teacher_spec(c)])]
    if use_cache:  # everything missing, side by side (the students after their teachers)
        runner.train_many(specs, device=cfgs[0].device if cfgs else "auto",
                          progress=None if progress is None else (lambda f, t="": progress(0.9 * f, t)))
    start = 0.9 if use_cache else 0.0
    out = []
    for i, c in enumerate(cfgs):
        t = train_teacher(c, verbose=verbose, use_cache=use_cache)
        out.append((t, train_label_free_student(c, t, verbose=verbose, use_cache=use_cache))
                   if student else t)
        if progress is not None:
            progress(start + (1.0 - start) * (i + 1) / len(cfgs), f"{i + 1}/{len(cfgs)} ready")
    return out


def recovery_over_seeds(cfg: SubclassConfig, seeds: Sequence[int] = range(5), *, student: bool = False,
                        verbose: bool = False, use_cache: bool = True,
                        progress: Callable | None = None) -> dict:
    """Teacher (and, with ``student=True``, label-free student) recovery for each seed,
    trained by :func:`train_many`.

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
    runs = train_many([replace(cfg, seed=s) for s in seeds], student=student,
                      verbose=verbose, use_cache=use_cache, progress=progress)
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
                     use_cache: bool = True) -> dict:
    """Teachers of several seeds, aligned to the first by optimal matching (on the
    validation set), their softmax probabilities averaged; recovery of the ensemble on test.

    Returns ``{"seeds", "members": per-seed recovery, "perms", "recovery_any",
    "recovery_one_to_one", "super_accuracy", "contingency", "mean_member"}``.
    """
    seeds = [int(s) for s in seeds]
    if len(seeds) < 1:
        raise ValueError("an ensemble needs at least one seed")
    data = load_data(cfg.split, cfg.teacher_fraction)
    members = train_many([replace(cfg, seed=s) for s in seeds], verbose=verbose,
                         use_cache=use_cache)
    ref = members[0]
    probs, perms = [], []
    for m in members:
        _, perm = align_logits(ref.val_logits, m.val_logits)  # match on validation, apply to test
        aligned = torch.empty_like(m.test_logits)
        aligned[:, torch.as_tensor(perm)] = m.test_logits
        probs.append(torch.softmax(aligned, 1))
        perms.append(perm.tolist())
    p = torch.stack(probs).mean(0)
    ev = evaluate_logits(p.log(), cfg, data["digit_test"], data["y_test"])
    rec = [m.recovery_any for m in members]
    return {"seeds": seeds, "members": rec, "perms": perms, "mean_member": float(np.mean(rec)),
            "recovery_any": ev["recovery"]["any_mapping"], "recovery_one_to_one": ev["recovery"]["one_to_one"],
            "super_accuracy": ev["super_accuracy"], "contingency": ev["contingency"]}
