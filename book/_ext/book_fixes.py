"""Small Sphinx fixes for the rendered book, found by tests/test_browser.py.

* Every page declared sphinx-thebe's inline configuration script twice, and the second
  ``const THEBE_JS_URL`` threw "Identifier has already been declared" in the browser:
  drop exact duplicate script entries from each page's context.
* MathJax and the ipywidgets HTML manager (with RequireJS) come from local copies
  (``tools/web_assets.py``: pinned npm releases, SHA-256 checked, cached after the first
  fetch) instead of public CDNs, so the built HTML renders equations and stored widgets
  offline. If the copies cannot be had, the build warns (an error under ``-W``) and the
  pages fall back to the CDNs. With the widget manager comes ``widgets-stack-fix.js``, which
  keeps a ``Stack`` that switches twice in quick succession (a static panel's slider,
  ``subclass_lib.widgets.static_panel``) from throwing in the console.
* ``book/_static/book.css``: output figures as wide as the text column, result tables
  (``subclass_lib.experiments.result_table``) styled as tables, long printed lines wrapped.
* Inline maths keeps the punctuation that touches it on its line: MathJax draws it as an inline
  block, after which the browser may break a line, so a sentence's full stop or comma (or an opening
  bracket before it) could start or end a line on its own. Each such run is wrapped in a
  ``<span class="nowrap">``.
"""

import importlib.util
import re
from pathlib import Path

from docutils import nodes

from sphinx.util import logging

_LOG = logging.getLogger(__name__)
_ROOT = Path(__file__).resolve().parents[2]


def _web_assets():
    spec = importlib.util.spec_from_file_location("_book_web_assets", _ROOT / "tools" / "web_assets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _use_local_assets(app, config):
    wa = _web_assets()
    try:
        static = wa.ensure()
    except wa.WebAssetsUnavailable as exc:
        _LOG.warning(f"offline copies of MathJax and the widget manager are unavailable ({exc}); "
                     "the HTML will load them from public CDNs")
        return
    config.html_static_path = list(config.html_static_path) + [str(static)]
    config.mathjax_path = wa.MATHJAX_PATH
    config.nb_ipywidgets_js = {path: {} for path in wa.WIDGETS_JS}
    app.add_js_file(wa.MATHJAX_SHIM, priority=100)  # before MathJax's configuration and loader


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # the same inline script is registered once with filename None and once with ""
        key = (getattr(js, "filename", js) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def _book_css(app, config):
    """The book's own stylesheet (figures as wide as the column, result tables): book/_static/book.css."""
    config.html_static_path = list(config.html_static_path) + [str(_ROOT / "book" / "_static")]
    app.add_css_file("book.css")


_AFTER = re.compile(r"^[.,;:!?)\]\u2019\u201d]+")  # punctuation that closes on the maths' line
_BEFORE = re.compile(r"[(\[\u2018\u201c]+$")  # and brackets or quotes that open onto it


def _keep_punctuation_with_math(app, doctree, docname):
    for math in list(doctree.findall(nodes.math)):
        parent = math.parent
        i = parent.index(math)
        after = parent[i + 1] if i + 1 < len(parent) and isinstance(parent[i + 1], nodes.Text) else None
        before = parent[i - 1] if i > 0 and isinstance(parent[i - 1], nodes.Text) else None
        tail = _AFTER.match(after.astext()) if after is not None else None
        head = _BEFORE.search(before.astext()) if before is not None else None
        if not (tail or head):
            continue
        keep = nodes.inline(classes=["nowrap"])
        if head:
            parent.replace(before, nodes.Text(before.astext()[:head.start()]))
            keep += nodes.Text(head.group())
        parent.replace(math, keep)
        keep += math
        if tail:
            keep += nodes.Text(tail.group())
            parent.replace(after, nodes.Text(after.astext()[tail.end():]))


def setup(app):
    app.connect("config-inited", _use_local_assets, priority=900)
    app.connect("config-inited", _book_css, priority=901)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("doctree-resolved", _keep_punctuation_with_math)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
