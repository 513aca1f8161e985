"""The recorded runs behind the chapters' costlier worked answers (more than about 10 s each).

    python tools/exercise_answers.py --chapter 1    # writes book/data/exercise_answers_ch1.json
    python tools/exercise_answers.py --chapter 3 --exercises 3,5
    python tools/exercise_answers.py --chapter 5 --exercises 2
    python tools/exercise_answers.py --chapter 1 --seeds 0-4 --json out.json

An exercise whose answer costs seconds is answered by a hidden cell of its chapter; the answers that
train for minutes (or, on a laptop CPU, an hour) come from here. Each is the chapter's own recipe
(the same specs, the same model cache); the chapter's answer cell reads the JSON, shows the numbers,
and names the command that recorded them (``commands`` holds each exercise's own).
``--exercises`` records some of a chapter's exercises and keeps the others already in the file.
Chapter 1 (student seeds ``--seeds``, default 0-2):

* exercise 4: the 2x800 student at T = 4, hard labels vs distilled, on the 10,000-image transfer
  set and on all 55,000 training images;
* exercise 5: the 2x30 student, hard labels vs distilled, at the chapter's setting (alpha = 0.5,
  T = 1 and 4), with alpha = 0.1, with 30 epochs instead of 10, and on all 55,000 images.

Every sweep keeps its per-seed runs, so the chapter shows paired gains (distilled minus the
hard-label student of the same seed). Re-running costs nothing once the models are cached.

Chapter 3: exercise 3 (the chapter's experiment at LSKDConfig(seed=0, 1, 2)), exercise 5 (alpha = 0.5
against alpha = 1 at T = 1 and 64), exercise 6 (the paper-size models). Chapter 4: exercise 2 (chapter
5's students from the n_sub = 5 and 8 teachers), exercise 3 (the paper's conv teacher on all the
images), exercise 5 (candidate splits over teacher seeds 0-4), exercise 6 (the halves of the
perturbation, jitter, and longer training, over teacher seeds 0-4). Chapter 5: exercise 2 (the
students of a collapsed teacher), exercise 5 (the paper-size teacher and students).

The paper-size runs (chapter 3's exercise 6, chapter 4's exercise 3, chapter 5's exercise 5) are
meant for a GPU; on a 2-core laptop CPU they take from a quarter of an hour to an hour each, so they
record fewer seeds or temperatures than the chapter, and say so in their entries.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from subclass_lib.experiments import hinton as H  # noqa: E402
from subclass_lib.experiments import hinton_sweeps as HS  # noqa: E402
from subclass_lib.files import write_json  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "book" / "data"

EXERCISES: dict[int, dict[int, callable]] = {}  # chapter -> exercise -> fn(seeds) -> dict


def exercise(chapter: int, number: int):
    """Register ``fn(seeds) -> dict`` as the recorded run of an exercise."""
    def register(fn):
        EXERCISES.setdefault(chapter, {})[number] = fn
        return fn
    return register


def parse_seeds(text: str) -> list[int]:
    """'0-2' or '0,2,5' -> list of seeds."""
    if "-" in text:
        lo, hi = (int(v) for v in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(v) for v in text.split(",")]


# ----------------------------------------------------------------------------- chapter 1

def _grid(sweep: dict, hidden: str, xs_key: str) -> dict:
    """The part of a sweep an answer needs: the settings and the per-seed accuracies."""
    return {xs_key: list(sweep[xs_key]), "hard_runs": list(sweep["hard_runs"][hidden]),
            "distilled_runs": [list(r) for r in sweep["distilled_runs"][hidden]]}


@exercise(1, 4)
def chapter1_exercise4(seeds: list[int]) -> dict:
    cfg = H.HintonConfig()
    full = replace(cfg, transfer_size=None)
    big = ((800, 800),)
    kw = dict(seeds=seeds, verbose=False)
    return {
        "10,000 images": _grid(HS.temperature_sweep(cfg, temperatures=(4,), hiddens=big, **kw), "2x800", "T"),
        "55,000 images": _grid(HS.temperature_sweep(full, temperatures=(4,), hiddens=big, **kw), "2x800", "T"),
    }


@exercise(1, 5)
def chapter1_exercise5(seeds: list[int]) -> dict:
    cfg = H.HintonConfig()
    full = replace(cfg, transfer_size=None)
    tiny = ((30, 30),)
    kw = dict(seeds=seeds, verbose=False)
    return {
        "chapter's setting": _grid(HS.temperature_sweep(cfg, temperatures=(1, 4), hiddens=tiny, **kw), "2x30", "T"),
        "alpha = 0.1": _grid(HS.alpha_sweep(cfg, alphas=(0.1,), hiddens=tiny, **kw), "2x30", "alpha"),
        "30 epochs": _grid(HS.temperature_sweep(replace(cfg, student_epochs=30), temperatures=(1, 4),
                                                hiddens=tiny, **kw), "2x30", "T"),
        "55,000 images": _grid(HS.temperature_sweep(full, temperatures=(1, 4), hiddens=tiny, **kw), "2x30", "T"),
    }


# ----------------------------------------------------------------------------- chapter 3

LS_KD_STUDENT_KEYS = ("eps", "T", "seed_test_accuracy", "mean_test_accuracy", "std_test_accuracy")


def _ls_kd_students(res) -> list[dict]:
    """The per-seed, mean and std test accuracies of every (teacher, T) student of an ``LSKDResult``."""
    return [{k: r[k] for k in LS_KD_STUDENT_KEYS} for r in res.students]


@exercise(3, 3)
def chapter3_exercise3(seeds: list[int]) -> dict:
    """The chapter's experiment at ``LSKDConfig(seed=s)`` for each s in ``seeds`` (new teachers, a new
    transfer set, new student seeds s + 1 ... s + 3); seed 0 is the chapter's own run (cached)."""
    from subclass_lib.experiments import ls_kd as L

    runs, cfg = {}, L.LSKDConfig()
    for s in seeds:
        cfg = L.LSKDConfig(seed=s)
        res = L.run_ls_kd(cfg, verbose=False)
        runs[str(s)] = {
            "student_seeds": cfg.student_seed_list(),
            "teachers": res.teachers,
            "teacher_geometry": [{k: g[k] for k in ("eps", "tightness", "similar_relative_distance")}
                                 for g in res.geometry],
            "students": _ls_kd_students(res),
            "diffusion_index_first_student": res.to_json()["diffusion_index"],
        }
    return {"note": "LSKDConfig(seed=s): seed 0 is the chapter's run; each seed has its own teachers, "
                    "transfer set and three student seeds",
            "eps": cfg.eps, "temperatures": list(cfg.temperatures), "runs": runs}


