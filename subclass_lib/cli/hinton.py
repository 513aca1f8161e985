"""Command line of chapters 1 and 2: ``python -m subclass_lib hinton`` and ``mythical3``."""

from __future__ import annotations

import argparse
from dataclasses import fields

from ..experiments.base import format_table
from ..experiments.hinton import SOURCE_HINTON, HintonConfig, run_hinton
from ..experiments.mythical3 import Mythical3Config, run_mythical3
from ..train import LR_SCHEDULES
from . import Command, add_config_arguments, command_line, documented_config, given_fields, layer_sizes, layer_width

_FIELD_HELP = {
    "teacher_hidden": "hidden layer sizes of the teacher, e.g. 1200,1200; one width (1200) is two layers of it",
    "student_hidden": "hidden layer sizes of the students, e.g. 800,800; one width (800) is two layers of it",
    "transfer_size": "size of the students' transfer set (images drawn from the 55,000 training images)",
    "teacher_input_dropout": "teacher dropout rate on input pixels, in [0, 1)",
    "max_norm": "max-norm bound on each unit's incoming weights (teacher)",
    "lr_schedule": "learning-rate schedule of the students: constant or cosine (decays to 0 over the run)",
    "teacher_lr_schedule": "learning-rate schedule of the teacher (the scale's value; the students' where that is none)",
    "match_steps": "students without some digits take as many steps as on the whole transfer set (more epochs)",
    "omit": "digits left out of the transfer set, e.g. 3 or 0,1,2,3,4,5,6,9",
    "bias_shift": "bias shift of the omitted digits (none: chosen automatically)",
}
#: The JSON keys that the documented output keeps (the flags are the field names, these the old ones' keys).
_DOCUMENTED = {"teacher_epochs": "epochs_teacher", "student_epochs": "epochs_student", "transfer_size": "train_subset"}
#: The nets of chapters 1-2 have two equal hidden layers: ``--teacher-hidden 1200`` is ``(1200, 1200)``, and the
#: JSON keeps the width (a list where the layers differ).
_TWO_LAYERS = ("teacher_hidden", "student_hidden")
_WIDTH = {name: layer_width(2) for name in _TWO_LAYERS}


def _add_config_arguments(parser: argparse.ArgumentParser, cls) -> list[str]:
    """One flag per config field (:func:`subclass_lib.cli.add_config_arguments`); unset flags keep the scale's value."""
    return add_config_arguments(parser, cls, _FIELD_HELP, types={name: layer_sizes(2) for name in _TWO_LAYERS},
                                choices={"lr_schedule": LR_SCHEDULES, "teacher_lr_schedule": LR_SCHEDULES},
                                metavars={"omit": "DIGITS", "bias_shift": "SHIFT"})


def _config_from_args(cls, args: argparse.Namespace):
    kw = given_fields(args, [f.name for f in fields(cls) if f.name != "scale"])
    return cls.for_scale(args.scale, **kw)


def _threads_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads of this run (default: $SUBCLASS_LIB_THREADS, else every CPU; "
                        "the chapters train on one, and the thread count changes the last digits of the results)")


def _arguments(cls):
    """The flags of a command whose config is ``cls``: its fields and ``--threads``."""
    def add(p: argparse.ArgumentParser) -> None:
        _add_config_arguments(p, cls)
        _threads_argument(p)
    return add


def _runner(cls, recipe: str):
    """A command's run: the config of ``cls`` from the flags, the recipe of this module named ``recipe`` on
    every core, the documented JSON keys."""
    def run(args) -> dict:
        with command_line(args.threads):
            res = globals()[recipe](_config_from_args(cls, args), use_cache=not args.no_cache, verbose=True)
        res["config"] = documented_config(res["config"], _DOCUMENTED, _WIDTH)
        return res
    return run


def _hinton_render(r: dict) -> str:
    ref_acc, ref_err = SOURCE_HINTON["write-up"], SOURCE_HINTON["Hinton et al. (errors)"]
    rows = [{"model": n, "test accuracy": r[n]["test_accuracy"], "test errors": r[n]["test_errors"],
             "write-up": ref_acc[n], "Hinton et al. errors": ref_err[n]} for n in ("teacher", "small", "distilled")]
    c = r["config"]
    head = (f"Hinton distillation on MNIST (scale {c['scale']}, seed {c['seed']}): teacher 2x{c['teacher_hidden']}, "
            f"students 2x{c['student_hidden']}, T={c['temperature']:g}, alpha={c['alpha']:g}, "
            f"transfer set {c['train_subset'] or 55000} images")
    return head + "\n" + format_table(rows)


def _mythical_render(r: dict) -> str:
    omit = r["config"]["omit"]
    rows = []
    for n in ("teacher", "hard_labels", "distilled", "distilled_bias_adjusted"):
        rows.append({"model": n, "test accuracy": r[n]["test_accuracy"], "test errors": r[n]["test_errors"],
                     f"accuracy on {''.join(map(str, omit))}": r[n]["accuracy_on_omitted"],
                     "errors on omitted": r[n]["errors_on_omitted"]})
    a = r["distilled_bias_adjusted"]
    return (f"Mythical digit(s) {omit}: transfer set of {r['transfer_set_size']} images without them "
            f"(scale {r['config']['scale']}, seed {r['config']['seed']})\n" + format_table(rows)
            + f"\nbias shift {a['bias_shift']:.3f} ({a['bias_shift_choice']}; Hinton et al. used 3.5 for the 3)"
            + "\nwrite-up: not distilled 0.8882, distilled 0.9869; Hinton et al.: 206 errors (133 on 3s), "
              "after the bias shift 109 (14 on 3s)")


COMMANDS: list[Command] = [
    Command("hinton", "Chapter 1: teacher, small net on hard labels and distilled small net (Hinton et al. 2015)",
            _arguments(HintonConfig), _runner(HintonConfig, "run_hinton"), _hinton_render),
    Command("mythical3", "Chapter 2: the mythical 3 - distil on a transfer set without some digits, "
            "then adjust the biases", _arguments(Mythical3Config), _runner(Mythical3Config, "run_mythical3"),
            _mythical_render),
]
