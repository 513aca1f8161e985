"""Slider panels of chapters 1-2: the recipes of :mod:`subclass_lib.experiments.hinton` and
:mod:`subclass_lib.experiments.mythical3` plus their figures, wired into
:func:`subclass_lib.widgets.common.retrain_panel`.

The teacher is trained once (and cached); a slider change retrains only the student(s)
that setting needs, and a setting seen before is instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace

import ipywidgets as W

from .. import runner
from ..models import hidden_label, predict
from ..experiments import hinton as H
from ..experiments import mythical3 as M
from ..plots.hinton import distillation_figure, mythical3_figure
from .common import retrain_panel

__all__ = ["preview_epoch", "retrain_distillation", "retrain_mythical3", "distillation_panel", "distillation_figure", "distillation_static_panels", "mythical3_panel",
           "mythical3_figure", "mythical3_static_panels", "mythical3_static_specs", "TEMPERATURES", "STUDENT_SIZES",
           "MYTHICAL3_DIGITS", "MYTHICAL3_TEMPERATURES", "MYTHICAL3_ALPHAS"]

TEMPERATURES = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0)
#: The student sizes of the panel's slider: two hidden layers of each width.
STUDENT_SIZES = ((30, 30), (100, 100), (300, 300), (800, 800))


def _slider_T(value: float) -> W.SelectionSlider:
    return W.SelectionSlider(options=[(f"{t:g}", t) for t in TEMPERATURES], value=float(value),
                             description="T", continuous_update=False)


def _slider_alpha(value: float) -> W.FloatSlider:
    return W.FloatSlider(value=float(value), min=0.0, max=1.0, step=0.1, description="alpha",
                         continuous_update=False, readout_format=".1f")


def preview_epoch(epochs: int) -> int:
    """The epoch after which a retrain of chapters 1 and 2 shows its distilled student first: a third of
    its epochs (2 of 6 at the default scale), so that the first result comes within the speed budget
    (5 s on the reference core) while the rest trains."""
    return max(1, epochs // 3)


def retrain_distillation(c: H.HintonConfig, progress=None, preview=None) -> dict:
    """A retrain of :func:`distillation_panel` at setting ``c``: the distilled student trains in this
    process and ``preview`` (if given) gets the result with it after :func:`preview_epoch` of its epochs, while the
    hard-label student trains beside it; returns :func:`~subclass_lib.experiments.hinton.run_hinton`'s
    result. The numbers are those of a run without the preview."""
    teacher = H.train_teacher(c, verbose=False).model
    hard, dist = H.student_spec(c, "hard"), H.student_spec(c, "distilled")
    _, _, (xs, ys) = H.load_splits()

    def early(spec, model, epoch, epochs, hist):
        if preview is not None and spec == dist and epoch == preview_epoch(epochs):
            small = runner.train(hard).model if runner.is_cached(hard) else None
            preview({"teacher": H.evaluate(H.test_logits(H.teacher_spec(c), teacher), ys),
                     "small": None if small is None else H.evaluate(H.test_logits(hard, small), ys),
                     "distilled": {**H.evaluate(predict(model, xs), ys), "epochs_done": epoch, "epochs": epochs},
                     "config": asdict(c)})

    runner.train_many([dist, hard], device=c.device, progress=progress, on_epoch=early)
    return H.run_hinton(c, verbose=False)


def retrain_mythical3(c: M.Mythical3Config, progress=None, preview=None) -> dict:
    """A retrain of :func:`mythical3_panel` at setting ``c``, like :func:`retrain_distillation`:
    ``preview`` gets the result with the distilled student after :func:`preview_epoch` of its epochs (the
    hard-label entries None)."""
    teacher = H.train_teacher(c, verbose=False).model
    dist, hard = M.mythical3_specs(c)

    def early(spec, model, epoch, epochs, hist):
        if preview is not None and spec == dist and epoch == preview_epoch(epochs):
            r = M.mythical3_result(c, teacher, model)
            r["distilled"].update(epochs_done=epoch, epochs=epochs)
            preview(r)

    runner.train_many([dist, hard], device=c.device, progress=progress, on_epoch=early)
    return M.run_mythical3(c, verbose=False)


def distillation_panel(cfg: H.HintonConfig = H.HintonConfig(), sweep: Mapping | None = None,
                       run_now: bool = True) -> W.VBox:
    """Sliders T, alpha and student size; Retrain trains the small net on hard labels and
    the distilled one at that setting (the teacher comes from the cache).

    Shows the teacher / small / distilled accuracies and, if ``sweep`` (from
    :func:`~subclass_lib.experiments.hinton_sweeps.temperature_sweep`) is given, the setting as a
    star on the temperature sweep.
    """
    if cfg.temperature not in TEMPERATURES:
        raise ValueError(f"cfg.temperature must be one of the slider's values {TEMPERATURES}")
    controls = {
        "T": _slider_T(cfg.temperature),
        "alpha": _slider_alpha(cfg.alpha),
        "hidden": W.SelectionSlider(options=[(hidden_label(h), h) for h in
                                             sorted(set(STUDENT_SIZES) | {cfg.student_hidden}, key=sum)],
                                    value=cfg.student_hidden, description="student",
                                    continuous_update=False),
    }

    def run(progress, preview, T, alpha, hidden):
        c = replace(cfg, temperature=float(T), alpha=float(alpha), student_hidden=tuple(hidden))
        return retrain_distillation(c, progress, preview)

    return retrain_panel(controls, run, lambda r: distillation_figure(r, sweep), title="Try it: distil a small net",
                         run_now=run_now)


def distillation_static_panels(cfg: H.HintonConfig, sweep: Mapping, alpha_sweep: Mapping | None = None) -> W.VBox:
    """Static twins of :func:`distillation_panel` for the rendered book: the panel's own figure
    for every student size and temperature of ``sweep`` (at ``cfg.alpha``) and, with
    ``alpha_sweep``, for every student size and alpha (at ``cfg.temperature``). Every student
    is the seed-``cfg.seed`` one that the sweeps trained, read from the model cache."""
    from .static import static_panel

    by_label = {label: tuple(h) for label, h in zip(sweep["hidden"], sweep["hidden_sizes"])}

    def figure(h, T=None, alpha=None):  # h: a size label of the sweep, e.g. "2x800"
        c = replace(cfg, student_hidden=by_label[h], temperature=float(cfg.temperature if T is None else T),
                    alpha=float(cfg.alpha if alpha is None else alpha))
        # the setting on the sweep its slider moves along
        return distillation_figure(H.run_hinton(c, verbose=False), sweep if alpha is None else alpha_sweep)

    sizes = list(by_label)
    size0 = hidden_label(cfg.student_hidden) if hidden_label(cfg.student_hidden) in sizes else sizes[0]
    panels = [static_panel(lambda h, T: figure(h, T=T), [("student", sizes), ("T", list(sweep["T"]))],
                           title=f"The distillation panel over T (alpha = {cfg.alpha:g})",
                           default={"student": size0, "T": cfg.temperature})]
    if alpha_sweep is not None:
        panels.append(static_panel(lambda h, a: figure(h, alpha=a), [("student", sizes), ("alpha", list(alpha_sweep["alpha"]))],
                                   title=f"The distillation panel over alpha (T = {cfg.temperature:g})",
                                   default={"student": size0, "alpha": cfg.alpha}))
    return W.VBox(panels)


def mythical3_panel(cfg: M.Mythical3Config = M.Mythical3Config(), run_now: bool = True) -> W.VBox:
    """Choose the digits left out of the transfer set (any set but all ten), T and alpha;
    Retrain shows the per-digit test accuracy of the hard-label, distilled and bias-adjusted
    students."""
    if cfg.temperature not in TEMPERATURES:
        raise ValueError(f"cfg.temperature must be one of the slider's values {TEMPERATURES}")
    controls = {
        "omit": W.SelectMultiple(options=list(range(10)), value=tuple(cfg.omit), rows=10,
                                 description="omit", layout=W.Layout(width="140px")),
        "T": _slider_T(cfg.temperature),
        "alpha": _slider_alpha(cfg.alpha),
    }

    def run(progress, preview, omit, T, alpha):
        c = replace(cfg, omit=tuple(omit), temperature=float(T), alpha=float(alpha))
        return retrain_mythical3(c, progress, preview)

    return retrain_panel(controls, run, mythical3_figure, title="Try it: the mythical digit", run_now=run_now)


#: The grid of chapter 2's static panels: digits left out one at a time, temperatures, alphas.
MYTHICAL3_DIGITS = (1, 3, 5, 8)
MYTHICAL3_TEMPERATURES = (1.0, 4.0, 20.0)
MYTHICAL3_ALPHAS = (0.25, 0.5, 0.75, 0.9, 1.0)


def mythical3_static_specs(cfg: M.Mythical3Config, digits=MYTHICAL3_DIGITS, temperatures=MYTHICAL3_TEMPERATURES,
                           alphas=MYTHICAL3_ALPHAS) -> list:
    """The students :func:`mythical3_static_panels` shows (for one ``runner.train_many`` over a whole chapter)."""
    settings = ([replace(cfg, omit=(d,), temperature=float(T)) for d in digits for T in temperatures]
                + [replace(cfg, alpha=float(a)) for a in alphas])
    return [s for c in settings for s in M.mythical3_specs(c)]


def mythical3_static_panels(cfg: M.Mythical3Config, digits=MYTHICAL3_DIGITS, temperatures=MYTHICAL3_TEMPERATURES,
                            alphas=MYTHICAL3_ALPHAS) -> W.VBox:
    """Static twins of :func:`mythical3_panel` for the rendered book: the panel's own figure for
    every omitted digit (one at a time) and temperature (at ``cfg.alpha``), and for every alpha
    (``cfg.omit`` left out, at ``cfg.temperature``). Students come from the model cache where
    the chapter trained them; the others train here (seconds each)."""
    from .static import static_panel

    def figure(omit, T, alpha):
        return mythical3_figure(M.run_mythical3(replace(cfg, omit=tuple(omit), temperature=float(T),
                                                        alpha=float(alpha)), verbose=False))

    runner.train_many(mythical3_static_specs(cfg, digits, temperatures, alphas), device=cfg.device)  # the missing ones
    d0 = cfg.omit[0] if len(cfg.omit) == 1 and cfg.omit[0] in digits else digits[0]
    T0 = cfg.temperature if cfg.temperature in temperatures else temperatures[0]
    a0 = cfg.alpha if cfg.alpha in alphas else alphas[0]
    return W.VBox([
        static_panel(lambda d, T: figure((d,), T, cfg.alpha), [("omit", list(digits)), ("T", list(temperatures))],
                     title=f"The mythical-digit panel over the omitted digit and T (alpha = {cfg.alpha:g})",
                     default={"omit": d0, "T": T0}),
        static_panel(lambda a: figure(cfg.omit, cfg.temperature, a), [("alpha", list(alphas))],
                     title=f"... and over alpha (omitted {', '.join(map(str, cfg.omit))}, T = {cfg.temperature:g})",
                     default={"alpha": a0}),
    ])
