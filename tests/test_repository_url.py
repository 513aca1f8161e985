"""Every place that names the book's repository names the same one, and every chapter's
Colab/Binder setup cell is the one tools/set_repository.py writes."""

import ast
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import set_repository  # noqa: E402


def test_config_and_every_setup_cell_name_one_repository(capsys):
    found = set_repository.places()
    urls = {u for us in found.values() for u in us}
    assert len(urls) == 1 and all(found.values()), found


def test_every_setup_cell_is_the_one_the_tool_writes():
    stale = set_repository.stale_cells()
    assert not stale, "\n".join(stale) + "\nrun: python tools/set_repository.py --cells"


def test_the_setup_cell_is_python_and_hidden():
    src = set_repository.setup_source("https://github.com/someone/book")
    ast.parse(src)
    assert src.startswith(set_repository.SETUP_MARK)
    assert set_repository.CELL_URL.findall(src) == ["https://github.com/someone/book"] * 2
    for p in set_repository.notebooks():
        cell = set_repository.setup_cell(nbformat.read(p, as_version=4))
        assert cell is not None and "remove-cell" in cell.metadata.get("tags", []), p.name


@pytest.fixture
def book(tmp_path, monkeypatch):
    """A copy of _config.yml and two chapters, with the tool pointed at it."""
    (tmp_path / "chapters").mkdir()
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    for p in sorted((ROOT / "chapters").glob("*.ipynb"))[:2]:
        shutil.copy(p, tmp_path / "chapters" / p.name)
    monkeypatch.setattr(set_repository, "ROOT", tmp_path)
    monkeypatch.setattr(set_repository, "CONFIG", tmp_path / "_config.yml")
    return tmp_path


def test_set_url_rewrites_every_place(book):
    assert set_repository.main(["https://github.com/someone/distillation-book/"]) == 0
    urls = {u for us in set_repository.places().values() for u in us}
    assert urls == {"https://github.com/someone/distillation-book"}
    assert set_repository.stale_cells() == []
    try:
        set_repository.main(["not a url"])
    except SystemExit as exc:
        assert "OWNER/NAME" in str(exc)
    else:
        raise AssertionError("a bad URL must be refused")


def test_the_tool_is_idempotent_and_check_reports_a_stale_cell(book, capsys):
    url = "https://github.com/someone/distillation-book"
    assert set_repository.main([url]) == 0
    before = {p.name: p.read_bytes() for p in (book / "chapters").glob("*.ipynb")} | {
        "_config.yml": (book / "_config.yml").read_bytes()}
    assert set_repository.main([url]) == 0
    assert set_repository.main(["--cells"]) == 0
    after = {p.name: p.read_bytes() for p in (book / "chapters").glob("*.ipynb")} | {
        "_config.yml": (book / "_config.yml").read_bytes()}
    assert after == before, "a second run must change nothing"

    # an old or hand-edited setup cell (same URL) is reported by --check and fixed by --cells
    first = sorted((book / "chapters").glob("*.ipynb"))[0]
    nb = nbformat.read(first, as_version=4)
    set_repository.setup_cell(nb).source = set_repository.setup_source(url).replace("import subclass_lib.widgets",
                                                                                    "import subclass_lib")
    nbformat.write(nb, first)
    capsys.readouterr()
    assert set_repository.main(["--check"]) == 1
    assert f"{first.name}: the setup cell is not the one" in capsys.readouterr().err
    assert set_repository.main(["--cells", str(first)]) == 0
    assert first.read_bytes() == before[first.name]


def test_a_chapter_without_a_setup_cell_gets_one(book):
    first = sorted((book / "chapters").glob("*.ipynb"))[0]
    nb = nbformat.read(first, as_version=4)
    n_cells = len(nb.cells)
    nb.cells.pop(0)
    nbformat.write(nb, first)
    assert any("no setup cell" in s for s in set_repository.stale_cells())
    set_repository.write_cells(set_repository.config_url(), [first])
    nb = nbformat.read(first, as_version=4)
    assert len(nb.cells) == n_cells and nb.cells[0].metadata.tags == ["remove-cell"]
    assert nb.cells[0].source == set_repository.setup_source(set_repository.config_url())
