"""Figures of the chapter on subclass distillation students."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .common import COLUMN_INCHES, panel_grid

__all__ = ["student_errors", "training_speed", "students_sweep", "students_figure", "teacher_neighbours"]

_NAMES = {"teacher": "teacher", "hard_labels": "hard labels", "distillation": "distillation",
          "subclass_distillation": "subclass\ndistillation", "penultimate": "penultimate",
          "no_label": "no binary\nlabel", "oracle": "oracle\n(10-way)"}
_COLORS = {"hard_labels": "tab:blue", "distillation": "tab:green", "subclass_distillation": "tab:red",
           "penultimate": "tab:purple", "no_label": "tab:gray", "teacher": "black", "oracle": "lightsteelblue"}


def student_errors(errors: Mapping[str, float], std: Mapping[str, float] | None = None,
                   reference: Mapping[str, float] | None = None,
                   reference_std: Mapping[str, float] | None = None,
                   labels: tuple[str, str] = ("this book", "paper (MNIST-2x5)"),
                   title: str | None = None, ax=None):
    """Binary test error (in %) per method, ours (± std over seeds if given) beside a source's.

    ``errors``/``std``/``reference`` map method names (``hard_labels``, ...) to fractions.
    """
    names = list(errors)
    x = np.arange(len(names))
    w = 0.38 if reference else 0.6
    own = ax is None
    fig, ax = plt.subplots(figsize=(max(4.5, 1.15 * len(names) + 1.2), 3.3)) if own else (ax.figure, ax)
    ours = [100 * errors[n] for n in names]
    err = [100 * (std or {}).get(n, 0.0) for n in names] if std else None
    bars = ax.bar(x - (w / 2 if reference else 0), ours, w, yerr=err, capsize=3, label=labels[0],
                  color=[_COLORS.get(n, "tab:blue") for n in names])
    tops = [v + e for v, e in zip(ours, err or [0.0] * len(ours))]
    for b, v, top in zip(bars, ours, tops):  # each value just above its error bar's cap
        ax.annotate(f"{v:.2f}", (b.get_x() + b.get_width() / 2, top), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9)
    if reference:
        ref = [100 * reference.get(n, np.nan) for n in names]
        rerr = [100 * (reference_std or {}).get(n, 0.0) for n in names] if reference_std else None
        ax.bar(x + w / 2, ref, w, yerr=rerr, capsize=3, label=labels[1], color="lightgray", edgecolor="gray")
        for xi, v, e in zip(x, ref, rerr or [0.0] * len(ref)):
            if np.isfinite(v):
                ax.annotate(f"{v:.2f}", (xi + w / 2, v + e), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=9, color="dimgray")
                tops.append(v + e)
        ax.legend(fontsize=9)
    ax.set_ylim(0, 1.18 * max(t for t in tops if np.isfinite(t)))  # room for the labels inside the axes
    ax.set_xticks(x, [_NAMES.get(n, n) for n in names], fontsize=9)
    ax.set_ylabel("binary test error (%)")
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    if own:
        fig.tight_layout()
    return fig


def training_speed(curves: Mapping[str, Sequence], steps_per_epoch: int | None = None,
                   teacher_accuracy: float | None = None, title: str | None = None,
                   ylim: tuple[float, float] | None = None, ax=None, oracle_accuracy: float | None = None):
    """Validation accuracy against training step for each student (the paper's Fig. 4).

    ``curves`` maps a method to its ``[(step, accuracy), ...]`` points (``StudentRun.curve``);
    ``oracle_accuracy``: the final binary validation accuracy of the student trained on the true
    digits, drawn as the paper's dashed reference line.
    """
    own = ax is None
    fig, ax = plt.subplots(figsize=(6.2, 3.6)) if own else (ax.figure, ax)
    for name, pts in curves.items():
        pts = np.asarray(pts, dtype=float)
        if pts.size == 0:
            continue
        ax.plot(pts[:, 0], 100 * pts[:, 1], lw=1.4, label=_NAMES.get(name, name).replace("\n", " "),
                color=_COLORS.get(name))
    if teacher_accuracy is not None:
        ax.axhline(100 * teacher_accuracy, color="black", ls="--", lw=1, label="teacher")
    if oracle_accuracy is not None:
        ax.axhline(100 * oracle_accuracy, color="tab:blue", ls="--", lw=1.2, label="oracle (10-way labels), final")
    if steps_per_epoch:
        top = ax.secondary_xaxis("top", functions=(lambda s: s / steps_per_epoch, lambda e: e * steps_per_epoch))
        top.set_xlabel("epoch", fontsize=9)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation accuracy (%)")
    if ylim:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    if own:
        fig.tight_layout()
    return fig


def students_sweep(sweeps: Sequence[Mapping], highlight: Mapping[str, object] | None = None,
                   title: str | None = None):
    """One panel per swept parameter (``experiments.subclass_students.sweep`` results):
    binary test error (%) of each method against the slider's values."""
    sweeps = list(sweeps)
    fig, axes = panel_grid(len(sweeps), COLUMN_INCHES / 2, 3.4)
    for ax, sw in zip(axes.flat, sweeps):
        vals = sw["values"]
        labels = [",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v) for v in vals]
        numeric = all(isinstance(v, (int, float)) for v in vals)
        xs = list(vals) if numeric else list(range(len(vals)))
        for m, errs in sw["errors"].items():
            ax.plot(xs, [100 * e for e in errs], marker="o", ms=4, color=_COLORS.get(m),
                    label=_NAMES.get(m, m).replace("\n", " "))
        if numeric and sw["param"] in ("temperature", "transfer_fraction", "penultimate_weight"):
            ax.set_xscale("log")
            ax.set_xticks(xs, labels)
            ax.minorticks_off()
        elif not numeric:
            ax.set_xticks(xs, labels, fontsize=9)
        if highlight and sw["param"] in highlight:
            h = highlight[sw["param"]]
            hx = h if numeric else (labels.index(",".join(map(str, h))) if isinstance(h, (list, tuple)) else None)
            if hx is not None:
                ax.axvline(hx, color="gray", ls=":", lw=1)
        ax.set_xlabel({"temperature": "temperature T", "alpha": "task balance alpha", "student_hidden": "student hidden layers",
                       "transfer_fraction": "transfer-set fraction"}.get(sw["param"], sw["param"]))
        ax.grid(alpha=0.3)
    # one legend for all panels under them (a method keeps its colour; the T and alpha panels show two)
    handles = {}
    for ax in sorted(axes.flat, key=lambda a: -len(a.get_lines())):  # the fullest panel's order first
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=9,
               frameon=False)
    for row in axes:
        row[0].set_ylabel("binary test error (%)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def students_figure(res):
    """The figure of :func:`students_panel` for one setting (a :func:`~subclass_lib.experiments.subclass_students.run_students`
    result): the students' binary test errors beside the paper's, titled with the setting."""
    errors = {s["method"]: s["test_error"] for s in res["students"]}
    c = res["config"]
    title = (f"students {','.join(map(str, c['student_hidden']))}, T={c['temperature']:g}, alpha={c['alpha']:g}, "
             f"{100 * c['transfer_fraction']:g}% of the transfer set, {c['student_epochs']} epochs")
    if "epochs_done" in res:  # a preview: one student halfway through its training
        title += f"\n(subclass distillation after {res['epochs_done']} of {c['student_epochs']} epochs; the rest still training)"
    return student_errors(errors, reference={m: res["paper_error"][m] for m in errors if m in res.get("paper_error", {})}, title=title)


def teacher_neighbours(images, digits, neighbours: Mapping[str, Sequence], queries: Sequence[int],
                       n_show: int = 6, title: str | None = None):
    """The subclass paper's Fig. 2 on MNIST: for each query image (one row each, ``queries``: row
    indices into ``images``), its ``n_show`` nearest neighbours in each space of ``neighbours``
    (``{space: [N, k] indices}``, nearest first), one block of columns per space. A neighbour whose
    digit (``digits``) differs from the query's is framed in red."""
    images = np.asarray(images)
    digits = np.asarray(digits)
    names = list(neighbours)
    if not names or not len(queries):
        raise ValueError("need at least one space and one query")
    n_cols = 1 + len(names) * (n_show + 1)
    fig, axes = plt.subplots(len(queries), n_cols, figsize=(0.44 * n_cols + 0.3, 0.56 * len(queries) + 0.6),
                             squeeze=False, gridspec_kw={"wspace": 0.06, "hspace": 0.08})
    for r, q in enumerate(queries):
        row = [(images[q], None)]
        for name in names:
            idx = np.asarray(neighbours[name][q])[:n_show]
            row += [(None, None)] + [(images[i], bool(digits[i] == digits[q])) for i in idx]
        for ax, (img, same) in zip(axes[r], row):
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(same is False)
                spine.set_color("red"), spine.set_linewidth(2)
            if img is not None:
                ax.imshow(img.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            else:
                ax.axis("off")
    axes[0, 0].set_title("query", fontsize=9)
    for j, name in enumerate(names):
        start = 1 + j * (n_show + 1) + 1
        axes[0, start + n_show // 2].set_title(name, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
