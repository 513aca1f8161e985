"""subclass_lib.checks: one home for the recipes' argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from subclass_lib import checks as C


def test_good_values_come_back_converted():
    assert C.check_scale("full") == "full"
    assert C.check_temperature(2) == 2.0 and isinstance(C.check_temperature(2), float)
    assert C.check_fraction(0, "alpha") == 0.0 and C.check_fraction(1, "f", low_open=True) == 1.0
    assert C.check_int(np.int64(3), "n", 1) == 3 and C.check_int(8, "n", 0, 8) == 8
    assert C.check_real("0.5", "lr", 0.0, strict=True) == 0.5 and C.check_real(0, "w", 0.0, strict=False) == 0.0
    assert C.check_seed(np.int32(7)) == 7 and C.check_seed(0) == 0
    assert C.check_pos_int(4, "h") == 4 and C.check_pos_int(None, "h", allow_none=True) is None
    assert C.check_hidden("128,64") == (128, 64) == C.check_hidden("128x64") == C.check_hidden([128, 64])
    assert C.check_hidden(32) == (32,)
    assert C.check_eps(0) == 0.0 and C.check_classes([4, 9, "0"]) == (4, 9, 0)
    assert C.parse_temperatures("4, 1,64") == (1.0, 4.0, 64.0) == C.parse_temperatures([64, 4, 1])


@pytest.mark.parametrize("call, msg", [
    (lambda: C.check_scale("huge"), "scale must be one of"),
    (lambda: C.check_temperature(0), "T must be a finite number > 0"),
    (lambda: C.check_temperature(math.inf, "temperature"), "temperature must be a finite number > 0"),
    (lambda: C.check_fraction(1.5, "alpha"), r"alpha must be in \[0, 1\]"),
    (lambda: C.check_fraction(0, "f", low_open=True), r"f must be in \(0, 1\]"),
    (lambda: C.check_int(0, "n_sub", 1, 50), r"n_sub must be an integer in \[1, 50\]"),
    (lambda: C.check_int(True, "epochs", 1), "epochs must be an integer >= 1"),
    (lambda: C.check_int(1.0, "epochs", 1), "epochs must be an integer >= 1"),
    (lambda: C.check_real(0, "lr", 0.0, strict=True), "lr must be a finite number > 0"),
    (lambda: C.check_real("x", "lr", 0.0, strict=True), "lr must be a number"),
    (lambda: C.check_real(math.nan, "w", 0.0, strict=False), "w must be a finite number >= 0"),
    (lambda: C.check_seed(-1), "seed must be a non-negative integer"),
    (lambda: C.check_seed(1.0), "seed must be a non-negative integer"),
    (lambda: C.check_pos_int(0, "hidden"), "hidden must be a positive integer"),
    (lambda: C.check_pos_int(None, "hidden"), "hidden must be a positive integer"),
    (lambda: C.check_hidden("a,b"), "comma-separated positive integers"),
    (lambda: C.check_hidden([]), "one or more positive integers"),
    (lambda: C.check_eps(1.0), r"eps must be in \[0, 1\)"),
    (lambda: C.check_eps(True), r"eps must be a number in \[0, 1\)"),
    (lambda: C.check_classes((1, 2)), "exactly three classes"),
    (lambda: C.check_classes((3, 3, 4)), "must be distinct"),
    (lambda: C.check_classes((1, 2, 10)), r"classes must be in 0\.\.9"),
    (lambda: C.parse_temperatures("1,x"), "comma-separated numbers"),
    (lambda: C.parse_temperatures("2,4"), "must include T = 1"),
])
def test_bad_values_raise_a_clear_value_error(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


def test_the_recipes_use_the_shared_checks():
    from subclass_lib.experiments import base, hinton, subclass_config, subclass_students

    assert base.check_scale is C.check_scale and base.SCALES is C.SCALES  # the old home still works
    assert hinton.check_seed is C.check_seed and subclass_config.check_int is C.check_int
    assert subclass_students.check_hidden is C.check_hidden


def test_one_argument_order_value_then_name():
    """Every check takes the value first and its name second; the other order fails loudly."""
    assert C.check_dropout(0.5, "dropout") == 0.5 and C.check_lr(1e-3) == 1e-3
    assert C.check_finite(-2, "shift") == -2.0 and C.check_finite(None, "shift", allow_none=True) is None
    assert C.check_bool(False, "match_steps") is False and C.check_choice("mlp", "teacher", ("mlp", "conv")) == "mlp"
    for call in (lambda: C.check_int("n", 3, 1), lambda: C.check_pos_int("h", 4), lambda: C.check_real("lr", 0.5, 0.0, True),
                 lambda: C.check_fraction("alpha", 0.5), lambda: C.check_seed(0, 0)):
        with pytest.raises(TypeError, match="value first"):
            call()
    for call, msg in [(lambda: C.check_dropout(1.0, "teacher_dropout"), r"teacher_dropout must be in \[0, 1\)"),
                      (lambda: C.check_lr(0), "lr must be a finite number > 0"),
                      (lambda: C.check_bool(1, "match_steps"), "match_steps must be True or False"),
                      (lambda: C.check_choice("resnet", "teacher", ("mlp",)), "teacher must be one of"),
                      (lambda: C.check_finite(math.inf, "bias_shift", allow_none=True), "bias_shift must be a finite"),
                      (lambda: C.check_fraction(True, "alpha"), "alpha must be a number"),
                      (lambda: C.check_temperature(True), "T must be a real number > 0"),
                      (lambda: C.check_temperature("4"), "T must be a real number > 0")]:
        with pytest.raises(ValueError, match=msg):
            call()


def test_the_losses_check_temperatures_with_the_shared_check():
    import torch

    from subclass_lib import losses

    assert losses.check_temperature is C.check_temperature and not hasattr(losses, "_check_T")
    assert C.check_temperature(torch.tensor(2.0)) == 2.0 and C.check_temperature(np.float32(0.5)) == 0.5
    for bad in (torch.tensor([2.0]), torch.tensor(True), torch.tensor(0.0), None):
        with pytest.raises(ValueError, match="T must be"):
            C.check_temperature(bad)
