"""Chapter 1's sweeps: the distilled student over temperatures or task balances, student sizes
and seeds, against the hard-label student of the same size and seed (one teacher for all).

The nets and their training are those of :mod:`subclass_lib.experiments.hinton`; the students
of a grid are listed once and trained by :func:`subclass_lib.runner.train_many`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..checks import check_fraction, check_hidden, check_seed, check_temperature
from ..metrics import accuracy, mean_std
from ..models import hidden_label, predict
from .. import runner
from .hinton import HintonConfig, load_splits, student_spec

__all__ = ["temperature_sweep", "alpha_sweep", "temperature_sweep_specs", "alpha_sweep_specs"]


def _check_seeds(seeds, cfg: HintonConfig) -> list[int]:
    seeds = [cfg.seed] if seeds is None else [check_seed(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds!r}")
    return seeds


def _checked_sizes_and_seeds(cfg: HintonConfig, hiddens, seeds) -> tuple[list, list[int]]:
    return [check_hidden(h, "hidden", allow_int=False) for h in hiddens], _check_seeds(seeds, cfg)


def _grid_specs(cfg: HintonConfig, settings: Sequence[dict], hiddens: list, seeds: list[int]) -> dict:
    """Every student of a grid (checked ``hiddens`` and ``seeds``), listed once (trained side by side where
    the cache lacks them): ``{(size label, seed, setting index or None for the hard-label student): spec}``."""
    grid = {(hidden_label(h), s, None): student_spec(cfg, "hard", hidden=h, seed=s) for h in hiddens for s in seeds}
    grid.update({(hidden_label(h), s, i): student_spec(cfg, "distilled", hidden=h, seed=s, **kw)
                 for h in hiddens for s in seeds for i, kw in enumerate(settings)})
    return grid


def temperature_sweep_specs(cfg: HintonConfig, temperatures: Sequence[float] = (1, 2, 4, 8, 20),
                            hiddens: Sequence[tuple[int, ...]] = ((800, 800), (30, 30)),
                            seeds: Sequence[int] | None = None) -> list:
    """The specs of the students :func:`temperature_sweep` trains with these arguments (for one
    ``runner.train_many`` over a whole chapter)."""
    settings = [{"T": check_temperature(T)} for T in temperatures]
    return list(_grid_specs(cfg, settings, *_checked_sizes_and_seeds(cfg, hiddens, seeds)).values())


def alpha_sweep_specs(cfg: HintonConfig, alphas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
                      hiddens: Sequence[tuple[int, ...]] = ((800, 800), (30, 30)),
                      seeds: Sequence[int] | None = None) -> list:
    """The specs of the students :func:`alpha_sweep` trains with these arguments."""
    settings = [{"alpha": check_fraction(a, "alpha")} for a in alphas]
    return list(_grid_specs(cfg, settings, *_checked_sizes_and_seeds(cfg, hiddens, seeds)).values())


def _student_grid(cfg: HintonConfig, settings: Sequence[dict], hiddens: Sequence[tuple[int, ...]], seeds,
                  use_cache: bool, verbose: bool) -> dict:
    """Test accuracy of the hard-label student and of a distilled student for each of
    ``settings`` (keyword arguments of :func:`train_student`), each student size and seed:
    per-seed runs, and their mean and sample std over the seeds (keyed by ``hidden_label``, "2x800")."""
    hiddens, seeds = _checked_sizes_and_seeds(cfg, hiddens, seeds)
    _, _, (xs, ys) = load_splits()
    grid = _grid_specs(cfg, settings, hiddens, seeds)
    trained = runner.train_many(list(grid.values()), device=cfg.device, use_cache=use_cache)
    accs = {k: accuracy(predict(t.model, xs), ys) for k, t in zip(grid, trained)}
    out = {"hidden": [hidden_label(h) for h in hiddens], "hidden_sizes": [list(h) for h in hiddens], "seeds": seeds, "distilled": {}, "distilled_std": {}, "distilled_runs": {},
           "hard": {}, "hard_std": {}, "hard_runs": {}}
    for h in hiddens:
        key = hidden_label(h)
        hard = [accs[key, s, None] for s in seeds]
        runs = [[accs[key, s, i] for i in range(len(settings))] for s in seeds]
        out["hard_runs"][key] = hard
        out["hard"][key], out["hard_std"][key] = mean_std(hard, ddof=1)
        out["distilled_runs"][key] = runs
        stats = [mean_std([r[i] for r in runs], ddof=1) for i in range(len(settings))]
        out["distilled"][key] = [m for m, _ in stats]
        out["distilled_std"][key] = [sd for _, sd in stats]
    return out


def temperature_sweep(cfg: HintonConfig, temperatures: Sequence[float] = (1, 2, 4, 8, 20),
                      hiddens: Sequence[tuple[int, ...]] = ((800, 800), (30, 30)), use_cache: bool = True,
                      verbose: bool = True, seeds: Sequence[int] | None = None) -> dict:
    """Distilled-student test accuracy for each temperature and student size, over ``seeds``
    (the students' seeds, default ``[cfg.seed]``; the teacher is always the one of ``cfg``).

    Returns ``{"T": [...], "hidden": [labels such as "2x800"], "hidden_sizes": [[800, 800], ...],
    "alpha": ..., "seeds": [...],
    "distilled": {hidden: [mean accuracy per T]}, "distilled_std": {hidden: [sample std per T]},
    "distilled_runs": {hidden: [[accuracy per T] per seed]}, "hard": {hidden: mean},
    "hard_std": {hidden: std}, "hard_runs": {hidden: [accuracy per seed]}}`` (keys of the
    inner dicts are strings, JSON-ready). A hard-label and a distilled student of one seed
    start from the same weights.
    """
    temps = [check_temperature(T) for T in temperatures]
    grid = _student_grid(cfg, [{"T": T} for T in temps], hiddens, seeds, use_cache, verbose)
    return {"T": temps, "alpha": cfg.alpha, **grid}


def alpha_sweep(cfg: HintonConfig, alphas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
                hiddens: Sequence[tuple[int, ...]] = ((800, 800), (30, 30)), use_cache: bool = True, verbose: bool = True,
                seeds: Sequence[int] | None = None) -> dict:
    """Like :func:`temperature_sweep`, over the task balance ``alpha`` at ``cfg.temperature``:
    ``{"alpha": [...], "T": ..., "distilled": {hidden: [mean accuracy per alpha]}, ...}``.
    ``alpha = 0`` is the hard-label loss (the same student as ``"hard"`` up to the
    floating-point order of the loss)."""
    alphas = [check_fraction(a, "alpha") for a in alphas]
    grid = _student_grid(cfg, [{"alpha": a} for a in alphas], hiddens, seeds, use_cache, verbose)
    return {"alpha": alphas, "T": cfg.temperature, **grid}
