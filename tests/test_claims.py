"""The claim helper of the chapters' hidden cells (subclass_lib/claims.py)."""

import numpy as np
import pytest

from subclass_lib import claims
from subclass_lib.claims import claim


def test_a_claim_that_holds_returns_true_in_both_modes(monkeypatch, capsys):
    for mode in ("strict", "warn"):
        monkeypatch.setenv(claims.ENV, mode)
        assert claim(np.float64(0.98) > 0.97, "numpy booleans count") is True
    assert capsys.readouterr().out == ""


def test_strict_raises_with_the_claim_and_this_runs_numbers(monkeypatch):
    monkeypatch.setenv(claims.ENV, "strict")
    distilled, hard = 0.9711, 0.9725
    with pytest.raises(AssertionError) as err:
        claim(distilled > hard + 0.003, "distillation beats hard labels")
    text = str(err.value)
    assert text.startswith("claim not met in this run: distillation beats hard labels")
    assert "distilled > hard + 0.003" in text
    assert "distilled = 0.9711" in text and "hard = 0.9725" in text


def test_warn_prints_one_line_and_goes_on(monkeypatch, capsys):
    monkeypatch.setenv(claims.ENV, "warn")
    accs = {"T=1": 0.91, "T=20": 0.93}
    assert claim(accs["T=1"] > accs["T=20"]) is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "claim not met in this run: accs['T=1'] > accs['T=20']" in out
    assert "accs['T=1'] = 0.91" in out and "accs['T=20'] = 0.93" in out


def test_unset_means_warn_and_a_bad_mode_is_an_error(monkeypatch, capsys):
    monkeypatch.delenv(claims.ENV, raising=False)
    assert claims.claims_mode() == "warn"
    assert claim(1 > 2) is False
    assert "claim not met" in capsys.readouterr().out
    monkeypatch.setenv(claims.ENV, "loud")
    with pytest.raises(ValueError, match="strict"):
        claims.claims_mode()


def test_multi_line_claims_and_any_message_object(monkeypatch, capsys):
    monkeypatch.setenv(claims.ENV, "warn")
    row = {"A share": 0.7}
    claim(
        0.45 < row["A share"]
        < 0.55,
        row,
    )
    out = capsys.readouterr().out
    assert "{'A share': 0.7}" in out and "row['A share'] = 0.7" in out


def test_the_test_session_is_strict():
    # conftest.py sets it for nbval's kernels, which inherit this process's environment
    import os

    assert os.environ.get(claims.ENV) == "strict" or claims.claims_mode() == "strict"
