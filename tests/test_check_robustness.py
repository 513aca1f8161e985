"""tools/check_robustness.py on tiny notebooks: a failing claim is reported under a setting, a
reader's run with another seed prints claim lines instead of raising."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("check_robustness", ROOT / "tools" / "check_robustness.py")
robustness = importlib.util.module_from_spec(spec)
sys.modules["check_robustness"] = robustness
spec.loader.exec_module(robustness)


def _notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


CONFIG = "class DemoConfig:\n    def __init__(self, seed=0):\n        self.seed = seed\n"


def test_settings_name_the_documented_environments():
    assert set(robustness.SETTINGS) == {"one-thread", "two-threads", "avx2"}
    assert robustness.SETTINGS["avx2"]["ATEN_CPU_CAPABILITY"] == "avx2"
    assert robustness.SETTINGS["one-thread"]["OMP_NUM_THREADS"] == "1"
    assert robustness.SETTINGS["two-threads"]["SUBCLASS_LIB_THREADS"] == "2"
    every = robustness.chapter_paths(None)
    assert [p.name for p in robustness.chapter_paths(["01"])] == ["01_distillation.ipynb"] and len(every) >= 6
    with pytest.raises(SystemExit):
        robustness.chapter_paths(["99"])


def test_a_failing_claim_is_reported_with_its_line(tmp_path):
    bad = _notebook(tmp_path / "bad.ipynb", "from subclass_lib.claims import claim\nx = 1",
                    "claim(x > 2, 'x is big')", "claim(x == 1, 'x is one')")
    r = robustness.run_setting("one-thread", [bad])
    assert not r["passed"] and r["env"]["OMP_NUM_THREADS"] == "1"
    assert any("bad.ipynb" in c for c in r["failed_cells"]), r
    assert r["claims"] == ["claim not met in this run: x is big  [x > 2]  with x = 1"], r
    good = _notebook(tmp_path / "good.ipynb", "from subclass_lib.claims import claim", "claim(1 < 2)")
    assert robustness.run_setting("avx2", [good])["passed"]


def test_a_reader_with_another_seed_sees_claim_lines_not_an_exception(tmp_path):
    nb = _notebook(tmp_path / "reader.ipynb", "from subclass_lib.claims import claim\n" + CONFIG,
                   "cfg = DemoConfig()", "claim(cfg.seed == 0, 'the text was written for seed 0')", "print('end')")
    r = robustness.run_reader_seed(1, [nb])
    ch = r["chapters"]["reader.ipynb"]
    assert r["passed"] and ch["error"] is None and ch["configs_changed"] == 1
    assert ch["claims"] == ["claim not met in this run: the text was written for seed 0  [cfg.seed == 0]  with cfg.seed = 1"]
    broken = _notebook(tmp_path / "broken.ipynb", "cfg = DemoConfig()")  # NameError: a real exception
    assert not robustness.run_reader_seed(1, [broken])["passed"]
