"""Synthetic classification data: K Gaussian clusters, easy to fit, so training reaches the terminal phase fast."""
from __future__ import annotations

import numpy as np

from .._checks import check_int


def gaussian_mixture(K: int, n: int, dim: int = 32, separation: float = 3.0, seed: int = 0):
    """K classes of n samples each in R^dim: class means are random Gaussian vectors scaled to norm ``separation``,
    samples are means plus standard Gaussian noise. Returns (X (K n, dim) float32, y (K n,) int32), sorted by class.
    Host numpy, deterministic in ``seed``."""
    for name, v, lo in (("K", K, 2), ("n", n, 1), ("dim", dim, 1)):
        check_int(name, v, lo)
    if not np.isfinite(separation) or separation <= 0:
        raise ValueError(f"separation must be positive and finite, got {separation!r}")
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((K, dim))
    means *= separation / np.linalg.norm(means, axis=1, keepdims=True)
    y = np.repeat(np.arange(K), n)
    X = means[y] + rng.standard_normal((K * n, dim))
    return X.astype(np.float32), y.astype(np.int32)
