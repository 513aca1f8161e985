"""tools/check_robustness.py on tiny notebooks: a failing claim is reported under a setting, a
reader seed counts every claim on every seed."""

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


def test_settings_name_the_documented_environments():
    assert set(robustness.SETTINGS) == {"one-thread", "two-threads", "avx2"}
    assert robustness.SETTINGS["avx2"]["ATEN_CPU_CAPABILITY"] == "avx2"
    assert robustness.SETTINGS["one-thread"]["OMP_NUM_THREADS"] == "1"
    assert robustness.SETTINGS["two-threads"]["SUBCLASS_LIB_THREADS"] == "2"
    every = robustness.chapter_paths(None)
    assert [p.name for p in robustness.chapter_paths(["01"])] == ["01_distillation.ipynb"] and len(every) >= 6
    with pytest.raises(SystemExit):
        robustness.chapter_paths(["99"])


def test_a_chapter_that_reads_other_chapters_models_needs_them_before_it():
    closing = robustness.chapter_paths(["06"])
    assert [p.name for p in closing] == ["06_what_passes.ipynb"]
    assert set(robustness.READS_FROM) == {p.name for p in closing}
    (why,) = robustness.unmet_sources(closing)
    assert "chapters 01, 02, 03, 04, 05" in why
    assert robustness.unmet_sources(robustness.chapter_paths(["06", "01", "02", "03", "04", "05"])) == []
    assert robustness.unmet_sources(robustness.chapter_paths(None)) == []
    with pytest.raises(SystemExit):
        robustness.main(["--settings", "avx2", "--chapters", "06"])


def test_a_failing_claim_is_reported_with_its_line(tmp_path):
    bad = _notebook(tmp_path / "bad.ipynb", "from subclass_lib.claims import claim\nx = 1",
                    "claim(x > 2, 'x is big')", "claim(x == 1, 'x is one')")
    r = robustness.run_setting("one-thread", [bad])
    assert not r["passed"] and r["env"]["OMP_NUM_THREADS"] == "1"
    assert any("bad.ipynb" in c for c in r["failed_cells"]), r
    assert r["claims"] == ["claim not met in this run: x is big  [x > 2]  with x = 1"], r
    good = _notebook(tmp_path / "good.ipynb", "from subclass_lib.claims import claim", "claim(1 < 2)")
    assert robustness.run_setting("avx2", [good])["passed"]


def test_reader_seeds_count_every_claim_on_every_seed(tmp_path):
    nb = _notebook(tmp_path / "reader.ipynb",
                   "import os\nfrom subclass_lib.claims import claim\nfrom subclass_lib.train import run_seed",
                   "s = run_seed(3)",
                   "claim(s == 3, 'the text was written for seed 0')",
                   "for k in range(2):\n    claim(s >= 3, 'a claim in a loop')",
                   "print('end')")
    r = robustness.run_reader_seeds([0, 1], [nb], log_dir=tmp_path / "logs")
    ch = r["chapters"]["reader.ipynb"]
    assert not r["passed"] and not ch["errors"] and ch["unchanged_seed_cells"] == []
    assert ch["claims"]["the text was written for seed 0"]["held"] == [0]
    assert ch["claims"]["the text was written for seed 0"]["failed"] == {"1": "s = 1003"}
    assert ch["claims"]["a claim in a loop"]["held"] == [0, 1]
    assert ch["claims"]["a claim in a loop (#2)"]["held"] == [0, 1]
    ok = _notebook(tmp_path / "ok.ipynb", "from subclass_lib.claims import claim", "claim(1 < 2)")
    assert robustness.run_reader_seeds([0, 2], [ok])["passed"]
    broken = _notebook(tmp_path / "broken.ipynb", "cfg = DemoConfig()")  # NameError: a real exception
    assert not robustness.run_reader_seeds([1], [broken])["passed"]
    own = _notebook(tmp_path / "own.ipynb", "import torch\ntorch.manual_seed(0)")  # a seed no reader seed changes
    r = robustness.run_reader_seeds([1], [own])
    assert not r["passed"] and r["chapters"]["own.ipynb"]["unchanged_seed_cells"] == [0]


def test_parse_seeds():
    assert robustness.parse_seeds("0-4") == [0, 1, 2, 3, 4] and robustness.parse_seeds("1,3") == [1, 3]
    for bad in ("", "a", "1,1", "-2"):
        with pytest.raises(ValueError):
            robustness.parse_seeds(bad)


def test_every_chapter_seeds_through_the_library():
    """A reader seed changes every seed a chapter uses only if the chapter seeds nothing itself."""
    for path in robustness.chapter_paths(None):
        assert robustness.unchanged_seeds(nbformat.read(path, as_version=4)) == [], path.name


def test_kept_files_puts_the_chapters_figures_back(tmp_path):
    """A run writes figures into the checkout (chapter 4's animation); the tool puts them back."""
    folder = tmp_path / "figures"
    folder.mkdir()
    (folder / "a.gif").write_bytes(b"seed 0")
    (folder / "gone.png").write_bytes(b"kept")
    with robustness.kept_files(folder):
        (folder / "a.gif").write_bytes(b"reader seed 4")
        (folder / "gone.png").unlink()
        (folder / "new.png").write_bytes(b"new")
    assert (folder / "a.gif").read_bytes() == b"seed 0" and (folder / "gone.png").read_bytes() == b"kept"
    assert not (folder / "new.png").exists()
