"""tools/sweep_teacher.py: the sweep that chose chapter 4's default (settings, seeds, a tiny run)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import sweep_teacher  # noqa: E402


def test_settings_and_seeds_parse_to_typed_values():
    assert sweep_teacher.parse_setting("sharpen=0.4 view_shift=2") == {"sharpen": 0.4, "view_shift": 2}
    assert sweep_teacher.parse_setting("aux=contrastive") == {"aux": "contrastive"}
    assert sweep_teacher.parse_seeds("5-9") == [5, 6, 7, 8, 9]
    assert sweep_teacher.parse_seeds("0,2") == [0, 2]
    for row in sweep_teacher.RECORDED:  # every recorded row is a valid setting
        assert sweep_teacher.parse_setting(row)


@pytest.mark.parametrize("argv", [["--set", "sharpen=-1"], ["--set", "bogus=1"], ["--set", "seed=3"],
                                  ["--set", "view_shift=two"], ["--seeds", "x"], ["--seeds", "3-1"]])
def test_bad_input_exits_with_code_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        sweep_teacher.main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_tiny_sweep_prints_and_writes_its_rows(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SUBCLASS_LIB_CACHE", str(tmp_path / "models"))
    tiny = "teacher_epochs=1 student_epochs=1 teacher_fraction=0.02 consistency=0"
    out = tmp_path / "sweep.json"
    assert sweep_teacher.main(["--seeds", "0,1", "--workers", "1", "--set", tiny,
                               "--set", tiny + " sharpen=0.5", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "over seeds 0-1" in text and "sharpen=0.5" in text
    rows = json.loads(out.read_text())["rows"]
    assert [r["setting"].endswith("sharpen=0.5") for r in rows] == [False, True]
    for r in rows:
        assert 0.0 <= r["teacher"] <= 1.0 and 0.0 <= r["student"] <= 1.0 and r["teacher std"] >= 0.0
