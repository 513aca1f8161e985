"""Every place that names the book's repository names the same one (tools/set_repository.py)."""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import set_repository  # noqa: E402


def test_config_and_every_setup_cell_name_one_repository(capsys):
    assert set_repository.main(["--check"]) == 0, capsys.readouterr()


def test_set_url_rewrites_every_place(tmp_path, monkeypatch):
    (tmp_path / "chapters").mkdir()
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    for p in sorted((ROOT / "chapters").glob("*.ipynb"))[:2]:
        shutil.copy(p, tmp_path / "chapters" / p.name)
    monkeypatch.setattr(set_repository, "ROOT", tmp_path)
    monkeypatch.setattr(set_repository, "CONFIG", tmp_path / "_config.yml")
    assert set_repository.main(["https://github.com/someone/distillation-book/"]) == 0
    urls = {u for us in set_repository.places().values() for u in us}
    assert urls == {"https://github.com/someone/distillation-book"}
    try:
        set_repository.main(["not a url"])
    except SystemExit as exc:
        assert "OWNER/NAME" in str(exc)
    else:
        raise AssertionError("a bad URL must be refused")
