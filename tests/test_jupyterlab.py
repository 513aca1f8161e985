"""A chapter's slider panel in a real JupyterLab, in a real browser (Debian's headless Chromium).

Starts JupyterLab on 127.0.0.1 on a free port, with no token or password, its root in a
temporary folder and its configuration, data and runtime folders there too (nothing of the
user's Jupyter setup is read or written). The folder holds one notebook whose cells import the
library and show chapter 4's teacher panel (``teacher_panel``: its retrain is the quickest of
the book's panels, about 2-4 s on two CPU cores, nothing at all when the model is cached).
The test opens the notebook in Chromium, runs all cells, moves the beta slider one step with
the keyboard, presses Retrain, and checks that the panel's figure changes, the status says
"done in ... s", and the page logged no JavaScript error, no console error, no failed request
and no request to another host (those are blocked: JupyterLab must not need the internet).
The server (and its kernel) is shut down whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
from _browser import CHROMIUM, launch, offline_context  # noqa: E402 (tests/_browser.py)

CELLS = [
    "# chapter 4's panel: retrain the subclass teacher (a few seconds)\n"
    "import subclass_lib\n"
    "from subclass_lib.widgets import teacher_panel",
    "teacher_panel()",
]


KERNEL_IDLE_JS = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget;
    const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!(kernel && kernel.status === 'idle' && document.querySelector('.jp-NotebookPanel .jp-Cell'));
}"""


def _need(what: str, ok: bool, hint: str):
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing under CI: {hint}")
        pytest.skip(f"{what} is not installed ({hint})")


def _requirements():
    _need("Chromium", CHROMIUM is not None, ".ci/run installs Debian's chromium package")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _need("playwright", False, "pip install -r requirements.txt")
    try:
        import jupyterlab  # noqa: F401
        import jupyterlab_widgets  # noqa: F401
    except ImportError:
        _need("JupyterLab with jupyterlab_widgets", False, "pip install -r requirements.txt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook() -> dict:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {},
                   "outputs": [], "source": src} for i, src in enumerate(CELLS)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


@pytest.fixture
def lab(tmp_path):
    """(base URL, log file) of a JupyterLab serving ``tmp_path/root``; stopped on teardown."""
    _requirements()
    root = tmp_path / "root"
    root.mkdir()
    (root / "panel.ipynb").write_text(json.dumps(_notebook(), indent=1))
    env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline",
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), IPYTHONDIR=str(tmp_path / "ipython"),
               JUPYTER_PLATFORM_DIRS="1")
    port = _free_port()
    log = tmp_path / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
           "--IdentityProvider.token=", "--ServerApp.password=", "--LabApp.expose_app_in_browser=True",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
           f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", "--LabApp.extension_manager=readonly",
           # a safety net if this process is killed before its teardown: the idle kernel is culled
           # after 5 minutes and the server stops itself 10 minutes after its last activity
           "--MappingKernelManager.cull_idle_timeout=300", "--MappingKernelManager.cull_interval=60",
           "--ServerApp.shutdown_no_activity_timeout=600"]
    if os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for 127.0.0.1
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with direct.open(base + "api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base, log
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server, which shuts its kernels down (a kernel also exits by itself when the
    server is gone: ipykernel watches its parent), then SIGKILL to the server's process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the session this test started, if anything is left in it
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def test_panel_retrains_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    base, log = lab
    t0 = time.perf_counter()
    errors: list[str] = []
    external: set[str] = set()
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            ctx = offline_context(browser, external, width=1400, height=1000)
            page = ctx.new_page()
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}")
                    if urlparse(req.url).hostname in ("127.0.0.1", "localhost") else None)
            page.on("response", lambda r: errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)

            page.goto(base + "lab/tree/panel.ipynb", wait_until="load", timeout=60_000)
            # the notebook open with its kernel idle (before "run all", or that waits on the kernel)
            page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)
            # run every cell; the command's promise is not awaited (it ends only when the cells do)
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

            panel = page.locator(".jp-OutputArea-output .widget-vbox").first
            panel.wait_for(timeout=90_000)
            status = panel.locator(".widget-html-content").filter(has_text="done in")
            status.wait_for(timeout=90_000)
            figure = panel.locator(".widget-output img").first
            figure.wait_for(timeout=30_000)
            before = figure.get_attribute("src")
            assert before and before.startswith("data:image/png"), before

            slider = panel.locator(".widget-slider").filter(has_text="beta (aux weight)")
            readout = slider.locator(".widget-readout")
            old_value = readout.inner_text()
            slider.locator(".noUi-handle").focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function("([el, old]) => el.textContent.trim() !== old",
                                   arg=[readout.element_handle(), old_value], timeout=10_000)
            new_value = readout.inner_text()

            t_retrain = time.perf_counter()
            panel.get_by_role("button", name="Retrain").click()
            page.wait_for_function(
                "([img, old]) => img.isConnected === false || img.getAttribute('src') !== old",
                arg=[figure.element_handle(), before], timeout=90_000)
            status.wait_for(timeout=90_000)
            figure = panel.locator(".widget-output img").first
            figure.wait_for(timeout=30_000)
            after = figure.get_attribute("src")
            retrain_s = time.perf_counter() - t_retrain
            status_text = panel.locator(".widget-html-content").filter(has_text="done in").inner_text()
            page.screenshot(path=str(log.with_name("jupyterlab.png")))
        except Exception:
            # what the page showed, for the failure report
            try:
                page.screenshot(path=str(log.with_name("failure.png")))
                log.with_name("failure.html").write_text(page.content())
            except Exception:
                pass
            print(f"server log, screenshot and page at {log.parent}", file=sys.stderr)
            raise
        finally:
            browser.close()
    took = time.perf_counter() - t0
    print(f"beta {old_value} -> {new_value}; retrain {retrain_s:.1f} s ({status_text}); "
          f"browser part {took:.1f} s")
    assert new_value != old_value
    assert after and after.startswith("data:image/png") and after != before, "the figure did not change"
    assert "done in" in status_text
    problems = errors + ([f"requests to other hosts: {sorted(external)}"] if external else [])
    assert not problems, "\n".join(problems) + "\n--- server log ---\n" + log.read_text()[-3000:]