@exercise(3, 5)
def chapter3_exercise5(seeds: list[int]) -> dict:
    """alpha = 0.5 (half the loss on the hard labels) against the chapter's alpha = 1, at T = 1 and 64:
    the chapter's teachers (seed 0) and its three student seeds, so ``seeds`` is not used; the alpha = 1
    students are the chapter's (cached)."""
    from subclass_lib.experiments import ls_kd as L

    out = {"note": "the chapter's teachers (seed 0) and student seeds; --seeds does not change it"}
    for alpha in (1.0, 0.5):
        cfg = L.LSKDConfig(alpha=alpha, temperatures=(1.0, 64.0))
        res = L.run_ls_kd(cfg, verbose=False)
        out[f"alpha = {alpha:g}"] = _ls_kd_students(res)
    out.update({"eps": cfg.eps, "temperatures": list(cfg.temperatures),
                "student_seeds": cfg.student_seed_list(), "teachers": res.teachers})
    return out


FULL_LS_KD_TEMPERATURES = (1.0, 4.0, 64.0)  # the paper-size run: three temperatures, not the chapter's six
FULL_LS_KD_STUDENT_SEEDS = 2


@exercise(3, 6)
def chapter3_exercise6(seeds: list[int]) -> dict:
    """The experiment at Hinton et al.'s sizes (2x1200 teachers with dropout, 2x800 students, all the
    data, 30 epochs), at three temperatures and two student seeds (the chapter: six and three)."""
    from subclass_lib.experiments import ls_kd as L

    cfg = L.LSKDConfig.for_scale("full", temperatures=FULL_LS_KD_TEMPERATURES,
                                 student_seeds=FULL_LS_KD_STUDENT_SEEDS)
    res = L.run_ls_kd(cfg, verbose=False)
    return {
        "note": "paper-size models at 3 temperatures and 2 student seeds (the chapter: 6 and 3)",
        "eps": cfg.eps,
        "temperatures": list(cfg.temperatures),
        "teachers": res.teachers,
        "students": _ls_kd_students(res),
        "diffusion_index": res.to_json()["diffusion_index"],
    }


