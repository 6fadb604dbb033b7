"""Tests of gnc_jax.theory: SPEC numbers, explicit UFM minimizers, energies, HUG values, certificates, metrics."""

import math

import jax
import numpy as np
import pytest

from conftest import cross_polytope, icosahedron, polygon
from gnc_jax import theory as T


# ----------------------------------------------------------------------------------------------- helpers
def sq_dists(W):
    return np.sum((W[:, None, :] - W[None, :, :]) ** 2, axis=-1)


def hug_inter(W):
    """mean_{i<j} ||w_i - w_j||^{-2} (the HUG proxy inter term)."""
    D = sq_dists(W)
    iu = np.triu_indices(len(W), 1)
    return float(np.mean(1.0 / D[iu]))


# ----------------------------------------------------------------------------------------------- UFM (SPEC §1)
def test_ufm_spec_numbers():
    o = T.ufm_global_optimum(4, 5, 3, 5e-3, 1e-2, 1e-2)
    assert not o.zero_regime
    assert o.f_star == pytest.approx(0.19781481, abs=5e-9)
    assert o.w_sqnorm == pytest.approx(8.019023, abs=5e-7)
    assert o.rho == pytest.approx(4 * o.w_sqnorm, rel=1e-15)
    assert o.alpha == pytest.approx(math.sqrt(5e-3 / (3 * 1e-2)), rel=1e-15)
    assert o.beta == pytest.approx(o.alpha / 3, rel=1e-15)
    o2 = T.ufm_global_optimum(10, 12, 5, 5e-4, 5e-4, 5e-4)
    assert o2.w_sqnorm == pytest.approx(13.656703, abs=5e-7)
    # the two closed forms for ||w*||^2 agree
    K, n, lW, lH = 10, 5, 5e-4, 5e-4
    w2 = (K - 1) / K * math.sqrt(n * lH / lW) * math.log(1 / math.sqrt(n * lW * lH) - (K - 1))
    assert o2.w_sqnorm == pytest.approx(w2, rel=1e-13)
    assert o.tag == "(derived)"


@pytest.mark.parametrize(
    "args", [(4, 5, 3, 5e-3, 1e-2, 1e-2), (10, 12, 5, 5e-4, 5e-4, 5e-4), (6, 5, 2, 1e-3, 3e-3, 0.0)]
)
def test_ufm_minimizer_attains_f_star(args):
    K, d, n, lW, lH, lb = args
    o = T.ufm_global_optimum(*args)
    P = T.ufm_minimizer(*args)
    assert P.W.shape == (K, d) and P.H.shape == (d, n * K) and P.b.shape == (K,) and P.y.shape == (n * K,)
    f = T.ufm_objective(P.W, P.H, P.b, P.y, lW, lH, lb)
    assert f == pytest.approx(o.f_star, abs=1e-14)
    # a critical point: the gradient vanishes, and lambda_W ||W||^2 = lambda_H ||H||^2 (SPEC §1)
    for g in T.ufm_gradient(P.W, P.H, P.b, P.y, lW, lH, lb):
        assert np.max(np.abs(g)) < 1e-14
    assert lW * np.sum(P.W**2) == pytest.approx(lH * np.sum(P.H**2), rel=1e-13)
    np.testing.assert_allclose(lW * P.W.T @ P.W, lH * P.H @ P.H.T, atol=1e-14)
    # simplex ETF geometry, equal norms
    G = P.W @ P.W.T
    np.testing.assert_allclose(G, o.w_sqnorm * K / (K - 1) * (np.eye(K) - 1.0 / K), atol=1e-12)
    # random perturbations do not decrease f (local optimality check)
    rng = np.random.default_rng(0)
    for _ in range(20):
        eps = 1e-4
        f2 = T.ufm_objective(
            P.W + eps * rng.standard_normal(P.W.shape),
            P.H + eps * rng.standard_normal(P.H.shape),
            P.b + eps * rng.standard_normal(P.b.shape),
            P.y,
            lW,
            lH,
            lb,
        )
        assert f2 >= o.f_star - 1e-15


