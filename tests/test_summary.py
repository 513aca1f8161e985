"""The closing chapter's library: models read from the cache only (runner.from_cache), the chapters'
headlines (experiments/summary.py) and its figure (plots/summary.py); the chapter itself trains nothing."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import matplotlib
import nbformat
import pytest
import torch
from torch import nn

from subclass_lib import plots, runner
from subclass_lib.experiments import summary as U
from subclass_lib.train import History

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "06_what_passes.ipynb"


@dataclass(frozen=True)
class Tiny(runner.Spec):
    """A linear model whose "training" sets its bias to ``value``."""

    name: ClassVar[str] = "test-tiny"
    value: float

    def build(self) -> nn.Module:
        torch.manual_seed(0)
        return nn.Linear(2, 1)

    def fit(self, model, needs, device, callback):
        with torch.no_grad():
            model.bias.fill_(self.value)
        return History(loss=[0.0])


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    runner.clear_memory_cache()
    yield tmp_path / "models"
    runner.clear_memory_cache()


def test_from_cache_reads_what_was_trained_and_trains_nothing(empty_cache):
    with pytest.raises(runner.NotCached, match=r"^run chapters 1-5 first \(the model cache .* lacks 2 of the 2 "
                                                r"models asked for: test-tiny\)"):
        runner.from_cache([Tiny(1.0), Tiny(2.0)], hint="run chapters 1-5 first")
    assert not list(empty_cache.glob("*.pt")) if empty_cache.exists() else True
    runner.train(Tiny(1.0))
    with pytest.raises(runner.NotCached, match="lacks 1 of the 2"):
        runner.from_cache([Tiny(1.0), Tiny(2.0)])
    runner.clear_memory_cache()  # read back from disk, not from this process's memo
    (got,) = runner.from_cache([Tiny(1.0)])
    assert got.from_cache and float(got.model.bias.detach()) == 1.0 and got.history.loss == [0.0]
    assert not got.model.training
    with pytest.raises(ValueError, match="runner.Spec"):
        runner.from_cache(["not a spec"])


def test_a_chapter_without_its_models_says_which_chapters_to_run(empty_cache):
    for f in (U.chapter1, U.chapter2, U.chapter3, U.chapter4, U.chapter5):
        with pytest.raises(runner.NotCached, match=r"^run chapters 1-5 first \(the model cache"):
            f()


def _headlines() -> dict:
    return {
        "ch1": {"T": 4.0, "seeds": [0, 1], "2x800 hard": [0.96, 0.97], "2x800 distilled": [0.98, 0.975],
                "2x30 hard": [0.92, 0.93], "2x30 distilled": [0.921, 0.925]},
        "ch2": {k: {"accuracy_on_omitted": a} for k, a in
                (("hard_labels", 0.0), ("distilled", 0.8), ("distilled_bias_adjusted", 0.9))},
        "ch3": {"eps": 0.1, "T_low": 1.0, "T_high": 64.0, "seeds": [1, 2],
                "students": {(0.0, 1.0): [0.96, 0.97], (0.1, 1.0): [0.97, 0.975],
                             (0.0, 64.0): [0.96, 0.96], (0.1, 64.0): [0.97, 0.97]}},
        "ch4": {"seeds": [0, 1], "recovery": [0.8, 0.9], "super_accuracy": [0.98, 0.99]},
        "ch5": {"seeds": [0, 1], **{k: {"hard_labels": [0.02, 0.03], "distillation": [0.015, 0.025],
                                        "subclass_distillation": [0.01, 0.02], "penultimate": [0.03, 0.03]}
                                    for k in ("full", "10%")},
                "oracle": {"full": [0.02, 0.02], "10%": [0.03, 0.05]}},
    }


def test_gains_are_seed_by_seed_points_over_each_baseline():
    g = U.gains(_headlines())
    assert g["ch. 1, 2x800 student: soft targets at T = 4"] == pytest.approx([2.0, 0.5])
    assert g["ch. 1, 2x30 student: soft targets at T = 4"] == pytest.approx([0.1, -0.5])
    assert g["ch. 3, student at T = 1: LS teacher"] == pytest.approx([1.0, 0.5])
    # errors: a lower error is a positive gain
    assert g["ch. 5, all data: 10 sub-logits"] == pytest.approx([1.0, 1.0])
    assert g["ch. 5, 10% data: penultimate layer"] == pytest.approx([-1.0, 0.0])
    assert len(g) == 9


def test_headline_rows_give_mean_and_spread_per_chapter():
    rows = U.headline_rows(_headlines())
    assert [r["chapter"] for r in rows] == [1, 1, 2, 3, 4] + [5] * 10
    oracle = [r for r in rows if "oracle" in r["passes"]]
    assert [r["this book"] for r in oracle] == ["2.00 ± 0.00", "4.00 ± 1.41"]  # one a setting, after its four
    assert rows[0]["this book"] == "96.50 ± 0.71 → 97.75 ± 0.35" and rows[0]["seeds"] == 2
    assert rows[2]["this book"] == "0.0 → 80.0 → 90.0" and rows[2]["seeds"] == 1
    assert rows[4]["this book"] == "85.00 ± 5.00, 98.50 ± 0.50"  # population std, as chapter 4 prints it
    assert rows[5]["this book"] == "2.50 ± 0.71" and rows[5]["sources"] == "paper 1.57"
    assert all(set(r) == {"chapter", "passes", "comparison", "this book", "seeds", "sources"} for r in rows)
    assert U.mean_pm([1.0, 3.0]) == "2.00 ± 1.41" and U.mean_pm([1.0, 3.0], ddof=0) == "2.00 ± 1.00"


def test_first_epoch_accuracy():
    h = History(step_eval=[(10, 0.5), (20, 0.7), (30, 0.9), (40, 1.0)], steps=40)
    assert U.first_epoch_accuracy(h, epochs=2) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="first epoch"):
        U.first_epoch_accuracy(History(steps=40), epochs=2)


def test_gains_plot():
    fig = plots.gains_plot({"a": [1.0, 2.0], "b": [-0.5]}, title="t")
    ax = fig.axes[0]
    at = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
    assert at["a"] > at["b"]  # the first comparison on top
    from subclass_lib.plots.common import COLUMN_INCHES
    assert fig.get_size_inches()[0] == pytest.approx(COLUMN_INCHES)  # across the text column, text readable
    with pytest.raises(ValueError):
        plots.gains_plot({})
    with pytest.raises(ValueError):
        plots.gains_plot({"a": []})


def test_the_closing_chapter_trains_nothing_and_reads_the_cache_through_summary():
    nb = nbformat.read(CHAPTER, as_version=4)
    calls = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.source.startswith("# Colab / Binder setup"):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Call):
                    f = node.func
                    calls.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    assert "headlines" in calls
    trains = {c for c in calls if c.startswith(("train", "run_", "fit")) or c.endswith(("_sweep", "over_seeds"))}
    assert not trains, trains