# ----------------------------------------------------------------------------- chapter 4

FULL_CONV_SEEDS = (0, 1)  # the paper-size conv teacher: a quarter to half an hour a seed on one laptop core


@exercise(4, 3)
def chapter4_exercise3(seeds: list[int]) -> dict:
    """The paper's conv net without dropout, all the training images, 12 epochs (the full scale's
    teacher), against the chapter's default MLP teacher, over the same seeds."""
    from subclass_lib.experiments.subclass_config import SubclassConfig
    from subclass_lib.experiments.subclass_seeds import recovery_over_seeds

    def summary(cfg):
        r = recovery_over_seeds(cfg, FULL_CONV_SEEDS)
        return {k: list(v) for k, v in r["teacher"].items()}

    return {
        "note": f"seeds {list(FULL_CONV_SEEDS)}: a conv teacher takes a quarter to half an hour a seed on one laptop core",
        "seeds": list(FULL_CONV_SEEDS),
        "conv, no dropout, all images, 12 epochs": summary(SubclassConfig.for_scale("full")),
        "MLP 784-256-10, default (16 epochs)": summary(SubclassConfig()),
    }


#: Chapter 4's teacher seeds (exercises 5 and 6 compare teachers over these, as the chapter does).
TEACHER_SEEDS = (0, 1, 2, 3, 4)


def _quick():
    """The chapter's 8-epoch default (``quick`` in "Another split", ``base8`` in exercise 6)."""
    from subclass_lib.experiments.subclass_config import SubclassConfig

    return replace(SubclassConfig(), teacher_epochs=8)


def _purity(contingency) -> dict[str, float]:
    """Each digit's share of its test images in its most frequent sub-logit, in the order of the
    table's columns (the split's digit order)."""
    import numpy as np

    c = np.asarray(contingency)
    return c.max(axis=0) / c.sum(axis=0)


def _teacher_numbers(runs, digit_order) -> dict:
    """Per-seed recovery, super-class accuracy and each digit's purity of teachers ``runs``."""
    return {
        "recovery_any": [r.recovery_any for r in runs],
        "recovery_one_to_one": [r.recovery_one_to_one for r in runs],
        "super_accuracy": [r.super_accuracy for r in runs],
        "purity": [{str(d): round(float(p), 4) for d, p in sorted(zip(digit_order, _purity(r.contingency)))}
                   for r in runs],
    }


@exercise(4, 2)
def chapter4_exercise2(seeds: list[int]) -> dict:
    """Chapter 5's students (its default: 2 x 128, 8 epochs on all the training images, T = 4,
    alpha = 0.5) from the 8-epoch teachers with n_sub = 5 and n_sub = 8 of "When the invented count
    is wrong" (teacher seed 0), over the student ``seeds``. The hard-label student does not depend on
    the teacher (same images, same labels, same seed): it is trained once, beside the n_sub = 5 one."""
    from subclass_lib import runner
    from subclass_lib.experiments import subclass_students as SS
    from subclass_lib.experiments.subclass_students_sweeps import students_over_seeds

    methods = {5: ("hard_labels", "distillation", "subclass_distillation"),
               8: ("distillation", "subclass_distillation")}
    scfgs = {s: SS.StudentsConfig(teacher=replace(_quick(), n_sub=s)) for s in methods}
    runner.train_many([SS.student_spec(replace(scfgs[s], seed=k), m)  # all at once
                       for s in methods for k in seeds for m in methods[s]])
    out = {"seeds": list(seeds), "teacher_seed": 0, "teachers": {}}
    for s, ms in methods.items():
        teacher = SS.get_teacher(scfgs[s], verbose=False)
        over = students_over_seeds(scfgs[s], seeds, ms, teacher=teacher)
        out["teachers"][f"n_sub = {s}"] = {
            "n_sub": s, "recovery_any": teacher.recovery_any,
            "recovery_one_to_one": teacher.recovery_one_to_one,
            "super_accuracy": teacher.super_accuracy,
            "test_error": {m: list(v) for m, v in over["errors"].items()},
        }
    return out


