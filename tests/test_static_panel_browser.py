"""A static panel walked as a reader of the rendered book walks it: no kernel, no internet.

The test writes a tiny notebook with a two-slider :func:`~subclass_lib.widgets.static_panel`
(3 x 2 figures whose titles name their setting), executes it with nbclient storing the widget
state (as ``tools/run_notebooks.py`` does), builds a one-page Jupyter Book in a temporary folder
from this project's own ``_config.yml``, ``book/_ext`` and ``tools/web_assets.py`` (so RequireJS,
the widget manager and MathJax are served from the page's ``_static/vendor``), serves it on
127.0.0.1 and opens it in Debian's headless Chromium (Playwright) with every request to another
host blocked. It then moves each slider with the keyboard (one key at a time, then several
quick presses) and drags one with the mouse, and after each move checks that the one figure shown is the figure of the new setting: its caption
names the setting, and the SHA-256 of the image the browser shows equals that of the PNG the
notebook stored for that setting. No JavaScript error and no request to another host is allowed.

Skipped without Chromium, Playwright or the offline web assets unless ``CI`` is set; under CI
they must be there.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "_build" / "screenshots"
from _browser import CHROMIUM, launch, offline_context  # noqa: E402 (tests/_browser.py)
PAGE = "static_panel_demo"

NOTEBOOK_CODE = r'''import matplotlib.pyplot as plt
from subclass_lib.widgets import static_panel

Ts, alphas = [1.0, 4.0, 16.0], [0.1, 0.9]


def draw(T, alpha):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = [0.5 * i for i in range(40)]
    ax.plot(x, [alpha * (xi / T) ** 0.5 for xi in x], color="C0" if alpha < 0.5 else "C3")
    ax.set(xlabel="x", ylabel="y", title=f"T = {T:g}, alpha = {alpha:g}")
    ax.grid(alpha=0.3)
    return fig


static_panel({(T, a): draw(T, a) for T in Ts for a in alphas}, [("T", Ts), ("alpha", alphas)],
             title="Try it without a kernel: the precomputed sweep", default={"T": 4.0, "alpha": 0.1},
             caption="Each figure was drawn once when the notebook ran.")
'''


def _require(ok: bool, why: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def _web_assets():
    spec = importlib.util.spec_from_file_location("_test_web_assets", ROOT / "tools" / "web_assets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_book(folder: Path) -> None:
    """A one-page book made of this project's configuration pieces."""
    import yaml

    (folder / "book" / "_ext").mkdir(parents=True)
    (folder / "tools").mkdir()
    shutil.copy(ROOT / "book" / "_ext" / "book_fixes.py", folder / "book" / "_ext" / "book_fixes.py")
    shutil.copy(ROOT / "tools" / "web_assets.py", folder / "tools" / "web_assets.py")
    shutil.copy(ROOT / "book" / "references.bib", folder / "book" / "references.bib")
    # the book's static files (the favicon _config.yml names, ...)
    shutil.copytree(ROOT / "book" / "_static", folder / "book" / "_static")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["title"] = "Static panel test"
    (folder / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (folder / "_toc.yml").write_text(f"format: jb-book\nroot: {PAGE}\n")


def _execute_notebook(path: Path) -> dict:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A static panel\n\nThe sliders below work without a kernel."),
                nbformat.v4.new_code_cell(NOTEBOOK_CODE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    # the kernel imports the library from this checkout
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    client.execute(env=env)
    nbformat.write(nb, path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    return nb


def _expected_images(nb) -> dict[str, str]:
    """{caption text: SHA-256 of its PNG}, read from the widget state stored in the notebook."""
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]

    def model(ref: str) -> dict:
        return state[ref.removeprefix("IPY_MODEL_")]

    out = {}
    for m in state.values():
        if "static-panel-figure" not in m["state"].get("_dom_classes", []):
            continue
        caption, image = (model(r) for r in m["state"]["children"])
        text = caption["state"]["value"].removeprefix("<small>").removesuffix("</small>")
        data = next(b["data"] for b in image.get("buffers", []) if b["path"] == ["value"])
        out[text] = hashlib.sha256(base64.b64decode(data)).hexdigest()
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def built_page(tmp_path_factory):
    _require(CHROMIUM is not None, "Chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _require(False, "the playwright Python package is not installed")
    jb = Path(sys.executable).with_name("jupyter-book")
    _require(jb.exists(), f"jupyter-book is not installed next to {sys.executable}")
    wa = _web_assets()
    try:
        wa.ensure()
    except wa.WebAssetsUnavailable as exc:
        _require(False, f"the offline copies of the widget manager are unavailable: {exc}")

    folder = tmp_path_factory.mktemp("static_book")
    _write_book(folder)
    nb = _execute_notebook(folder / f"{PAGE}.ipynb")
    expected = _expected_images(nb)
    res = subprocess.run([str(jb), "build", str(folder), "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, "book build failed (warnings are errors):\n" + res.stdout[-4000:] + res.stderr[-4000:]
    html = folder / "_build" / "html"
    page_html = (html / f"{PAGE}.html").read_text()
    assert "application/vnd.jupyter.widget-state+json" in page_html, "no widget state in the page"
    assert "_static/vendor/html-manager/embed-amd.js" in page_html, "the page does not use the local widget manager"
    return html, expected


@pytest.fixture(scope="module")
def server(built_page):
    html, _ = built_page
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(html)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


# The figure boxes on screen: their caption and classes, and the SHA-256 of the image the browser shows.
SHOWN_JS = """async () => {
  const boxes = Array.from(document.querySelectorAll('.static-panel .static-panel-figure'))
    .filter(b => b.checkVisibility());
  const out = [];
  for (const b of boxes) {
    const img = b.querySelector('img');
    let sha = null;
    if (img && img.src) {
      const buf = await (await fetch(img.src)).arrayBuffer();
      sha = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', buf)))
        .map(x => x.toString(16).padStart(2, '0')).join('');
    }
    out.push({caption: b.querySelector('.static-panel-caption').innerText.trim(),
              classes: Array.from(b.classList), sha: sha,
              loaded: !!img && img.complete && img.naturalWidth > 0});
  }
  return out;
}"""


def test_sliders_switch_the_figure_in_the_built_page_without_a_kernel(server, built_page):
    from playwright.sync_api import sync_playwright

    _, expected = built_page
    assert len(expected) == 6 and len(set(expected.values())) == 6, expected
    errors: list[str] = []
    blocked: set[str] = set()
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            ctx = offline_context(browser, blocked)
            page = ctx.new_page()
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on("console", lambda m: errors.append(f"console: {m.text} @ {m.location.get('url', '')}")
                    if m.type == "error" else None)
            page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}")
                    if urlparse(req.url).hostname in ("127.0.0.1", "localhost") else None)
            resp = page.goto(server + f"{PAGE}.html", wait_until="load", timeout=60_000)
            assert resp is not None and resp.status == 200
            page.wait_for_selector(".static-panel .static-panel-figure img", timeout=30_000)
            panel = page.locator(".static-panel")
            assert "precomputed: moves without a kernel" in panel.inner_text()
            sliders = panel.locator(".widget-hslider")
            assert sliders.count() == 2

            def shows(caption: str, indices: str) -> None:
                page.wait_for_function(
                    """c => Array.from(document.querySelectorAll('.static-panel .static-panel-figure'))
                         .some(b => b.checkVisibility() && b.querySelector('.static-panel-caption').innerText.trim() === c)""",
                    arg=caption, timeout=10_000)
                page.wait_for_timeout(100)
                shown = page.evaluate(SHOWN_JS)
                assert len(shown) == 1, f"expected one figure on screen, got {shown}"
                box = shown[0]
                assert box["caption"] == caption
                assert f"static-panel-at-{indices}" in box["classes"], box
                assert box["loaded"], f"the image for {caption} did not load"
                assert box["sha"] == expected[caption], f"the image shown is not the figure of {caption}"

            def readouts() -> list[str]:
                return [sliders.nth(k).locator(".widget-readout").inner_text().strip() for k in range(2)]

            def press(k: int, key: str, times: int = 1) -> None:
                handle = sliders.nth(k).locator(".noUi-handle")
                handle.focus()
                for _ in range(times):
                    page.keyboard.press(key)

            shows("T = 4, alpha = 0.1", "1-0")  # the default
            assert readouts() == ["4", "0.1"]
            press(0, "ArrowRight")
            shows("T = 16, alpha = 0.1", "2-0")
            press(1, "ArrowRight")
            shows("T = 16, alpha = 0.9", "2-1")
            press(0, "ArrowLeft", times=2)  # another outer child: its inner stack followed alpha too
            shows("T = 1, alpha = 0.9", "0-1")
            assert readouts() == ["1", "0.9"]
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.locator(".static-panel").screenshot(path=str(SHOTS / "static_panel.png"))
            # the mouse: drag the T handle to the right end of its track
            track = sliders.nth(0).locator(".noUi-target").bounding_box()
            handle = sliders.nth(0).locator(".noUi-handle").bounding_box()
            page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
            page.mouse.down()
            page.mouse.move(track["x"] + track["width"] + 20, handle["y"] + handle["height"] / 2, steps=8)
            page.mouse.up()
            shows("T = 16, alpha = 0.9", "2-1")
            # quick presses: the stacks switch again before the figure just put in has been laid out
            for k, keys in ((0, ["ArrowLeft", "ArrowLeft", "ArrowRight"]), (1, ["ArrowLeft", "ArrowRight", "ArrowLeft"])):
                sliders.nth(k).locator(".noUi-handle").focus()
                for key in keys:
                    page.keyboard.press(key)
            shows("T = 4, alpha = 0.1", "1-0")
            assert readouts() == ["4", "0.1"]
            assert page.evaluate("""() => new Promise(done => window.require(["@jupyter-widgets/base"],
                base => done(!!base.JupyterLuminoWidget.prototype._dropsMessagesWhenDisposed)))"""), \
                "the page lacks tools/web_assets.py's widgets-stack-fix.js"
        finally:
            browser.close()
    assert not blocked, f"requests to other hosts (the page must work offline): {sorted(blocked)}"
    assert not errors, "\n".join(errors)
