"""Chapter 5 over many runs: the students' errors over seeds (:func:`students_over_seeds`) and
over the values of one slider (:func:`sweep`, the static twin of the chapter's panel)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from .. import cache, runner
from ..metrics import mean_std
from .subclass import TeacherResult, teacher_spec
from .subclass_students import get_teacher, student_spec, train_student, transfer_set
from .subclass_students_config import METHODS, StudentsConfig

__all__ = ["students_over_seeds", "sweep", "SWEEPABLE", "over_seeds_specs", "sweep_specs"]


def _test_errors(cfgs: Sequence[StudentsConfig], methods: Sequence[str], teacher: TeacherResult | None,
                 labels: Sequence[str], prefetch: bool, *, verbose: bool, use_cache: bool,
                 progress: Callable | None) -> dict[str, list]:
    """Binary test error of every method's student for each config, in order, with ``teacher`` (None:
    each config's own teacher). With ``prefetch`` every missing student is first trained at once
    (and before them the missing teachers they need)."""
    if prefetch:
        runner.train_many([student_spec(c, m) for c in cfgs for m in methods], device=cfgs[0].device if cfgs else "auto")
    errors: dict[str, list] = {m: [] for m in methods}
    for i, (c, label) in enumerate(zip(cfgs, labels)):
        t = teacher if teacher is not None else get_teacher(c, verbose=verbose, use_cache=use_cache)
        data = transfer_set(c, t)
        for m in methods:
            errors[m].append(train_student(c, m, t, data=data, verbose=verbose, use_cache=use_cache).test_error)
        if progress is not None:
            progress((i + 1) / len(cfgs), label)
    return errors


def _seed_configs(cfg: StudentsConfig, seeds: Sequence[int], vary_teacher: bool) -> list[StudentsConfig]:
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    return [replace(cfg, seed=s, teacher=replace(cfg.teacher, seed=s) if vary_teacher else cfg.teacher)
            for s in seeds]


def over_seeds_specs(cfg: StudentsConfig, seeds: Sequence[int] = (0, 1, 2), methods: Sequence[str] = METHODS,
                     *, vary_teacher: bool = False) -> list:
    """The specs of the students :func:`students_over_seeds` trains with these arguments (for one
    ``runner.train_many`` over a whole chapter)."""
    return [student_spec(c, m) for c in _seed_configs(cfg, seeds, vary_teacher) for m in methods]


def sweep_specs(cfg: StudentsConfig, param: str, values: Sequence, methods: Sequence[str] = METHODS) -> list:
    """The specs of the students :func:`sweep` trains with these arguments."""
    return [student_spec(c, m) for c in _sweep_configs(cfg, param, values) for m in methods]


def _sweep_configs(cfg: StudentsConfig, param: str, values: Sequence) -> list[StudentsConfig]:
    if param not in SWEEPABLE:
        raise ValueError(f"param must be one of {SWEEPABLE}, got {param!r}")
    values = list(values)
    if not values:
        raise ValueError("values must not be empty")
    return [replace(cfg, **{param: v}) for v in values]


def students_over_seeds(cfg: StudentsConfig, seeds: Sequence[int] = (0, 1, 2),
                        methods: Sequence[str] = METHODS, *, vary_teacher: bool = False,
                        teacher: TeacherResult | None = None, verbose: bool = False, use_cache: bool = True, progress: Callable | None = None) -> dict:
    """Binary test error of each method for each student seed: ``{"seeds", "methods",
    "errors": {method: [..]}, "mean": {..}, "std": {..} (sample std, ddof 1),
    "wins": {"subclass_vs_distillation": k, "distillation_vs_hard": k}}`` where ``wins``
    counts the seeds where the first has the lower error.

    The teacher is fixed (``teacher`` or ``cfg.teacher``) unless ``vary_teacher``, which
    also retrains the teacher with each seed.
    """
    cfgs = _seed_configs(cfg, seeds, vary_teacher)
    seeds = [c.seed for c in cfgs]
    prefetch = use_cache and (vary_teacher or teacher is None or cache.is_cached(teacher_spec(cfg.teacher)))
    fixed = None if vary_teacher else teacher
    errors = _test_errors(cfgs, methods, fixed, [f"seed {s} done" for s in seeds], prefetch, verbose=verbose,
                          use_cache=use_cache, progress=progress)
    out = {"seeds": seeds, "methods": list(methods), "errors": errors, "mean": {}, "std": {}}
    for m in methods:
        out["mean"][m], out["std"][m] = mean_std(errors[m], ddof=1)
    wins = {}
    for a, b, name in (("subclass_distillation", "distillation", "subclass_vs_distillation"),
                       ("distillation", "hard_labels", "distillation_vs_hard")):
        if a in errors and b in errors:
            wins[name] = int(sum(x < y for x, y in zip(errors[a], errors[b])))
    out["wins"] = wins
    return out


SWEEPABLE = ("temperature", "alpha", "student_hidden", "transfer_fraction", "penultimate_weight")


def sweep(cfg: StudentsConfig, param: str, values: Sequence, methods: Sequence[str] = METHODS,
          teacher: TeacherResult | None = None, *, verbose: bool = False, use_cache: bool = True, progress: Callable | None = None) -> dict:
    """Binary test error of ``methods`` over ``values`` of one config field (the static twin
    of a slider): ``{"param", "values", "errors": {method: [..]}}``."""
    values = list(values)  # (an iterator would be spent by the configs)
    cfgs = _sweep_configs(cfg, param, values)
    teacher = teacher if teacher is not None else get_teacher(cfg, verbose=verbose, use_cache=use_cache)
    prefetch = use_cache and cache.is_cached(teacher_spec(cfg.teacher))  # the students read it
    errors = _test_errors(cfgs, methods, teacher,
                          [f"{param} = {v}" for v in values], prefetch, verbose=verbose, use_cache=use_cache, progress=progress)
    return {"param": param, "values": [list(v) if isinstance(v, tuple) else v for v in values], "errors": errors}
