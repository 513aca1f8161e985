"""Point the book at its public repository: one command for every place that names it.

    python tools/set_repository.py https://github.com/OWNER/NAME
    python tools/set_repository.py --check     # print the URL each place names; exit 1 if they differ

The repository URL is used by the launch buttons and the repository link (``_config.yml``,
``repository: url:``) and by the hidden Colab/Binder setup cell of every chapter, which
installs the library with ``pip install git+URL`` when it is missing. Only the source of that
cell changes, so the stored outputs stay valid.
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
CELL_URL = re.compile(r"git\+(https://[^\"'\s]+)")
VALID = re.compile(r"^https://(github\.com|gitlab\.com)/[\w.-]+/[\w.-]+$")


def config_url() -> str:
    m = CONFIG_URL.search(CONFIG.read_text())
    if not m:
        raise SystemExit("_config.yml has no repository: url:")
    return m.group(2)


def notebooks() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*.ipynb"))


def cell_urls(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [u for c in nb.cells if c.cell_type == "code" for u in CELL_URL.findall(c.source)]


def places() -> dict[str, list[str]]:
    out = {"_config.yml": [config_url()]}
    for p in notebooks():
        out[p.relative_to(ROOT).as_posix()] = cell_urls(p)
    return out


def set_url(url: str) -> None:
    if not VALID.match(url):
        raise SystemExit(f"not a repository URL of the form https://github.com/OWNER/NAME: {url!r}")
    text = CONFIG.read_text()
    CONFIG.write_text(CONFIG_URL.sub(lambda m: m.group(1) + url, text, count=1))
    for p in notebooks():
        nb = nbformat.read(p, as_version=4)
        changed = False
        for c in nb.cells:
            if c.cell_type == "code" and CELL_URL.search(c.source):
                new = CELL_URL.sub("git+" + url, c.source)
                changed |= new != c.source
                c.source = new
        if changed:
            nbformat.write(nb, p)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url", nargs="?", help="https://github.com/OWNER/NAME")
    ap.add_argument("--check", action="store_true", help="list the URLs; exit 1 if the places disagree")
    args = ap.parse_args(argv)
    if args.url:
        set_url(args.url.rstrip("/"))
    found = places()
    for where, urls in found.items():
        print(f"{where}: {', '.join(urls) or '(none)'}")
    distinct = {u for urls in found.values() for u in urls}
    missing = [w for w, urls in found.items() if not urls]
    if len(distinct) != 1 or missing:
        print("the places disagree or some name no URL", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
