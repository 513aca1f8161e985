"""Shared pieces of the experiment recipes: scales, JSON output, text tables.

A recipe is a frozen config dataclass in and a JSON-serialisable results dataclass (or dict)
out. Notebooks, widgets and the command line all call the same recipe functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

from ..checks import SCALES, check_fraction, check_scale, check_temperature  # noqa: F401  (their old home)
from ..files import to_jsonable, write_json  # noqa: F401  (the one JSON converter)


class Scaled:
    """The one ``for_scale`` of every chapter's config dataclass.

    A config lists what differs at each scale in ``SCALES`` (``"default"``: the book's size, a
    laptop CPU; ``"full"``: the papers' size); ``Config.for_scale(scale, **overrides)`` is the
    config of that scale with ``overrides`` on top, and its ``scale`` field says which it was.
    """

    SCALES: ClassVar[dict[str, dict]] = {"default": {}, "full": {}}

    @classmethod
    def for_scale(cls, scale: str = "default", **overrides):
        check_scale(scale)
        return cls(**{**cls.SCALES[scale], **overrides, "scale": scale})


#: a table cell that is a mean and a spread, e.g. "0.9648 ± 0.0011" or "+1.49 ± 0.12"
_MEAN_STD = re.compile(r"^\S+ ± \S+$")


def _cell(v, floatfmt: str):
    """A table cell: floats formatted, ``None`` empty, anything else as it is."""
    if isinstance(v, float):
        return floatfmt.format(v)
    return "" if v is None else v


def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None,
                 floatfmt: str = "{:.4f}") -> str:
    """A plain-text table of ``rows`` (dicts), columns in order, floats formatted."""
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0].keys())
    body = [[str(_cell(r.get(c), floatfmt)) for c in columns] for r in rows]
    widths = [max(len(str(c)), *(len(b[i]) for b in body)) for i, c in enumerate(columns)]
    line = "  ".join(str(c).ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line, sep] + ["  ".join(v.ljust(w) for v, w in zip(b, widths)) for b in body])


def result_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None, floatfmt: str = "{:.4f}", *,
                 caption: str | None = None, best: Mapping[str, str] | None = None):
    """A chapter's result table as an HTML table (a pandas ``Styler``): the same rows, columns and number
    format as :func:`format_table`, no index, an optional caption, and ``best`` (column -> ``"min"`` or
    ``"max"``) in bold. Its table id is a hash of its content, so a rerun stores the same HTML; its
    plain-text form (``repr``, what nbval and a terminal see) is :func:`format_table`'s.
    The command line keeps printing :func:`format_table`."""
    import hashlib

    import pandas as pd
    from pandas.io.formats.style import Styler

    text = format_table(rows, columns, floatfmt)
    columns = list(columns or (rows[0].keys() if rows else []))
    frame = pd.DataFrame([[_cell(r.get(c), floatfmt) for c in columns] for r in rows],
                         columns=[str(c) for c in columns])

    class ResultTable(Styler):
        def __repr__(self) -> str:
            return text

        def _repr_pretty_(self, p, cycle) -> None:
            p.text(text)

    mean_std = [c for c in frame.columns if any(isinstance(v, str) and _MEAN_STD.match(v) for v in frame[c])]
    for c in mean_std:  # a no-break space after the "±": the line may break only before it
        frame[c] = [v.replace(" ± ", " ±\u00a0") if isinstance(v, str) else v for v in frame[c]]
    uid = hashlib.sha256((text + (caption or "") + repr(sorted((best or {}).items()))).encode()).hexdigest()[:10]
    style = ResultTable(frame, uuid=f"r{uid}", cell_ids=False, table_attributes='class="result-table"')
    style = style.hide(axis="index")
    if caption:
        style = style.set_caption(caption)
    for col in frame.columns:  # a column of prose wraps inside the column instead of scrolling the table
        if any(isinstance(v, str) and len(v) > 24 for v in frame[col]):
            style = style.set_properties(subset=[col], **{"white-space": "normal", "text-align": "left",
                                                          "min-width": "7em"})
        elif col in mean_std or any(isinstance(v, str) and ", " in v for v in frame[col]):
            # "0.9648 ± 0.0011" may wrap before its "±", a list of numbers after a comma, when the table
            # is wider than the column
            style = style.set_properties(subset=[col], **{"white-space": "normal"})
    for col, how in (best or {}).items():
        values = [r.get(col) for r in rows]
        nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if not nums:
            continue
        target = min(nums) if how == "min" else max(nums)
        mask = [v == target for v in values]
        style = style.apply(lambda s, m=mask: ["font-weight: bold" if k else "" for k in m], subset=[str(col)], axis=0)
    return style


def show_answer(key: str, obj) -> None:
    """Show ``obj`` (a result table, a figure) as part of an exercise's worked answer.

    In the book it appears inside the answer's dropdown, where the chapter's markdown pastes it
    with ``{glue} key`` (myst-nb's glue; the computing cell is tagged ``remove-output``, so the
    numbers are not shown above the answer); in a notebook it is shown below the cell as usual.
    Without myst-nb installed (Colab) it is simply displayed. A figure is closed afterwards, so
    the inline backend does not show it a second time.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"show_answer: key must be a non-empty string, got {key!r}")
    try:
        from myst_nb import glue
    except ImportError:
        from IPython.display import display

        display(obj)
    else:
        glue(key, obj, display=True)
    if type(obj).__module__.startswith("matplotlib"):
        import matplotlib.pyplot as plt

        plt.close(obj)
