"""Claim checks for the chapters' hidden cells.

Every sentence of a chapter that states a number or an ordering has a hidden cell below it that
checks the claim against the run that just happened::

    from subclass_lib.claims import claim
    claim(acc_distilled > acc_small, "distillation beats hard labels")

What a failing claim does depends on who runs the notebook:

* under the tests (nbval, ``make test``, ``tools/run_notebooks.py``, ``tools/check_robustness.py``),
  ``$SUBCLASS_LIB_CLAIMS`` is ``strict`` and a failing claim raises :class:`AssertionError`, so the
  prose and the stored numbers cannot drift apart;
* in a reader's kernel (Jupyter, Binder, Colab: the variable unset), it prints one line saying
  which claim does not hold and this run's numbers, and the notebook goes on. A reader who
  changes a seed or runs on another processor sees where their run differs from the text instead
  of an ``AssertionError`` in a cell the book hides.

The line names the claim (the text given, else the expression's source) and the values of the
names and calls the expression compares, read from the caller's frame.

With ``$SUBCLASS_LIB_CLAIMS_LOG`` set to a file, every claim, held or not, is also appended there
as one JSON line (``label``, ``source``, ``held``, ``numbers``): ``tools/check_robustness.py
--reader-seeds`` counts on how many seeds each claim of a chapter held.
"""

from __future__ import annotations

import ast
import inspect
import json
import linecache
import os

__all__ = ["claim", "claims_mode", "ENV", "LOG_ENV"]

#: Environment variable: ``strict`` (raise) or ``warn`` (print one line; the default).
ENV = "SUBCLASS_LIB_CLAIMS"
#: Environment variable: a file to which every claim is appended as a JSON line (unset: none).
LOG_ENV = "SUBCLASS_LIB_CLAIMS_LOG"
_MODES = ("strict", "warn")


def claims_mode() -> str:
    """``"strict"`` or ``"warn"``, from ``$SUBCLASS_LIB_CLAIMS`` (unset: ``"warn"``)."""
    mode = os.environ.get(ENV, "").strip().lower() or "warn"
    if mode not in _MODES:
        raise ValueError(f"${ENV} must be one of {_MODES}, got {mode!r}")
    return mode


def claim(condition, what=None) -> bool:
    """Check one claim of the prose; returns whether it holds.

    ``condition`` is the claim's truth value for this run (anything with a truth value; a
    NumPy or torch boolean is fine). ``what`` says the claim in words (or is any object whose
    text helps, as an ``assert`` message would); without it the line quotes the expression.
    A failing claim raises :class:`AssertionError` when ``$SUBCLASS_LIB_CLAIMS=strict`` and
    prints one line otherwise.
    """
    what = None if what is None else str(what)
    ok = bool(condition)
    log = os.environ.get(LOG_ENV, "").strip()
    if ok and not log:
        return True
    frame = inspect.currentframe().f_back
    try:
        source, numbers = _describe(frame)
    finally:
        del frame
    label = what or source or "a claim of the text"
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"label": label, "source": source, "held": ok, "numbers": numbers}) + "\n")
    if ok:
        return True
    line = f"claim not met in this run: {label}"
    if what and source:
        line += f"  [{source}]"
    if numbers:
        line += "  with " + ", ".join(numbers)
    if claims_mode() == "strict":
        raise AssertionError(line)
    print(line, flush=True)
    return False


# ----------------------------------------------------------------------------- the line's numbers

def _describe(frame) -> tuple[str | None, list[str]]:
    """The source of the first argument of the ``claim(...)`` call in ``frame`` and the values
    of the operands it compares (best effort: ``(None, [])`` when the source is unavailable)."""
    try:
        expr = _call_argument(frame)
    except Exception:  # noqa: BLE001 - a description must never hide the claim itself
        return None, []
    if expr is None:
        return None, []
    source = ast.unparse(expr)
    numbers, seen = [], set()
    for node in _operands(expr):
        text = ast.unparse(node)
        if text in seen or isinstance(node, ast.Constant):
            continue
        seen.add(text)
        try:
            value = eval(compile(ast.Expression(node), "<claim>", "eval"), frame.f_globals, frame.f_locals)
        except Exception:  # noqa: BLE001 - names bound inside a comprehension, say
            continue
        numbers.append(f"{text} = {_short(value)}")
        if len(numbers) == 6:
            break
    return source, numbers


def _call_argument(frame):
    info = inspect.getframeinfo(frame, context=0)
    pos = getattr(info, "positions", None)
    first = (pos.lineno if pos and pos.lineno else info.lineno)
    last = (pos.end_lineno if pos and pos.end_lineno else first)
    lines = [linecache.getline(info.filename, n, frame.f_globals) for n in range(first, last + 1)]
    text = "".join(lines)
    if not text.strip():
        return None
    tree = ast.parse(_dedent(text))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "claim":
            return node.args[0] if node.args else None
    return None


def _dedent(text: str) -> str:
    lines = text.splitlines()
    indent = min((len(s) - len(s.lstrip()) for s in lines if s.strip()), default=0)
    return "\n".join(s[indent:] for s in lines)


def _operands(expr):
    """The compared quantities of a claim: operands of comparisons and arithmetic, through
    ``and`` / ``or`` / ``not``; a bare name or call stands for itself."""
    if isinstance(expr, ast.BoolOp):
        for v in expr.values:
            yield from _operands(v)
    elif isinstance(expr, ast.UnaryOp):
        yield from _operands(expr.operand)
    elif isinstance(expr, ast.Compare):
        for v in (expr.left, *expr.comparators):
            yield from _operands(v)
    elif isinstance(expr, ast.BinOp):
        yield expr
        for v in (expr.left, expr.right):
            if not isinstance(v, ast.Constant):
                yield from _operands(v)
    elif isinstance(expr, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)):
        yield expr


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return _short(value.item())
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (list, tuple)) and all(isinstance(v, float) for v in value):
        inner = ", ".join(f"{v:.4g}" for v in value[:12]) + (", ..." if len(value) > 12 else "")
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
