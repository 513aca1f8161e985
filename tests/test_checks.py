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
    assert C.check_int("n", np.int64(3), 1) == 3 and C.check_int("n", 8, 0, 8) == 8
    assert C.check_real("lr", "0.5", 0.0, strict=True) == 0.5 and C.check_real("w", 0, 0.0, strict=False) == 0.0
    assert C.check_seed(np.int32(7)) == 7 and C.check_seed(0) == 0
    assert C.check_pos_int("h", 4) == 4 and C.check_pos_int("h", None, allow_none=True) is None
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
    (lambda: C.check_int("n_sub", 0, 1, 50), r"n_sub must be an integer in \[1, 50\]"),
    (lambda: C.check_int("epochs", True, 1), "epochs must be an integer >= 1"),
    (lambda: C.check_int("epochs", 1.0, 1), "epochs must be an integer >= 1"),
    (lambda: C.check_real("lr", 0, 0.0, strict=True), "lr must be a finite number > 0"),
    (lambda: C.check_real("lr", "x", 0.0, strict=True), "lr must be a number"),
    (lambda: C.check_real("w", math.nan, 0.0, strict=False), "w must be a finite number >= 0"),
    (lambda: C.check_seed(-1), "seed must be a non-negative integer"),
    (lambda: C.check_seed(1.0), "seed must be a non-negative integer"),
    (lambda: C.check_pos_int("hidden", 0), "hidden must be a positive integer"),
    (lambda: C.check_pos_int("hidden", None), "hidden must be a positive integer"),
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
