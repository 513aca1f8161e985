"""Every page cites with {cite} (per-page key prefix) and ends with its own bibliography."""

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import fix_citations  # noqa: E402

BIB_KEYS = set(re.findall(r"@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text()))
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def markdown_cells(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text()]
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def test_pages_are_up_to_date_with_the_citation_tool(capsys):
    assert fix_citations.main(["--check"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("path", CHAPTERS + [ROOT / "book" / "intro.md"], ids=lambda p: p.name)
def test_page_cites_known_keys_and_ends_with_its_bibliography(path):
    cells = markdown_cells(path)
    text = "\n".join(cells)
    prefix = fix_citations.page_prefix(path)
    keys = [k.strip() for group in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", text) for k in group.split(",")]
    assert keys, f"{path.name} cites nothing"
    assert "footcite" not in text
    for k in keys:
        assert k.startswith(prefix), f"{path.name}: {k} lacks the page prefix {prefix}"
        assert k[len(prefix):] in BIB_KEYS, f"{path.name}: {k} is not in references.bib"
    last = cells[-1]
    assert re.search(r"```\{bibliography\}\n:filter: docname in docnames\n:keyprefix: " + re.escape(prefix), last)


def test_prefixes():
    assert fix_citations.page_prefix(Path("chapters/01_distillation.ipynb")) == "ch1-"
    assert fix_citations.page_prefix(Path("book/intro.md")) == "intro-"
    s = "see {footcite}`a,b` and {cite}`ch1-c`\n```{footbibliography}\n```"
    once = fix_citations.fix_text(s, "ch1-")
    assert once == fix_citations.fix_text(once, "ch1-")
    assert "{cite}`ch1-a,ch1-b`" in once and "{cite}`ch1-c`" in once and ":keyprefix: ch1-" in once
