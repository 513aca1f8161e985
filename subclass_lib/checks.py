"""Argument checks shared by the recipes: each returns the checked value (converted) or
raises a ``ValueError`` that names the argument and what it must be.

Checks that belong to one chapter's config (its cross-field rules) stay with that chapter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SCALES = ("default", "full")


def check_scale(scale: str) -> str:
    """Validate a scale name: ``"default"`` (the book and CI) or ``"full"`` (the papers' size)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    return scale


def check_temperature(T, name: str = "T") -> float:
    """A finite temperature > 0, as a float."""
    T = float(T)
    if not (math.isfinite(T) and T > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {T!r}")
    return T


def check_fraction(x, name: str, low_open: bool = False) -> float:
    """A fraction in [0, 1] (``low_open``: in (0, 1]), as a float."""
    x = float(x)
    ok = (0 < x <= 1) if low_open else (0 <= x <= 1)
    if not (math.isfinite(x) and ok):
        raise ValueError(f"{name} must be in {'(0, 1]' if low_open else '[0, 1]'}, got {x!r}")
    return x


def check_eps(eps, name: str = "eps") -> float:
    """Label-smoothing ``eps`` must be in [0, 1) (1 would make every target uniform)."""
    if isinstance(eps, bool):
        raise ValueError(f"{name} must be a number in [0, 1), got {eps!r}")
    try:
        e = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), got {eps!r}") from None
    if not (math.isfinite(e) and 0.0 <= e < 1.0):
        raise ValueError(f"{name} must be in [0, 1) (eps = 1 makes every target uniform), got {eps!r}")
    return e


def check_classes(classes, n_classes: int = 10) -> tuple[int, int, int]:
    """Three distinct digits (for the penultimate-layer projection plane)."""
    try:
        cls = tuple(int(c) for c in classes)
    except (TypeError, ValueError):
        raise ValueError(f"classes must be three distinct digits, got {classes!r}") from None
    if len(cls) != 3:
        raise ValueError(f"the projection needs exactly three classes, got {len(cls)}: {cls}")
    if len(set(cls)) != 3:
        raise ValueError(f"the three classes must be distinct, got {cls}")
    if any(not 0 <= c < n_classes for c in cls):
        raise ValueError(f"classes must be in 0..{n_classes - 1}, got {cls}")
    return cls  # type: ignore[return-value]


def parse_temperatures(text: str | Sequence[float]) -> tuple[float, ...]:
    """``"1,2,3,4,8,64"`` (or a sequence) to a tuple of distinct temperatures, each > 0, including 1."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"temperatures must be comma-separated numbers, got {text!r}") from None
    else:
        values = [float(v) for v in text]
    if not values:
        raise ValueError("give at least one temperature")
    temps = tuple(check_temperature(v, "every temperature") for v in values)
    if len(set(temps)) != len(temps):
        raise ValueError(f"temperatures must be distinct, got {temps}")
    if 1.0 not in temps:
        raise ValueError(f"the temperatures must include T = 1 (the diffusion index is measured from T = 1), got {temps}")
    return tuple(sorted(temps))


def check_int(name: str, v, low: int, high: int | None = None) -> int:
    """``v`` as an int if it is an integer >= ``low`` (and <= ``high``), else a clear ``ValueError``."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low or (high is not None and v > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {rng}, got {v!r}")
    return int(v)


def check_real(name: str, v, low: float, strict: bool) -> float:
    """``v`` as a float if it is a finite number > ``low`` (``strict``) or >= ``low``, else a ``ValueError``."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    ok = math.isfinite(x) and (x > low if strict else x >= low)
    if isinstance(v, bool) or not ok:
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low}, got {v!r}")
    return x


def check_seed(seed, name: str = "seed") -> int:
    """A non-negative integer seed, as an int."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_pos_int(name: str, v, allow_none: bool = False):
    """A positive integer as an int (``None`` passes with ``allow_none``)."""
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def check_hidden(h, name: str = "student_hidden", allow_int: bool = True) -> tuple[int, ...]:
    """Hidden layer sizes (``128,128``, ``128x128``, an int or a sequence) as a tuple of positive ints;
    ``name`` is the field named in the error. With ``allow_int=False`` a bare int is refused (where it
    once meant something else, e.g. chapter 1's "2 x width")."""
    if isinstance(h, str):
        try:
            h = tuple(int(v) for v in h.replace("x", ",").split(",") if v.strip())
        except ValueError:
            raise ValueError(f"{name} must be comma-separated positive integers like '128,128', "
                             f"got {h!r}") from None
    if isinstance(h, (int, np.integer)) and not isinstance(h, bool):
        if not allow_int:
            raise ValueError(f"{name} must be a tuple of layer sizes such as (800, 800), got {h!r}")
        h = (int(h),)
    try:
        h = tuple(h)
    except TypeError:
        raise ValueError(f"{name} must be a tuple of positive integers, got {h!r}") from None
    if not h or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in h):
        raise ValueError(f"{name} must be one or more positive integers, got {h!r}")
    return tuple(int(v) for v in h)