def test_ufm_zero_regime_and_saddle():
    # K sqrt(n lW lH) >= 1: W* = 0, H* = 0, f* = log K
    args = (4, 5, 3, 0.5, 0.5, 0.1)
    o = T.ufm_global_optimum(*args)
    assert o.zero_regime and o.f_star == pytest.approx(math.log(4), rel=1e-15) and o.rho == 0.0
    P = T.ufm_minimizer(*args)
    assert np.all(P.W == 0) and np.all(P.H == 0)
    assert T.ufm_objective(P.W, P.H, P.b, P.y, 0.5, 0.5, 0.1) == pytest.approx(math.log(4), rel=1e-15)
    rng = np.random.default_rng(1)
    for _ in range(20):
        W = 1e-2 * rng.standard_normal(P.W.shape)
        H = 1e-2 * rng.standard_normal(P.H.shape)
        assert T.ufm_objective(W, H, P.b, P.y, 0.5, 0.5, 0.1) >= math.log(4) - 1e-15
    # below the threshold, W = 0, H = 0 is a critical point with f = log K > f*, and a strict saddle:
    # moving along the scaled minimizer direction decreases f
    args = (4, 5, 3, 5e-3, 1e-2, 1e-2)
    o = T.ufm_global_optimum(*args)
    P = T.ufm_minimizer(*args)
    Z = T.ufm_objective(0 * P.W, 0 * P.H, P.b, P.y, 5e-3, 1e-2, 1e-2)
    assert Z == pytest.approx(math.log(4), rel=1e-15) and Z > o.f_star
    t = 1e-2
    assert T.ufm_objective(t * P.W, t * P.H, P.b, P.y, 5e-3, 1e-2, 1e-2) < Z


def test_ufm_bad_input():
    with pytest.raises(ValueError, match="d must be"):
        T.ufm_global_optimum(10, 5, 3, 1e-3, 1e-3)
    with pytest.raises(ValueError, match="lambda_W"):
        T.ufm_global_optimum(4, 5, 3, -1e-3, 1e-3)
    with pytest.raises(ValueError, match="n "):
        T.ufm_global_optimum(4, 5, 0, 1e-3, 1e-3)
    with pytest.raises(ValueError, match="K"):
        T.ufm_global_optimum(1, 5, 3, 1e-3, 1e-3)


# ----------------------------------------------------------------------------------------------- softmax codes
def test_softmax_code_table():
    assert T.softmax_code_rho_star(2, 5) == pytest.approx(0.690983, abs=5e-7)
    assert T.softmax_code_rho_star(2, 7) == pytest.approx(0.376510, abs=5e-7)
    assert T.softmax_code_rho_star(2, 100) == pytest.approx(0.0019733, abs=5e-8)
    for d, K in [(3, 4), (10, 11), (5, 3), (2, 3), (1, 2)]:
        assert T.softmax_code_rho_star(d, K) == pytest.approx(K / (K - 1), rel=1e-15)
    for d, K in [(3, 5), (3, 6), (10, 20), (4, 6)]:
        assert T.softmax_code_rho_star(d, K) == 1.0
    assert T.softmax_code_rho_star(2, 4) == pytest.approx(1.0, abs=1e-15)  # polygon and cross-polytope agree
    assert T.softmax_code_rho_star(3, 12) == pytest.approx(0.552786, abs=5e-7)
    assert T.softmax_code_rho_star(4, 120) == pytest.approx(0.190983, abs=5e-7)
    assert T.softmax_code_rho_star(5, 16) == 0.8
    assert T.softmax_code_rho_star(6, 27) == 0.75
    assert T.softmax_code_rho_star(7, 56) == pytest.approx(2 / 3, rel=1e-15)
    assert T.softmax_code_rho_star(8, 240) == 0.5
    assert T.softmax_code_rho_star(3, 13) is None
    assert T.softmax_code_rho_star(10, 100) is None
    # sharp codes are self-dual: rho* = 1 - max cos = delta^2/2 (check the icosahedron explicitly)
    ico = icosahedron()
    delta = math.sqrt(np.min(sq_dists(ico) + 10 * np.eye(12)))
    lo, up = T.tammes_softmax_bounds(delta)
    assert lo == pytest.approx(T.softmax_code_rho_star(3, 12), abs=1e-15) and up == pytest.approx(delta)


def test_gamma_bounds():
    lo, up = T.softmax_code_gamma_bounds(10, 100)
    assert lo == pytest.approx(0.1697, abs=5e-5) and up == pytest.approx(1.5049, abs=5e-5)
    # consistent with the known optima where both exist (the bounds are (unconfirmed); this is a sanity check)
    for d, K in [(3, 12), (4, 120), (8, 240)]:
        lo, up = T.softmax_code_gamma_bounds(d, K)
        assert lo <= T.softmax_code_rho_star(d, K) <= up
    lo, up = T.softmax_code_gamma_bounds(512, 10000)  # log-Gamma: no overflow
    assert 0 < lo < up and math.isfinite(up)


