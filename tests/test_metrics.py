"""Tests of gnc_jax.metrics: exact one-vs-rest distances against closed forms and scipy, batching, masking.

Convention under test (SPEC §2): dist_k is the plain Euclidean distance from w_k to the convex hull of the other
rows and rho = min_k dist_k, so the regular K-gon gives 1 - cos(2 pi/K), the simplex ETF K/(K-1), the
cross-polytope 1 and the icosahedron 1 - 1/sqrt(5).
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gnc_jax import metrics as M


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


# ----------------------------------------------------------------------------------------------- configurations
def polygon(K):
    t = 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def simplex(K, d):
    C = np.eye(K) - 1.0 / K
    U, S, _ = np.linalg.svd(C)
    X = U[:, : K - 1] * np.sqrt(S[: K - 1])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return np.hstack([X, np.zeros((K, d - (K - 1)))])


def cross_polytope(d):
    return np.vstack([np.eye(d), -np.eye(d)])


def icosahedron():
    p = (1 + 5**0.5) / 2
    V = []
    for a in (-1, 1):
        for b in (-1, 1):
            V += [(0, a, b * p), (a, b * p, 0), (b * p, 0, a)]
    V = np.array(V, float)
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def random_unit(rng, *shape):
    X = rng.standard_normal(shape)
    return X / np.linalg.norm(X, axis=-1, keepdims=True)


def j(x):
    return jnp.asarray(x, dtype=jnp.float64)


# ----------------------------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("K,expected", [(5, 0.690983), (7, 0.376510), (100, 0.0019733)])
def test_polygon_rho(K, expected):
    W = j(polygon(K))
    r = float(M.rho(W))
    assert abs(r - (1 - math.cos(2 * math.pi / K))) < 1e-14
    assert round(r, 7 if K < 100 else 7) == pytest.approx(expected, abs=5e-7 if K < 100 else 5e-8)
    info = M.one_vs_rest_distance_info(W)
    assert bool(jnp.all(info.converged))
    assert float(jnp.max(info.gap)) < 1e-12  # dual certificate
    np.testing.assert_allclose(np.asarray(info.dist), 1 - math.cos(2 * math.pi / K), rtol=0, atol=1e-14)


@pytest.mark.parametrize("K", [5, 7, 100])
def test_polygon_min_angle(K):
    assert float(M.min_angle_deg(j(polygon(K)))) == pytest.approx(360.0 / K, abs=1e-9)
    assert float(M.max_cos(j(polygon(K)))) == pytest.approx(math.cos(2 * math.pi / K), abs=1e-15)


@pytest.mark.parametrize("K,d", [(2, 1), (3, 2), (4, 3), (10, 12), (20, 19)])
def test_simplex_rho(K, d):
    dist = M.one_vs_rest_distance(j(simplex(K, d)))
    np.testing.assert_allclose(np.asarray(dist), K / (K - 1), rtol=0, atol=1e-14)


def test_cross_polytope_and_subsets():
    for d in (3, 4):
        assert float(M.rho(j(cross_polytope(d)))) == pytest.approx(1.0, abs=1e-15)
    # d + 2 <= K <= 2d: any K vertices of the cross-polytope give rho = 1
    X = cross_polytope(4)[[0, 1, 2, 3, 4, 6]]
    np.testing.assert_allclose(np.asarray(M.one_vs_rest_distance(j(X))), 1.0, atol=1e-15)


def test_icosahedron():
    W = j(icosahedron())
    r = float(M.rho(W))
    assert r == pytest.approx(1 - 1 / math.sqrt(5), abs=1e-15)
    assert round(r, 6) == 0.552786
    np.testing.assert_allclose(np.asarray(M.one_vs_rest_distance(W)), 1 - 1 / math.sqrt(5), atol=1e-15)


def test_inside_hull_and_duplicates():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 3))
    X = np.vstack([X, 0.2 * X[0] + 0.3 * X[1] + 0.5 * X[2]])  # row 6 inside the hull of rows 0..2
    d = np.asarray(M.one_vs_rest_distance(j(X)))
    assert d[6] < 1e-14
    # unit rows with a duplicate: both copies at distance 0; margin 0 (exact, attained at h = w_k)
    W = random_unit(rng, 7, 3)
    W[4] = W[1]
    info = M.one_vs_rest_distance_info(j(W))
    assert abs(float(info.dist[1])) < 1e-15 and abs(float(info.dist[4])) < 1e-15
    assert float(M.rho(j(W))) < 1e-15
    m = np.asarray(M.one_vs_rest_margin(j(W)))
    assert m[1] == pytest.approx(0.0, abs=1e-15) and m[4] == pytest.approx(0.0, abs=1e-15)
    assert np.all(m[[0, 2, 3, 5, 6]] > 0)


# ----------------------------------------------------------------------------------------------- vs scipy
def _scipy_dist(W, k):
    """Reference: NNLS with a heavily weighted sum-to-one row, renormalized (a feasible hull point)."""
    from scipy.optimize import nnls

    A = np.delete(W, k, axis=0)
    big = 1e6
    Aa = np.vstack([A.T, big * np.ones(len(A))])
    a, _ = nnls(Aa, np.concatenate([W[k], [big]]), maxiter=10000)
    a /= a.sum()
    return np.linalg.norm(W[k] - a @ A)


def test_agrees_with_scipy():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    B, K, d = 6, 14, 4
    W = random_unit(rng, B, K, d)
    W[3] *= rng.uniform(0.5, 1.5, size=(K, 1))  # one batch element with non-unit rows
    info = M.one_vs_rest_distance_info(j(W))
    ours = np.asarray(info.dist)
    ref = np.array([[_scipy_dist(W[b], k) for k in range(K)] for b in range(B)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
    # ours is the exact minimum: never above a feasible reference point, and certified by the dual bound
    assert np.all(ours <= ref + 1e-13)
    assert float(jnp.max(info.gap)) < 1e-13
    assert bool(jnp.all(info.lower <= info.dist + 1e-15))
    # the coefficients are a simplex point reproducing the projection, with coef[k, k] = 0
    coef = np.asarray(info.coef)
    assert np.all(coef >= 0)
    np.testing.assert_allclose(coef.sum(-1), 1.0, atol=1e-13)
    assert np.all(np.diagonal(coef, axis1=-2, axis2=-1) == 0)
    np.testing.assert_allclose(np.einsum("bkj,bjd->bkd", coef, W), np.asarray(info.proj), atol=1e-13)


def test_tammes_sandwich():
    rng = np.random.default_rng(5)
    W = random_unit(rng, 6, 14, 4)
    r = np.asarray(M.rho(j(W)))
    mc = np.asarray(M.max_cos(j(W)))
    D = np.linalg.norm(W[:, :, None] - W[:, None, :], axis=-1) + 10 * np.eye(14)
    assert np.all(1 - mc <= r + 1e-14)
    assert np.all(r <= D.min(axis=(1, 2)) + 1e-14)
    # H = W gives the Tammes margin 1 - max cos
    np.testing.assert_allclose(np.asarray(M.hardmax_margin(j(W), j(W))), 1 - mc, atol=1e-14)


# ----------------------------------------------------------------------------------------------- batching & masks
def test_vmap_equals_loop_and_user_transforms():
    rng = np.random.default_rng(1)
    W = random_unit(rng, 2, 3, 14, 4)  # two leading batch axes
    batched = np.asarray(M.one_vs_rest_distance(j(W)))
    chex.assert_shape(batched, (2, 3, 14))
    loop = np.array([[np.asarray(M.one_vs_rest_distance(j(W[a, b]))) for b in range(3)] for a in range(2)])
    np.testing.assert_allclose(batched, loop, rtol=0, atol=1e-15)
    r = np.asarray(M.rho(j(W)))
    chex.assert_shape(r, (2, 3))
    r2 = np.asarray(jax.jit(jax.vmap(jax.vmap(M.rho)))(j(W)))
    np.testing.assert_allclose(r2, r, atol=1e-15)
    # chunked evaluation (lax.map over groups of problems) gives the same answer
    chunked = np.asarray(M.one_vs_rest_distance(j(W), chunk=5))
    np.testing.assert_allclose(chunked, batched, atol=1e-15)


def test_masked_padding_matches_unpadded():
    rng = np.random.default_rng(2)
    B, K, d, P = 3, 14, 4, 6
    W = random_unit(rng, B, K, d)
    Wp = np.zeros((B, K + P, d))
    Wp[:, :K] = W
    mask = np.zeros((B, K + P), bool)
    mask[:, :K] = True
    perm = rng.permutation(K + P)  # padded rows scattered among the real ones
    Wp, mask = Wp[:, perm], mask[:, perm]
    ref = np.asarray(M.one_vs_rest_distance(j(W)))
    got = np.asarray(M.one_vs_rest_distance(j(Wp), jnp.asarray(mask)))
    np.testing.assert_allclose(got[mask].reshape(B, K), ref[:, np.argsort(perm[perm < K])], atol=1e-15)
    assert np.all(got[~mask] == 0)
    np.testing.assert_allclose(np.asarray(M.rho(j(Wp), jnp.asarray(mask))), ref.min(-1), atol=1e-15)
    np.testing.assert_allclose(
        np.asarray(M.max_cos(j(Wp), jnp.asarray(mask))), np.asarray(M.max_cos(j(W))), atol=1e-15
    )
    np.testing.assert_allclose(
        np.asarray(M.min_angle_deg(j(Wp), jnp.asarray(mask))), np.asarray(M.min_angle_deg(j(W))), atol=1e-12
    )
    F = M.figures(Wp, mask)
    np.testing.assert_allclose(F.rho, ref.min(-1), atol=1e-15)


# ----------------------------------------------------------------------------------------------- duality
def test_optimal_features_and_margin():
    rng = np.random.default_rng(4)
    W = random_unit(rng, 14, 4)
    H = M.optimal_features(j(W))
    chex.assert_shape(H, (14, 4))
    np.testing.assert_allclose(np.linalg.norm(np.asarray(H), axis=1), 1.0, atol=1e-14)
    dist = np.asarray(M.one_vs_rest_distance(j(W)))
    # the optimal feature attains the distance: min_j <w_k - w_j, h_k> = dist_k
    S = np.asarray(H) @ W.T
    per = np.diag(S) - np.where(np.eye(14, dtype=bool), -np.inf, S).max(1)
    np.testing.assert_allclose(per, dist, atol=1e-13)
    np.testing.assert_allclose(np.asarray(M.one_vs_rest_margin(j(W))), dist, atol=1e-15)
    assert float(M.hardmax_margin(j(W), H)) == pytest.approx(dist.min(), abs=1e-13)
    # no unit h does better than h_k (random probes)
    probes = random_unit(rng, 2000, 4)
    for k in range(3):
        vals = np.min((W[k] - np.delete(W, k, 0)) @ probes.T, axis=0)
        assert vals.max() <= dist[k] + 1e-12


# ----------------------------------------------------------------------------------------------- misc
def test_pairwise_cos_and_figures_dtype():
    W = polygon(6) * 3.0  # non-unit rows are normalized by pairwise_cos
    C = np.asarray(M.pairwise_cos(j(W)))
    np.testing.assert_allclose(np.diag(C), 1.0, atol=1e-15)
    assert C[0, 1] == pytest.approx(0.5, abs=1e-15)
    F = M.figures(polygon(6))
    assert F.rho.dtype == np.float64 and F.max_cos.dtype == np.float64
    assert float(F.min_angle_deg) == pytest.approx(60.0, abs=1e-9)
    assert float(F.rho) == pytest.approx(0.5, abs=1e-15)


def test_float32_runs():
    with jax.enable_x64(False):
        W = jnp.asarray(icosahedron(), dtype=jnp.float32)
        r = M.rho(W)
        assert r.dtype == jnp.float32
        assert float(r) == pytest.approx(1 - 1 / math.sqrt(5), abs=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="W"):
        M.rho(jnp.ones(3))
    with pytest.raises(ValueError, match="W"):
        M.rho(jnp.ones((1, 3)))
    with pytest.raises(ValueError, match="mask"):
        M.rho(jnp.ones((4, 3)), mask=jnp.ones(5, bool))
    with pytest.raises(ValueError, match="H"):
        M.hardmax_margin(jnp.ones((4, 3)), jnp.ones((5, 3)))
    with pytest.raises(ValueError, match="chunk"):
        M.one_vs_rest_distance(jnp.ones((4, 3)), chunk=0)
    with pytest.raises(ValueError, match="W"):
        M.figures(np.ones(3))
