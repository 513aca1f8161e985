"""The figure and panel modules: no name shadowed by the star re-exports; common figures draw."""

from __future__ import annotations

import importlib

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from subclass_lib import plots  # noqa: E402

CHAPTER_MODULES = ("common", "hinton", "ls_kd", "subclass", "subclass_students")


@pytest.mark.parametrize("package", ["subclass_lib.plots", "subclass_lib.widgets"])
def test_re_exported_names_are_unique(package):
    seen: dict[str, str] = {}
    for mod in CHAPTER_MODULES:
        names = getattr(importlib.import_module(f"{package}.{mod}"), "__all__", [])
        for name in names:
            assert name not in seen, f"{package}: {name} is exported by both {seen[name]} and {mod}"
            seen[name] = mod


def test_common_figures_draw():
    x = torch.rand(40, 784)
    y = torch.arange(40) % 10
    assert len(plots.digit_grid(x, y, per_class=3).axes) == 30
    fig = plots.contingency_heatmap(np.eye(10, dtype=int) * 7, n_sub=5)
    assert len(fig.axes[0].lines) == 2  # one row and one column separator between the two classes
    fig = plots.contingency_heatmap(np.ones((6, 10), dtype=int), n_sub=3, col_block=5)
    assert len(fig.axes[0].lines) == 2
    plots.training_curves({"a": {"loss": [1.0, 0.5], "val_accuracy": [0.5, 0.8]}})
    plots.bar_chart({"small": 0.97, "distilled": 0.98}, reference={"small": 0.9833})
    plots.sweep_lines([1, 2, 4], {"s": [0.1, 0.2, 0.3]}, "T", "acc")
    with pytest.raises(ValueError):
        plots.digit_grid(torch.rand(3, 10), torch.zeros(3))
    with pytest.raises(ValueError):
        plots.contingency_heatmap(np.zeros(3))
