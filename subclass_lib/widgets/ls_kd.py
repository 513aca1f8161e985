"""Slider panel of chapter 3: label smoothing ``eps``, temperature ``T`` and the three
digits of the penultimate-layer projection.

Retrain trains the teacher for that ``eps`` (cached per eps) and its student at ``T``
(cached per (eps, T)), at the smaller interactive setting
:meth:`subclass_lib.experiments.ls_kd.LSKDConfig.interactive`; changing only the digits
re-projects the cached models.
"""

from __future__ import annotations

import ipywidgets as W

from .. import runner
from ..experiments import ls_kd as L
from ..plots.ls_kd import ls_kd_figure
from .common import retrain_panel

__all__ = ["ls_kd_panel", "ls_kd_figure", "ls_kd_static_panel", "ls_kd_static_specs", "PANEL_TEMPERATURES", "PANEL_EPS",
           "STATIC_EPS", "STATIC_TEMPERATURES"]

PANEL_TEMPERATURES = (1.0, 2.0, 3.0, 4.0, 8.0, 16.0, 64.0)
PANEL_EPS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
#: The grid of the static twin (a subset of the sliders' values).
STATIC_EPS = (0.0, 0.1, 0.3, 0.5)
STATIC_TEMPERATURES = (1.0, 4.0, 16.0, 64.0)


def _digit(value: int, name: str) -> W.Dropdown:
    return W.Dropdown(options=list(range(10)), value=int(value), description=name,
                      layout=W.Layout(width="160px"))


def ls_kd_panel(cfg: L.LSKDConfig = L.LSKDConfig(), eps: float = 0.1, T: float = 4.0,
                run_now: bool = True) -> W.VBox:
    """Sliders eps and T, three digit choices; shows the teacher's and the student's
    penultimate projections side by side with their test accuracies.

    Runs at ``cfg.interactive()`` (see there). Three equal digits are an invalid setting
    and show as a message.
    """
    icfg = cfg.interactive()
    if float(T) not in PANEL_TEMPERATURES:
        raise ValueError(f"T must be one of the slider's values {PANEL_TEMPERATURES}")
    if float(eps) not in PANEL_EPS:
        raise ValueError(f"eps must be one of the slider's values {PANEL_EPS}")
    a, b, c = cfg.classes
    controls = {
        "eps": W.SelectionSlider(options=[(f"{e:g}", e) for e in PANEL_EPS], value=float(eps),
                                 description="LS eps", continuous_update=False),
        "T": W.SelectionSlider(options=[(f"{t:g}", t) for t in PANEL_TEMPERATURES], value=float(T),
                               description="T", continuous_update=False),
        "a": _digit(a, "digit 1"),
        "b": _digit(b, "digit 2"),
        "c": _digit(c, "digit 3"),
    }

    def run(progress, preview, eps, T, a, b, c):  # a new eps shows its teacher first, while the student trains
        return L.run_interactive(eps=eps, T=T, classes=(a, b, c), cfg=icfg, progress=progress, preview=preview)

    return retrain_panel(controls, run, ls_kd_figure, title="Try it: label smoothing and temperature",
                         run_now=run_now)


def ls_kd_static_specs(cfg: L.LSKDConfig = L.LSKDConfig(), eps_values=STATIC_EPS,
                       temperatures=STATIC_TEMPERATURES) -> list:
    """The students :func:`ls_kd_static_panel` shows (their teachers are their needs), for one
    ``runner.train_many`` over a whole chapter."""
    icfg = cfg.interactive()
    return [L.student_spec(icfg, e, t) for e in eps_values for t in temperatures]


def ls_kd_static_panel(cfg: L.LSKDConfig = L.LSKDConfig(), eps_values=STATIC_EPS, temperatures=STATIC_TEMPERATURES,
                       eps: float = 0.1, T: float = 4.0) -> W.VBox:
    """Static twin of :func:`ls_kd_panel` for the rendered book: the panel's own figure (digits
    ``cfg.classes``, the interactive scale) for every eps and T of the grid, starting at ``eps``, ``T``.
    Models the chapter trained come from the cache; the others train here (seconds each)."""
    from .static import static_panel

    icfg = cfg.interactive()
    # the runner trains the missing teachers and students of the grid first, all together
    runner.train_many(ls_kd_static_specs(cfg, eps_values, temperatures), device=icfg.device)
    return static_panel(lambda e, t: ls_kd_figure(L.run_interactive(eps=e, T=t, classes=cfg.classes, cfg=icfg)),
                        [("LS eps", list(eps_values)), ("T", list(temperatures))],
                        title="The label-smoothing panel over eps and T (panel scale, digits "
                              + ", ".join(map(str, cfg.classes)) + ")",
                        default={"LS eps": float(eps), "T": float(T)})
