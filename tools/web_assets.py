"""Local copies of the JavaScript the rendered book needs, so the HTML works offline.

The HTML book uses MathJax (the equations) and the ipywidgets HTML manager with RequireJS (the
stored widget state). By default Sphinx and MyST-NB load them from public CDNs, so a reader with
no internet sees raw LaTeX and no widgets. This module fetches pinned releases from the npm
registry (a package registry, like PyPI), checks each tarball's SHA-256, and extracts the files
the book uses into a cache directory; ``book/_ext/book_fixes.py`` adds that directory to the
book's static files and points MathJax and the widget manager at the local copies.

    python tools/web_assets.py            # fetch (or reuse) and print the directory

The cache is ``$SUBCLASS_LIB_WEB_CACHE`` if set, else ``~/.cache/subclass_lib/web``. Once
fetched, building the book needs no network.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"

#: (npm tarball path, sha256 of the tarball, {member prefix in the tarball: destination under vendor/})
ASSETS = [
    ("mathjax/-/mathjax-3.2.2.tgz",
     "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09",
     {"package/es5/tex-mml-chtml.js": "mathjax/tex-mml-chtml.js",
      "package/es5/input/tex/extensions/": "mathjax/input/tex/extensions/",
      "package/es5/input/mml/extensions/": "mathjax/input/mml/extensions/",
      "package/es5/output/chtml/fonts/woff-v2/": "mathjax/output/chtml/fonts/woff-v2/",
      "package/es5/a11y/": "mathjax/a11y/",
      "package/es5/ui/": "mathjax/ui/",
      "package/LICENSE": "mathjax/LICENSE"}),
    ("requirejs/-/requirejs-2.3.6.tgz",
     "1d1a8a5ea21b941f5c80f7caf3ac7f3e1cb8cf2903a706d5c0d15434eaedd326",
     {"package/require.js": "require.js"}),
    ("@jupyter-widgets/html-manager/-/html-manager-1.0.6.tgz",
     "6c198ceb99ba7e7526990a1de16e8147ad7d3a714e3fb06741183623c04b5f6e",
     {"package/dist/embed-amd.js": "html-manager/embed-amd.js",
      "package/LICENSE": "html-manager/LICENSE"}),
]

#: Font-awesome files of the widget CSS. The bundled modules find them relative to their
#: RequireJS module URLs (``@jupyter-widgets/base.js``, ``@jupyter-widgets/html-manager/dist/...``
#: under RequireJS's ``baseUrl``, which ``requirejs-config.js`` sets to ``vendor/html-manager/``).
WIDGET_FONTS = ("23f19bb08961f37aaf69.eot", "77206a6bb316fa0aded5.eot", "9bbb245e67a133f6e486.eot",
                "2f517e09eb2ca6650ff5.svg", "4689f52cc96215721344.svg", "7a8b4f130182d19a2d7c.svg",
                "491974d108fe4002b2aa.ttf", "527940b104eb2ea366c8.ttf", "be9ee23c0c6390141475.ttf",
                "2285773e6b4b172f07d9.woff", "bb58e57c48a3e911f15f.woff", "eeccf4f66002c6f2ba24.woff",
                "1551f4f60c37af51121f.woff2", "7a3337626410ca2f4071.woff2", "d878b0a6a1144760244f.woff2")
FONT_DIRS = ("html-manager/@jupyter-widgets/html-manager/dist/", "html-manager/@jupyter-widgets/")
ASSETS[2][2].update({f"package/dist/{n}": FONT_DIRS[0] + n for n in WIDGET_FONTS})

#: Small scripts of our own, written next to the fetched files.
LOCAL_SCRIPTS = {
    # RequireJS resolves module URLs from the page's folder by default; point it at the vendor folder
    "requirejs-config.js": """// written by tools/web_assets.py
(function () {
  var root = new URL(document.documentElement.dataset.content_root || "./", document.baseURI);
  window.requirejs.config({baseUrl: new URL("_static/vendor/html-manager/", root).href});
})();
""",
    # The widget manager typesets labels with MathJax 2's MathJax.Hub.Queue; the book loads MathJax 3.
    # Give every object assigned to window.MathJax a Hub.Queue that calls MathJax 3's typesetPromise.
    "mathjax2-shim.js": """// written by tools/web_assets.py
