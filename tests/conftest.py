"""Shared fixtures: known optima, helpers to build configurations; one XLA compilation cache per test run."""
import atexit
import os
import shutil
import tempfile

# The benchmark scripts and notebooks that tests start as subprocesses, and pytest-xdist's workers, compile many of
# the same programs. JAX's persistent compilation cache (keyed on the program, the jax version and the compile
# options, so it only saves time) lets each be compiled once per run. The first process to load this file (the
# xdist controller, or plain pytest) makes a fresh directory, hands it on through the environment and removes it
# at exit; a directory the caller set already is used as it is and kept.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache_dir = tempfile.mkdtemp(prefix="gnc-jax-test-xla-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache_dir
    atexit.register(shutil.rmtree, _cache_dir, ignore_errors=True)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import jax  # noqa: E402  (after the environment above)
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gnc_jax.codes import constructions as C  # noqa: E402

# in case jax was imported before this file
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs",
                  float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))


def simplex(K: int, d: int | None = None) -> np.ndarray:
    """(K, d) regular simplex with unit rows (d defaults to K-1)."""
    return C.regular_simplex(K, d)


polygon = C.regular_polygon  # (K, 2) regular K-gon
icosahedron = C.icosahedron  # (12, 3)
cross_polytope = C.cross_polytope  # (2d, d)


def oblique_starts(B: int, K: int, d: int, seed: int = 0, dtype=np.float32) -> dict:
    """{"W": (B, K, d)}: B random points of the oblique manifold OB(d, K) (rows uniform on S^{d-1}), from ``seed``."""
    from gnc_jax.manifolds import Oblique, Product

    keys = jax.random.split(jax.random.key(seed), B)
    return jax.vmap(lambda k: Product({"W": Oblique()}).random(k, {"W": (K, d)}, dtype))(keys)


def random_rotation(d: int, seed: int = 0) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


@pytest.fixture
def x64():
    """Run a test with float64 enabled, restoring the previous setting afterwards."""
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)
