"""Figures of chapter 4: contingency tables with class blocks, their evolution during
training (strip and GIF), recovery over seeds and sweeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ..metrics import to_numpy as _np
from .common import COLUMN_INCHES, contingency_heatmap, image_row, panel_grid

__all__ = ["subclass_contingency", "contingency_panels", "contingency_strip", "contingency_animation",
           "loss_terms_plot", "teacher_sweep_figure", "subclass_images", "seed_recovery_chart"]


def _group_sizes(digit_order: Sequence[int], groups: Sequence[Sequence[int]] | None, n_cols: int):
    if groups is None:
        return [n_cols // 2, n_cols - n_cols // 2]
    return [len(g) for g in groups]


def subclass_contingency(table, digit_order: Sequence[int] = tuple(range(10)), n_sub: int = 5,
                         groups: Sequence[Sequence[int]] | None = None, title: str | None = None,
                         ax=None, annotate: bool = True):
    """Contingency heatmap of a subclass head: rows are sub-logits (``A0``, ``A1``, ... in
    class-major order), columns the true digits in the split's class-major order; dashed
    lines mark the class blocks (every ``n_sub`` rows, every group of columns)."""
    t = _np(table)
    n_rows, n_cols = t.shape
    letters = "ABCDEFGHIJ"
    row_names = [f"{letters[r // n_sub]}{r % n_sub}" for r in range(n_rows)]
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(0.42 * n_cols + 1.9, 0.36 * n_rows + 1.3))
    if annotate:
        contingency_heatmap(t, col_names=list(digit_order), row_names=row_names, title=title, ax=ax)
    else:
        ax.imshow(t, cmap="Blues", aspect="auto")
        ax.set_xticks(range(n_cols), labels=list(digit_order))
        ax.set_yticks(range(n_rows), labels=row_names)
        ax.set_xlabel("true digit")
        ax.set_ylabel("sub-logit (argmax)")
        if title:
            ax.set_title(title)
    for k in range(n_sub, n_rows, n_sub):
        ax.axhline(k - 0.5, color="crimson", ls="--", lw=1)
    edge = 0
    for size in _group_sizes(digit_order, groups, n_cols)[:-1]:
        edge += size
        ax.axvline(edge - 0.5, color="crimson", ls="--", lw=1)
    if own:
        ax.figure.tight_layout()
    return ax.figure


def contingency_panels(tables: Mapping[str, object], digit_order: Sequence[int] = tuple(range(10)),
                       n_sub: int | Sequence[int] = 5, groups=None, suptitle: str | None = None,
                       annotate: bool = True, digit_orders: Sequence[Sequence[int]] | None = None):
    """Several contingency tables (one per named run), at most two side by side: more wrap into rows,
    so that the figure stays as wide as the text column with readable labels."""
    names = list(tables)
    n = len(names)
    subs = [n_sub] * n if isinstance(n_sub, int) else list(n_sub)
    orders = list(digit_orders) if digit_orders is not None else [digit_order] * n
    fig, axes = panel_grid(n, 4.3, 4.1)
    for ax, name, s, order in zip(axes.flat, names, subs, orders):
        subclass_contingency(tables[name], order, s, groups=None if digit_orders is not None else groups,
                             title=name, ax=ax, annotate=annotate)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def contingency_strip(snapshots: Sequence, epochs: Sequence[int] | None = None, n_sub: int = 5,
                      digit_order: Sequence[int] = tuple(range(10)), max_panels: int = 6,
                      title: str | None = None):
    """A static strip of the (validation) contingency table at a few epochs of training,
    each with its any-mapping recovery."""
    snaps = [np.asarray(s) for s in snapshots]
    if not snaps:
        raise ValueError("no snapshots to show")
    epochs = list(epochs) if epochs is not None else list(range(1, len(snaps) + 1))
    idx = np.unique(np.linspace(0, len(snaps) - 1, min(max_panels, len(snaps))).round().astype(int))
    fig, axes = panel_grid(len(idx), 3.6, 3.4)
    for ax, i in zip(axes.flat, idx):
        t = snaps[i]
        rec = t.max(axis=1).sum() / t.sum()
        subclass_contingency(t, digit_order, n_sub, title=f"epoch {epochs[i]}: {rec:.1%}", ax=ax, annotate=False)
        ax.set_xlabel("digit", fontsize=9)
        ax.set_ylabel("")
        ax.tick_params(labelsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def contingency_animation(snapshots: Sequence, path, n_sub: int = 5,
                          digit_order: Sequence[int] = tuple(range(10)), fps: int = 2,
                          title: str = "teacher contingency (validation set)") -> Path:
    """Write a GIF of the contingency table epoch by epoch (matplotlib + Pillow); returns the path."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    snaps = [np.asarray(s) for s in snapshots]
    if not snaps:
        raise ValueError("no snapshots to animate")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.0, 4.4))

    def draw(i):
        ax.clear()
        t = snaps[i]
        rec = t.max(axis=1).sum() / t.sum()
        subclass_contingency(t, digit_order, n_sub, title=f"{title}\nepoch {i + 1}: recovery {rec:.1%}", ax=ax)
        return []

    anim = FuncAnimation(fig, draw, frames=len(snaps), blit=False)
    anim.save(str(path), writer=PillowWriter(fps=fps), dpi=140)  # 700 px: as wide as the text column
    plt.close(fig)
    return path


