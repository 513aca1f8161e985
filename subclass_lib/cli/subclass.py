"""Command line of chapter 4: ``python -m subclass_lib subclass``."""

from __future__ import annotations

import argparse
from dataclasses import fields

from ..experiments.base import format_table
from ..experiments.subclass import AUX_KINDS, DEMO, TEACHERS, SubclassConfig, run_subclass

from . import Command, add_config_arguments, cli_threads, command_line, documented_config, given_fields, layer_width

#: The demo's flag names (still accepted: ``cli.OLD_FLAGS``), which stay the keys of the command's JSON ``config``.
DOCUMENTED = {"teacher_epochs": "n_epochs_teacher", "student_epochs": "n_epochs_student",
              "teacher_fraction": "train_fraction"}
#: ``hidden`` is a tuple in the library and an int (one layer) in the demo's flag and JSON.
CONVERT = {"hidden": layer_width(1)}


#: Help texts of chapter 4's fields (also the teacher flags of ``subclass-students``).
FIELD_HELP = {
    "temperature": "distillation temperature T of the label-free student",
    "aux": "auxiliary loss of the teacher",
    "aux_weight": "beta, the auxiliary-loss weight",
    "aux_temperature": "temperature of the contrastive auxiliary loss",
    "sharpen": "sharpness weight of the diversity loss",
    "consistency": "weight of the view-consistency loss (0 = off, as in the demo)",
    "view_shift": "max shift (pixels) of the perturbed view of the consistency loss",
    "view_noise": "std of the pixel noise of the perturbed view of the consistency loss",
    "n_sub": "subclasses per class",
    "split": "digits of super-class A, e.g. 01234 or 01389",
    "teacher": "the teacher network",
    "hidden": "hidden layer sizes of the MLPs: 256 is one layer, 256,256 two",
    "jitter": "max random shift (pixels) for the teacher",
    "conv_dropout": "dropout of the conv teacher, in [0, 1)",
    "teacher_fraction": "fraction of the training set the teacher trains on (1 = all 55k)",
}
CHOICES = {"aux": AUX_KINDS, "teacher": TEACHERS}


def add_arguments(p: argparse.ArgumentParser, skip=(), base: SubclassConfig | None = None) -> list[str]:
    """Chapter 4's flags (also the teacher flags of ``subclass-students``, which ``skip`` the students'
    fields and show its ``base`` teacher's values); returns the fields that got a flag."""
    added = add_config_arguments(p, SubclassConfig, FIELD_HELP, skip=skip, choices=CHOICES, base=base,
                                 metavars={"hidden": "SIZES"})
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads of this run (default: $SUBCLASS_LIB_THREADS, else every CPU; "
                        "the thread count changes the last digits of the results)")
    return added


def config_from_args(args: argparse.Namespace) -> SubclassConfig:
    """The config of parsed flags: flags left unset keep the scale's value."""
    names = [f.name for f in fields(SubclassConfig) if f.name != "scale"]
    return SubclassConfig.for_scale(args.scale, **given_fields(args, names))


def _run(args: argparse.Namespace) -> dict:
    cfg = config_from_args(args)
    with command_line(args.threads):
        res = run_subclass(cfg, verbose=True, use_cache=not args.no_cache)
    res["config"] = documented_config(res["config"], DOCUMENTED, CONVERT)
    res["threads"] = cli_threads(args.threads)
    return res


def _render(res: dict) -> str:
    rows = []
    for who in ("teacher", "student"):
        r = res[who]
        rows.append({"model": who, "super-class acc": r["super_accuracy"], "recovery (any)": r["recovery_any"],
                     "recovery (1-to-1)": r["recovery_one_to_one"],
                     "time (s)": f"{res['timing_s'][who]:.1f}"})
    rows.append({"model": "NumPy demo's student (seed 0, its write-up; time on its laptop)",
                 "super-class acc": DEMO["student_super_accuracy_seed0"],
                 "recovery (any)": DEMO["recovery_seed0"], "recovery (1-to-1)": DEMO["recovery_seed0"],
                 "time (s)": f"{DEMO['student_train_s_writeup']:.1f}"})
    cols = res["digit_order"]
    cont = "\n".join(["teacher contingency (rows: sub-logit argmax, columns: digits " + "".join(map(str, cols)) + ")"]
                     + ["  " + " ".join(f"{v:5d}" for v in row) for row in res["teacher"]["contingency"]])
    return (format_table(rows) + f"\ntotal {res['timing_s']['total']:.1f} s\n" + cont)


COMMANDS = [Command(
    name="subclass",
    help="Chapter 4: a teacher that invents subclasses from binary labels, and the demo's label-free student",
    add_arguments=add_arguments, run=_run, render=_render)]
