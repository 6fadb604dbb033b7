"""Shared fixtures: known optima, helpers to build configurations."""
import numpy as np
import pytest


def simplex(K: int) -> np.ndarray:
    """(K, K-1) regular simplex, unit rows."""
    e = np.eye(K) - 1.0 / K
    u, s, vt = np.linalg.svd(e)
    x = u[:, : K - 1] * s[: K - 1]
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def polygon(K: int) -> np.ndarray:
    a = 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(a), np.sin(a)], 1)


def icosahedron() -> np.ndarray:
    g = (1 + 5**0.5) / 2
    pts = []
    for s1 in (-1, 1):
        for s2 in (-1, 1):
            pts += [(0, s1, s2 * g), (s1, s2 * g, 0), (s2 * g, 0, s1)]
    x = np.asarray(pts, float)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def random_rotation(d: int, seed: int = 0) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


@pytest.fixture
def x64():
    """Run a test with float64 enabled, restoring the previous setting afterwards."""
    import jax

    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)
