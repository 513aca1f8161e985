"""The rendered book in a real browser (Debian's headless Chromium, driven by Playwright).

Builds the book with warnings as errors, serves ``_build/html`` on 127.0.0.1, opens every page
and checks: the page loads, no JavaScript errors from the book itself, every figure image loads,
every internal link resolves. A screenshot of each page goes to ``_build/screenshots/``.

The book must work offline: every request to another host is blocked (routed to an abort) and
fails the test, as does a JavaScript error. MathJax and the ipywidgets HTML manager are served
from the book's own ``_static/vendor`` (``tools/web_assets.py``), so the test also checks that
the equations of each chapter are typeset by MathJax and that the stored widget state is
rendered as widgets.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")



def _need_chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def built_book():
    _need_chromium()
    jb = Path(sys.executable).with_name("jupyter-book")
    res = subprocess.run([str(jb), "build", str(ROOT), "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, "book build failed (warnings are errors):\n" + res.stdout[-4000:] + res.stderr[-4000:]
    return HTML


@pytest.fixture(scope="module")
def server(built_book):
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _pages(html_root: Path) -> list[str]:
    skip = {"genindex.html", "search.html", "index.html"}
    return sorted(p.relative_to(html_root).as_posix() for p in html_root.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts)


def test_every_page_in_a_real_browser(server, built_book):
    from playwright.sync_api import sync_playwright

    pages = _pages(built_book)
    chapters = [p for p in pages if p.startswith("chapters/")]
    assert "book/intro.html" in pages and chapters, pages
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    external_blocked: set[str] = set()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})

        def route(r):
            if urlparse(r.request.url).hostname in ("127.0.0.1", "localhost"):
                r.continue_()
            else:
                external_blocked.add(urlparse(r.request.url).hostname or r.request.url)
                r.abort()

        ctx.route("**/*", route)
        for rel in pages:
            page = ctx.new_page()
            errors: list[str] = []
            failed_local: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(f"page error: {exc}"))
            page.on("console", lambda m, errors=errors: errors.append(f"console: {m.text} @ {m.location.get('url', '')}")
                    if m.type == "error" else None)
            page.on("requestfailed", lambda req, fl=failed_local: fl.append(req.url)
                    if urlparse(req.url).hostname in ("127.0.0.1", "localhost") else None)
            resp = page.goto(server + rel, wait_until="load", timeout=60_000)
            if resp is None or resp.status != 200:
                problems.append(f"{rel}: HTTP {resp.status if resp else 'no response'}")
                continue
            page.wait_for_timeout(300)
            # equations: typeset by the local MathJax (no raw $...$ left in a chapter)
            n_math = page.evaluate("""() => window.MathJax && MathJax.startup && MathJax.startup.promise
                ? MathJax.startup.promise.then(() => document.querySelectorAll('mjx-container').length) : -1""")
            has_math = page.evaluate("() => document.querySelectorAll('.math').length") > 0
            if has_math and n_math <= 0:
                problems.append(f"{rel}: the page has equations, but MathJax " +
                                ("did not load" if n_math < 0 else "typeset none"))
            if rel.startswith("chapters/0") and not rel.startswith("chapters/00") and not has_math:
                problems.append(f"{rel}: a chapter without equations (did the math markup change?)")
            # stored widget state: rendered by the local widget manager
            n_views = page.evaluate("() => document.querySelectorAll("
                                    "'script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
            if n_views:
                try:
                    page.wait_for_selector(".jupyter-widgets", timeout=15_000)
                except Exception:
                    problems.append(f"{rel}: {n_views} stored widget views, none rendered")
            problems += [f"{rel}: {e}" for e in errors]
            problems += [f"{rel}: local resource failed: {u}" for u in failed_local]
            # every figure image has loaded
            broken = page.evaluate("""() => Array.from(document.images)
                .filter(i => i.src.startsWith(location.origin) && !(i.complete && i.naturalWidth > 0))
                .map(i => i.src)""")
            problems += [f"{rel}: image did not load: {b}" for b in broken]
            if rel.startswith("chapters/"):
                n_img = page.evaluate("() => document.querySelectorAll('.cell_output img').length")
                if n_img == 0:
                    problems.append(f"{rel}: a chapter page without a single output figure")
            # internal links resolve to files that exist
            for href in page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"):
                url, _ = urldefrag(href)
                u = urlparse(url)
                if u.hostname not in ("127.0.0.1", "localhost"):
                    continue
                target = built_book / u.path.lstrip("/")
                if u.path.endswith("/"):
                    target = target / "index.html"
                if not target.exists():
                    problems.append(f"{rel}: broken internal link {urljoin(server, u.path)}")
            page.screenshot(path=str(SHOTS / (rel.replace("/", "__").replace(".html", ".png"))), full_page=False)
            page.close()
        browser.close()
    print(f"checked {len(pages)} pages")
    if external_blocked:
        problems.append(f"requests to other hosts (the book must work offline): {sorted(external_blocked)}")
    assert not problems, "\n".join(problems)
