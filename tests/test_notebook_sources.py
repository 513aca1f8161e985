"""What the chapter notebooks store, checked without running them.

* No control characters (other than the newline) in any cell's source: they come from Python
  strings written without ``r""`` (``"\\text"`` holds a tab, ``"\\frac"`` a form feed, ``"\\beta"``
  a backspace) and make MathJax print "Math input error" in the book.
* No stray return value of a matplotlib call stored as a cell's result (``Text(...)``,
  ``[<matplotlib.lines.Line2D ...>]``, ``<matplotlib.legend.Legend ...>``): the book shows it
  as a line of noise under the code. End such a line with ``;`` or assign it.
* The same LaTeX-in-a-plain-string slip in the library and the tools, which write markdown and
  figure titles from Python strings: no string constant holds a control character followed by
  the rest of a LaTeX command (a tab then ``ext``, a form feed then ``rac``, ...).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
NAMES = {"\t": "\\t (tab: \\text?)", "\x0c": "\\f (form feed: \\frac?)", "\x08": "\\b (backspace: \\beta?)",
         "\x0b": "\\v (vertical tab: \\vec?)", "\r": "\\r (carriage return: \\rho?)", "\x07": "\\a (bell: \\alpha?)"}
# reprs of matplotlib artists, alone or in a list or tuple: Text(0.5, 1.0, 'title'),
# [<matplotlib.lines.Line2D at 0x...>], <matplotlib.legend.Legend at 0x...>
MPL_REPR = re.compile(r"^\s*[\[(]*\s*(Text\(|<matplotlib\.|<mpl_toolkits\.)")


# control character -> the rest of LaTeX commands that start with the escape it came from
LATEX_TAILS = {"\t": ("ext", "imes", "heta", "au", "ilde", "op", "riangle"), "\x0c": ("rac", "orall"),
               "\x08": ("eta", "ar", "egin", "oldsymbol", "ig", "inom"), "\x07": ("lpha", "pprox"),
               "\x0b": ("ec", "arepsilon", "arphi"), "\r": ("ho", "ight", "m", "angle")}
LATEX_SLIP = re.compile("|".join(re.escape(c) + "(?:" + "|".join(t) + ")" for c, t in LATEX_TAILS.items()))


def _cells(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def control_characters(path: Path) -> list[str]:
    found = []
    for i, cell in enumerate(_cells(path)):
        src = _text(cell["source"])
        for m in CONTROL.finditer(src):
            line = src.count("\n", 0, m.start()) + 1
            found.append(f"{path.name} cell {i} ({cell['cell_type']}), line {line}: "
                         f"{NAMES.get(m.group(), repr(m.group()))} in {src[max(0, m.start() - 30):m.start() + 10]!r}")
    return found


def stray_matplotlib_results(path: Path) -> list[str]:
    found = []
    for i, cell in enumerate(_cells(path)):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "execute_result":
                continue
            data = out.get("data", {})
            text = _text(data.get("text/plain", ""))
            if MPL_REPR.match(text) and not any(k.startswith("image/") for k in data):
                found.append(f"{path.name} cell {i}: a matplotlib call's return value is stored as output: "
                             f"{text[:80]!r} (end the line with ';' or assign it)")
    return found


def test_there_are_chapters():
    assert len(CHAPTERS) >= 7  # 00 (the data) to 06 (the closing chapter)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_control_characters_in_cell_sources(path):
    found = control_characters(path)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_stray_matplotlib_return_values_in_outputs(path):
    found = stray_matplotlib_results(path)
    assert not found, "\n".join(found)


def latex_slips(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for m in LATEX_SLIP.finditer(node.value):
                found.append(f"{path.parent.name}/{path.name}:{node.lineno}: {m.group()!r} (a LaTeX command in a "
                             "string without r\"\"?)")
    return found


def test_no_latex_commands_broken_by_escapes_in_python_sources():
    files = sorted((ROOT / "subclass_lib").rglob("*.py")) + sorted((ROOT / "tools").glob("*.py"))
    assert files
    found = [f for p in files for f in latex_slips(p)]
    assert not found, "\n".join(found)


def _notebook(tmp_path, source: str, outputs=()) -> Path:
    p = tmp_path / "nb.ipynb"
    p.write_text(json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": [source]},
                                       {"cell_type": "code", "metadata": {}, "execution_count": 1,
                                        "source": ["x"], "outputs": list(outputs)}]}))
    return p


def test_the_checks_catch_what_they_are_for(tmp_path):
    # the chapter 4 equation as it was: "\text", "\frac", "\beta" written without r""
    bad = _notebook(tmp_path, "$$\\mathcal{L}_{\text{cons}} = -\frac{1}{n}, \beta$$\n")
    found = control_characters(bad)
    assert len(found) == 3 and "\\t (tab" in found[0] and "\\f (form feed" in found[1] and "\\b (backspace" in found[2]
    assert control_characters(_notebook(tmp_path, r"$$\text{ok} \frac{1}{2} \beta$$" + "\n\n")) == []
    py = tmp_path / "m.py"
    py.write_text('TITLE = "$\\frac{1}{T}$ and $\\beta$"\nOK = "a\\tb" + r"$\\frac{1}{2}$"\n')
    found = latex_slips(py)
    assert len(found) == 2 and "'\\x0crac'" in found[0] and "'\\x08eta'" in found[1], found

    def result(text):
        return {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                "data": {"text/plain": [text]}}

    for text in ["Text(56.11, 0.5, 'jittered')", "[<matplotlib.lines.Line2D at 0x7f0>]",
                 "<matplotlib.legend.Legend at 0x7f1>", "<matplotlib.image.AxesImage at 0x7f2>",
                 "(<matplotlib.collections.PathCollection at 0x1>,)", "[Text(0, 0, '0'), Text(1, 0, '1')]"]:
        assert stray_matplotlib_results(_notebook(tmp_path, "ok", [result(text)])), text
    for text in ["0.9812", "'Text(' is a word", "{'accuracy': 0.98}"]:
        assert not stray_matplotlib_results(_notebook(tmp_path, "ok", [result(text)])), text


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_figure_shown_twice(path):
    """A cell whose last line returns a Figure shows it twice: once as its result, once from the
    inline backend at the end of the cell. Assign it (``fig = ...``) instead."""
    doubled = [i for i, cell in enumerate(_cells(path)) if cell["cell_type"] == "code"
               and sum("image/png" in o.get("data", {}) for o in cell.get("outputs", [])) > 1
               and any(o["output_type"] == "execute_result" and "image/png" in o.get("data", {})
                       for o in cell.get("outputs", []))]
    assert not doubled, f"{path.name}: cells {doubled} store their figure twice"
