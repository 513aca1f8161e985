"""Use per-page footnote citations ({footcite} + {footbibliography}) in the book's pages.

A key cited on several pages with {cite} + a filtered {bibliography} on each page makes
sphinxcontrib-bibtex warn about duplicate citations (and -W turns that into an error);
footnote citations are local to each page. Run after writing a page; idempotent.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BIB = re.compile(r"```\{bibliography\}\s*\n(?::filter:[^\n]*\n)?```")


def fix_text(s: str) -> str:
    s = s.replace("{cite}`", "{footcite}`").replace("{cite:p}`", "{footcite}`").replace("{cite:t}`", "{footcite:t}`")
    return BIB.sub("```{footbibliography}\n```", s)


def main() -> int:
    for p in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(p, as_version=4)
        changed = False
        for c in nb.cells:
            if c.cell_type == "markdown":
                new = fix_text(c.source)
                changed |= new != c.source
                c.source = new
        if changed:
            nbformat.write(nb, p)
            print("fixed", p.name)
    for p in sorted((ROOT / "book").glob("*.md")):
        s = p.read_text()
        new = fix_text(s)
        if new != s:
            p.write_text(new)
            print("fixed", p.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
