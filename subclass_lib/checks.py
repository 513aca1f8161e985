"""Argument checks shared by the configs and the recipes: one function per kind of value, each
``check_<kind>(value, name, ...)`` (the value first, then the name its error gives it). Each returns
the checked value (converted) or raises a ``ValueError`` that names the value and what it must be.

Checks that belong to one chapter's config (its cross-field rules) stay with that chapter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

SCALES = ("default", "full")


def _named(name, check: str) -> str:
    """``name`` if it is a string: a call with the arguments the other way round (``check_x(name,
    value)``) fails loudly here instead of checking the name."""
    if not isinstance(name, str):
        raise TypeError(f"{check}(value, name, ...) takes the value first and its name second, got name {name!r}")
    return name


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_real_scalar(x) -> bool:
    """A Python or NumPy real number (not a bool) or a 0-d real, non-bool tensor."""
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, numbers.Real):
        return True
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape is None or dtype is None or tuple(shape) != () or type(x).__module__.split(".")[0] != "torch":
        return False
    return dtype.is_floating_point or not (dtype.is_complex or str(dtype) == "torch.bool")


def check_scale(scale, name: str = "scale") -> str:
    """Validate a scale name: ``"default"`` (the book and CI) or ``"full"`` (the papers' size)."""
    if scale not in SCALES:
        raise ValueError(f"{_named(name, 'check_scale')} must be one of {SCALES}, got {scale!r}")
    return scale


def check_choice(value, name: str, choices: Sequence):
    """One of ``choices``."""
    if value not in tuple(choices):
        raise ValueError(f"{_named(name, 'check_choice')} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_bool(value, name: str) -> bool:
    """``True`` or ``False`` (not 0 or 1)."""
    if not isinstance(value, bool):
        raise ValueError(f"{_named(name, 'check_bool')} must be True or False, got {value!r}")
    return value


def check_seed(seed, name: str = "seed") -> int:
    """A non-negative integer seed, as an int."""
    _named(name, "check_seed")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_int(v, name: str, low: int, high: int | None = None) -> int:
    """``v`` as an int if it is an integer >= ``low`` (and <= ``high``), else a clear ``ValueError``."""
    _named(name, "check_int")
    if not _is_int(v) or v < low or (high is not None and v > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {rng}, got {v!r}")
    return int(v)


def check_pos_int(v, name: str, allow_none: bool = False):
    """A positive integer (epochs, sizes, counts) as an int (``None`` passes with ``allow_none``)."""
    _named(name, "check_pos_int")
    if v is None and allow_none:
        return None
    if not _is_int(v) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def check_real(v, name: str, low: float, strict: bool) -> float:
    """``v`` as a float if it is a finite number > ``low`` (``strict``) or >= ``low``, else a ``ValueError``."""
    _named(name, "check_real")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {v!r}") from None
    ok = math.isfinite(x) and (x > low if strict else x >= low)
    if isinstance(v, bool) or not ok:
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low}, got {v!r}")
    return x


def check_finite(v, name: str, allow_none: bool = False):
    """A finite number (of any sign) as a float (``None`` passes with ``allow_none``)."""
    _named(name, "check_finite")
    if v is None and allow_none:
        return None
    what = "a finite number or None" if allow_none else "a finite number"
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {what}, got {v!r}") from None
    if isinstance(v, bool) or not math.isfinite(x):
        raise ValueError(f"{name} must be {what}, got {v!r}")
    return x


def check_lr(lr, name: str = "lr") -> float:
    """A learning rate: a finite number > 0, as a float."""
    return check_real(lr, name, 0.0, strict=True)


def check_temperature(T, name: str = "T") -> float:
    """A temperature: a real number (a Python or NumPy number or a 0-d tensor, not a bool or a
    string), finite and > 0, as a float. The configs and the losses share it."""
    _named(name, "check_temperature")
    if not _is_real_scalar(T):
        raise ValueError(f"{name} must be a real number > 0, got {T!r}")
    t = float(T)
    if not (math.isfinite(t) and t > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {t!r}")
    return t


def check_fraction(x, name: str, low_open: bool = False) -> float:
    """A fraction in [0, 1] (``low_open``: in (0, 1]), as a float."""
    _named(name, "check_fraction")
    rng = "(0, 1]" if low_open else "[0, 1]"
    try:
        if isinstance(x, bool):
            raise TypeError
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in {rng}, got {x!r}") from None
    ok = (0 < x <= 1) if low_open else (0 <= x <= 1)
    if not (math.isfinite(x) and ok):
        raise ValueError(f"{name} must be in {rng}, got {x!r}")
    return x


def check_dropout(p, name: str) -> float:
    """A dropout rate in [0, 1), as a float."""
    _named(name, "check_dropout")
    try:
        x = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), got {p!r}") from None
    if isinstance(p, bool) or not 0 <= x < 1:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1), got {p!r}")
    return x


def check_eps(eps, name: str = "eps") -> float:
    """Label-smoothing ``eps`` must be in [0, 1) (1 would make every target uniform)."""
    _named(name, "check_eps")
    if isinstance(eps, bool):
        raise ValueError(f"{name} must be a number in [0, 1), got {eps!r}")
    try:
        e = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), got {eps!r}") from None
    if not (math.isfinite(e) and 0.0 <= e < 1.0):
        raise ValueError(f"{name} must be in [0, 1) (eps = 1 makes every target uniform), got {eps!r}")
    return e