def loss_terms_plot(terms: Sequence[Mapping[str, float]], n_sub: int = 5, sharpen: float = 0.4,
                    title: str | None = None):
    """How the teacher's losses train (the NumPy demo's account), from ``history.terms``
    (:func:`subclass_lib.experiments.subclass.loss_terms` after every epoch, on the validation images):
    left, the two parts of the auxiliary loss, diversity against its ceiling log s and sharpness
    against its floor 0; right, the auxiliary loss ``-diversity + sharpen * sharpness`` against its
    floor ``-log s``, and the grouped cross-entropy of the binary task."""
    if not terms:
        raise ValueError("no loss terms to plot (a history recorded before they were kept?)")
    epochs = np.arange(1, len(terms) + 1)
    div = np.array([t["diversity"] for t in terms])
    sharp = np.array([t["sharpness"] for t in terms])
    ce = np.array([t["grouped_ce"] for t in terms])
    ceiling = float(np.log(n_sub))
    fig, (a, b) = plt.subplots(2, 1, figsize=(6.8, 6.6), sharex=True)  # stacked: each across the column
    a.plot(epochs, div, marker="o", color="C0", label="diversity: H(mean q) in a class")
    a.axhline(ceiling, color="C0", ls="--", lw=1, label=f"its ceiling log {n_sub}")
    a.plot(epochs, sharp, marker="s", color="C1", label="sharpness: mean H(q) of an image")
    a.axhline(0.0, color="C1", ls=":", lw=1)
    a.set(ylabel="nats", ylim=(-0.05, ceiling * 1.08), title="the auxiliary loss's two parts")
    a.grid(alpha=0.3)
    a.legend(fontsize=9, loc="center right")
    b.plot(epochs, -div + sharpen * sharp, marker="o", color="C2", label=f"auxiliary loss (sharpen {sharpen:g})")
    b.axhline(-ceiling, color="C2", ls="--", lw=1, label=f"its floor -log {n_sub}")
    b.plot(epochs, ce, marker="^", color="C3", label="grouped cross-entropy (binary task)")
    b.set(xlabel="epoch", ylabel="nats", title="the losses")
    b.grid(alpha=0.3)
    b.legend(fontsize=9, loc="center right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def teacher_sweep_figure(betas: Sequence[float], beta_lines: Mapping[str, Sequence[float]],
                         sharps: Sequence[float], sharp_line: Sequence[float],
                         gammas: Sequence[float], gamma_line: Sequence[float]):
    """Chapter 4's sweeps of the teacher's losses: recovery over the auxiliary weight beta (one line
    per named auxiliary loss) on top, over the sharpness weight and the view-consistency weight
    gamma below, each on the whole 0-1 axis (a few points should look like a few points)."""
    fig = plt.figure(figsize=(COLUMN_INCHES, 7.0))
    grid = fig.add_gridspec(2, 2)
    axes = [fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])]
    for name, ys in beta_lines.items():
        axes[0].plot(betas, ys, marker="o", label=name)
    axes[0].set(xlabel="beta (auxiliary weight)", ylabel="recovery (test)", title="auxiliary loss and its weight")
    # under the axes: inside, it would cover a line
    axes[0].legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False)
    axes[1].plot(sharps, sharp_line, marker="o", color="C0")
    axes[1].set(xlabel="sharpen (diversity loss, beta = 1)", ylabel="recovery (test)", title="sharpness")
    axes[2].plot(gammas, gamma_line, marker="o", color="C4")
    axes[2].set(xlabel="gamma (view consistency)", ylabel="recovery (test)", title="view consistency")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 1)
    fig.tight_layout()
    return fig


