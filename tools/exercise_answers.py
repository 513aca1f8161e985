"""The recorded runs behind the chapters' costlier worked answers (more than about 10 s each).

    python tools/exercise_answers.py --chapter 1    # writes book/data/exercise_answers_ch1.json
    python tools/exercise_answers.py --chapter 1 --seeds 0-4 --json out.json

An exercise whose answer costs seconds is answered by a hidden cell of its chapter; the answers that
train for minutes come from here. Each is a sweep of the chapter's own recipe (the same specs, the
same cache), at the default scale, over a few student seeds; the chapter's answer cell reads the
JSON, shows the numbers, and names this command. Chapter 1:

* exercise 4: the 2x800 student at T = 4, hard labels vs distilled, on the 10,000-image transfer
  set and on all 55,000 training images;
* exercise 5: the 2x30 student, hard labels vs distilled, at the chapter's setting (alpha = 0.5,
  T = 1 and 4), with alpha = 0.1, with 30 epochs instead of 10, and on all 55,000 images.

Every sweep keeps its per-seed runs, so the chapter shows paired gains (distilled minus the
hard-label student of the same seed). Re-running costs nothing once the models are cached.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from subclass_lib.experiments import hinton as H  # noqa: E402
from subclass_lib.experiments import hinton_sweeps as HS  # noqa: E402
from subclass_lib.files import write_json  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "book" / "data"


def parse_seeds(text: str) -> list[int]:
    """'0-2' or '0,2,5' -> list of seeds."""
    if "-" in text:
        lo, hi = (int(v) for v in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(v) for v in text.split(",")]


def _grid(sweep: dict, hidden: str, xs_key: str) -> dict:
    """The part of a sweep an answer needs: the settings and the per-seed accuracies."""
    return {xs_key: list(sweep[xs_key]), "hard_runs": list(sweep["hard_runs"][hidden]),
            "distilled_runs": [list(r) for r in sweep["distilled_runs"][hidden]]}


def chapter1(seeds: list[int]) -> dict:
    cfg = H.HintonConfig()
    full = replace(cfg, transfer_size=None)
    big, tiny = ((800, 800),), ((30, 30),)
    T_sweep = dict(seeds=seeds, verbose=False)
    return {
        "exercise 4": {
            "10,000 images": _grid(HS.temperature_sweep(cfg, temperatures=(4,), hiddens=big, **T_sweep), "2x800", "T"),
            "55,000 images": _grid(HS.temperature_sweep(full, temperatures=(4,), hiddens=big, **T_sweep), "2x800", "T"),
        },
        "exercise 5": {
            "chapter's setting": _grid(HS.temperature_sweep(cfg, temperatures=(1, 4), hiddens=tiny, **T_sweep),
                                       "2x30", "T"),
            "alpha = 0.1": _grid(HS.alpha_sweep(cfg, alphas=(0.1,), hiddens=tiny, **T_sweep), "2x30", "alpha"),
            "30 epochs": _grid(HS.temperature_sweep(replace(cfg, student_epochs=30), temperatures=(1, 4),
                                                    hiddens=tiny, **T_sweep), "2x30", "T"),
            "55,000 images": _grid(HS.temperature_sweep(full, temperatures=(1, 4), hiddens=tiny, **T_sweep),
                                   "2x30", "T"),
        },
    }


CHAPTERS = {1: chapter1}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chapter", type=int, required=True, choices=sorted(CHAPTERS))
    p.add_argument("--seeds", default="0-2", help="student seeds, e.g. 0-2 or 0,1,2 (default 0-2)")
    p.add_argument("--json", type=Path, default=None, help="output (default book/data/exercise_answers_chN.json)")
    args = p.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    out = args.json or DATA / f"exercise_answers_ch{args.chapter}.json"
    command = f"python tools/exercise_answers.py --chapter {args.chapter}"
    if args.seeds != "0-2":
        command += f" --seeds {args.seeds}"
    result = {"command": command, "scale": "default", "seeds": seeds, **CHAPTERS[args.chapter](seeds)}
    write_json(result, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
