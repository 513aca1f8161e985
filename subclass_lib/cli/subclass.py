"""Command line of chapter 4: ``python -m subclass_lib subclass``."""

from __future__ import annotations

import argparse
from dataclasses import asdict, fields

from ..experiments.base import format_table
from ..experiments.subclass import AUX_KINDS, DEMO, TEACHERS, SubclassConfig, run_subclass
from .. import runner
from ..checks import check_hidden
from . import Command, documented_config, layer_width

#: The demo's flag names, which are also the keys of the command's JSON ``config``.
DOCUMENTED = {"teacher_epochs": "n_epochs_teacher", "student_epochs": "n_epochs_student",
              "teacher_fraction": "train_fraction"}
#: ``hidden`` is a tuple in the library and an int (one layer) in the demo's flag and JSON.
CONVERT = {"hidden": layer_width(1)}


def _hidden(text: str) -> tuple[int, ...]:
    return check_hidden(text, "--hidden")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Chapter 4's flags (also the teacher flags of ``subclass-students``)."""
    d = SubclassConfig()
    p.add_argument("--n-epochs-teacher", dest="teacher_epochs", metavar="N", type=int, default=d.teacher_epochs)
    p.add_argument("--n-epochs-student", dest="student_epochs", metavar="N", type=int, default=d.student_epochs)
    p.add_argument("--temperature", type=float, default=d.temperature, help="distillation temperature T")
    p.add_argument("--aux", choices=AUX_KINDS, default=d.aux, help="auxiliary loss of the teacher")
    p.add_argument("--aux-weight", type=float, default=d.aux_weight, help="beta, the auxiliary-loss weight")
    p.add_argument("--aux-temperature", type=float, default=d.aux_temperature,
                   help="temperature of the contrastive auxiliary loss")
    p.add_argument("--sharpen", type=float, default=d.sharpen, help="sharpness weight of the diversity loss")
    p.add_argument("--consistency", type=float, default=d.consistency,
                   help="weight of the view-consistency loss (0 = off, as in the demo)")
    p.add_argument("--view-shift", type=int, default=d.view_shift,
                   help="max shift (pixels) of the perturbed view of the consistency loss")
    p.add_argument("--view-noise", type=float, default=d.view_noise,
                   help="std of the pixel noise of the perturbed view of the consistency loss")
    p.add_argument("--n-sub", type=int, default=d.n_sub, help="subclasses per class")
    p.add_argument("--split", default=d.split, help="digits of super-class A, e.g. 01234 or 01389")
    p.add_argument("--teacher", choices=TEACHERS, default=d.teacher)
    p.add_argument("--hidden", type=_hidden, default=d.hidden,
                   help="hidden units of the MLPs (one layer; '256,256' for two)")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--jitter", type=int, default=d.jitter, help="max random shift (pixels) for the teacher")
    p.add_argument("--conv-dropout", type=float, default=d.conv_dropout, help="dropout of the conv teacher")
    p.add_argument("--train-fraction", dest="teacher_fraction", metavar="FRACTION", type=float, default=d.teacher_fraction,
                   help="fraction of the training set to use (1 = all 55k)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads of this run (default: $SUBCLASS_LIB_THREADS, else every CPU; "
                        "the thread count changes the last digits of the results)")


def config_from_args(args: argparse.Namespace) -> SubclassConfig:
    """The config of parsed flags; with ``--scale full`` the full-scale defaults apply to
    every flag left at its default."""
    names = {f.name for f in fields(SubclassConfig)}
    kw = {k: v for k, v in vars(args).items() if k in names}
    if kw.get("scale", "default") == "full":
        d = asdict(SubclassConfig())
        changed = {k: v for k, v in kw.items() if k != "scale" and v != d[k]}
        return SubclassConfig.for_scale("full", **changed)
    return SubclassConfig(**kw)


def _run(args: argparse.Namespace) -> dict:
    cfg = config_from_args(args)
    with runner.command_line(args.threads):
        res = run_subclass(cfg, verbose=True, use_cache=not args.no_cache)
    res["config"] = documented_config(res["config"], DOCUMENTED, CONVERT)
    res["threads"] = runner.cli_threads(args.threads)
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
