"""The GitHub Actions workflows: valid against the published workflow schema, and doing what
the README says (tests on every push and pull request; the book built and deployed to Pages,
pointed at the repository it runs in).

The schema is the copy that ships inside check-jsonschema (``--builtin-schema
vendor.github-workflows``): no download. The test runs it with every HTTP(S) request sent to a
dead proxy, so a version that went to the network would fail here instead of passing by luck.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
TESTS, PAGES = WORKFLOWS / "tests.yml", WORKFLOWS / "pages.yml"
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}


def _check_jsonschema(*files: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("check-jsonschema")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "check_jsonschema"]
    return subprocess.run([*cmd, "--builtin-schema", "vendor.github-workflows", *map(str, files)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **OFFLINE})


def _load(path: Path) -> dict:
    wf = yaml.safe_load(path.read_text())
    wf["on"] = wf.pop(True, wf.get("on"))  # YAML 1.1 reads the key `on` as true
    return wf


def _steps(wf: dict) -> list[dict]:
    return [s for job in wf["jobs"].values() for s in job.get("steps", [])]


def _uses(wf: dict) -> list[str]:
    return [s["uses"].split("@")[0] for s in _steps(wf) if "uses" in s]


def _runs(wf: dict) -> str:
    return "\n".join(s.get("run", "") for s in _steps(wf))


def test_workflows_match_the_github_workflow_schema():
    pytest.importorskip("check_jsonschema")
    files = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
    assert {TESTS, PAGES} <= set(files)
    res = _check_jsonschema(*files)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    pytest.importorskip("check_jsonschema")
    bad = tmp_path / "bad.yml"
    bad.write_text("name: bad\non: push\njobs:\n  test:\n    steps:\n      - run: make test\n")  # no runs-on
    res = _check_jsonschema(bad)
    assert res.returncode == 1 and "runs-on" in res.stdout + res.stderr, res.stdout + res.stderr


def test_tests_workflow_runs_the_readme_command_on_push_and_pull_request():
    wf = _load(TESTS)
    assert {"push", "pull_request"} <= set(wf["on"])
    (job,) = wf["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert "3.11" in str(job.get("container", "")) or any(
        s.get("with", {}).get("python-version") == "3.11" for s in job["steps"])
    runs = _runs(wf)
    assert "make test" in runs and "make test" in (ROOT / "README.md").read_text()
    assert "apt-get install" in runs and "chromium" in runs
    cached = [s["with"]["path"] for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert "~/.cache/pip" in cached and "~/.cache/subclass_lib" in cached, cached


def test_pages_workflow_sets_the_repository_from_its_context_then_builds_and_deploys():
    wf = _load(PAGES)
    assert wf["permissions"].get("pages") == "write" and wf["permissions"].get("id-token") == "write"
    assert wf["concurrency"]["group"]
    runs = [s.get("run", "") for s in _steps(wf)]
    set_repo = next(i for i, r in enumerate(runs)
                    if "tools/set_repository.py https://github.com/${{ github.repository }}" in r)
    book = next(i for i, r in enumerate(runs) if "make" in r and "book" in r.split())
    assert set_repo < book
    assert "make book" in (ROOT / "README.md").read_text()
    uses = _uses(wf)
    assert "actions/upload-pages-artifact" in uses and "actions/deploy-pages" in uses
    upload = next(s for s in _steps(wf) if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    deploy = next(j for j in wf["jobs"].values()
                  if any(s.get("uses", "").startswith("actions/deploy-pages@") for s in j["steps"]))
    assert deploy["environment"]["name"] == "github-pages" and deploy.get("needs")