#: Exercise 5's candidate splits (super-class A): the demo's question, the panel's two other
#: splits, one that keeps 4, 7 and 9 together, and two that part the pairs this teacher mixes on
#: 0-4 / 5-9 (5/8, 7/9) and on the demo's split (8/9).
SPLIT_CANDIDATES = ("01389", "02468", "06892", "01479", "12359", "12569")


@exercise(4, 5)
def chapter4_exercise5(seeds: list[int]) -> dict:
    """The 8-epoch teacher of "Another split" on 0-4 / 5-9 and on each of ``SPLIT_CANDIDATES``,
    over the teacher seeds ``TEACHER_SEEDS`` (``seeds``, the student seeds, are not used: there is
    no student). Per split and seed: recovery, super-class accuracy, each digit's purity."""
    from subclass_lib.experiments.subclass_seeds import train_many

    cfgs = {sp: replace(_quick(), split=sp) for sp in ("01234",) + SPLIT_CANDIDATES}
    runs = train_many([replace(c, seed=s) for c in cfgs.values() for s in TEACHER_SEEDS])
    n = len(TEACHER_SEEDS)
    return {
        "teacher_seeds": list(TEACHER_SEEDS),
        "splits": {sp: {"groups": [list(g) for g in c.groups],
                        **_teacher_numbers(runs[i * n:(i + 1) * n], c.digit_order)}
                   for i, (sp, c) in enumerate(cfgs.items())},
    }


@exercise(4, 6)
def chapter4_exercise6(seeds: list[int]) -> dict:
    """What in "What each change adds" does the work: the 8-epoch teacher with view consistency
    (``base8``) with shifts only, noise only and neither (the copy is the image itself); plain
    augmentation (jitter 1 px) without consistency, beside the same teacher without consistency
    and without jitter; the demo's losses (``plain``) at 8 and 16 epochs; the default (16
    epochs). Over the teacher seeds ``TEACHER_SEEDS`` (``seeds`` are not used)."""
    from subclass_lib.experiments.subclass_config import SubclassConfig
    from subclass_lib.experiments.subclass_seeds import train_many

    cfg = SubclassConfig()
    base8 = _quick()
    plain = replace(cfg, consistency=0.0, sharpen=0.5, teacher_epochs=8)
    variants = {
        "shift and noise (8 epochs)": base8,
        "(a) shifts only": replace(base8, view_noise=0.0),
        "(a) noise only": replace(base8, view_shift=0),
        "(a) neither (the copy is the image)": replace(base8, view_shift=0, view_noise=0.0),
        "(b) no consistency, sharpen 0.4": replace(base8, consistency=0.0),
        "(b) jitter 1 px, no consistency": replace(base8, jitter=1, consistency=0.0),
        "demo losses, 8 epochs": plain,
        "(c) demo losses, 16 epochs": replace(plain, teacher_epochs=16),
        "default (16 epochs)": cfg,
    }
    runs = train_many([replace(c, seed=s) for c in variants.values() for s in TEACHER_SEEDS])
    n = len(TEACHER_SEEDS)
    return {
        "teacher_seeds": list(TEACHER_SEEDS),
        "variants": {k: {key: v for key, v in _teacher_numbers(runs[i * n:(i + 1) * n],
                                                               c.digit_order).items()
                         if key != "purity"}
                     for i, (k, c) in enumerate(variants.items())},
    }


