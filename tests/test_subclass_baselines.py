"""Chapter 4's reference teachers: the subclass teacher's network with plain logits."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from subclass_lib.experiments import subclass as S
from subclass_lib.experiments.subclass_baselines import (DIGITS_SPLIT, evaluate_on,
                                                         plain_teacher_config)
from subclass_lib.models import MLP

TINY = dict(teacher_epochs=2, teacher_fraction=0.05, batch_size=128)


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))


def test_plain_configs_keep_the_recipe_and_drop_the_subclasses():
    cfg = S.SubclassConfig()
    binary, digits = (plain_teacher_config(cfg, lab) for lab in ("binary", "digits"))
    for c in (binary, digits):
        assert (c.n_sub, c.aux, c.consistency) == (1, "none", 0.0)
        assert (c.teacher, c.hidden, c.teacher_epochs, c.batch_size, c.lr, c.seed) == (
            cfg.teacher, cfg.hidden, cfg.teacher_epochs, cfg.batch_size, cfg.lr, cfg.seed)
    assert binary.n_classes == 2 and binary.split == cfg.split
    assert digits.n_classes == 10 and digits.split == DIGITS_SPLIT and digits.digit_order == list(range(10))
    # the two are new models, not the subclass teacher
    assert len({S.teacher_spec(c) for c in (cfg, binary, digits)}) == 3
    with pytest.raises(ValueError, match="labels"):
        plain_teacher_config(cfg, "digit")
    with pytest.raises(ValueError, match="SubclassConfig"):
        plain_teacher_config(S.teacher_spec(cfg))


@pytest.mark.parametrize("labels, n_out", [("binary", 2), ("digits", 10)])
def test_plain_teacher_loss_is_the_ordinary_cross_entropy(labels, n_out):
    cfg = plain_teacher_config(S.SubclassConfig(), labels)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(32, 784, generator=g), torch.randint(0, n_out, (32,), generator=g)
    torch.manual_seed(0)
    model = MLP(hidden=cfg.hidden, out_dim=n_out)
    assert torch.allclose(S.teacher_loss_fn(cfg)(model, {"x": x, "y": y}), F.cross_entropy(model(x), y))


def test_tiny_digit_teacher_beats_chance_and_is_measured_on_both_splits():
    cfg = plain_teacher_config(S.SubclassConfig(**TINY), "digits")
    res = S.train_teacher(cfg, verbose=False)
    val, test = evaluate_on(res, "val"), evaluate_on(res, "test")
    assert test["accuracy"] == pytest.approx(res.super_accuracy)
    assert val["accuracy"] > 0.5 and test["accuracy"] > 0.5          # chance: 0.1
    assert val["recovery"] >= val["accuracy"] - 1e-6                 # any mapping >= identity
    # the digit teacher on the binary task: its predicted digit's group
    binary = evaluate_on(res, "test", binary_split="01234")["binary_accuracy"]
    assert test["accuracy"] - 1e-6 <= binary <= 1.0
    assert evaluate_on(res, "test", binary_split="56789")["binary_accuracy"] == pytest.approx(binary)
    with pytest.raises(ValueError, match="split"):
        evaluate_on(res, "train")
    sub = S.train_teacher(replace(S.SubclassConfig(**TINY), split="01389"), verbose=False)
    assert evaluate_on(sub, "val", binary_split="01389")["binary_accuracy"] == pytest.approx(
        evaluate_on(sub, "val")["accuracy"])
    with pytest.raises(ValueError, match="one group"):
        evaluate_on(sub, "val", binary_split="01234")
    with pytest.raises(ValueError, match="TeacherResult"):
        evaluate_on(replace(cfg), "val")
