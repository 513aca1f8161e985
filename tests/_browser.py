"""Shared by the real-browser tests: Debian's Chromium driven by Playwright, offline.

``launch`` starts headless Chromium with background networking off (this machine's closed
network refuses those connections); ``offline_context`` lets requests to 127.0.0.1 and
localhost through and aborts every other one, recording its host in ``blocked``.
"""

from __future__ import annotations

import shutil
from urllib.parse import urlparse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOCAL = ("127.0.0.1", "localhost")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def launch(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


def offline_context(browser, blocked: set, width: int = 1280, height: int = 900):
    ctx = browser.new_context(viewport={"width": width, "height": height})

    def route(r):
        if urlparse(r.request.url).hostname in LOCAL:
            r.continue_()
        else:
            blocked.add(urlparse(r.request.url).hostname or r.request.url)
            r.abort()

    ctx.route("**/*", route)
    return ctx