# ----------------------------------------------------------------------------- chapter 5

@exercise(5, 2)
def chapter5_exercise2(seeds: list[int]) -> dict:
    """Chapter 4's teacher without an auxiliary loss (``aux="none"``: its subclasses collapse), and its
    distillation and subclass-distillation students over ``seeds``, beside the chapter's default
    teacher and its students (hard labels, distillation, subclass distillation; cached)."""
    from subclass_lib.experiments import subclass_students as S
    from subclass_lib.experiments.subclass_students_sweeps import students_over_seeds

    def teacher_summary(t):
        rows = np.asarray(t.contingency).sum(axis=1)  # test images per sub-logit (its argmax)
        return {"binary_test_error": 1 - t.super_accuracy, "recovery_any": t.recovery_any,
                "test_images_per_sub_logit": rows.astype(int).tolist()}

    cfg = S.StudentsConfig()
    none_cfg = replace(cfg, teacher=S.chapter_teacher(aux="none", consistency=0.0, teacher_epochs=8))
    methods = ("distillation", "subclass_distillation")
    out = {"seeds": list(seeds), "teachers": {}, "errors": {}}
    for name, c, ms in (("default (chapter 4)", cfg, ("hard_labels",) + methods),
                        ("aux none, 8 epochs", none_cfg, methods)):
        teacher = S.get_teacher(c, verbose=False)
        over = students_over_seeds(c, seeds, ms, teacher=teacher)
        out["teachers"][name] = teacher_summary(teacher)
        out["errors"][name] = {m: list(v) for m, v in over["errors"].items()}
    return out


@exercise(5, 5)
def chapter5_exercise5(seeds: list[int]) -> dict:
    """The paper-size students (2 x 784, 12 epochs on all the training images) from the conv teacher of
    ``StudentsConfig.for_scale("full")``, over ``seeds``; the oracle beside the four methods."""
    from subclass_lib.experiments import subclass_students as S
    from subclass_lib.experiments.subclass_students_config import METHODS, ORACLE
    from subclass_lib.experiments.subclass_students_sweeps import students_over_seeds

    cfg = S.StudentsConfig.for_scale("full")
    teacher = S.get_teacher(cfg, verbose=False)
    over = students_over_seeds(cfg, seeds, METHODS + (ORACLE,), teacher=teacher)
    return {
        "seeds": list(seeds),
        "teacher": {"binary_test_error": 1 - teacher.super_accuracy, "recovery_any": teacher.recovery_any},
        "errors": {m: list(v) for m, v in over["errors"].items()},
    }


# ----------------------------------------------------------------------------- the command

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chapter", type=int, required=True, choices=sorted(EXERCISES))
    p.add_argument("--exercises", default=None,
                   help="which of the chapter's exercises, e.g. 3,5 (default: all; the others in the file are kept)")
    p.add_argument("--seeds", default="0-2", help="student seeds, e.g. 0-2 or 0,1,2 (default 0-2)")
    p.add_argument("--json", type=Path, default=None, help="output (default book/data/exercise_answers_chN.json)")
    args = p.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    known = EXERCISES[args.chapter]
    numbers = sorted(known) if args.exercises is None else [int(v) for v in args.exercises.split(",")]
    unknown = [n for n in numbers if n not in known]
    if unknown:
        p.error(f"chapter {args.chapter} has no recorded exercise {unknown}; it has {sorted(known)}")
    out = args.json or DATA / f"exercise_answers_ch{args.chapter}.json"
    command = f"python tools/exercise_answers.py --chapter {args.chapter}"
    if args.seeds != "0-2":
        command += f" --seeds {args.seeds}"
    result = json.loads(out.read_text()) if out.exists() and args.exercises is not None else {}
    result.update({"command": command, "scale": "default", "seeds": seeds})
    for n in numbers:
        print(f"chapter {args.chapter}, exercise {n} ...", flush=True)
        result[f"exercise {n}"] = known[n](seeds)
        result.setdefault("commands", {})[f"exercise {n}"] = f"{command} --exercises {n}"
    write_json(dict(sorted(result.items())), out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