# ----------------------------------------------------------------------------------------------- energies (SPEC §3)
@pytest.mark.parametrize("K", [2, 4, 10, 31])
def test_simplex_energies_direct(K):
    W = T.simplex_etf(K, K + 2)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, atol=1e-15)
    np.testing.assert_allclose(W @ W.T, K / (K - 1) * (np.eye(K) - 1.0 / K), atol=1e-14)
    D = sq_dists(W)
    off = ~np.eye(K, dtype=bool)
    for s in (0.5, 1.0, 2.0, 7.0):
        assert np.sum(D[off] ** (-s / 2)) == pytest.approx(T.simplex_riesz_energy(K, s), rel=1e-13)
    assert np.sum(-0.5 * np.log(D[off])) == pytest.approx(T.simplex_log_energy(K), rel=1e-13)
    assert math.sqrt(D[off].min()) == pytest.approx(T.simplex_min_distance(K), rel=1e-14)
    logdet = np.linalg.slogdet(np.exp(-D))[1]
    assert logdet == pytest.approx(T.simplex_mgd_logdet(K), abs=1e-12)


def test_mgd_spec_numbers():
    assert T.simplex_mgd_logdet(4) == pytest.approx(-0.026707, abs=5e-7)
    assert T.simplex_mgd_logdet(10) == pytest.approx(-0.351590, abs=5e-7)


def test_hug_inter_values():
    for K, d in [(4, 3), (10, 9), (100, 512)]:
        W = T.simplex_etf(K, d)
        assert hug_inter(W) == pytest.approx(T.hug_inter_optimum(d, K), rel=1e-12)
        assert T.hug_inter_optimum(d, K) == pytest.approx((K - 1) / (2 * K))
    assert T.hug_inter_optimum(3, 4) == 0.375 and T.hug_inter_optimum(9, 10) == pytest.approx(0.45)
    assert T.hug_inter_optimum(512, 100) == pytest.approx(0.495)
    assert hug_inter(cross_polytope(3)) == pytest.approx(0.45, rel=1e-14) == T.hug_inter_optimum(3, 6)
    assert hug_inter(cross_polytope(5)) == pytest.approx(T.hug_inter_optimum(5, 10), rel=1e-14)
    for K in (5, 7, 12, 50):
        assert hug_inter(polygon(K)) == pytest.approx((K + 1) / 12, rel=1e-12)
        assert T.hug_inter_optimum(2, K) == pytest.approx((K + 1) / 12)
    assert hug_inter(icosahedron()) == pytest.approx(13 / 22, rel=1e-14)
    assert T.hug_inter_optimum(3, 12) == pytest.approx(13 / 22)
    assert T.hug_inter_optimum(3, 13) is None


# ----------------------------------------------------------------------------------------------- regimes
def test_regime():
    cases = {
        (4, 3): "simplex",
        (7, 2): "polygon",
        (5, 3): "cross-polytope",
        (6, 3): "cross-polytope",
        (12, 3): "sharp-code",
        (240, 8): "sharp-code",
        (13, 3): "open",
        (100, 10): "open",
        (3, 1): "trivial",
    }
    for (K, d), name in cases.items():
        r = T.regime(K, d)
        assert r.name == name, (K, d)
        assert r.tag in ("(derived)", "(unconfirmed)") and r.explanation
        if r.rho_star is not None:
            assert r.rho_star == T.softmax_code_rho_star(d, K)
            assert r.bounds == (r.rho_star, r.rho_star)
    r = T.regime(100, 10)
    assert r.tag == "(unconfirmed)" and r.bounds[0] == pytest.approx(0.1697, abs=5e-5)
    with pytest.raises(ValueError, match="K"):
        T.regime(1, 3)


