"""Slider panels of the chapter on subclass distillation students."""

from __future__ import annotations

import ipywidgets as W

from dataclasses import asdict

from .. import runner
from ..experiments.subclass_students import (METHODS, PAPER_ERROR, StudentsConfig, binary_predictions, get_teacher,
                                             run_students, student_spec, transfer_set)
from ..models import predict
from ..plots.subclass_students import students_figure
from .common import retrain_panel

__all__ = ["retrain_students", "students_panel", "students_figure", "students_static_panels", "students_static_specs", "PANEL_T", "PANEL_ALPHA", "PANEL_HIDDEN",
           "PANEL_FRACTION"]

# each slider's settings (its static twin trains every combination of T and the transfer set's fraction)
PANEL_T = (1.0, 4.0, 16.0)
PANEL_ALPHA = (0.0, 0.5, 1.0)
PANEL_HIDDEN = ("32,32", "128,128")
PANEL_FRACTION = (0.05, 0.1, 0.2)


def retrain_students(c: StudentsConfig, teacher, progress=None, preview=None) -> dict:
    """A retrain of :func:`students_panel` at setting ``c`` (``teacher``: chapter 4's, a
    ``TeacherResult``): the subclass-distillation student trains in this process and ``preview`` (if
    given) gets a result holding it alone, halfway through its epochs, while the other three train
    beside it; returns :func:`~subclass_lib.experiments.subclass_students.run_students`'s result (the
    numbers are those of a run without the preview)."""
    specs = {m: student_spec(c, m) for m in METHODS}
    first = specs["subclass_distillation"]  # the student the chapter is about, shown first

    def halfway(spec, model, epoch, epochs, hist):
        if preview is not None and spec == first and epoch == epochs // 2:
            data = transfer_set(c, teacher)
            pred = binary_predictions(predict(model, data["x_test"]), data["n_classes"], data["n_sub"])
            err = float((pred != data["y_test"]).double().mean())
            cfg_d = {**asdict(c), "teacher": asdict(c.teacher)}
            preview({"students": [{"method": "subclass_distillation", "test_error": err}], "paper_error": PAPER_ERROR,
                     "config": cfg_d, "epochs_done": epoch})

    runner.train_many([first, *(s for s in specs.values() if s != first)], device=c.device, progress=progress,
                      on_epoch=halfway)
    return run_students(c, METHODS, teacher, no_label=False, verbose=False)


def students_panel(cfg: StudentsConfig | None = None, teacher=None, run_now: bool = True) -> W.VBox:
    """Sliders for T, alpha, the student's size and the transfer-set fraction; Retrain trains
    the four students at the interactive scale (``cfg.interactive()``, seconds) from the
    chapter's cached teacher and shows their binary test errors beside the paper's."""
    base = (cfg or StudentsConfig()).interactive()
    teacher = teacher if teacher is not None else get_teacher(base, verbose=False)
    hidden0 = ",".join(map(str, base.student_hidden))
    controls = {
        "T": W.SelectionSlider(options=list(PANEL_T), value=base.temperature, description="T"),
        "alpha": W.SelectionSlider(options=list(PANEL_ALPHA), value=base.alpha, description="alpha"),
        "hidden": W.Dropdown(options=list(PANEL_HIDDEN) if hidden0 in PANEL_HIDDEN else [hidden0, *PANEL_HIDDEN],
                             value=hidden0, description="student"),
        "fraction": W.SelectionSlider(options=list(PANEL_FRACTION), value=base.transfer_fraction,
                                      description="transfer set"),
    }

    def run(progress, T, alpha, hidden, fraction, preview=None):
        c = base.interactive(temperature=T, alpha=alpha, student_hidden=hidden, transfer_fraction=fraction)
        return retrain_students(c, teacher, progress, preview)

    return retrain_panel(controls, run, students_figure, title="Try it: train the four students", run_now=run_now)


def students_static_specs(cfg: StudentsConfig | None = None, temperatures=PANEL_T, fractions=PANEL_FRACTION,
                          alphas=PANEL_ALPHA, hiddens=PANEL_HIDDEN) -> list:
    """The specs of the students :func:`students_static_panels` shows (for one ``runner.train_many`` over a
    whole chapter)."""
    base = (cfg or StudentsConfig()).interactive()
    settings = ([dict(temperature=T, transfer_fraction=f) for T in temperatures for f in fractions]
                + [dict(alpha=a) for a in alphas]
                + [dict(student_hidden=tuple(int(u) for u in h.split(","))) for h in hiddens])
    return [student_spec(base.interactive(**v), m) for v in settings for m in METHODS]


def students_static_panels(cfg: StudentsConfig | None = None, teacher=None, temperatures=PANEL_T,
                           fractions=PANEL_FRACTION, alphas=PANEL_ALPHA, hiddens=PANEL_HIDDEN) -> W.VBox:
    """Static twins of :func:`students_panel` for the rendered book: the panel's own figure (the
    four students at the interactive scale) for every T and transfer-set fraction, for every
    alpha and for every student size (the other sliders at ``cfg.interactive()``'s values).
    Students the chapter trained come from the model cache; the others train here."""
    from .static import static_panel

    base = (cfg or StudentsConfig()).interactive()
    teacher = teacher if teacher is not None else get_teacher(base, verbose=False)

    def figure(**values):
        c = base.interactive(**values)
        return students_figure(run_students(c, METHODS, teacher, no_label=False, verbose=False))

    hidden0 = ",".join(map(str, base.student_hidden))
    runner.train_many(students_static_specs(cfg, temperatures, fractions, alphas, hiddens))  # all at once
    return W.VBox([
        static_panel(lambda T, f: figure(temperature=T, transfer_fraction=f),
                     [("T", list(temperatures)), ("transfer set", list(fractions))],
                     title=f"The students panel over T and the transfer-set fraction (alpha = {base.alpha:g}, "
                           f"students {hidden0})",
                     default={"T": base.temperature, "transfer set": base.transfer_fraction}),
        static_panel(lambda a: figure(alpha=a), [("alpha", list(alphas))],
                     title=f"... over alpha (T = {base.temperature:g})", default={"alpha": base.alpha}),
        static_panel(lambda h: figure(student_hidden=tuple(int(u) for u in h.split(","))), [("student", list(hiddens))],
                     title="... over the student's size", default={"student": hidden0} if hidden0 in hiddens else None),
    ])
