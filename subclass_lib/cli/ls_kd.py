"""Command line of chapter 3: ``python -m subclass_lib ls-kd``."""

from __future__ import annotations

import argparse
from dataclasses import fields

from ..experiments.base import format_table
from ..experiments.ls_kd import LSKDConfig, run_ls_kd
from . import Command, add_config_arguments, documented_config, given_fields

_FIELD_HELP = {
    "eps": "label smoothing of the LS teacher, in (0, 1) (a hard-label teacher is always trained too)",
    "temperatures": "comma-separated distillation temperatures, must include 1",
    "teacher_fraction": "fraction of the 60k training images the teachers train on, in (0, 1]",
    "transfer_fraction": "fraction of the 60k training images used as the transfer set, in (0, 1]",
    "alpha": "task balance in [0, 1]: weight of the soft targets (1: soft targets only, as in the paper)",
    "feature_examples": "test images used for centroids and the diffusion index",
    "student_seeds": "students per (teacher, T) with different seeds, for the mean and spread",
}
#: Fields without a flag: the networks' sizes and the projection's digits are the chapter's (Python only).
_NO_FLAG = ("teacher_hidden", "student_hidden", "classes")


def _add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, LSKDConfig, _FIELD_HELP, skip=_NO_FLAG, metavars={"eps": "EPS", "temperatures": "T,T,..."})


def _run(args: argparse.Namespace) -> dict:
    names = [f.name for f in fields(LSKDConfig) if f.name not in ("scale", *_NO_FLAG)]
    cfg = LSKDConfig.for_scale(args.scale, **given_fields(args, names))
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