def check_hidden(h, name: str = "student_hidden", allow_int: bool = True) -> tuple[int, ...]:
    """Hidden layer sizes (``128,128``, ``128x128``, an int or a sequence) as a tuple of positive ints;
    ``name`` is the field named in the error. With ``allow_int=False`` a bare int is refused (where it
    once meant something else, e.g. chapter 1's "2 x width")."""
    _named(name, "check_hidden")
    if isinstance(h, str):
        try:
            h = tuple(int(v) for v in h.replace("x", ",").split(",") if v.strip())
        except ValueError:
            raise ValueError(f"{name} must be comma-separated positive integers like '128,128', "
                             f"got {h!r}") from None
    if _is_int(h):
        if not allow_int:
            raise ValueError(f"{name} must be a tuple of layer sizes such as (800, 800), got {h!r}")
        h = (int(h),)
    try:
        h = tuple(h)
    except TypeError:
        raise ValueError(f"{name} must be a tuple of positive integers, got {h!r}") from None
    if not h or any(not _is_int(v) or v < 1 for v in h):
        raise ValueError(f"{name} must be one or more positive integers, got {h!r}")
    return tuple(int(v) for v in h)


def check_classes(classes, name: str = "classes", n_classes: int = 10) -> tuple[int, int, int]:
    """Three distinct digits (for the penultimate-layer projection plane)."""
    _named(name, "check_classes")
    try:
        cls = tuple(int(c) for c in classes)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be three distinct digits, got {classes!r}") from None
    if len(cls) != 3:
        raise ValueError(f"the projection needs exactly three classes, got {len(cls)}: {cls}")
    if len(set(cls)) != 3:
        raise ValueError(f"the three classes must be distinct, got {cls}")
    if any(not 0 <= c < n_classes for c in cls):
        raise ValueError(f"{name} must be in 0..{n_classes - 1}, got {cls}")
    return cls  # type: ignore[return-value]


def parse_temperatures(text: str | Sequence[float], name: str = "temperatures") -> tuple[float, ...]:
    """``"1,2,3,4,8,64"`` (or a sequence) to a tuple of distinct temperatures, each > 0, including 1."""
    _named(name, "parse_temperatures")
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from None
    else:
        values = [float(v) for v in text]
    if not values:
        raise ValueError("give at least one temperature")
    temps = tuple(check_temperature(v, "every temperature") for v in values)
    if len(set(temps)) != len(temps):
        raise ValueError(f"{name} must be distinct, got {temps}")
    if 1.0 not in temps:
        raise ValueError(f"{name} must include T = 1 (the diffusion index is measured from T = 1), got {temps}")
    return tuple(sorted(temps))