# ----------------------------------------------------------------------------------------------- certificates
def test_certificate_roundtrip(tmp_path):
    ico = icosahedron()
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    W = 2.0 * (ico @ Q)  # rotated and scaled: certify_margin normalizes
    cert = T.certify_margin(W, meta={"source": "icosahedron"})
    assert cert.value == pytest.approx(1 - 1 / math.sqrt(5), abs=1e-14)
    np.testing.assert_allclose(np.linalg.norm(cert.W, axis=1), 1.0, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(cert.H, axis=1), 1.0, atol=1e-15)
    assert T.recheck(cert) == pytest.approx(cert.value, abs=1e-15)
    path = T.save_certificate(cert, tmp_path / "ico.npz")
    back = T.load_certificate(path)
    assert back.value == cert.value and back.meta == {"source": "icosahedron"}
    np.testing.assert_array_equal(back.W, cert.W)
    assert back.recheck() == pytest.approx(cert.value, abs=1e-15)
    # H = W gives the Tammes margin 1 - max cos (= rho for the self-dual icosahedron)
    c2 = T.certify_margin(ico, ico)
    assert c2.value == pytest.approx(1 - 1 / math.sqrt(5), abs=1e-14)
    # tampering is detected
    bad = T.MarginCertificate(W=cert.W, H=cert.H, value=cert.value + 1e-6)
    with pytest.raises(ValueError, match="fails"):
        T.recheck(bad)
    bad = T.MarginCertificate(W=1.001 * cert.W, H=cert.H, value=cert.value)
    with pytest.raises(ValueError, match="unit"):
        T.recheck(bad)


def test_certificate_random_matches_rho():
    from gnc_jax import metrics as M

    rng = np.random.default_rng(3)
    W = rng.standard_normal((12, 3))  # same shape as the icosahedron: one compilation
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    cert = T.certify_margin(W)
    r = float(M.figures(W).rho)
    assert cert.value == pytest.approx(r, abs=1e-13)
    assert cert.value <= r + 1e-14


# ----------------------------------------------------------------------------------------------- NC metrics
def test_nc_metrics_at_ufm_minimizer():
    K, d, n = 5, 6, 4
    P = T.ufm_minimizer(K, d, n, 5e-3, 1e-2, 1e-2)
    H = P.H.T  # (N, d)
    rng = np.random.default_rng(0)
    # NC1 = tr(Sw Sb^+)/K is 0/0-safe: add tiny noise so Sw != 0 but tiny
    m = T.neural_collapse_metrics(H, P.y, P.W, P.b)
    assert m["NC1"] == pytest.approx(0.0, abs=1e-20)
    assert m["GNC1"] == pytest.approx(0.0, abs=1e-20)
    assert m["NC2"] < 1e-14 and m["NC3"] < 1e-14 and m["NC4"] < 1e-14
    assert m["GNC3"] == pytest.approx(0.0, abs=1e-14)
    assert m["GNC2"] == pytest.approx(K / (K - 1), abs=1e-14)
    # (K, n, d) input agrees with (N, d) + labels; label order does not matter
    perm = rng.permutation(len(P.y))
    Hn = H + 0.1 * rng.standard_normal(H.shape)
    a = T.nc1(Hn, P.y)
    assert a > 0
    assert T.nc1(Hn.reshape(K, n, d)) == pytest.approx(a, rel=1e-12)
    assert T.nc1(Hn[perm], P.y[perm]) == pytest.approx(a, rel=1e-12)
    assert T.gnc3(P.W, Hn[perm], P.y[perm]) == pytest.approx(T.gnc3(P.W, Hn.reshape(K, n, d)), rel=1e-12)
    # NC1 by the plain formula
    M_, hG, Sw, Sb = T.class_statistics(Hn, P.y)
    ref = np.trace(Sw @ np.linalg.pinv(Sb)) / K
    assert a == pytest.approx(ref, rel=1e-10)
    with pytest.raises(ValueError, match="y"):
        T.nc1(Hn, P.y[:-1])


def test_rattlers():
    # a regular hexagon on the equator plus the north pole (d = 3): the equator classes are binding
    # (rho < 0.5), the pole is at distance 1 from the hull of the hexagon (which contains 0): a rattler
    # (padded to 12 rows with a mask: padded rows are never rattlers and do not change the answer)
    W = np.zeros((12, 3))
    W[:6, :2] = polygon(6)
    W[6, 2] = 1.0
    r = T.rattlers(W, tol=1e-9, mask=np.arange(12) < 7)
    assert r.dtype == bool and r.shape == (12,)
    np.testing.assert_array_equal(np.flatnonzero(r), [6])
    assert not T.rattlers(icosahedron()).any()
