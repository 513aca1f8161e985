"""Sweep the chapter-4 teacher's settings over seeds: the runs that chose its defaults.

    python tools/sweep_teacher.py                                   # the recorded sweep (seeds 0-4)
    python tools/sweep_teacher.py --seeds 5-9 --set sharpen=0.5 --set sharpen=0.4   # fresh seeds
    python tools/sweep_teacher.py --set view_shift=2 --set "sharpen=0.4 view_shift=2" --json out.json

Every ``--set`` is one row: ``field=value`` pairs (space-separated) applied to
``SubclassConfig()`` (the chapter's default). For each row the teacher and its label-free
student are trained (or loaded from the model cache) for every seed, in worker processes
(``runner.train_many`` over ``subclass.label_free_spec``), and the table gives the mean and population std of their test
recovery (any mapping) and super-class accuracy. The book's lab notes (book/lab_notes.md) record the
table this script printed when the default's sharpen was chosen; it is not part of the
chapter's own run (about two minutes per row on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from subclass_lib import runner  # noqa: E402
from subclass_lib.experiments import subclass as S  # noqa: E402
from subclass_lib.experiments.subclass_seeds import recovery_over_seeds  # noqa: E402
from subclass_lib.experiments.base import format_table  # noqa: E402

#: The sweep recorded in chapter 4, one or two settings changed at a time (sharpen 0.5 was the
#: default before it; sharpen 0.4 is the default now).
RECORDED = ["sharpen=0.5", "sharpen=0.3", "sharpen=0.4", "sharpen=0.7", "sharpen=1.0",
            "sharpen=0.5 aux_weight=2", "sharpen=0.5 view_shift=2", "sharpen=0.5 view_shift=3",
            "sharpen=0.5 view_noise=0.3", "sharpen=0.5 view_noise=0.7", "sharpen=0.5 jitter=1",
            "sharpen=0.4 view_shift=2"]


def parse_seeds(text: str) -> list[int]:
    """'0-4' or '0,2,5' -> list of seeds."""
    try:
        if "-" in text:
            lo, hi = (int(v) for v in text.split("-"))
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must look like 0-4 or 0,2,5, got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be non-negative and at least one, got {text!r}")
    return seeds


def parse_setting(text: str) -> dict:
    """'sharpen=0.4 view_shift=2' -> {'sharpen': 0.4, 'view_shift': 2} (typed like the field)."""
    default = S.SubclassConfig()
    names = {f.name for f in fields(S.SubclassConfig)} - {"seed", "scale"}
    out = {}
    for pair in text.split():
        name, sep, value = pair.partition("=")
        if not sep or name not in names:
            raise argparse.ArgumentTypeError(f"{pair!r} is not field=value for a SubclassConfig field")
        kind = type(getattr(default, name))  # int, float or str, as the default value
        try:
            out[name] = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{pair!r}: {value!r} is not a {kind.__name__}") from None
    replace(default, **out)  # validate now (ValueError names the field)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-4"), help="e.g. 0-4 (default) or 5-9")
    p.add_argument("--set", dest="settings", action="append", default=None, metavar="FIELD=VALUE ...",
                   help="one row of the sweep (repeat); default: the recorded sweep")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU)")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    try:
        args = p.parse_args(argv)
        settings = [parse_setting(s) for s in (args.settings or RECORDED)]
    except (argparse.ArgumentTypeError, ValueError) as exc:
        p.error(str(exc))
    base = S.SubclassConfig()
    cfgs = [replace(base, seed=s, **st) for st in settings for s in args.seeds]
    runner.train_many([S.label_free_spec(c) for c in cfgs], workers=args.workers)  # fill the cache
    rows = []
    for st in settings:
        r = recovery_over_seeds(replace(base, **st), args.seeds, student=True)  # from the cache
        rows.append({"setting": " ".join(f"{k}={v}" for k, v in st.items()) or "default",
                     "teacher": r["mean"], "teacher std": r["std"], "student": r["student_mean"],
                     "student std": r["student_std"], "student super acc": r["student_super_accuracy_mean"]})
    seeds = f"{args.seeds[0]}-{args.seeds[-1]}" if args.seeds == list(range(args.seeds[0], args.seeds[-1] + 1)) \
        else ",".join(map(str, args.seeds))
    print(f"recovery (any mapping, test) over seeds {seeds}; default: {base}")
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps({"seeds": args.seeds, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
