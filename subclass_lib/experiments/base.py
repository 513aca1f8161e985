"""Shared pieces of the experiment recipes: scales, JSON output, text tables.

A recipe is a frozen config dataclass in and a JSON-serialisable results dataclass (or dict)
out. Notebooks, widgets and the command line all call the same recipe functions.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path

import numpy as np
import torch

from ..checks import SCALES, check_fraction, check_scale, check_temperature  # noqa: F401  (their old home)
from ..files import atomic_write


def to_jsonable(obj):
    """Dataclasses, tensors, numpy arrays and scalars to plain JSON types."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return to_jsonable(obj.detach().cpu().numpy())
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"refusing to write a non-finite number ({obj}) to JSON")
    return obj


def write_json(obj, path: str | os.PathLike) -> Path:
    """Write ``obj`` as indented JSON, atomically (temporary file, then rename)."""
    path = Path(path)
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=False, allow_nan=False)
    return atomic_write(path, text + "\n")


def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None,
                 floatfmt: str = "{:.4f}") -> str:
    """A plain-text table of ``rows`` (dicts), columns in order, floats formatted."""
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0].keys())

    def cell(v):
        if isinstance(v, float):
            return floatfmt.format(v)
        return "" if v is None else str(v)

    body = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(str(c)), *(len(b[i]) for b in body)) for i, c in enumerate(columns)]
    line = "  ".join(str(c).ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line, sep] + ["  ".join(v.ljust(w) for v, w in zip(b, widths)) for b in body])
