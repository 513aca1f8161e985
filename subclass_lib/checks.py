"""Argument checks shared by the recipes: each returns the checked value (converted) or
raises a ``ValueError`` that names the argument and what it must be.

Checks that belong to one chapter (a config's cross-field rules, ``ls_kd.check_eps``)
stay with that chapter.
"""

from __future__ import annotations

import math

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


def check_seed(seed) -> int:
    """A non-negative integer seed, as an int."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_pos_int(name: str, v, allow_none: bool = False):
    """A positive integer as an int (``None`` passes with ``allow_none``)."""
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def check_hidden(h) -> tuple[int, ...]:
    """Hidden layer sizes (``128,128``, ``128x128``, an int or a sequence) as a tuple of positive ints."""
    if isinstance(h, str):
        try:
            h = tuple(int(v) for v in h.replace("x", ",").split(",") if v.strip())
        except ValueError:
            raise ValueError(f"student_hidden must be comma-separated positive integers like '128,128', "
                             f"got {h!r}") from None
    if isinstance(h, (int, np.integer)) and not isinstance(h, bool):
        h = (int(h),)
    try:
        h = tuple(h)
    except TypeError:
        raise ValueError(f"student_hidden must be a tuple of positive integers, got {h!r}") from None
    if not h or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in h):
        raise ValueError(f"student_hidden must be one or more positive integers, got {h!r}")
    return tuple(int(v) for v in h)
