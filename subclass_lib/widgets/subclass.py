"""Slider panel of chapter 4: retrain the subclass teacher and look at its contingency table."""

from __future__ import annotations

from dataclasses import replace

import ipywidgets as W
import matplotlib.pyplot as plt

from ..experiments.subclass import SubclassConfig, train_teacher
from ..plots.subclass import subclass_contingency
from .common import retrain_panel

__all__ = ["TEACHER_INTERACTIVE", "TEACHER_SPLITS", "teacher_panel", "run_interactive_teacher", "show_teacher",
           "teacher_static_panels", "STATIC_BETAS", "STATIC_AUX", "STATIC_SHARPEN", "STATIC_CONSISTENCY"]

#: The panel's smaller scale (:meth:`SubclassConfig.interactive`: a quarter of the training set, 3 epochs).
TEACHER_INTERACTIVE = SubclassConfig().interactive()

#: Splits offered by the panel: (label, split string).
TEACHER_SPLITS = [
    ("0-4 vs 5-9 (MNIST-2x5)", "01234"),
    ("{0,1,3,8,9} vs {2,4,5,6,7} (the demo's question)", "01389"),
    ("even vs odd", "02468"),
    ("{0,6,8,9,2} vs {1,4,7,3,5}", "06892"),
]


def run_interactive_teacher(progress=None, base: SubclassConfig = TEACHER_INTERACTIVE, **values):
    """Train (or load) the panel's teacher with the slider ``values`` on top of ``base``."""
    cfg = replace(base, **values)
    return train_teacher(cfg, progress, verbose=False)


def show_teacher(result):
    """Contingency table of a teacher with its recovery and super-class accuracy."""
    cfg = result.config
    fig, ax = plt.subplots(figsize=(5.6, 0.36 * cfg.n_classes * cfg.n_sub + 1.7))
    subclass_contingency(
        result.contingency, cfg.digit_order, cfg.n_sub, groups=cfg.groups, ax=ax,
        title=(f"aux={cfg.aux}, beta={cfg.aux_weight:g}, consistency={cfg.consistency:g}, n_sub={cfg.n_sub}, "
               f"split {cfg.split}\n"
               f"super-class acc {result.super_accuracy:.2%}, recovery {result.recovery_any:.2%} "
               f"(1-to-1 {result.recovery_one_to_one:.2%})"))
    ax.title.set_fontsize(9)
    fig.tight_layout()
    return fig


def teacher_panel(base: SubclassConfig = TEACHER_INTERACTIVE, run_now: bool = True) -> W.VBox:
    """Sliders for beta, sharpness, the view-consistency weight, the auxiliary loss and its
    temperature, n_sub and the split."""
    style = {"description_width": "150px"}
    layout = W.Layout(width="480px")
    controls = {
        "aux": W.Dropdown(options=["diversity", "contrastive", "none"], value=base.aux,
                          description="auxiliary loss", style=style, layout=layout),
        "aux_weight": W.FloatSlider(value=base.aux_weight, min=0.0, max=3.0, step=0.25,
                                    description="beta (aux weight)", style=style, layout=layout),
        "sharpen": W.FloatSlider(value=base.sharpen, min=0.0, max=2.0, step=0.1,
                                 description="sharpen (diversity)", style=style, layout=layout),
        "consistency": W.FloatSlider(value=base.consistency, min=0.0, max=3.0, step=0.25,
                                     description="view consistency", style=style, layout=layout),
        "aux_temperature": W.FloatLogSlider(value=base.aux_temperature, base=10, min=-1, max=0.5, step=0.1,
                                            description="aux τ (contrastive)", style=style, layout=layout),
        "n_sub": W.IntSlider(value=base.n_sub, min=2, max=8, description="n_sub", style=style, layout=layout),
        "split": W.Dropdown(options=TEACHER_SPLITS, value=base.split, description="split", style=style, layout=layout),
    }

    def run(progress=None, **values):
        values["aux_temperature"] = round(float(values["aux_temperature"]), 3)
        return run_interactive_teacher(progress, base=base, **values)

    return retrain_panel(controls, run, show_teacher, title="Try it: a teacher that invents subclasses",
                         run_now=run_now)


#: The grid of the static twins: the sweep chapter 4 trains for its panel (at the panel's scale).
STATIC_BETAS = (0.0, 0.5, 1.0, 2.0, 3.0)
STATIC_AUX = (("diversity", None), ("contrastive τ=0.3", 0.3), ("contrastive τ=1", 1.0), ("contrastive τ=3", 3.0))
STATIC_SHARPEN = (0.0, 0.25, 0.5, 1.0, 2.0)
STATIC_CONSISTENCY = (0.0, 0.5, 1.0, 2.0, 3.0)


def teacher_static_panels(base: SubclassConfig = TEACHER_INTERACTIVE, betas=STATIC_BETAS, aux=STATIC_AUX,
                          sharpen=STATIC_SHARPEN, consistency=STATIC_CONSISTENCY) -> W.VBox:
    """Static twins of :func:`teacher_panel` for the rendered book: the panel's own figure for
    every auxiliary loss (``aux``: ``(label, contrastive temperature or None for diversity)``) and
    beta, for every sharpness, and for every view-consistency weight (the other sliders at
    ``base``). Teachers the chapter trained come from the model cache."""
    from .static import static_panel

    kinds = dict(aux)

    def by_aux(label, beta):
        t = kinds[label]
        values = (dict(aux="diversity", aux_weight=beta) if t is None
                  else dict(aux="contrastive", aux_weight=beta, aux_temperature=t))
        return show_teacher(run_interactive_teacher(base=base, **values))

    def nearest(values, v):  # the grid value closest to the panel's default
        return min(values, key=lambda x: abs(x - v))

    return W.VBox([
        static_panel(by_aux, [("aux loss", list(kinds)), ("beta", list(betas))],
                     title="The teacher panel over the auxiliary loss and its weight beta", default={"beta": nearest(betas, base.aux_weight)}),
        static_panel(lambda s: show_teacher(run_interactive_teacher(base=base, sharpen=s)), [("sharpen", list(sharpen))],
                     title=f"... over the sharpness of the diversity loss (beta = {base.aux_weight:g})",
                     default={"sharpen": nearest(sharpen, base.sharpen)}),
        static_panel(lambda g: show_teacher(run_interactive_teacher(base=base, consistency=g)),
                     [("consistency", list(consistency))],
                     title="... over the view-consistency weight",
                     default={"consistency": nearest(consistency, base.consistency)}),
    ])
