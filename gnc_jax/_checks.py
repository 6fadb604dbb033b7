"""Argument checks shared by the package: each returns the value as a plain Python number or raises a ValueError
that names the argument (raised on the host, before anything compiles)."""
from __future__ import annotations

import math
import numbers
import os

import numpy as np


def check_int(name: str, value, lo: int) -> int:
    """``value`` as an int; it must be an integer (not a bool) >= ``lo``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    return int(value)


def _float(name: str, value, what: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {what}, got {value!r}") from None


def check_finite(name: str, value) -> float:
    """``value`` as a finite float."""
    v = _float(name, value, "a finite number")
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def check_positive(name: str, value) -> float:
    """``value`` as a finite float > 0."""
    v = _float(name, value, "a positive finite number")
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def check_nonneg(name: str, value) -> float:
    """``value`` as a finite float >= 0."""
    v = _float(name, value, "a finite number >= 0")
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def check_open_unit(name: str, value, hi: float = 1.0) -> float:
    """``value`` as a float in the open interval (0, hi)."""
    v = _float(name, value, f"a number in (0, {hi:g})")
    if not 0 < v < hi:
        raise ValueError(f"{name} must lie in (0, {hi:g}), got {value!r}")
    return v


def check_bool(name: str, value) -> bool:
    """``value`` as a bool; it must be True or False (numpy's too), not a truthy object."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_output_path(name: str, path: str | None) -> str | None:
    """An output file whose directory exists (checked before a long run, not when it is about to be written);
    None (no output asked for) passes."""
    if path is None:
        return None
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"{name}: directory {parent!r} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"{name}: {path!r} is a directory, not a file")
    return path
