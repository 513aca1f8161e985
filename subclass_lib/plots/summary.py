"""The closing chapter's figure: what each method adds over its baseline, chapter by chapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .common import COLUMN_INCHES

__all__ = ["gains_plot"]


def gains_plot(gains: Mapping[str, Sequence[float]], title: str | None = None,
               xlabel: str = "gain over the baseline (percentage points)"):
    """One row per comparison (top to bottom in the order given): the mean gain as a bar and each
    seed's gain as a dot, with a line at zero (no gain). Gains are in percentage points, positive
    meaning better than the baseline."""
    if not gains:
        raise ValueError("gains must name at least one comparison")
    names = list(gains)
    values = [np.asarray(gains[n], dtype=float) for n in names]
    if any(v.size == 0 for v in values):
        raise ValueError("every comparison needs at least one seed's gain")
    y = np.arange(len(names))[::-1]
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 0.42 * len(names) + 1.3))
    means = [float(v.mean()) for v in values]
    ax.barh(y, means, height=0.6, color=["tab:green" if m > 0 else "tab:red" for m in means], alpha=0.45,
            label="mean over the seeds")
    for yi, v in zip(y, values):
        ax.plot(v, np.full(v.shape, yi), "o", color="black", markersize=4,
                label="one seed" if yi == y[0] else None)
    ax.axvline(0.0, color="gray", lw=1)
    ax.set_yticks(y, names)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=9, loc="best")
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig
