"""Riemannian invariants of the oblique/Euclidean/product manifolds."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gnc_jax.manifolds import Euclidean, Oblique, Product


def _point(key, shape):
    return Oblique().random(key, shape)


def test_random_points_are_on_the_sphere_and_masked():
    cm = jnp.array([1, 1, 1, 0, 0], jnp.float32)
    dm = jnp.array([1, 1, 1, 0], jnp.float32)
    x = Oblique(cm, dm).random(jax.random.key(0), (5, 4))
    norms = np.linalg.norm(np.asarray(x), axis=1)
    np.testing.assert_allclose(norms[:3], 1.0, atol=1e-6)
    assert np.all(np.asarray(x)[3:] == 0) and np.all(np.asarray(x)[:, 3] == 0)


def test_projection_is_tangent_and_idempotent():
    m = Oblique()
    x = _point(jax.random.key(1), (7, 5))
    v = jax.random.normal(jax.random.key(2), (7, 5))
    p = m.proj(x, v)
    np.testing.assert_allclose(np.sum(np.asarray(p * x), axis=1), 0.0, atol=1e-6)
    chex.assert_trees_all_close(m.proj(x, p), p, atol=1e-6)


@pytest.mark.parametrize("method", ["retract", "exp"])
def test_retraction_and_exp_stay_on_sphere_and_have_unit_derivative(method, x64):
    m = Oblique()
    x = m.project_point(_point(jax.random.key(3), (6, 4)).astype(jnp.float64))
    v = m.proj(x, jax.random.normal(jax.random.key(4), (6, 4), jnp.float64))
    y = getattr(m, method)(x, 0.7 * v)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(y), axis=1), 1.0, atol=1e-12)
    h = 1e-6  # d/dt R_x(t v) at t = 0 equals v
    fd = (getattr(m, method)(x, h * v) - getattr(m, method)(x, -h * v)) / (2 * h)
    np.testing.assert_allclose(np.asarray(fd), np.asarray(v), atol=1e-8)


def test_exp_moves_along_geodesic_by_the_norm(x64):
    m = Oblique()
    x = jnp.array([[1.0, 0.0, 0.0]])
    v = jnp.array([[0.0, 0.3, 0.0]])
    y = m.exp(x, v)
    np.testing.assert_allclose(np.asarray(y), [[np.cos(0.3), np.sin(0.3), 0.0]], atol=1e-14)


def test_riemannian_gradient_matches_finite_differences_along_retraction(x64):
    """<grad f(x), v> equals d/dt f(R_x(t v)) for tangent v, for a product manifold."""
    man = Product({"W": Oblique(), "b": Euclidean(ndim=1)})
    k = jax.random.split(jax.random.key(5), 4)
    x = man.project_point({"W": _point(k[0], (5, 3)).astype(jnp.float64), "b": jax.random.normal(k[1], (5,), jnp.float64)})
    a = jax.random.normal(k[2], (5, 5), jnp.float64)

    def f(p):
        g = p["W"] @ p["W"].T
        return jnp.sum(jnp.sin(a * g)) + jnp.sum(p["b"] ** 3) + jnp.sum(p["W"][:, 0] * p["b"])

    rg = man.egrad_to_rgrad(x, jax.grad(f)(x))
    v = man.proj(x, {"W": jax.random.normal(k[3], (5, 3), jnp.float64), "b": jnp.ones(5, jnp.float64)})
    h = 1e-6
    fd = (f(man.retract(x, jax.tree.map(lambda t: h * t, v))) - f(man.retract(x, jax.tree.map(lambda t: -h * t, v)))) / (2 * h)
    np.testing.assert_allclose(float(man.inner(x, rg, v)), float(fd), rtol=1e-7)
    # tangent gradient is orthogonal to the points
    np.testing.assert_allclose(np.sum(np.asarray(rg["W"] * x["W"]), axis=1), 0.0, atol=1e-12)


def test_padded_rows_and_columns_stay_zero_under_every_operation():
    cm = jnp.array([1, 1, 0], jnp.float32)
    dm = jnp.array([1, 1, 1, 0], jnp.float32)
    m = Oblique(cm, dm)
    x = m.random(jax.random.key(6), (3, 4))
    v = m.proj(x, jnp.ones((3, 4)))
    for y in (v, m.retract(x, v), m.exp(x, v), m.transport(x, m.retract(x, v), v)):
        y = np.asarray(y)
        assert np.all(y[2] == 0) and np.all(y[:, 3] == 0)


def test_batched_manifold_vmaps_with_per_problem_masks():
    cms = jnp.array([[1, 1, 1], [1, 1, 0]], jnp.float32)
    dms = jnp.ones((2, 3), jnp.float32)

    def one(cm, dm, key):
        return Oblique(cm, dm).random(key, (3, 3))

    xs = np.asarray(jax.vmap(one)(cms, dms, jax.random.split(jax.random.key(0), 2)))
    assert np.all(xs[1, 2] == 0) and np.linalg.norm(xs[0, 2]) == pytest.approx(1.0, abs=1e-6)


def test_constraint_violation_reports_drift():
    m = Product({"W": Oblique()})
    x = {"W": jnp.array([[1.0, 0.0], [0.0, 1.1]])}
    np.testing.assert_allclose(float(m.constraint_violation(x)), 0.1, atol=1e-6)