def subclass_images(images, logits, digits, n_sub: int = 5, per_row: int = 10,
                    row_names: Sequence[str] | None = None, title: str | None = None):
    """The invented subclasses as images (the subclass paper's Figures 3 and 7): one row per sub-logit,
    the first ``per_row`` images whose largest sub-logit it is, and beside each row the digit most of
    its images are and their share (the row's purity). ``images`` [N, 784], ``logits`` [N, c * n_sub],
    ``digits`` [N] (the true digits, which the teacher never saw). Returns ``(fig, rows)`` with
    ``rows`` a list of ``{"sub-logit", "images", "main digit", "purity", "second digit", "top two"}``
    ("second digit": the row's next most frequent digit; "top two": the two digits' share)."""
    images, logits, digits = _np(images), _np(logits), _np(digits).astype(int)
    if images.ndim != 2 or images.shape[1] != 784:
        raise ValueError(f"images must be [N, 784], got {images.shape}")
    if logits.ndim != 2 or len(logits) != len(images) or len(digits) != len(images):
        raise ValueError(f"need one row of logits and one digit per image: {logits.shape}, {digits.shape}, {images.shape}")
    if logits.shape[1] % n_sub:
        raise ValueError(f"{logits.shape[1]} sub-logits are not a multiple of n_sub = {n_sub}")
    n_rows = logits.shape[1]
    names = list(row_names) if row_names is not None else [
        f"{chr(ord('A') + r // n_sub)}{r % n_sub}" for r in range(n_rows)]
    winner = logits.argmax(axis=1)
    fig, axes = plt.subplots(n_rows, per_row, figsize=(0.62 * per_row + 1.9, 0.66 * n_rows), squeeze=False)
    rows = []
    for r in range(n_rows):
        idx = np.flatnonzero(winner == r)
        counts = np.bincount(digits[idx], minlength=10) if len(idx) else np.zeros(10, dtype=int)
        main = int(counts.argmax())
        purity = float(counts[main] / len(idx)) if len(idx) else 0.0
        second = int(np.where(np.arange(10) == main, -1, counts).argmax())
        top_two = float((counts[main] + counts[second]) / len(idx)) if len(idx) else 0.0
        rows.append({"sub-logit": names[r], "images": int(len(idx)), "main digit": main, "purity": purity,
                     "second digit": second, "top two": top_two})
        image_row(axes[r], images[idx[:per_row]])
        label = f"{names[r]}: {purity:.0%} {main}s" if len(idx) else f"{names[r]}: empty"
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", labelpad=6)
    if title:
        fig.suptitle(title)
    fig.tight_layout(pad=0.3, h_pad=0.15, w_pad=0.1)
    return fig, rows


def seed_recovery_chart(runs: Mapping[str, Sequence[float]], reference: Mapping[str, tuple] | None = None,
                        ylabel: str = "subclass recovery (test)", title: str | None = None,
                        target: float | None = None):
    """Per-seed recovery (dots) with mean ± std (bars) for each named configuration;
    ``reference`` maps names to (mean, std) from a source (drawn in grey)."""
    names = list(runs) + [n for n in (reference or {}) if n not in runs]
    fig, ax = plt.subplots(figsize=(max(4.5, 1.25 * len(names) + 1.5), 3.5))
    for i, n in enumerate(names):
        if n in runs:
            v = np.asarray(runs[n], dtype=float)
            ax.bar(i, v.mean(), 0.6, yerr=v.std(), capsize=4, color="C0", alpha=0.75)
            ax.scatter(np.full(len(v), i) + np.linspace(-0.15, 0.15, len(v)), v, color="k", s=12, zorder=3)
            top = max(v.max(), v.mean() + v.std())  # the label sits above the highest dot and the bar's cap
            ax.text(i, top + 0.015, f"{v.mean():.1%}\n±{v.std():.1%}", ha="center", va="bottom", fontsize=9)
        else:
            m, s = reference[n]
            ax.bar(i, m, 0.6, yerr=s, capsize=4, color="lightgray", edgecolor="gray")
            ax.text(i, m + s + 0.015, f"{m:.1%}\n±{s:.1%}", ha="center", va="bottom", fontsize=9)
    if target is not None:
        ax.axhline(target, color="crimson", ls=":", lw=1, label=f"target {target:.0%}")
        ax.legend(fontsize=9, loc="lower right")
    ax.set_xticks(range(len(names)), names, rotation=15, fontsize=9)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.08)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
