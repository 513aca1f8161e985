"""Command line of chapter 3: ``python -m subclass_lib ls-kd``."""

from __future__ import annotations

import argparse

from ..experiments.base import format_table
from ..checks import check_eps, parse_temperatures
from ..experiments.ls_kd import LSKDConfig, run_ls_kd
from . import Command, documented_config

def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eps", type=float, default=0.1,
                   help="label smoothing of the LS teacher, in (0, 1) (default 0.1; a hard-label teacher is always trained too)")
    p.add_argument("--temperatures", default="1,2,3,4,8,64",
                   help="comma-separated distillation temperatures, must include 1 (default 1,2,3,4,8,64)")
    p.add_argument("--teacher-epochs", type=int, default=None, help="override the scale's teacher epochs")
    p.add_argument("--student-epochs", type=int, default=None, help="override the scale's student epochs")
    p.add_argument("--student-fraction", dest="transfer_fraction", type=float, default=None,
                   help="fraction of the 60k training images used as the transfer set (override)")
    p.add_argument("--teacher-fraction", type=float, default=None,
                   help="fraction of the 60k training images the teachers train on (override)")
    p.add_argument("--feature-examples", type=int, default=None,
                   help="test images used for centroids and the diffusion index (override; default 10000)")
    p.add_argument("--student-seeds", type=int, default=None,
                   help="students per (teacher, T) with different seeds, for the mean and spread (default 3)")


def _run(args: argparse.Namespace) -> dict:
    overrides = dict(eps=check_eps(args.eps), temperatures=parse_temperatures(args.temperatures),
                     seed=args.seed, device=args.device)
    for flag in ("teacher_epochs", "student_epochs", "transfer_fraction", "teacher_fraction", "feature_examples",
                 "student_seeds"):
        v = getattr(args, flag)
        if v is not None:
            overrides[flag] = v
    cfg = LSKDConfig.for_scale(args.scale, **overrides)
    res = run_ls_kd(cfg, use_cache=not args.no_cache, verbose=False).to_json()
    res["config"] = documented_config(res["config"], {"transfer_fraction": "student_fraction"})
    return res


def _render(result: dict) -> str:
    teachers = format_table([{"eps": f"{t['eps']:g}", "test_accuracy": t["test_accuracy"]}
                             for t in result["teachers"]])
    epss = [t["eps"] for t in result["teachers"]]
    temps = sorted({s["T"] for s in result["students"]})
    acc = {(s["eps"], s["T"]): s["test_accuracy"] for s in result["students"]}
    rows = [{"T": f"{T:g}", **{f"student acc, teacher eps={e:g}": acc[(e, T)] for e in epss}} for T in temps]
    di = [{"eps": f"{r['eps']:g}", "T": f"1 -> {r['T_to']:g}", "eta_similar %": r["similar"],
           "eta_dissimilar %": r["dissimilar"]} for r in result["diffusion_index"]]
    return "\n\n".join([
        "Teachers (test accuracy)", teachers,
        "Students (test accuracy) by distillation temperature", format_table(rows),
        "Diffusion index (percent change of relative centroid distance from T = 1; "
        "negative 'similar' = diffusion towards similar digits)", format_table(di, floatfmt="{:+.3f}"),
    ])


COMMANDS: list[Command] = [
    Command(name="ls-kd",
            help="Chapter 3: label-smoothed vs hard-label teachers distilled at several temperatures; "
                 "student accuracies and the diffusion index",
            add_arguments=_add_arguments, run=_run, render=_render),
]
