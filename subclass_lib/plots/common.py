"""Figures shared by every chapter: digit grids, training curves, contingency heatmaps, bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..metrics import to_numpy

__all__ = ["digit_grid", "training_curves", "contingency_heatmap", "bar_chart", "sweep_lines"]

#: The widest a figure of several panels is drawn, in inches: the book shows every figure across its text
#: column (about 740 px on a laptop, 1.9 px a point of a 7.8-inch figure), so 11-point text stays about
#: 14 px and a 9-point legend 11 px. Wider grids wrap into rows or stack their panels.
COLUMN_INCHES = 7.8


def figure_and_axes(ax=None, figsize=(5.6, 3.6)):
    """``(fig, ax, own)``: a new figure of ``figsize`` when ``ax`` is None (``own``), else ``ax``'s figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax, True
    return ax.figure, ax, False


def panel_grid(n: int, panel_w: float, panel_h: float, max_cols: int = 2):
    """``(fig, axes)``: ``n`` panels of ``panel_w`` x ``panel_h`` inches, at most ``max_cols`` a row
    (more wrap into rows, so that the figure stays as wide as the book's text column with readable
    labels); ``axes`` has shape [rows, cols], and the cells past the ``n``-th are hidden."""
    cols = min(n, max_cols)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(panel_w * cols, panel_h * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, axes


def finish(fig, ax, title: str | None = None, legend_fontsize: int | None = 9):
    """The common ending of a figure: title (if any), light grid, legend, tight layout; returns ``fig``."""
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if legend_fontsize:
        ax.legend(fontsize=legend_fontsize)
    fig.tight_layout()
    return fig


def image_row(axes, images) -> None:
    """Draw 28x28 ``images`` ([k, 784]) into a row of ``axes``, one each, without ticks or frames;
    axes beyond the images stay blank."""
    for k, ax in enumerate(axes):
        ax.set_xticks([]), ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if k < len(images):
            ax.imshow(images[k].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)


def digit_grid(images, labels, per_class: int = 8, classes: Sequence[int] = tuple(range(10)),
               title: str | None = None):
    """One row of ``per_class`` example images for each class in ``classes``."""
    images, labels = to_numpy(images), to_numpy(labels)
    if images.ndim != 2 or images.shape[1] != 784:
        raise ValueError(f"images must be [N, 784], got {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    fig, axes = plt.subplots(len(classes), per_class, figsize=(per_class * 0.7, len(classes) * 0.75),
                             squeeze=False)
    for r, c in enumerate(classes):
        idx = np.flatnonzero(labels == c)[:per_class]
        image_row(axes[r], images[idx])
        axes[r, 0].set_ylabel(str(c), rotation=0, labelpad=10, va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout(pad=0.2)
    return fig


def training_curves(histories: Mapping[str, object], title: str | None = None):
    """Training loss and validation accuracy per epoch, one line per named run.

    ``histories`` maps a label to a :class:`subclass_lib.train.History` (or its dict).
    """
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.2))
    for name, h in histories.items():
        h = h if isinstance(h, Mapping) else h.to_dict()
        ep = np.arange(1, len(h["loss"]) + 1)
        a1.plot(ep, h["loss"], marker="o", ms=3, label=name)
        if h.get("val_accuracy"):
            a2.plot(np.arange(1, len(h["val_accuracy"]) + 1), h["val_accuracy"], marker="o", ms=3, label=name)
    a1.set(xlabel="epoch", ylabel="training loss", title="loss")
    a2.set(xlabel="epoch", ylabel="validation accuracy", title="validation accuracy")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend(fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def contingency_heatmap(table, row_label: str = "sub-logit (argmax)", col_label: str = "true digit",
                        col_names: Sequence | None = None, row_names: Sequence | None = None,
                        n_sub: int | None = None, title: str | None = None, ax=None,
                        col_block: int | None = None):
    """Heatmap of a contingency table (rows: predicted clusters, columns: true labels).

    With ``n_sub``, dashed lines mark the class blocks: every ``n_sub`` rows, and every
    ``col_block`` columns (default ``n_sub``; pass the number of digits per class when the
    invented count differs from the true one).
    """
    table = to_numpy(table)
    if table.ndim != 2:
        raise ValueError(f"a contingency table must be 2-D, got shape {table.shape}")
    fig, ax, own = figure_and_axes(ax, (0.45 * table.shape[1] + 1.8, 0.4 * table.shape[0] + 1.2))
    im = ax.imshow(table, cmap="Blues", aspect="auto")
    vmax = table.max() if table.size else 0
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            v = int(table[i, j])
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=9,
                        color="white" if v > 0.6 * vmax else "black")
    ax.set_xticks(range(table.shape[1]), labels=list(col_names) if col_names is not None else None)
    ax.set_yticks(range(table.shape[0]), labels=list(row_names) if row_names is not None else None)
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    if n_sub:
        for k in range(n_sub, table.shape[0], n_sub):
            ax.axhline(k - 0.5, color="crimson", ls="--", lw=1)
        step = col_block or n_sub
        for k in range(step, table.shape[1], step):
            ax.axvline(k - 0.5, color="crimson", ls="--", lw=1)
    if title:
        ax.set_title(title)
    if own:
        fig.colorbar(im, ax=ax, fraction=0.04)
        fig.tight_layout()
    return fig


def bar_chart(values: Mapping[str, float], ylabel: str = "test accuracy", title: str | None = None,
              reference: Mapping[str, float] | None = None, ylim: tuple[float, float] | None = None,
              fmt: str = "{:.4f}"):
    """Bars of named values, optionally beside reference values (e.g. a paper's numbers)."""
    names = list(values)
    x = np.arange(len(names))
    w = 0.38 if reference else 0.6
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(names) + 1), 3.2))
    bars = ax.bar(x - (w / 2 if reference else 0), [values[n] for n in names], w, label="this book")
    for b, n in zip(bars, names):
        ax.text(b.get_x() + b.get_width() / 2, b.get_height(), fmt.format(values[n]),
                ha="center", va="bottom", fontsize=9)
    if reference:
        ref = [reference.get(n, np.nan) for n in names]
        ax.bar(x + w / 2, ref, w, label="source", color="lightgray", edgecolor="gray")
        ax.legend(fontsize=9)
    ax.set_xticks(x, names, rotation=15)
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def sweep_lines(x: Sequence[float], lines: Mapping[str, Sequence[float]], xlabel: str, ylabel: str,
                title: str | None = None, logx: bool = False, highlight_x: float | None = None):
    """One line per named series over a swept parameter: the static twin of a slider."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for name, ys in lines.items():
        ax.plot(list(x), list(ys), marker="o", ms=4, label=name)
    if highlight_x is not None:
        ax.axvline(highlight_x, color="gray", ls=":", lw=1)
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig
