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

from conftest import cross_polytope, icosahedron, polygon, simplex
from gnc_jax import metrics as M


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


# ----------------------------------------------------------------------------------------------- configurations
def random_unit(rng, *shape):
    X = rng.standard_normal(shape)
    return X / np.linalg.norm(X, axis=-1, keepdims=True)


def j(x):
    return jnp.asarray(x, dtype=jnp.float64)


def pad_batch(configs, K, d):
    """Stack configurations (K_i, d_i) into one zero-padded (B, K, d) batch with a (B, K) mask."""
    W = np.zeros((len(configs), K, d))
    mask = np.zeros((len(configs), K), bool)
    for i, X in enumerate(configs):
        W[i, : X.shape[0], : X.shape[1]] = X
        mask[i, : X.shape[0]] = True
    return j(W), jnp.asarray(mask)


# ----------------------------------------------------------------------------------------------- closed forms
POLY_K = (5, 7, 100)


@pytest.fixture(scope="module")
def polygons():
    with jax.enable_x64(True):
        W, mask = pad_batch([polygon(K) for K in POLY_K], 100, 2)
        return W, mask, M.one_vs_rest_distance_info(W, mask)


@pytest.mark.parametrize("i,expected", [(0, 0.690983), (1, 0.376510), (2, 0.0019733)])
def test_polygon_rho(polygons, i, expected):
    W, mask, info = polygons
    K = POLY_K[i]
    exact = 1 - math.cos(2 * math.pi / K)
    dist = np.asarray(info.dist[i])[np.asarray(mask[i])]
    np.testing.assert_allclose(dist, exact, rtol=0, atol=1e-15)  # every class, to the last digit
    r = float(M.rho(W, mask)[i])
    assert abs(r - exact) < 1e-15
    assert r == pytest.approx(expected, abs=5e-7 if K < 100 else 5e-8)  # the SPEC's printed digits
    assert bool(jnp.all(info.converged[i]))
    assert float(jnp.max(info.gap[i])) < 1e-13  # dual certificate


def test_polygon_min_angle(polygons):
    W, mask, _ = polygons
    ang = np.asarray(M.min_angle_deg(W, mask))
    np.testing.assert_allclose(ang, [360.0 / K for K in POLY_K], rtol=0, atol=1e-9)
    mc = np.asarray(M.max_cos(W, mask))
    np.testing.assert_allclose(mc, [math.cos(2 * math.pi / K) for K in POLY_K], rtol=0, atol=1e-15)


def test_known_codes_one_padded_batch():
    """Simplex ETFs (K <= d+1), cross-polytope and a (d+2 <= K <= 2d) subset, icosahedron: one masked batch."""
    simplices = [(2, 1), (3, 2), (4, 3), (10, 12), (13, 12)]
    configs = [simplex(K, d) for K, d in simplices]
    configs += [cross_polytope(4), cross_polytope(4)[[0, 1, 2, 3, 4, 6]], icosahedron()]
    expected = [K / (K - 1) for K, _ in simplices] + [1.0, 1.0, 1 - 1 / math.sqrt(5)]
    W, mask = pad_batch(configs, 13, 12)
    info = M.one_vs_rest_distance_info(W, mask)
    for i, (X, e) in enumerate(zip(configs, expected)):
        dist = np.asarray(info.dist[i])[: X.shape[0]]
        np.testing.assert_allclose(dist, e, rtol=0, atol=2e-15, err_msg=f"config {i}")
    assert bool(jnp.all(info.converged))
    assert float(jnp.max(info.gap)) < 1e-14
    r = np.asarray(M.rho(W, mask))
    np.testing.assert_allclose(r, expected, rtol=0, atol=2e-15)
    assert round(float(r[-1]), 6) == 0.552786


def test_inside_hull_and_duplicates():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((13, 4))
    X = np.vstack([X, 0.2 * X[0] + 0.3 * X[1] + 0.5 * X[2]])  # row 13 inside the hull of rows 0..2
    d = np.asarray(M.one_vs_rest_distance(j(X)))
    assert d[13] < 1e-14
    # unit rows with a duplicate: both copies at distance 0; margin 0 (exact, attained at h = w_k)
    W = random_unit(rng, 14, 4)
    W[4] = W[1]
    info = M.one_vs_rest_distance_info(j(W))
    assert abs(float(info.dist[1])) < 1e-15 and abs(float(info.dist[4])) < 1e-15
    assert float(M.rho(j(W))) < 1e-15
    m = np.asarray(M.one_vs_rest_margin(j(W)))
    assert m[1] == pytest.approx(0.0, abs=1e-15) and m[4] == pytest.approx(0.0, abs=1e-15)
    others = np.setdiff1d(np.arange(14), [1, 4])
    assert np.all(m[others] > 0)
    np.testing.assert_allclose(m[others], np.asarray(info.dist)[others], atol=0)


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
    r2 = np.asarray(jax.jit(jax.vmap(M.rho))(j(W.reshape(6, 14, 4))))
    np.testing.assert_allclose(r2, r.reshape(6), atol=1e-15)
    # chunked evaluation (lax.map over groups of problems) gives the same answer
    chunked = np.asarray(M.one_vs_rest_distance(j(W), chunk=5))
    np.testing.assert_allclose(chunked, batched, atol=1e-15)


def test_masked_padding_matches_unpadded():
    rng = np.random.default_rng(2)
    B, K, d, P = 6, 14, 4, 6
    W = random_unit(rng, B, K, d)
    Wp = np.zeros((B, K + P, d))
    Wp[:, :K] = W
    mask = np.zeros((B, K + P), bool)
    mask[:, :K] = True
    perm = rng.permutation(K + P)  # padded rows scattered among the real ones
    Wp, mask = Wp[:, perm], mask[:, perm]
    ref = np.asarray(M.one_vs_rest_distance(j(W)))
    got = np.asarray(M.one_vs_rest_distance(j(Wp), jnp.asarray(mask)))
    np.testing.assert_allclose(got[mask].reshape(B, K), ref[:, perm[perm < K]], atol=1e-15)
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
    rng = np.random.default_rng(6)
    W = random_unit(rng, 6, 14, 4).astype(np.float32)  # float32 input: figures still computes in float64
    F = M.figures(W)
    assert F.rho.dtype == np.float64 and F.max_cos.dtype == np.float64 and F.rho.shape == (6,)
    W64 = W.astype(np.float64)
    np.testing.assert_allclose(F.rho, np.asarray(M.rho(j(W64))), atol=1e-15)
    np.testing.assert_allclose(F.min_angle_deg, np.asarray(M.min_angle_deg(j(W64))), atol=1e-12)


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
