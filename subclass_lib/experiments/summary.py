"""The closing chapter's numbers: the headline models of chapters 1-5 at the default scale, read from
the model cache and evaluated on the test set. Nothing is trained here: a model the cache lacks raises
:class:`subclass_lib.runner.NotCached` ("run chapters 1-5 first ...").

Each chapter's models are named by its own recipe's spec functions, with the seeds the chapter uses,
so that these are the very models the chapters trained (under a reader seed too: the cache keys hold it).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import runner
from ..metrics import accuracy, mean_std
from ..models import predict
from . import hinton as H
from . import ls_kd as L
from . import mythical3 as M
from . import subclass as S
from . import subclass_students as SS

__all__ = ["WEAK_TEACHER", "HINT", "CH1_SEEDS", "CH1_TEMPERATURES", "CH4_SEEDS", "CH5_SEEDS", "chapter1", "chapter2", "chapter3", "chapter4",
           "chapter5", "headlines", "headline_rows", "gains", "paired_gains", "first_epoch_accuracy", "mean_pm"]

#: Chapter 5's weaker teacher: chapter 4's demo losses alone, 8 epochs, no view consistency.
WEAK_TEACHER = SS.chapter_teacher(consistency=0.0, sharpen=0.5, teacher_epochs=8)
#: The message a missing model raises with.
HINT = "run chapters 1-5 first"
#: The students' seeds of chapter 1's sweeps and chapter 5's tables; chapter 4's teachers' seeds.
CH1_SEEDS = (0, 1, 2)
#: The temperatures of chapter 1's sweep.
CH1_TEMPERATURES = (1.0, 2.0, 4.0, 8.0, 20.0)
CH4_SEEDS = (0, 1, 2, 3, 4)
CH5_SEEDS = (0, 1, 2)


def _load(specs) -> list:
    return [t.model for t in runner.from_cache(specs, hint=HINT)]


def mean_pm(values, ddof: int = 1, scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    """``"mean ± std"`` of ``values`` times ``scale`` (e.g. 100 for percent)."""
    m, s = mean_std(values, ddof=ddof)
    return f"{fmt.format(scale * m)} ± {fmt.format(scale * s)}"


def chapter1(cfg: H.HintonConfig | None = None, seeds=CH1_SEEDS, temperatures=CH1_TEMPERATURES) -> dict:
    """Chapter 1: test accuracy, per seed, of the hard-label and the distilled
    student (``cfg``'s T and alpha) for the 2x800 and the 2x30 student; and the 2x30 student's
    per-seed accuracy at each temperature of the chapter's sweep (``"2x30 over T"``)."""
    cfg = cfg or H.HintonConfig()
    _, _, (_, ys) = H.load_splits()

    def test_accuracy(specs):  # H.test_logits: once per process (the 2x30 student at cfg's T is in both parts)
        return [accuracy(H.test_logits(s, m), ys) for s, m in zip(specs, _load(specs))]

    out = {"T": cfg.temperature, "alpha": cfg.alpha, "seeds": list(seeds)}
    for hidden in ((800, 800), (30, 30)):
        for kind in ("hard", "distilled"):
            out[f"{H.hidden_label(hidden)} {kind}"] = test_accuracy(
                [H.student_spec(cfg, kind, hidden=hidden, seed=s) for s in seeds])
    out["2x30 over T"] = {T: test_accuracy([H.student_spec(cfg, "distilled", T=T, hidden=(30, 30), seed=s)
                                            for s in seeds]) for T in temperatures}
    return out


def chapter2(cfg: M.Mythical3Config | None = None) -> dict:
    """Chapter 2 (one seed): the students without the digits ``cfg.omit``, evaluated as the chapter does
    (:func:`~subclass_lib.experiments.mythical3.mythical3_result` without the teacher): the hard-label
    student, the distilled one, and the distilled one with the omitted digits' biases shifted
    automatically (chosen on the unlabelled validation images)."""
    cfg = cfg or M.Mythical3Config()
    if cfg.bias_shift is not None:
        raise ValueError("chapter2 reads the chapter's automatic bias shift: cfg.bias_shift must be None")
    _, (xv, _), (xs, ys) = H.load_splits()
    dist, hard = _load(M.mythical3_specs(cfg))
    z_d = predict(dist, xs)
    shift = M.auto_bias_shift(predict(dist, xv), cfg.omit, M.training_frequency(cfg.omit))
    return {"hard_labels": H.evaluate(predict(hard, xs), ys, cfg.omit), "distilled": H.evaluate(z_d, ys, cfg.omit),
            "distilled_bias_adjusted": {**H.evaluate(M.adjust_bias(z_d, cfg.omit, shift), ys, cfg.omit),
                                        "bias_shift": shift},
            "omit": list(cfg.omit)}


def chapter3(cfg: L.LSKDConfig | None = None) -> dict:
    """Chapter 3: the test accuracy, per seed, of the students of the two teachers (``eps`` 0 and
    ``cfg.eps``) at the lowest and the highest temperature of the chapter's sweep."""
    cfg = cfg or L.LSKDConfig()
    low, high = min(cfg.temperatures), max(cfg.temperatures)
    out = {"eps": cfg.eps, "T_low": low, "T_high": high, "seeds": cfg.student_seed_list(), "students": {}}
    for eps in (0.0, cfg.eps):
        for T in (low, high):
            models = _load([L.student_spec(cfg, eps, T, s) for s in cfg.student_seed_list()])
            out["students"][eps, T] = [L.mnist_test_accuracy(m) for m in models]
    return out


def chapter4(cfg: S.SubclassConfig | None = None, seeds=CH4_SEEDS) -> dict:
    """Chapter 4: each seed's default teacher, its subclass recovery (any mapping) and its binary
    (super-class) test accuracy."""
    cfg = cfg or S.SubclassConfig()
    cfgs = [replace(cfg, seed=s) for s in seeds]
    data = S.load_data(cfg.split, cfg.teacher_fraction)
    out = {"seeds": list(seeds), "recovery": [], "super_accuracy": []}
    for c, model in zip(cfgs, _load([S.teacher_spec(c) for c in cfgs])):
        ev = S.evaluate_logits(predict(model, data["x_test"]), c, data["digit_test"], data["y_test"])
        out["recovery"].append(ev["recovery"]["any_mapping"])
        out["super_accuracy"].append(ev["super_accuracy"])
    return out


def chapter5(cfg: SS.StudentsConfig | None = None, seeds=CH5_SEEDS) -> dict:
    """Chapter 5: the binary test error of the teacher and, per seed, of each student on the full
    transfer set and on the chapter's 10 % of it (24 passes), and (``"oracle"``, per setting) of the student
    trained on the true digits; the no-binary-label student (first seed);
    the mean validation accuracy over the first epoch of each student on the full transfer set; and
    (``"weak"``) the chapter's weaker teacher (:data:`WEAK_TEACHER`) with its two distilled students."""
    cfg = cfg or SS.StudentsConfig()
    data = S.load_data(cfg.teacher.split, cfg.teacher.teacher_fraction)
    xs, ys = data["x_test"], data["y_test"]
    c, s = cfg.teacher.n_classes, cfg.teacher.n_sub

    def error(model) -> float:
        return float((SS.binary_predictions(predict(model, xs), c, s) != ys).double().mean())

    out = {"seeds": list(seeds), "teacher": error(_load([S.teacher_spec(cfg.teacher)])[0]), "first_epoch": {}}
    small = replace(cfg, transfer_fraction=0.1, student_epochs=24, eval_every=None)
    for key, base in (("full", cfg), ("10%", small)):
        out[key] = {}
        for m in SS.METHODS:
            runs = runner.from_cache([SS.student_spec(replace(base, seed=k), m) for k in seeds], hint=HINT)
            out[key][m] = [error(t.model) for t in runs]
            if key == "full":  # the training-speed curves: mean validation accuracy over the first epoch
                out["first_epoch"][m] = [first_epoch_accuracy(t.history, base.student_epochs) for t in runs]
        oracle = runner.from_cache([SS.student_spec(replace(base, seed=k), SS.ORACLE) for k in seeds], hint=HINT)
        out.setdefault("oracle", {})[key] = [error(t.model) for t in oracle]
    out["no_label"] = error(_load([SS.student_spec(cfg, "no_label")])[0])
    # the chapter's weaker teacher (chapter 4's demo losses alone, 8 epochs) and its students
    weak = replace(cfg, teacher=WEAK_TEACHER)
    out["weak"] = {"teacher": error(_load([S.teacher_spec(weak.teacher)])[0])}
    for m in ("distillation", "subclass_distillation"):
        out["weak"][m] = [error(x) for x in _load([SS.student_spec(replace(weak, seed=k), m) for k in seeds])]
    return out


def first_epoch_accuracy(history, epochs: int) -> float:
    """Mean of the validation accuracies a run recorded every few steps during its first epoch."""
    per_epoch = -(-history.steps // epochs)
    points = [a for step, a in history.step_eval if step <= per_epoch]
    if not points:
        raise ValueError("the history holds no validation accuracy within the first epoch")
    return float(np.mean(points))


def gains(h: dict) -> dict[str, list[float]]:
    """Seed-by-seed gains in percentage points over each comparison's baseline (positive: better), for
    the headlines whose gain is a few points at most: chapter 1's students distilled against hard
    labels (accuracy), chapter 3's students of the LS teacher against those of the hard-label teacher
    at T = 1 (accuracy), and chapter 5's students against hard labels (binary error)."""
    c1, c3, c5 = h["ch1"], h["ch3"], h["ch5"]
    out = {f"ch. 1, {n} student: soft targets at T = {c1['T']:g}":
           list(100 * paired_gains(c1[f"{n} distilled"], c1[f"{n} hard"])) for n in ("2x800", "2x30")}
    low = c3["T_low"]
    out[f"ch. 3, student at T = {low:g}: LS teacher"] = list(
        100 * paired_gains(c3["students"][c3["eps"], low], c3["students"][0.0, low]))
    names = {"distillation": "2 class logits", "subclass_distillation": "10 sub-logits",
             "penultimate": "penultimate layer"}
    for key, what in (("full", "all data"), ("10%", "10% data")):
        for m, name in names.items():
            out[f"ch. 5, {what}: {name}"] = list(100 * paired_gains(c5[key]["hard_labels"], c5[key][m]))
    return out


def headlines() -> dict:
    """The five chapters' headline numbers (``chapter1`` ... ``chapter5`` at their defaults)."""
    return {"ch1": chapter1(), "ch2": chapter2(), "ch3": chapter3(), "ch4": chapter4(), "ch5": chapter5()}


def headline_rows(h: dict) -> list[dict]:
    """One row per headline of :func:`headlines`: the chapter, what passes from teacher to student, the
    comparison, this book's numbers at the default scale (mean ± sample std over the chapter's seeds,
    population std for chapter 4's, as the chapters print them) and the seeds."""
    c1, c2, c3, c4, c5 = (h[k] for k in ("ch1", "ch2", "ch3", "ch4", "ch5"))
    pct = dict(scale=100.0)
    n1, n3, n5 = len(c1["seeds"]), len(c3["seeds"]), len(c5["seeds"])
    wu, hi = H.SOURCE_HINTON["write-up"], M.SOURCE_MYTHICAL3["Hinton et al."]
    rows = [
        {"chapter": 1, "passes": "softened logits at T",
         "comparison": "2x800 student: hard labels → distilled (accuracy %)",
         "this book": f"{mean_pm(c1['2x800 hard'], **pct)} → {mean_pm(c1['2x800 distilled'], **pct)}",
         "seeds": n1, "sources": f"write-up {100 * wu['small']:.2f} → {100 * wu['distilled']:.2f}"},
        {"chapter": 1, "passes": "softened logits at T",
         "comparison": "2x30 student: hard labels → distilled (accuracy %)",
         "this book": f"{mean_pm(c1['2x30 hard'], **pct)} → {mean_pm(c1['2x30 distilled'], **pct)}",
         "seeds": n1, "sources": ""},
        {"chapter": 2, "passes": "softened logits at T",
         "comparison": "no 3s in the transfer set: hard labels → distilled → shifted (% of test 3s)",
         "this book": " → ".join(f"{100 * c2[k]['accuracy_on_omitted']:.1f}"
                                  for k in ("hard_labels", "distilled", "distilled_bias_adjusted")),
         "seeds": 1, "sources": f"Hinton et al. {100 * (1 - hi['distilled_errors_on_3'] / 1010):.1f} → "
                                f"{100 * (1 - hi['adjusted_errors_on_3'] / 1010):.1f} (distilled → shifted)"},
        {"chapter": 3, "passes": "one soft distribution (T = 1)",
         "comparison": f"student at T = {c3['T_low']:g}: hard-label teacher → LS teacher (accuracy %)",
         "this book": f"{mean_pm(c3['students'][0.0, c3['T_low']], **pct)} → "
                      f"{mean_pm(c3['students'][c3['eps'], c3['T_low']], **pct)}",
         "seeds": n3, "sources": "paper, CUB: 80.17 → 80.95"},
        {"chapter": 4, "passes": "(binary labels only, to the teacher)",
         "comparison": "subclass teacher: digits recovered (%), binary accuracy (%)",
         "this book": f"{mean_pm(c4['recovery'], ddof=0, **pct)}, {mean_pm(c4['super_accuracy'], ddof=0, **pct)}",
         "seeds": len(c4["seeds"]),
         "sources": f"NumPy demo {100 * S.DEMO['recovery_mean']:.2f} ± {100 * S.DEMO['recovery_std']:.2f} (student)"},
    ]
    names = {"hard_labels": "hard labels", "distillation": "2 class logits at T",
             "subclass_distillation": "10 sub-logits at T", "penultimate": "256 penultimate activations"}
    for key, what in (("full", "full transfer set"), ("10%", "10 % of the transfer set")):
        for m in SS.METHODS:
            rows.append({"chapter": 5, "passes": names[m], "comparison": f"binary test error (%), {what}",
                         "this book": mean_pm(c5[key][m], **pct), "seeds": n5,
                         "sources": f"paper {100 * SS.PAPER_ERROR[m]:.2f}" if key == "full" and m in SS.PAPER_ERROR
                         else ""})
        rows.append({"chapter": 5, "passes": "the true digits (oracle, no teacher)",
                     "comparison": f"binary test error (%), {what}", "this book": mean_pm(c5["oracle"][key], **pct),
                     "seeds": n5, "sources": ""})
    return rows


def paired_gains(after, before) -> np.ndarray:
    """Seed-by-seed differences ``after - before`` (two lists over the same seeds)."""
    return np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
