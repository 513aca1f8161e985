"""Command line of chapter 5: ``python -m subclass_lib subclass-students``."""

from __future__ import annotations

import argparse
from dataclasses import fields

from ..experiments.base import format_table
from ..experiments.subclass import SubclassConfig
from ..experiments.subclass_students import METHODS, StudentsConfig, chapter_teacher, results_table, run_students

from . import Command, add_config_arguments, cli_threads, command_line, documented_config, given_fields
from . import subclass as teacher_cli
from .subclass import add_arguments as add_teacher_arguments

#: SubclassConfig fields set by chapter 4's flags (seed, temperature and student epochs are the students')
_SHARED = ("seed", "student_epochs", "temperature", "scale", "device")
_TEACHER_FLAGS = tuple(f.name for f in fields(SubclassConfig) if f.name not in _SHARED)
#: The students' fields that the teacher has too get a ``--student-`` flag (``--lr`` is the teacher's).
_STUDENT_FLAGS = {"batch_size": "student_batch_size", "lr": "student_lr", "weight_decay": "student_weight_decay"}
_FIELD_HELP = {
    "temperature": "distillation temperature T of Eq. 4 (students and the label-free student)",
    "alpha": "task balance of Eq. 4 (weight of the soft term)",
    "student_hidden": "hidden layer sizes of the students, e.g. 128,128 (the paper: 784,784)",
    "batch_size": "batch size of the students",
    "lr": "learning rate of the students",
    "weight_decay": "weight decay of the students",
    "penultimate_weight": "extra weight of the penultimate-layer loss (Eq. 5)",
    "transfer_fraction": "fraction of the transfer set the students train on, in (0, 1]",
    "eval_every": "steps between validation points of the training-speed curves (0: none)",
}


def _add_arguments(p: argparse.ArgumentParser) -> None:
    # chapter 4's teacher flags (help: this chapter's teacher); --temperature and --student-epochs are
    # the students' T and epochs, --seed seeds teacher and students
    d = StudentsConfig()
    add_teacher_arguments(p, skip=_SHARED, base=d.teacher)
    add_config_arguments(p, StudentsConfig, _FIELD_HELP, skip=("teacher",), flags=_STUDENT_FLAGS,
                         metavars={"student_hidden": "SIZES", "eval_every": "STEPS"})
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated students to train, from {','.join(METHODS)}")
    p.add_argument("--no-label-student", action=argparse.BooleanOptionalAction, default=True,
                   help="also train the student that never sees the binary label")
    p.add_argument("--label-free-student", action="store_true",
                   help="also train the demo's label-free student (chapter 4)")


def config_from_student_args(args: argparse.Namespace) -> StudentsConfig:
    """The students' config of parsed flags: the teacher flags make ``cfg.teacher``
    (defaults: :data:`CHAPTER_TEACHER`); ``--seed`` seeds teacher and students,
    ``--student-epochs`` and ``--temperature`` are the students' epochs and T.
    Flags left unset keep the scale's value."""
    d = StudentsConfig()
    teacher_kw = given_fields(args, _TEACHER_FLAGS)
    names = [f.name for f in fields(StudentsConfig) if f.name not in ("teacher", "scale")]
    given = given_fields(args, {k: _STUDENT_FLAGS.get(k, k) for k in names})
    if "eval_every" in given:
        if given["eval_every"] < 0:
            raise ValueError(f"--eval-every must be >= 0, got {given['eval_every']}")
        given["eval_every"] = given["eval_every"] or None
    if args.scale == "full":
        teacher = SubclassConfig.for_scale("full", seed=args.seed, **teacher_kw)
        return StudentsConfig.for_scale("full", teacher=teacher, **given)
    teacher = chapter_teacher(seed=args.seed, student_epochs=given.get("student_epochs", d.student_epochs),
                              temperature=given.get("temperature", d.temperature), **teacher_kw)
    return StudentsConfig(teacher=teacher, **given)


def _run(args: argparse.Namespace) -> dict:
    cfg = config_from_student_args(args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"--methods: {m!r} is not one of {','.join(METHODS)}")
    if not methods:
        raise ValueError("--methods must name at least one student")
    with command_line(args.threads):
        res = run_students(cfg, methods, no_label=args.no_label_student, label_free=args.label_free_student,
                           verbose=True, use_cache=not args.no_cache)
    res.pop("runs")
    config = documented_config(res["config"], {"student_epochs": "epochs", "temperature": "T"})
    config["teacher"] = documented_config(config["teacher"], teacher_cli.DOCUMENTED, teacher_cli.CONVERT)
    res["config"] = config
    res["threads"] = cli_threads(args.threads)
    return res



def _render(res: dict) -> str:
    text = format_table(results_table(res))
    if "label_free_student" in res:
        lf = res["label_free_student"]
        text += (f"\nlabel-free student: super-class accuracy {lf['super_accuracy']:.4f}, "
                 f"recovery {lf['recovery_any']:.4f} (1-to-1 {lf['recovery_one_to_one']:.4f})")
    return text + f"\ntotal {res['timing_s']['total']:.1f} s"


COMMANDS = [Command(
    name="subclass-students",
    help="Chapter 5: students trained with hard labels, distillation, subclass distillation and "
         "penultimate-layer distillation from chapter 4's teacher; and a student without binary labels",
    add_arguments=_add_arguments, run=_run, render=_render)]
