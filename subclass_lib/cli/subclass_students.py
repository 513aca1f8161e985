"""Command line of chapter 5: ``python -m subclass_lib subclass-students``."""

from __future__ import annotations

import argparse
from dataclasses import asdict, fields

from ..experiments.base import format_table
from ..experiments.subclass import SubclassConfig
from ..checks import check_hidden
from ..experiments.subclass_students import METHODS, StudentsConfig, results_table, run_students
from .. import runner
from . import Command, documented_config
from . import subclass as teacher_cli
from .subclass import add_arguments as add_teacher_arguments

#: SubclassConfig fields set by chapter 4's flags (seed, temperature and student epochs are shared)
_TEACHER_FLAGS = tuple(f.name for f in fields(SubclassConfig)
                       if f.name not in ("seed", "student_epochs", "temperature", "scale", "device"))


def _add_arguments(p: argparse.ArgumentParser) -> None:
    # chapter 4's teacher flags, defaulting to this chapter's teacher; --temperature and
    # --n-epochs-student are the students' T and epochs, --seed seeds teacher and students
    add_teacher_arguments(p)
    d = StudentsConfig()
    p.set_defaults(**{k: v for k, v in asdict(d.teacher).items() if k in _TEACHER_FLAGS},
                   temperature=d.temperature, student_epochs=d.student_epochs)
    p.add_argument("--alpha", type=float, default=d.alpha, help="task balance of Eq. 4 (weight of the soft term)")
    p.add_argument("--student-hidden", default=",".join(map(str, d.student_hidden)),
                   help="hidden layer sizes of the students, e.g. 128,128 (the paper: 784,784)")
    p.add_argument("--student-batch-size", type=int, default=d.batch_size, help="batch size of the students")
    p.add_argument("--student-lr", type=float, default=d.lr, help="learning rate of the students")
    p.add_argument("--student-weight-decay", type=float, default=d.weight_decay,
                   help="weight decay of the students")
    p.add_argument("--penultimate-weight", type=float, default=d.penultimate_weight,
                   help="extra weight of the penultimate-layer loss (Eq. 5)")
    p.add_argument("--transfer-fraction", type=float, default=d.transfer_fraction,
                   help="fraction of the transfer set the students train on, in (0, 1]")
    p.add_argument("--eval-every", type=int, default=d.eval_every,
                   help="steps between validation points of the training-speed curves (0: none)")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated students to train, from {','.join(METHODS)}")
    p.add_argument("--no-label-student", action=argparse.BooleanOptionalAction, default=True,
                   help="also train the student that never sees the binary label")
    p.add_argument("--label-free-student", action="store_true",
                   help="also train the demo's label-free student (chapter 4)")


def config_from_student_args(args: argparse.Namespace) -> StudentsConfig:
    """The students' config of parsed flags: the teacher flags make ``cfg.teacher``
    (defaults: :data:`CHAPTER_TEACHER`); ``--seed`` seeds teacher and students,
    ``--n-epochs-student`` and ``--temperature`` are the students' epochs and T.
    With ``--scale full`` every flag left at its default takes its full-scale value."""
    d = StudentsConfig()
    teacher_kw = {k: getattr(args, k) for k in _TEACHER_FLAGS if hasattr(args, k)}
    if args.eval_every is not None and args.eval_every < 0:
        raise ValueError(f"--eval-every must be >= 0, got {args.eval_every}")
    given = dict(student_hidden=check_hidden(args.student_hidden), student_epochs=args.student_epochs,
                 batch_size=args.student_batch_size, lr=args.student_lr, weight_decay=args.student_weight_decay,
                 temperature=args.temperature, alpha=args.alpha, penultimate_weight=args.penultimate_weight,
                 transfer_fraction=args.transfer_fraction, eval_every=args.eval_every or None, seed=args.seed,
                 device=args.device)
    if args.scale == "full":
        dt = asdict(d.teacher)
        changed_t = {k: v for k, v in teacher_kw.items() if v != dt[k]}
        changed = {k: v for k, v in given.items() if v != getattr(d, k)}
        teacher = SubclassConfig.for_scale("full", seed=args.seed, **changed_t)
        return StudentsConfig.for_scale("full", teacher=teacher, **changed)
    teacher = SubclassConfig(seed=args.seed, student_epochs=args.student_epochs,
                             temperature=args.temperature, **teacher_kw)
    return StudentsConfig(teacher=teacher, **given)


def _run(args: argparse.Namespace) -> dict:
    cfg = config_from_student_args(args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"--methods: {m!r} is not one of {','.join(METHODS)}")
    if not methods:
        raise ValueError("--methods must name at least one student")
    with runner.command_line(args.threads):
        res = run_students(cfg, methods, no_label=args.no_label_student, label_free=args.label_free_student,
                           verbose=True, use_cache=not args.no_cache)
    res.pop("runs")
    config = documented_config(res["config"], {"student_epochs": "epochs", "temperature": "T"})
    config["teacher"] = documented_config(config["teacher"], teacher_cli.DOCUMENTED, teacher_cli.CONVERT)
    res["config"] = config
    res["threads"] = runner.cli_threads(args.threads)
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
