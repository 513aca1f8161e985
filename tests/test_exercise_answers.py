"""tools/exercise_answers.py: which exercises a run records, and what it keeps of the file."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def tool(monkeypatch):
    spec = importlib.util.spec_from_file_location("exercise_answers", ROOT / "tools" / "exercise_answers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    calls = []

    def fake(n, value):
        def fn(seeds):
            calls.append((n, tuple(seeds)))
            return {"value": value, "seeds": list(seeds)}
        return fn

    monkeypatch.setattr(mod, "EXERCISES", {9: {1: fake(1, "a"), 2: fake(2, "b")}})
    mod.calls, mod.fake = calls, fake
    return mod


def test_every_chapter_registers_its_recorded_exercises():
    spec = importlib.util.spec_from_file_location("exercise_answers_real", ROOT / "tools" / "exercise_answers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert set(mod.EXERCISES[1]) == {4, 5}
    assert {3, 4, 5} <= set(mod.EXERCISES)
    assert mod.parse_seeds("0-2") == [0, 1, 2] and mod.parse_seeds("0,3") == [0, 3]


def test_all_exercises_then_some_keeps_the_others(tool, tmp_path):
    out = tmp_path / "ch9.json"
    assert tool.main(["--chapter", "9", "--json", str(out)]) == 0
    first = json.loads(out.read_text())
    assert first["exercise 1"]["value"] == "a" and first["exercise 2"]["value"] == "b"
    assert first["seeds"] == [0, 1, 2]
    assert first["commands"]["exercise 2"].endswith("--chapter 9 --exercises 2")
    tool.EXERCISES[9][2] = tool.fake(2, "new")
    tool.main(["--chapter", "9", "--exercises", "2", "--seeds", "0,1", "--json", str(out)])
    second = json.loads(out.read_text())
    assert second["exercise 1"] == first["exercise 1"]  # kept
    assert second["exercise 2"] == {"value": "new", "seeds": [0, 1]}
    assert second["commands"]["exercise 2"] == "python tools/exercise_answers.py --chapter 9 --seeds 0,1 --exercises 2"
    assert tool.calls == [(1, (0, 1, 2)), (2, (0, 1, 2)), (2, (0, 1))]


def test_an_exercise_it_does_not_record_is_an_error(tool, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        tool.main(["--chapter", "9", "--exercises", "3", "--json", str(tmp_path / "x.json")])
    assert e.value.code == 2 and "no recorded exercise [3]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main(["--chapter", "7"])
