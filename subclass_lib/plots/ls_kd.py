"""Figures of chapter 3 (label smoothing, temperature, distillation).

Every function returns a matplotlib Figure. Projections come from
:func:`subclass_lib.experiments.ls_kd_geometry.penultimate_projection` (dicts with ``points``,
``labels``, ``templates``, ``classes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .common import COLUMN_INCHES, finish

__all__ = ["ls_kd_figure", "projection_scatter", "projection_grid", "entropy_vs_temperature", "accuracy_vs_temperature",
           "diffusion_bars", "wrong_class_profiles"]

_COLORS = ("tab:blue", "tab:orange", "tab:green")


def _log2_axis(ax) -> None:
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def projection_scatter(projection: Mapping, ax=None, title: str | None = None, size: float = 4.0):
    """Scatter of one penultimate projection: one colour per class, templates as black crosses."""
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(3.2, 3.0))
    pts = np.asarray(projection["points"])
    lab = np.asarray(projection["labels"])
    for c, color in zip(projection["classes"], _COLORS):
        m = lab == c
        ax.scatter(pts[m, 0], pts[m, 1], s=size, alpha=0.45, color=color, label=f"digit {c}", lw=0)
    tpl = np.asarray(projection["templates"])
    ax.scatter(tpl[:, 0], tpl[:, 1], marker="x", s=40, color="black", lw=1.5, label="templates")
    ax.set_aspect("equal", adjustable="datalim")  # distances in the plane are true distances
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    if own:
        ax.legend(fontsize=9, markerscale=2, loc="best")
        fig.tight_layout()
        return fig
    return ax.figure


def projection_grid(projections: Sequence[Sequence[Mapping | None]], titles: Sequence[Sequence[str]],
                    row_labels: Sequence[str] | None = None, suptitle: str | None = None, panel: float = 2.6):
    """A grid of projection scatters (rows x columns); ``None`` leaves a panel empty. At most three
    panels a line, :data:`~subclass_lib.plots.common.COLUMN_INCHES` wide (``panel`` shrinks): a row of
    more panels wraps onto further lines, each starting with the row's label, so that the labels stay
    readable across the book's text column."""
    if not projections or not projections[0]:
        raise ValueError("projection_grid needs at least one projection")
    n_rows, n_cols = len(projections), max(len(r) for r in projections)
    per_line = min(n_cols, 3)
    lines = -(-n_cols // per_line)  # figure rows per row of projections
    panel = min(panel, COLUMN_INCHES / per_line)
    fig, axes = plt.subplots(n_rows * lines, per_line, figsize=(panel * per_line, panel * n_rows * lines + 0.6),
                             squeeze=False)
    first = None
    for i, row in enumerate(projections):
        for j in range(lines * per_line):
            ax = axes[i * lines + j // per_line][j % per_line]
            proj = row[j] if j < len(row) else None
            if proj is None:
                ax.axis("off")
                continue
            projection_scatter(proj, ax=ax, title=titles[i][j], size=3.0)
            first = first or ax
            if row_labels and j % per_line == 0:
                ax.set_ylabel(row_labels[i], fontsize=10)
    handles, labels = first.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, markerscale=2,
               frameon=False)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def entropy_vs_temperature(entropy_rows: Sequence[Mapping], n_classes: int = 10, title: str | None = None):
    """Mean soft-target entropy (bits) against T, one line per teacher (rows: ``eps``, ``T``, ``bits``)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for r in entropy_rows:
        label = "hard-label teacher (eps = 0)" if r["eps"] == 0 else f"LS teacher (eps = {r['eps']:g})"
        ax.plot(r["T"], r["bits"], marker="o", ms=4, label=label)
    ax.axhline(np.log2(n_classes), color="gray", ls=":", lw=1, label=f"uniform: log2 {n_classes}")
    _log2_axis(ax)
    ax.set(xlabel="distillation temperature T", ylabel="mean entropy of soft targets (bits)")
    return finish(fig, ax, title, legend_fontsize=9)


def accuracy_vs_temperature(student_rows: Sequence[Mapping], reference: Mapping[str, Mapping] | None = None,
                            title: str | None = None):
    """Student test accuracy against T, one line per teacher eps (rows: ``eps``, ``T``, ``test_accuracy``).

    Rows with ``mean_test_accuracy`` and ``std_test_accuracy`` (several student seeds) are drawn
    as means with error bars of one standard deviation.
    ``reference``: optional paper numbers ``{label: {"T": [...], "eps=0": [...], "eps=0.1": [...]}}``
    drawn in a second panel (accuracies as fractions).
    """
    n = 2 if reference else 1
    fig, axes = plt.subplots(n, 1, figsize=(6.8, 3.4 * n + 0.5 * (n - 1)), squeeze=False)  # stacked
    ax = axes[0][0]
    seeds = 1
    for eps in sorted({r["eps"] for r in student_rows}):
        rows = sorted((r for r in student_rows if r["eps"] == eps), key=lambda r: r["T"])
        label = "hard-label teacher (eps = 0)" if eps == 0 else f"LS teacher (eps = {eps:g})"
        if all("mean_test_accuracy" in r for r in rows):
            seeds = max(seeds, len(rows[0].get("seed_test_accuracy", [0])))
            ax.errorbar([r["T"] for r in rows], [r["mean_test_accuracy"] for r in rows],
                        yerr=[r["std_test_accuracy"] for r in rows], marker="o", ms=4, capsize=3, label=label)
        else:
            ax.plot([r["T"] for r in rows], [r["test_accuracy"] for r in rows], marker="o", ms=4, label=label)
    _log2_axis(ax)
    ax.set(xlabel="distillation temperature T", ylabel="student test accuracy")
    ax.set_title(title or ("MNIST students (this book" + (f", mean ± std of {seeds} seeds)" if seeds > 1 else ")")),
                 fontsize=10)
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    if reference:
        ax2 = axes[1][0]
        for k, (name, ref) in enumerate(reference.items()):
            for key, ls in (("eps=0", "-"), ("eps=0.1", "--")):
                ax2.plot(ref["T"], ref[key], ls=ls, marker="s", ms=4, color=f"C{k + 2}",
                         label=f"{name}, teacher {key}")
        _log2_axis(ax2)
        ax2.set(xlabel="distillation temperature T", ylabel="student top-1 accuracy")
        ax2.set_title("Chandrasegaran et al. (2022), Table 2", fontsize=10)
        # under the axes: inside, it would cover a curve (they fall from the upper left)
        ax2.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
        ax2.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def diffusion_bars(diffusion_rows: Sequence[Mapping], title: str | None = None):
    """Diffusion index (percent) for each teacher and target temperature: similar and dissimilar sets."""
    rows = list(diffusion_rows)
    if not rows:
        raise ValueError("no diffusion-index rows to plot")
    epss = sorted({r["eps"] for r in rows})
    fig, axes = plt.subplots(1, len(epss), figsize=(4.4 * len(epss), 3.2), squeeze=False, sharey=True)
    for ax, eps in zip(axes[0], epss):
        rs = sorted((r for r in rows if r["eps"] == eps), key=lambda r: r["T_to"])
        x = np.arange(len(rs))
        ax.bar(x - 0.2, [r["similar"] for r in rs], 0.4, label="η similar (S)")
        ax.bar(x + 0.2, [r["dissimilar"] for r in rs], 0.4, label="η dissimilar (D)")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, [f"1→{r['T_to']:g}" for r in rs])
        ax.set_xlabel("temperature change")
        ax.set_title("hard-label teacher" if eps == 0 else f"LS teacher (eps = {eps:g})", fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("diffusion index η (%)")
    axes[0][0].legend(fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def ls_kd_figure(r) -> plt.Figure:
    """The figure of :func:`ls_kd_panel` for one setting (a :func:`~subclass_lib.experiments.ls_kd.run_interactive`
    result): the teacher's and the student's penultimate projections with their test accuracies (a preview,
    whose student is None, shows the teacher and says that the student is still training)."""
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.5))
    projection_scatter(r["teacher_projection"], ax=axes[0],
                       title=f"teacher, eps={r['eps']:g}: test acc {r['teacher_accuracy']:.4f}")
    if r["student_projection"] is None:
        axes[1].set_axis_off()
        axes[1].text(0.5, 0.5, f"student, T={r['T']:g}:\nstill training", ha="center", va="center")
    else:
        projection_scatter(r["student_projection"], ax=axes[1],
                           title=f"student, T={r['T']:g}: test acc {r['student_accuracy']:.4f}")
    axes[0].legend(fontsize=9, markerscale=2, loc="best")
    fig.tight_layout()
    return fig


def wrong_class_profiles(profiles: Mapping[float, Mapping], n_classes: int = 10, title: str | None = None):
    """The mechanism of systematic diffusion (Chandrasegaran et al. 2022, Figure 2 and Supplementary E):
    one row per teacher (``profiles``: ``{eps: wrong_class_profile}``), one panel per temperature.
    In each panel, one line per class: its own mean probability (x = 0), then its wrong classes by
    rank at the first temperature (1 = the runner-up, the look-alike; the rest, the noise floor);
    the black line is the median over the classes, the dotted one the uniform 1/K (all three in the legend)."""
    if not profiles:
        raise ValueError("wrong_class_profiles needs at least one teacher's profile")
    rows = sorted(profiles.items())
    Ts = list(rows[0][1]["T"])
    n_cols = len(Ts)
    w = min(3.3, COLUMN_INCHES / n_cols)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(w * n_cols, 2.7 * len(rows) + 0.7), squeeze=False,
                             sharey=True)
    x = np.arange(n_classes)
    for i, (eps, prof) in enumerate(rows):
        name = "hard-label teacher" if eps == 0 else f"LS teacher (eps = {eps:g})"
        for t, T in enumerate(Ts):
            ax = axes[i][t]
            curves = np.concatenate([np.asarray(prof["own"][t])[:, None], np.asarray(prof["wrong"][t])], axis=1)
            for k, c in enumerate(curves):
                ax.plot(x, c, color=plt.cm.tab10(k % 10), lw=0.9, alpha=0.75, marker="o", ms=2,
                        label=f"digit {k}")
            ax.plot(x, np.median(curves, axis=0), color="black", lw=2.2, label="median")
            ax.axhline(1.0 / n_classes, color="gray", ls=":", lw=1, label=f"uniform: 1/{n_classes}")
            ax.set_yscale("log")
            ax.set_xticks(x, ["own"] + [str(r) for r in range(1, n_classes)], fontsize=9)
            ax.set_title(f"{name}, T = {T:g}", fontsize=10)
            ax.grid(alpha=0.3)
            if i == len(rows) - 1:
                ax.set_xlabel("wrong classes by rank at T = %g" % Ts[0], fontsize=10)
        axes[i][0].set_ylabel("mean probability", fontsize=10)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=6, fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
