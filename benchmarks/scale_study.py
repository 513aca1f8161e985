"""What a smaller default scale would buy and cost: chapter 1-2's and chapter 5's headline effects when
their models train for fewer epochs, beside each model's training seconds.

    python benchmarks/scale_study.py                 # both studies (about 8 minutes on 2 cores, cold)
    python benchmarks/scale_study.py --chapters 1    # chapters 1-2 only
    python benchmarks/scale_study.py --json out.json
    python benchmarks/scale_study.py --chapters 2     # chapter 2's recipe search at 4 / 6 epochs (validation only)

Chapter 1-2 (``HintonConfig`` / ``Mythical3Config``): the teacher for 6 (the book's before 2026-12-08), 4
(the book's since) or 3 epochs and the 2x800 students for 10, 6 or 5 epochs, at teacher seeds 0 and 1 (the book's scale: seed 0
only), each with student seeds 0-2: the teacher's test accuracy, the hard-label student's, the paired
gain of the distilled student (T = 1, 4, 20; alpha = 0.5) over the hard-label student of the same seed,
and chapter 2's omitted 3s after the bias shift (its default recipe, student seed = teacher seed).
Chapter 2's recipe search (``--chapters 2``): ``tools/search_mythical3.py``'s student grid (T, alpha, matched
steps; seeds 0-2, scored on the validation images only) with the teacher at 4 and the students at 6 epochs,
then the chosen recipe's test numbers at seed 0. Chapter 5 (``StudentsConfig``): chapter 4's teacher for 16 (the book's) or 8 epochs and the students for
8 (the book's) or 4 epochs, student seeds 0-2: the binary test error of hard labels, distillation and
subclass distillation.

A study, not the book's numbers: the models go to the model cache like any other (keyed by their
settings), and nothing here changes a chapter. ``benchmarks/RESULTS.md`` records its output and what it
means for the speed budget.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

import _machine  # benchmarks/_machine.py: the machine line every benchmark prints first

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from subclass_lib import runner  # noqa: E402
from subclass_lib.experiments import hinton as H  # noqa: E402
from subclass_lib.experiments import hinton_sweeps as HS  # noqa: E402
from subclass_lib.experiments import mythical3 as M  # noqa: E402
from subclass_lib.experiments import subclass_students as S  # noqa: E402
from subclass_lib.experiments.subclass_students_sweeps import over_seeds_specs, students_over_seeds  # noqa: E402

SEEDS = (0, 1, 2)
TEMPS = (1.0, 4.0, 20.0)
CH1_SCALES = {"6 / 10 (the earlier default)": (6, 10), "4 / 6 (the book's)": (4, 6), "3 / 5": (3, 5)}  # teacher / student epochs
CH5_METHODS = ("hard_labels", "distillation", "subclass_distillation")


def _seconds(trained) -> float:
    return float(sum(trained.history.epoch_time_s))


def chapter1(teacher_seeds=(0, 1)) -> list[dict]:
    rows = []
    book = H.HintonConfig()
    for name, (te, se) in CH1_SCALES.items():
        at_book_scale = (te, se) == (book.teacher_epochs, book.student_epochs)  # one teacher: the chapter's
        for tseed in teacher_seeds[:1] if at_book_scale else teacher_seeds:
            cfg = replace(H.HintonConfig(), teacher_epochs=te, student_epochs=se, seed=tseed)
            mcfg = replace(M.Mythical3Config(), teacher_epochs=te, student_epochs=se, seed=tseed)
            specs = HS.temperature_sweep_specs(cfg, TEMPS, hiddens=((800, 800),), seeds=SEEDS)
            trained = runner.train_many([H.teacher_spec(cfg)] + specs + M.mythical3_specs(mcfg))
            sw = HS.temperature_sweep(cfg, TEMPS, hiddens=((800, 800),), seeds=SEEDS, verbose=False)
            hard = sw["hard_runs"]["2x800"]
            gains = {T: [100 * (run[i] - h) for run, h in zip(sw["distilled_runs"]["2x800"], hard)]
                     for i, T in enumerate(sw["T"])}
            m3 = M.run_mythical3(mcfg, verbose=False)["distilled_bias_adjusted"]["accuracy_on_omitted"]
            rows.append({
                "teacher / student epochs": name, "teacher seed": tseed,
                "teacher acc": H.run_hinton(cfg, verbose=False)["teacher"]["test_accuracy"],
                "hard 2x800 (mean)": float(np.mean(hard)),
                **{f"gain T={T:g} (pts), per seed": [round(g, 2) for g in gains[T]] for T in TEMPS},
                "ch2 omitted 3s, shifted": m3,
                "teacher s": _seconds(trained[0]),
                "2x800 student s (mean)": float(np.mean([_seconds(t) for t in trained[1:len(specs) + 1]])),
            })
            print(rows[-1], flush=True)
    return rows


def chapter5() -> list[dict]:
    base = S.StudentsConfig()
    t8 = replace(base.teacher, teacher_epochs=8)
    variants = {"teacher 16, students 8 (the book's)": base,
                "teacher 16, students 4": replace(base, student_epochs=4),
                "teacher 8, students 8": replace(base, teacher=t8),
                "teacher 8, students 4": replace(base, teacher=t8, student_epochs=4)}
    rows = []
    for name, cfg in variants.items():
        trained = runner.train_many(over_seeds_specs(cfg, SEEDS, CH5_METHODS))
        r = students_over_seeds(cfg, SEEDS, CH5_METHODS)
        rows.append({"epochs": name,
                     **{f"{m} error % per seed": [round(100 * e, 2) for e in r["errors"][m]] for m in CH5_METHODS},
                     "student s (mean)": float(np.mean([_seconds(t) for t in trained]))})
        print(rows[-1], flush=True)
    return rows


def chapter2_search() -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    import search_mythical3 as SM

    base = replace(M.Mythical3Config(), teacher_epochs=4, student_epochs=6)
    rows = SM.student_rows(base, list(SEEDS))
    best = max(rows, key=SM.score)
    cfg = replace(base, temperature=best["T"], alpha=best["alpha"], match_steps=best["steps matched"])
    test = {"3s after the shift": M.run_mythical3(cfg, verbose=False)["distilled_bias_adjusted"]["accuracy_on_omitted"],
            "7s and 8s: error after the shift": 1 - M.run_mythical3(replace(cfg, omit=SM.ONLY_78), verbose=False)[
                "distilled_bias_adjusted"]["test_accuracy"]}
    for r in rows:
        print({k: v for k, v in r.items() if "runs" not in k}, flush=True)
    print("chosen", {k: best[k] for k in ("T", "alpha", "steps matched")}, "test, seed 0:", test, flush=True)
    return {"rows": rows, "chosen": {k: best[k] for k in ("T", "alpha", "steps matched")}, "test seed 0": test}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chapters", default="1,5", help="1 (chapters 1-2), 2 (chapter 2's search), 5, or a list")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    chapters = {c.strip() for c in args.chapters.split(",")}
    if not chapters <= {"1", "2", "5"}:
        ap.error(f"--chapters takes 1, 2 and 5 (a comma-separated list), got {args.chapters!r}")
    print(_machine.describe())
    out = {}
    if "1" in chapters:
        out["chapters 1-2"] = chapter1()
    if "2" in chapters:
        out["chapter 2 search"] = chapter2_search()
    if "5" in chapters:
        out["chapter 5"] = chapter5()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
