"""A non-editable install carries the whole library, the way Colab's ``pip install git+URL`` gets it.

How, offline and without downloading torch again:

1. The wheel is built from a copy of the checkout's ``pyproject.toml`` and ``subclass_lib/`` in a
   temporary folder (what ``git clone`` gives pip; building in place would leave ``build/`` and
   ``*.egg-info`` in the checkout), with ``pip wheel --no-deps --no-build-isolation --no-index``:
   the setuptools of this environment builds it, nothing is fetched.
2. A fresh virtual environment is made outside the checkout with ``python -m venv --without-pip``.
   Its dependencies (torch, numpy, matplotlib, ipywidgets, pip itself) come from this
   environment's site-packages, listed in a ``.pth`` file of the new environment as plain path
   lines. A path line only extends ``sys.path``: the ``.pth`` files inside that folder are not
   run, so this environment's editable install of ``subclass_lib`` (a ``.pth`` hook pointing at
   the checkout) stays inactive in the new one, which the test checks before installing.
3. The wheel is installed with the new environment's own interpreter (``python -m pip install
   --no-deps --no-index --ignore-installed``), so it lands in the new environment's site-packages.
4. With the working directory in the temporary folder and no ``PYTHONPATH``, every module found
   by walking the installed package with ``pkgutil`` is imported, each from that site-packages,
   and ``python -m subclass_lib --help`` exits 0.

A second test runs the chapters' Colab setup cell (tools/set_repository.py) in IPython in a
fresh environment without the library, with an install that fails: it must print one line that
says what to do, stop there (a failed cell stops "Run all"), and show no traceback.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import set_repository  # noqa: E402


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    # ignore pip's configuration files (extra indexes, find-links): everything here is local
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONNOUSERSITE="1", **extra)
    return env


def _fresh_venv(where: Path) -> Path:
    """A venv at ``where`` that sees this environment's packages but not its editable subclass_lib."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    py = where / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    outer = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(purelib, "_outer_site_packages.pth").write_text("".join(p + "\n" for p in outer))
    return py


def _run(py: Path, *args, cwd: Path, timeout=300, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(py), *args], cwd=cwd, env=_clean_env(**env), capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copytree(ROOT / "subclass_lib", src / "subclass_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                          "--no-index", "-w", str(tmp / "dist"), str(src)],
                         capture_output=True, text=True, env=_clean_env(), timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    (whl,) = (tmp / "dist").glob("subclass_lib-*.whl")
    return whl


def test_the_wheel_holds_every_module_of_the_checkout(wheel):
    in_wheel = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")}
    in_checkout = {p.relative_to(ROOT).as_posix() for p in (ROOT / "subclass_lib").rglob("*.py")
                   if "__pycache__" not in p.parts}
    assert in_checkout <= in_wheel, f"missing from the wheel: {sorted(in_checkout - in_wheel)}"
    for sub in ("experiments", "plots", "widgets"):
        assert f"subclass_lib/{sub}/__init__.py" in in_wheel


def test_installed_wheel_imports_every_module_outside_the_checkout(wheel, tmp_path):
    py = _fresh_venv(tmp_path / "venv")
    work = tmp_path / "work"
    work.mkdir()
    before = _run(py, "-c", "import importlib.util; print(importlib.util.find_spec('subclass_lib'))", cwd=work)
    assert before.stdout.strip() == "None", "the fresh venv must not see the checkout's editable install:\n" + \
        before.stdout + before.stderr

    res = _run(py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel),
               cwd=work)
    assert res.returncode == 0, res.stdout + res.stderr

    check = textwrap.dedent("""
        import importlib, pkgutil, sysconfig
        from pathlib import Path
        import subclass_lib
        site = Path(sysconfig.get_paths()["purelib"]).resolve()
        names = ["subclass_lib"] + [m.name for m in pkgutil.walk_packages(subclass_lib.__path__, "subclass_lib.")]
        for name in names:
            mod = importlib.import_module(name)
            where = Path(mod.__file__).resolve()
            assert where.is_relative_to(site), f"{name} imported from {where}, not from {site}"
        print(len(names), " ".join(sorted(names)))
    """)
    res = _run(py, "-c", check, cwd=work, MPLBACKEND="Agg")
    assert res.returncode == 0, res.stdout + res.stderr
    n, names = res.stdout.split(" ", 1)
    names = set(names.split())
    expected = {"subclass_lib." + p.relative_to(ROOT / "subclass_lib").with_suffix("").as_posix().replace("/", ".")
                for p in (ROOT / "subclass_lib").rglob("*.py") if "__pycache__" not in p.parts}
    expected = {e.removesuffix(".__init__") for e in expected}
    assert expected <= names | {"subclass_lib.__main__"}, sorted(expected - names)
    assert {"subclass_lib.experiments", "subclass_lib.plots", "subclass_lib.widgets"} <= names

    res = _run(py, "-m", "subclass_lib", "--help", cwd=work, MPLBACKEND="Agg")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "usage: python -m subclass_lib" in res.stdout


def test_the_colab_setup_cell_fails_with_one_clear_line(tmp_path):
    py = _fresh_venv(tmp_path / "venv")
    url = "https://github.com/someone/book"
    # the cell as the chapters hold it, with an install that fails at once and offline
    cell = set_repository.setup_source(url).replace(f'"git+{url}"]', f'"{tmp_path / "no-such-repo"}"]')
    assert cell != set_repository.setup_source(url)
    (tmp_path / "cell.py").write_text(cell)
    driver = textwrap.dedent("""
        import sys
        from IPython.core.interactiveshell import InteractiveShell
        result = InteractiveShell.instance().run_cell(open(sys.argv[1]).read())
        print("RESULT", result.success, type(result.error_in_exec).__name__)
    """)
    res = _run(py, "-c", driver, str(tmp_path / "cell.py"), cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout.splitlines()
    assert out[-1] == "RESULT False SetupFailed", res.stdout + res.stderr
    shown = [line for line in out[:-1] if line.strip()]
    assert len(shown) == 1 and shown[0].startswith("Setup failed (pip exited with code 1)"), shown
    assert f"pip install git+{url}" in shown[0]
    assert "Traceback" not in res.stdout + res.stderr
