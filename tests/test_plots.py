"""The figure and panel modules: no name shadowed by the star re-exports; common figures draw;
the schematic of subclass distillation names its parts and rejects what it cannot draw."""

from __future__ import annotations

import importlib

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from subclass_lib import plots  # noqa: E402

CHAPTER_MODULES = ("common", "hinton", "ls_kd", "subclass", "subclass_students")
EXTRA_MODULES = {"subclass_lib.plots": ("schematic",), "subclass_lib.widgets": ()}


@pytest.mark.parametrize("package", ["subclass_lib.plots", "subclass_lib.widgets"])
def test_re_exported_names_are_unique(package):
    seen: dict[str, str] = {}
    for mod in CHAPTER_MODULES + EXTRA_MODULES[package]:
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


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_subclass_distillation_schematic_names_its_parts():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = plots.subclass_distillation_schematic()
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    texts = _texts(fig)
    joined = "\n".join(texts)
    for part in ("image", "teacher\nnetwork", "student\nnetwork", "grouped softmax", "auxiliary loss",
                 "subclass distillation", "temperature $T$", "cross-entropy", "class label $y$"):
        assert part in joined, part
    cells = [f"{c}{k}" for c in "AB" for k in range(5)]
    assert all(texts.count(cell) == 2 for cell in cells)  # each sub-logit, once for the teacher, once for the student
    assert "teacher sub-logits: 2 classes × 5 subclasses" in texts and "over all 10 sub-logits" in joined
    grid = [p for p in fig.axes[0].patches if isinstance(p, Rectangle) and not p.get_width() > 1]
    assert len(grid) == 2 * 10
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 2.25))  # drawn into a given axes, smaller than the book's width
    assert plots.subclass_distillation_schematic(4, 10, ax=ax) is fig
    texts = _texts(fig)
    assert "teacher sub-logits: 4 classes × 10 subclasses" in texts and "D" in texts
    assert not any(t in texts for t in ("A0", "D9"))  # cells too small to name are left unnamed
    assert max(t.get_fontsize() for t in ax.texts) < 6  # fonts shrink with the axes
    plt.close(fig)
    fig = plots.subclass_distillation_schematic(3, 1)
    assert "teacher sub-logits: 3 classes × 1 subclass" in _texts(fig)
    plt.close(fig)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_classes=1), "n_classes must be at least 2"),
    (dict(n_sub=0), "n_sub must be at least 1"),
    (dict(n_classes=5), "too many cells to draw legibly"),
    (dict(n_sub=11), "too many cells to draw legibly"),
    (dict(n_classes=2.0), "n_classes must be an integer"),
    (dict(n_sub=True), "n_sub must be an integer"),
])
def test_subclass_distillation_schematic_rejects_what_it_cannot_draw(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plots.subclass_distillation_schematic(**kwargs)


def test_subclass_images_rows_are_sub_logits_with_their_purity():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(60, 784, generator=g)
    digits = torch.arange(60) % 3                         # digits 0, 1, 2
    logits = torch.zeros(60, 4)
    logits[torch.arange(60), digits] = 5.0                # sub-logit d wins every image of digit d
    logits[:6, 3] = 9.0                                   # ... except six images, won by sub-logit 3
    fig, rows = plots.subclass_images(images, logits, digits, n_sub=2, per_row=4)
    assert [r["sub-logit"] for r in rows] == ["A0", "A1", "B0", "B1"]
    assert [r["images"] for r in rows] == [18, 18, 18, 6]
    assert rows[0]["main digit"] == 0 and rows[0]["purity"] == 1.0
    assert rows[3]["purity"] == pytest.approx(2 / 6) and len(fig.axes) == 4 * 4
    assert rows[3]["second digit"] == 1 and rows[3]["top two"] == pytest.approx(4 / 6)
    assert rows[0]["top two"] == 1.0 and rows[0]["second digit"] != 0
    with pytest.raises(ValueError, match="multiple of n_sub"):
        plots.subclass_images(images, logits, digits, n_sub=3)
    with pytest.raises(ValueError, match="one row of logits"):
        plots.subclass_images(images, logits[:10], digits, n_sub=2)


def test_loss_terms_plot_draws_the_terms_and_their_bounds():
    terms = [{"grouped_ce": 0.3 / e, "diversity": 1.6 - 0.5 / e, "sharpness": 1.0 / e} for e in range(1, 5)]
    fig = plots.loss_terms_plot(terms, n_sub=5, sharpen=0.4)
    left, right = fig.axes[:2]
    assert len(left.lines[0].get_xdata()) == 4  # one point an epoch
    assert any(np.allclose(line.get_ydata(), np.log(5)) for line in left.lines)  # diversity's ceiling
    assert any(np.allclose(line.get_ydata(), -np.log(5)) for line in right.lines)  # the aux loss's floor
    with pytest.raises(ValueError, match="no loss terms"):
        plots.loss_terms_plot([])


def test_chapter_sweep_figures_draw():
    r = {k: {"accuracy_on_omitted": 0.5} for k in ("hard_labels", "distilled", "distilled_bias_adjusted")}
    fig = plots.mythical3_alpha_and_digits([0.5, 1.0], [r, r], [1, 3], [r, r])
    assert len(fig.axes) == 2 and len(fig.axes[1].patches) == 6  # three students a digit
    fig = plots.teacher_sweep_figure([0, 1], {"diversity": [0.5, 0.8]}, [0, 0.4], [0.7, 0.8], [0, 1], [0.7, 0.85])
    assert len(fig.axes) == 3 and all(ax.get_ylim() == (0, 1) for ax in fig.axes)


def test_teacher_neighbours_frames_other_digits_in_red():
    images = np.random.default_rng(0).random((6, 784))
    digits = np.array([3, 3, 5, 3, 5, 5])
    nbrs = {"class logits": np.array([[2, 4]] * 6), "sub-logits": np.array([[1, 3]] * 6)}
    fig = plots.teacher_neighbours(images, digits, nbrs, queries=[0], n_show=2)
    axes = fig.axes
    assert len(axes) == 1 + 2 * 3  # query, then a gap and two neighbours per space
    red = [ax.spines["top"].get_visible() for ax in axes]
    assert red == [False, False, True, True, False, False, False]
    assert {ax.get_title() for ax in axes} >= {"query", "class logits", "sub-logits"}
    with pytest.raises(ValueError):
        plots.teacher_neighbours(images, digits, {}, queries=[0])
    fig2 = plots.training_speed({"hard_labels": [(1, 0.9), (2, 0.95)]}, oracle_accuracy=0.97)
    assert any("oracle" in t.get_text() for t in fig2.axes[0].get_legend().get_texts())


def test_students_sweep_has_one_legend_under_its_panels_in_the_methods_order():
    sw = [{"param": "temperature", "values": [1, 4, 16],
           "errors": {"distillation": [.03, .02, .02], "subclass_distillation": [.04, .02, .01]}},
          {"param": "student_hidden", "values": [(32, 32), (128, 128)],
           "errors": {"hard_labels": [.05, .04], "distillation": [.04, .03], "subclass_distillation": [.045, .026],
                      "penultimate": [.055, .041]}}]
    fig = plots.students_sweep(sw, highlight={"temperature": 4.0})
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "hard labels", "distillation", "subclass distillation", "penultimate"]
