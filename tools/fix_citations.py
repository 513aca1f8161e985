"""Give every page of the book {cite} citations and its own bibliography at the end.

Sphinx citations are global: a key cited on several pages, each ending with a filtered
{bibliography}, makes sphinxcontrib-bibtex warn about duplicate citations (an error under -W).
Jupyter Book's documented fix is a per-page key prefix: the page cites {cite}`ch1-hinton2015`
and its bibliography carries ``:keyprefix: ch1-``. This tool writes both from plain keys:

* ``{cite}`key``` (or ``{footcite}``, ``{cite:p}``) becomes ``{cite}`<prefix>key``` with the
  page's prefix (``ch1-`` for ``chapters/01_*.ipynb``, ``intro-`` for ``book/intro.md``);
* ``{footbibliography}`` or a bare ``{bibliography}`` becomes a bibliography filtered to the
  page's citations, with that prefix.

Run after writing a page; it is idempotent. ``--check`` only reports pages that need it (for
the tests).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
ROLE = re.compile(r"\{(?:footcite|cite|cite:p)(?P<t>:t)?\}`(?P<keys>[^`]+)`")
BIB = re.compile(r"```\{(?:footbibliography|bibliography)\}[^`]*?```", re.S)


def page_prefix(path: Path) -> str:
    """``ch1-`` for ``chapters/01_distillation.ipynb``, ``intro-`` for ``book/intro.md``."""
    m = re.match(r"(\d+)_", path.name)
    return f"ch{int(m.group(1))}-" if m else f"{path.stem.replace('_', '-')}-"


def bibliography(prefix: str) -> str:
    return f"```{{bibliography}}\n:filter: docname in docnames\n:keyprefix: {prefix}\n```"


def fix_text(s: str, prefix: str) -> str:
    def role(m: re.Match) -> str:
        keys = [k.strip() for k in m.group("keys").split(",")]
        keys = [k if k.startswith(prefix) else prefix + k for k in keys]
        return "{cite%s}`%s`" % (m.group("t") or "", ",".join(keys))

    return BIB.sub(lambda _m: bibliography(prefix), ROLE.sub(role, s))


def pages() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only list pages that need fixing (exit 1 if any)")
    args = ap.parse_args(argv)
    stale = []
    for p in pages():
        prefix = page_prefix(p)
        if p.suffix == ".ipynb":
            nb = nbformat.read(p, as_version=4)
            changed = False
            for c in nb.cells:
                if c.cell_type == "markdown":
                    new = fix_text(c.source, prefix)
                    changed |= new != c.source
                    c.source = new
            if changed and not args.check:
                nbformat.write(nb, p)
        else:
            s = p.read_text()
            new = fix_text(s, prefix)
            changed = new != s
            if changed and not args.check:
                p.write_text(new)
        if changed:
            stale.append(p.relative_to(ROOT).as_posix())
            print(("needs fixing: " if args.check else "fixed ") + stale[-1])
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
