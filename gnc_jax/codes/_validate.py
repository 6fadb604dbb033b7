"""Argument checks shared by `gnc_jax.codes`; every failure is a ValueError naming the argument."""
from __future__ import annotations

import numpy as np

from .. import _checks


def check_int(value, name: str, minimum: int) -> int:
    """Return `value` as a Python int, or raise ValueError if it is not an integer >= minimum."""
    return _checks.check_int(name, value, minimum)


def check_dim(d, name: str = "d") -> int:
    """Ambient dimension: an integer >= 1."""
    return check_int(d, name, 1)


def check_count(n, name: str = "N") -> int:
    """Number of points: an integer >= 2."""
    return check_int(n, name, 2)


def check_points(points, name: str = "points") -> np.ndarray:
    """Return `points` as a row-normalised float64 (N, d) array.

    Raises ValueError (naming `name`) unless the input is a finite 2-D array with N >= 2 rows,
    d >= 1 columns and no zero row.
    """
    try:
        x = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric (N, d) array: {err}") from None
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (N, d), got shape {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"{name} must hold N >= 2 points, got shape {x.shape}")
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have dimension d >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.any(norms == 0.0):
        raise ValueError(f"{name} contains a zero row, which cannot be normalised")
    return x / norms
