"""The rendered book in a real browser (Debian's headless Chromium, driven by Playwright).

Builds the book with warnings as errors, serves ``_build/html`` on 127.0.0.1, opens every page
and checks: the page loads, no JavaScript error and no console error, no failed request and no
HTTP error (the server's own log counts too, for requests that no page event reports), a
favicon link to a file of the book (headless Chromium never asks for ``/favicon.ico``, a
desktop browser does on a page without one: a 404), no MathJax error element (a bad formula
shows "Math input error" inside the page, not in the console), every figure image loads, every
internal link resolves. A screenshot of each page goes to ``_build/screenshots/``. The test also
shows that its MathJax check catches the broken equation that chapter 4 once had.

The book must work offline: every request to another host is blocked (routed to an abort) and
fails the test, as does a JavaScript error. MathJax and the ipywidgets HTML manager are served
from the book's own ``_static/vendor`` (``tools/web_assets.py``), so the test also checks that
the equations of each chapter are typeset by MathJax and that the stored widget state is
rendered as widgets.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
#: Chapter pages without a slider panel, and why: the closing chapter retrains nothing (its numbers are
#: the models chapters 1-5 trained, read from the cache), so it has nothing for a slider to move.
NO_SLIDER_PANEL = {"chapters/06_what_passes.html": "the closing chapter retrains nothing"}
from _browser import CHROMIUM, launch, offline_context  # noqa: E402 (tests/_browser.py)



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


#: "404 /path" for every request the server answered with an error, whoever asked
SERVER_ERRORS: list[str] = []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def log_request(self, code="-", size="-"):
        try:
            code = int(code)
        except (TypeError, ValueError):
            return
        if code >= 400:
            SERVER_ERRORS.append(f"{code} {self.path}")


# A bad formula: MathJax typesets it as an error element (mjx-merror) with a message such as
# "Math input error" inside the page, and logs nothing to the console.
MATH_ERRORS_JS = """() => window.MathJax && MathJax.startup && MathJax.startup.promise
    ? MathJax.startup.promise.then(() => Array.from(
        document.querySelectorAll('mjx-merror, merror, [data-mjx-error], .MathJax_Error'))
        .map(e => (e.getAttribute('data-mjx-error') || e.textContent || '').trim().slice(0, 80)))
    : []"""


def _pages(html_root: Path) -> list[str]:
    skip = {"genindex.html", "search.html", "index.html"}
    return sorted(p.relative_to(html_root).as_posix() for p in html_root.rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts)


# The setting named by the one figure box of a static panel that is on screen
SHOWN_SETTING_JS = """panel => Array.from(panel.querySelectorAll('.static-panel-figure'))
    .filter(b => b.checkVisibility())
    .map(b => b.querySelector('.static-panel-caption').innerText.trim())"""


def _move_every_static_slider(page) -> tuple[int, list[str]]:
    """Move every slider of every static panel (subclass_lib.widgets.static_panel) one step with
    the keyboard and check that the one figure shown is the one whose caption names the new
    setting ("name = value" for every slider's readout). Returns (sliders moved, problems)."""
    problems, moved = [], 0
    panels = page.locator(".static-panel")
    for i in range(panels.count()):
        panel = panels.nth(i)
        panel.scroll_into_view_if_needed()
        sliders = panel.locator(".widget-hslider")
        names = [sliders.nth(k).locator(".widget-label").inner_text().strip() for k in range(sliders.count())]

        def expected() -> str:
            return ", ".join(f"{n} = {sliders.nth(k).locator('.widget-readout').inner_text().strip()}"
                             for k, n in enumerate(names))

        for k in range(sliders.count()):
            before = expected()
            handle = sliders.nth(k).locator(".noUi-handle")
            handle.focus()
            page.keyboard.press("ArrowRight")
            if expected() == before:  # the last value: step back instead
                page.keyboard.press("ArrowLeft")
            want = expected()
            if want == before:
                problems.append(f"static panel {i}: slider {names[k]!r} did not move")
                continue
            try:
                page.wait_for_function(
                    """([panel, want]) => Array.from(panel.querySelectorAll('.static-panel-figure'))
                        .some(b => b.checkVisibility() && b.querySelector('.static-panel-caption').innerText.trim() === want)""",
                    arg=[panel.element_handle(), want], timeout=10_000)
            except Exception:
                pass
            shown = panel.evaluate(SHOWN_SETTING_JS)
            if shown != [want]:
                problems.append(f"static panel {i}: after moving {names[k]!r} the panel shows {shown}, expected [{want!r}]")
            moved += 1
    return moved, problems


def test_every_page_in_a_real_browser(server, built_book):
    from playwright.sync_api import sync_playwright

    pages = _pages(built_book)
    chapters = [p for p in pages if p.startswith("chapters/")]
    assert "book/intro.html" in pages and chapters, pages
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    external_blocked: set[str] = set()
    n_checked_math = 0
    n_static_sliders = 0
    per_page: dict[str, int] = {}
    SERVER_ERRORS.clear()
    with sync_playwright() as pw:
        browser = launch(pw)
        ctx = offline_context(browser, external_blocked)
        for rel in pages:
            page = ctx.new_page()
            errors: list[str] = []
            failed_local: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(f"page error: {exc}"))
            page.on("console", lambda m, errors=errors: errors.append(f"console: {m.text} @ {m.location.get('url', '')}")
                    if m.type == "error" else None)
            page.on("requestfailed", lambda req, fl=failed_local: fl.append(req.url)
                    if urlparse(req.url).hostname in ("127.0.0.1", "localhost") else None)
            page.on("response", lambda r, errors=errors: errors.append(f"HTTP {r.status} for {r.url}")
                    if r.status >= 400 else None)
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
            n_checked_math += max(n_math, 0)
            problems += [f"{rel}: MathJax error in an equation: {m!r}" for m in page.evaluate(MATH_ERRORS_JS)]
            # stored widget state: rendered by the local widget manager
            n_views = page.evaluate("() => document.querySelectorAll("
                                    "'script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
            if n_views:
                try:
                    page.wait_for_selector(".jupyter-widgets", timeout=15_000)
                except Exception:
                    problems.append(f"{rel}: {n_views} stored widget views, none rendered")
            # static twins of the slider panels: every slider moves its panel's figure to that setting's
            moved, static_problems = _move_every_static_slider(page)
            n_static_sliders += moved
            per_page[rel] = moved
            problems += [f"{rel}: {e}" for e in static_problems]
            # ... and no slider that needs a kernel: a live panel's output is left out of the book
            dead = page.evaluate("""() => Array.from(document.querySelectorAll('.widget-hslider, .widget-vslider, '
                + '.widget-dropdown, .widget-select-multiple, button.jupyter-button'))
                .filter(w => !w.closest('.static-panel')).length""")
            if dead:
                problems.append(f"{rel}: {dead} slider(s), menu(s) or button(s) outside a static panel "
                                "(they need a kernel: tag the live panel's cell remove-output)")
            if rel.startswith("chapters/0") and not rel.startswith("chapters/00") and rel not in NO_SLIDER_PANEL \
                    and not moved:
                problems.append(f"{rel}: a chapter with no static slider panel")
            problems += [f"{rel}: {e}" for e in errors]
            problems += [f"{rel}: local resource failed: {u}" for u in failed_local]
            icon = page.evaluate("() => { const l = document.querySelector('link[rel~=\"icon\"]');"
                                 " return l ? l.href : null; }")
            if not icon:
                problems.append(f"{rel}: no favicon link (a browser then asks for /favicon.ico: a 404)")
            elif not (built_book / urlparse(icon).path.lstrip("/")).is_file():
                problems.append(f"{rel}: the favicon {icon} is not in the built book")
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
        problems += [f"the server answered {e}" for e in SERVER_ERRORS]
        problems += _math_check_catches_a_broken_formula(ctx, server, built_book, chapters)
        browser.close()
    print(f"checked {len(pages)} pages, {n_checked_math} typeset equations, {n_static_sliders} static sliders moved")
    (SHOTS / "static_sliders.json").write_text(json.dumps({"moved": n_static_sliders, "per_page": per_page}, indent=1))
    problems += [f"{rel}: exempt from the slider panel, but the book has no such page" for rel in NO_SLIDER_PANEL
                 if rel not in pages]
    if not n_static_sliders:
        problems.append("no static slider panel in the book (chapter 1 has two)")
    if external_blocked:
        problems.append(f"requests to other hosts (the book must work offline): {sorted(external_blocked)}")
    assert not problems, "\n".join(problems)


# Chapter 4's view-consistency equation as it once was: "\text", "\frac" and "\beta" written in a
# plain string became a tab, a form feed and a backspace.
BROKEN_FORMULA = "\\mathcal{L}_{\x09ext{cons}} = -\x0crac{1}{n}\\sum_i q_i + \x08eta\\,\\mathcal{L}_{\x09ext{aux}}"


def _math_check_catches_a_broken_formula(ctx, server: str, html_root: Path, pages: list[str]) -> list[str]:
    """Serve a copy of the first of ``pages`` with a display equation, that equation replaced by
    :data:`BROKEN_FORMULA` (from memory, next to the real page), and check that
    :data:`MATH_ERRORS_JS` reports it."""
    for rel in pages:
        text = (html_root / rel).read_text(encoding="utf-8")
        m = re.search(r'<div class="math[^"]*"[^>]*>', text)
        if m:
            break
    else:
        return ["no display equation to break for the MathJax self-check"]
    j = text.find("</div>", m.end())
    text = text[:m.end()] + "\\[" + BROKEN_FORMULA + "\\]" + text[j:]
    url = server + rel.replace(".html", "__broken_math.html")
    page = ctx.new_page()
    page.route(url, lambda r: r.fulfill(status=200, content_type="text/html", body=text))
    page.goto(url, wait_until="load", timeout=60_000)
    found = page.evaluate(MATH_ERRORS_JS)
    page.close()
    print(f"MathJax self-check: a broken formula shows as {found}")
    return [] if found else ["the MathJax error check missed a broken formula (control characters in TeX)"]


# ----------------------------------------------------------------------------- pages that read well

#: A text table left in an output: format_table's separator row ("----  ------  ---").
TEXT_TABLE = re.compile(r"^-{2,}(?: {2}-{2,})+ *$", re.M)
#: Plumbing in an output: timings, cache and worker messages, config reprs, the machine.
PLUMBING = {
    "a timing": re.compile(r"\b\d+(?:\.\d+)? (?:s|sec|seconds|min|minutes)\b|\bran in\b|\bcompute time\b"),
    "a cache message": re.compile(r"\bfrom the cache\b|\bcached\b|\bcache\b"),
    "a worker message": re.compile(r"\bworker process"),
    "a config repr": re.compile(r"\b\w*Config\("),
    "a machine": re.compile(r"\bthis machine\b|\bquiet 2-core\b", re.I),
}

# Per chapter page: what overflows the text column, what is too narrow, what an output says.
LAYOUT_JS = """() => {
  const main = document.querySelector('article.bd-article') || document.querySelector('main');
  const box = main.getBoundingClientRect();
  const cs = getComputedStyle(main);
  const left = box.left + parseFloat(cs.paddingLeft), right = box.right - parseFloat(cs.paddingRight);
  const column = right - left;
  const describe = el => (el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\\s+/).slice(0, 2).join('.') : '') + ': '
      + (el.innerText || el.getAttribute('src') || '').trim().replace(/\\s+/g, ' ').slice(0, 70));
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const visible = el => el.checkVisibility() && el.getBoundingClientRect().width > 0;
  const overflow = [];
  for (const el of main.querySelectorAll('*')) {
    if (!visible(el) || el.closest('.jupyter-widgets, .widget-subarea, mjx-assistive-mml')) continue;
    if (el.closest('span.math') && !el.matches('span.math')) continue;  // inside an inline formula
    const r = el.getBoundingClientRect();
    // inside a box that scrolls sideways (and that box itself fits): not an overflow of the column
    let a = el.parentElement, inScroller = false;
    while (a && a !== main) { if (scrolls(a)) { inScroller = true; break; } a = a.parentElement; }
    if (!inScroller && r.right > right + 1.5) overflow.push('wider than the column: ' + describe(el));
    // a box whose content is cut or must be scrolled: only a result table may scroll in its own box
    if (scrolls(el) && el.scrollWidth > el.clientWidth + 1 && !el.querySelector('table.result-table'))
      overflow.push('content wider than its box: ' + describe(el));
  }
  const outputs = Array.from(main.querySelectorAll('.cell_output'));
  const figures = Array.from(main.querySelectorAll('.cell_output img, figure img, p > img'))
    .filter(i => visible(i) && i.naturalWidth > 150)
    .map(i => ({src: (i.getAttribute('src') || '').slice(0, 60), width: i.getBoundingClientRect().width}));
  return {column, overflow: [...new Set(overflow)],
          tables: main.querySelectorAll('.cell_output table.result-table').length,
          pre: Array.from(main.querySelectorAll('.cell_output pre')).map(p => p.innerText),
          outputText: outputs.map(o => o.innerText).join('\\n'), figures};
}"""


def test_inline_math_keeps_the_punctuation_that_touches_it(built_book):
    """A full stop, comma or closing bracket right after inline maths (or an opening bracket right before
    it) is wrapped with the maths in a ``nowrap`` span (book/_ext/book_fixes.py): MathJax's inline block
    would otherwise let the line break between them, and a line would start with ". " or end in "(".
    """
    math = r'<span class="math notranslate nohighlight">[^<]*</span>'
    wrapped = r'(?<!<span class="nowrap">)(?<!<span class="nowrap">\()(?<!<span class="nowrap">\[)'
    loose = [re.compile(rf'{wrapped}{math}[.,;:!?)\]]'),
             re.compile(rf'(?<!<span class="nowrap">)[(\[]{math}')]
    kept, bad = 0, []
    for rel in _pages(built_book):
        html = (built_book / rel).read_text(encoding="utf-8")
        kept += html.count('<span class="nowrap">')
        bad += [f"{rel}: {m.group()[-60:]!r}" for pattern in loose for m in pattern.finditer(html)]
    assert kept > 50 and not bad, "\n".join(bad[:20])


def test_chapter_pages_read_well(server, built_book):
    """Every chapter page at 1280 and 800 px: nothing wider than the text column (a result table may
    scroll in its own box), result tables as HTML tables and no text table left, every figure at least
    80% of the column wide, and no timing, cache, worker, config or machine text in an output.
    Screenshots of both widths go to ``_build/screenshots/`` (``<page>@<width>.png``)."""
    from playwright.sync_api import sync_playwright

    chapters = [p for p in _pages(built_book) if p.startswith("chapters/")]
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    counts: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = launch(pw)
        for width in (1280, 800):
            ctx = offline_context(browser, set(), width=width, height=1000)
            for rel in chapters:
                page = ctx.new_page()
                page.goto(server + rel, wait_until="load", timeout=60_000)
                page.evaluate("""() => window.MathJax && MathJax.startup && MathJax.startup.promise
                    ? MathJax.startup.promise : null""")
                page.wait_for_timeout(300)
                info = page.evaluate(LAYOUT_JS)
                where = f"{rel} @{width}px"
                problems += [f"{where}: {o}" for o in info["overflow"]]
                problems += [f"{where}: a text table in an output: {p[:80]!r}" for p in info["pre"] if TEXT_TABLE.search(p)]
                if rel.startswith("chapters/0") and info["tables"] == 0:
                    problems.append(f"{where}: no HTML result table")
                problems += [f"{where}: a figure {f['width']:.0f} px wide in a {info['column']:.0f} px column: {f['src']}"
                             for f in info["figures"] if f["width"] < 0.8 * info["column"]]
                for what, pattern in PLUMBING.items():
                    for line in info["outputText"].splitlines():
                        if pattern.search(line):
                            problems.append(f"{where}: {what} in an output: {line.strip()[:100]!r}")
                counts.setdefault(rel, {})[width] = {"tables": info["tables"], "figures": len(info["figures"])}
                page.screenshot(path=str(SHOTS / f"{rel.replace('/', '__').replace('.html', '')}@{width}.png"),
                                full_page=True)
                page.close()
            ctx.close()
        browser.close()
    (SHOTS / "layout.json").write_text(json.dumps(counts, indent=1))
    print("result tables and figures per chapter page:", json.dumps(counts))
    assert not problems, "\n".join(problems[:200])
