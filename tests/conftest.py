"""Shared fixtures: known optima, helpers to build configurations."""
import numpy as np
import pytest

from gnc_jax.codes import constructions as C


def simplex(K: int, d: int | None = None) -> np.ndarray:
    """(K, d) regular simplex with unit rows (d defaults to K-1)."""
    return C.regular_simplex(K, d)


polygon = C.regular_polygon  # (K, 2) regular K-gon
icosahedron = C.icosahedron  # (12, 3)
cross_polytope = C.cross_polytope  # (2d, d)


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