(function () {
  var hub = {Queue: function (job) {
    var el = job && job[2], mj = window.MathJax;
    if (el && mj && typeof mj.typesetPromise === "function") { mj.typesetPromise([el]).catch(function () {}); }
  }};
  function patch(v) {
    if (v && typeof v === "object" && !("Hub" in v)) {
      try { Object.defineProperty(v, "Hub", {value: hub, configurable: true, writable: true}); } catch (e) {}
    }
    return v;
  }
  var current = patch(window.MathJax);
  Object.defineProperty(window, "MathJax", {configurable: true, enumerable: true,
    get: function () { return current; }, set: function (v) { current = patch(v); }});
})();
""",
    # ipywidgets 8's StackView posts a resize message to the child view it has just rendered. When the
    # selected index changes again before that message is delivered (a reader pressing an arrow key of
    # a static panel's slider twice quickly), that view is already disposed and the message throws
    # "Cannot read properties of null (reading 'processLuminoMessage')". A disposed view has nothing to
    # lay out: drop the messages that reach it.
    "widgets-stack-fix.js": """// written by tools/web_assets.py
window.require(["@jupyter-widgets/base"], function (base) {
  [base.JupyterLuminoWidget, base.JupyterLuminoPanelWidget].forEach(function (W) {
    if (!W || W.prototype._dropsMessagesWhenDisposed) { return; }
    var process = W.prototype.processMessage;
    W.prototype.processMessage = function (msg) { if (this._view) { process.call(this, msg); } };
    W.prototype._dropsMessagesWhenDisposed = true;
  });
});
""",
}

#: Paths under the static directory that the book's configuration points at.
MATHJAX_PATH = "vendor/mathjax/tex-mml-chtml.js"
MATHJAX_SHIM = "vendor/mathjax2-shim.js"
WIDGETS_JS = ["vendor/require.js", "vendor/requirejs-config.js", "vendor/html-manager/embed-amd.js",
              "vendor/widgets-stack-fix.js"]


class WebAssetsUnavailable(RuntimeError):
    """The pinned assets are neither cached nor downloadable."""


def cache_root() -> Path:
    env = os.environ.get("SUBCLASS_LIB_WEB_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "subclass_lib" / "web"


def _fingerprint() -> str:
    h = hashlib.sha256()
    for path, sha, members in ASSETS:
        h.update(f"{path}:{sha}:{sorted(members.items())}".encode())
    h.update(repr((sorted(LOCAL_SCRIPTS.items()), FONT_DIRS)).encode())
    return h.hexdigest()[:16]


def _tarball(path: str, sha: str, cache: Path) -> bytes:
    local = cache / "tarballs" / Path(path).name
    if local.exists():
        data = local.read_bytes()
        if hashlib.sha256(data).hexdigest() == sha:
            return data
        local.unlink()  # corrupt or different: fetch again
    url = f"{REGISTRY}/{path}"
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            data = r.read()
    except OSError as exc:
        raise WebAssetsUnavailable(f"could not download {url} ({exc}); connect to the npm registry once, or "
                                   f"copy the tarball to {local}") from None
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        raise WebAssetsUnavailable(f"{url}: SHA-256 {got} does not match the pinned {sha}")
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(local)
    return data


def _extract(data: bytes, members: dict[str, str], vendor: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        found = set()
        for m in tar.getmembers():
            if not m.isfile():
                continue
            for prefix, dest in members.items():
                if m.name == prefix or (prefix.endswith("/") and m.name.startswith(prefix)):
                    rel = dest + m.name[len(prefix):] if prefix.endswith("/") else dest
                    target = (vendor / rel).resolve()
                    if vendor.resolve() not in target.parents:
                        raise WebAssetsUnavailable(f"unsafe path in tarball: {m.name}")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(m).read())
                    found.add(prefix)
        missing = set(members) - found
        if missing:
            raise WebAssetsUnavailable(f"tarball lacks {sorted(missing)}")


def ensure(cache: Path | None = None) -> Path:
    """Return a directory holding ``vendor/...`` (to add to ``html_static_path``), fetching and
    extracting the pinned assets on first use. Raises :class:`WebAssetsUnavailable`."""
    cache = cache_root() if cache is None else Path(cache)
    root = cache / f"static-{_fingerprint()}"
    if (root / ".complete").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="static-", dir=cache))
    try:
        for path, sha, members in ASSETS:
            _extract(_tarball(path, sha, cache), members, tmp / "vendor")
        for n in WIDGET_FONTS:  # the same fonts in the second folder the bundles look in
            for d in FONT_DIRS[1:]:
                shutil.copyfile(tmp / "vendor" / FONT_DIRS[0] / n, tmp / "vendor" / d / n)
        for name, text in LOCAL_SCRIPTS.items():
            (tmp / "vendor" / name).write_text(text)
        (tmp / ".complete").write_text("ok\n")
        if root.exists():
            shutil.rmtree(root)
        tmp.replace(root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


if __name__ == "__main__":
    try:
        print(ensure())
    except WebAssetsUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
