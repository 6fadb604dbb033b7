"""Reproduction of the seed papers' theorem conditions (issue P4): gnc_jax.theory.checks.

Fast tests keep to a few small shapes (each new shape costs one XLA compile); heavier sweeps are marked slow.
"""
import math

import jax.numpy as jnp
import numpy as np
import pytest

from gnc_jax.objectives.energy import riesz_energy
from gnc_jax.theory import checks as C
from gnc_jax.theory.closed_forms import simplex_etf, ufm_global_optimum

from conftest import polygon, random_rotation


# ------------------------------------------------------------------------------------------------ Hessian machinery
@pytest.mark.parametrize("d", [3, 5])
def test_riemannian_hessian_quadratic_form_closed_form(d):
    """f(x) = x^T A x on S^{d-1}: at the eigenvector u_i the Riemannian Hessian has eigenvalues 2(lambda_j - lambda_i)."""
    rng = np.random.default_rng(d)
    lam = np.sort(rng.uniform(-3, 3, d))
    Q = random_rotation(d, seed=d)
    A = Q @ np.diag(lam) @ Q.T
    for i in range(d):
        eigs = C.riemannian_hessian_eigs(lambda x: x @ jnp.asarray(A) @ x, Q[:, i], "sphere")
        np.testing.assert_allclose(eigs, np.sort(2.0 * (np.delete(lam, i) - lam[i])), atol=1e-10)
    # Euclidean factor: the plain Hessian 2A
    e = C.riemannian_hessian_eigs(lambda x: x @ jnp.asarray(A) @ x, Q[:, 0], "euclidean")
    np.testing.assert_allclose(e, 2.0 * lam, atol=1e-10)


def test_lanczos_gives_the_dense_hessians_smallest_eigenvalues():
    """riemannian_hessian_smallest (Hessian-vector products, no matrix) against the dense Hessian: the quadratic form's
    closed form on S^4, a sphere x Euclidean product, and a (6, 3) oblique point; k out of range is refused."""
    rng = np.random.default_rng(7)
    lam = np.sort(rng.uniform(-3, 3, 5))
    Q = random_rotation(5, seed=7)
    A = jnp.asarray(Q @ np.diag(lam) @ Q.T)
    got = C.riemannian_hessian_smallest(lambda x: x @ A @ x, Q[:, 2], "sphere", k=2)
    np.testing.assert_allclose(got, np.sort(2.0 * (np.delete(lam, 2) - lam[2]))[:2], atol=1e-9)
    f = lambda p: p["x"][1] ** 2 - p["x"][0] + 0.5 * jnp.sum(p["a"] ** 2) + p["a"][0] * p["x"][2]  # noqa: E731
    point = {"x": np.array([1.0, 0.0, 0.0]), "a": np.zeros(2)}
    kinds = {"a": "euclidean", "x": "sphere"}
    np.testing.assert_allclose(C.riemannian_hessian_smallest(f, point, kinds, k=3),
                               C.riemannian_hessian_eigs(f, point, kinds)[:3], atol=1e-9)
    W = rng.standard_normal((6, 3))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    g = lambda w: jnp.sum(jnp.exp(2.0 * w @ w.T))  # noqa: E731
    dense = C.riemannian_hessian_eigs(g, W, "sphere")
    np.testing.assert_allclose(C.riemannian_hessian_smallest(g, W, "sphere", k=4), dense[:4],
                               atol=1e-9 * np.max(np.abs(dense)))
    with pytest.raises(ValueError, match="k must be"):
        C.riemannian_hessian_smallest(g, W, "sphere", k=12)
    with pytest.raises(ValueError, match="unit"):
        C.riemannian_hessian_smallest(g, 2 * W, "sphere", k=2)


def test_riemannian_hessian_dict_points_and_errors():
    """Product of a sphere factor and a Euclidean factor; dict keys in any order; non-unit rows are refused."""
    x = np.array([1.0, 0.0, 0.0])
    f = lambda p: p["x"][1] ** 2 - p["x"][0] + 0.5 * jnp.sum(p["a"] ** 2)  # noqa: E731
    # sphere: g = (-1, 0, 0), x.g = -1 -> Hess = P(diag(0, 2, 0)) + I on x^perp = diag(3, 1); Euclidean part: 1, 1
    eigs = C.riemannian_hessian_eigs(f, {"x": x, "a": np.zeros(2)}, {"a": "euclidean", "x": "sphere"})
    np.testing.assert_allclose(eigs, [1.0, 1.0, 1.0, 3.0], atol=1e-12)
    with pytest.raises(ValueError, match="unit"):
        C.riemannian_hessian_eigs(lambda w: jnp.sum(w), np.ones((2, 3)), "sphere")
    with pytest.raises(ValueError, match="manifold"):
        C.riemannian_hessian_eigs(f, {"x": x, "a": np.zeros(2)}, {"x": "sphere"})


def test_riesz_hessian_minimum_vs_constructed_saddle():
    """Riesz-1 energy of 4 points on S^2: the tetrahedron is a minimum with exactly 3 rotation zero modes; the
    planar square (a critical point by symmetry) is a strict saddle."""
    f = lambda w: riesz_energy({"W": w}, {"s": 1.0})  # noqa: E731
    tet = simplex_etf(4, 3) @ random_rotation(3, 1)
    e = C.riemannian_hessian_eigs(f, tet, "sphere")
    assert C.riemannian_gradient_norm(f, tet) < 1e-10
    assert e[0] > -1e-9 and np.sum(np.abs(e) < 1e-8) == 3 and e[3] > 1e-3
    square = np.hstack([polygon(4), np.zeros((4, 1))])
    assert C.riemannian_gradient_norm(f, square) < 1e-10
    assert C.riemannian_hessian_eigs(f, square, "sphere")[0] < -1e-3


# ------------------------------------------------------------------------------------------------ [NC21]
@pytest.mark.parametrize("K,d,n,lW,lH,lb", [
    (4, 5, 3, 5e-3, 1e-2, 1e-2),        # SPEC check 1
    (4, 5, 3, 1e-3, 2e-2, 1e-3),        # same shape (no new compile), other weights
    (10, 12, 5, 5e-4, 5e-4, 5e-4),      # SPEC check 2
])
def test_ufm_random_starts_reach_closed_form(K, d, n, lW, lH, lb):
    rep = C.ufm_check(K, d, n, lW, lH, lb, restarts=4, seed=1, hessian=K < 10)  # dense 730-dim Hessian: slow test
    assert rep.ok, rep.summary()
    opt = ufm_global_optimum(K, d, n, lW, lH, lb)
    by = {f.name: f for f in rep.findings}
    assert abs(by["f (worst of 4 random starts) vs closed-form f*"].measured - opt.f_star) <= 1e-6 * opt.f_star
    for key in ("NC1", "NC2", "NC3"):
        f = next(f for f in rep.findings if f.name.startswith(key))
        assert f.measured < 1e-6
    if K < 10:
        saddle = next(f for f in rep.findings if "origin" in f.name)
        assert saddle.measured < 0
    if (K, d, n) == (4, 5, 3) and lW == 5e-3:
        assert abs(opt.f_star - 0.19781481) < 1e-8 and abs(opt.w_sqnorm - 8.019023) < 1e-6
    if K == 10:
        assert abs(opt.w_sqnorm - 13.656703) < 1e-6


def test_ufm_zero_regime_and_saddle_threshold():
    """The origin is a strict saddle iff K sqrt(n lambda_W lambda_H) < 1 (otherwise it is the global minimizer)."""
    K, d, n = 4, 5, 3
    for c, negative in ((0.9, True), (0.99, True), (1.01, False), (1.5, False)):
        lam = c / (K * math.sqrt(n))  # lambda_W = lambda_H = lam -> K sqrt(n) lam = c
        e = C.ufm_saddle_eigs(K, d, n, lam, lam, 1e-2)
        assert (e[0] < -1e-12) == negative, (c, e[0])
    rep = C.ufm_check(K, d, n, 0.3, 0.3, 1e-2, restarts=4, seed=0)
    assert rep.ok and rep.regime == "ufm-zero", rep.summary()


# ------------------------------------------------------------------------------------------------ [GNC]
@pytest.fixture(scope="module")
def sweep38():
    return C.tau_sweep(8, 3, taus=(1.0, 0.5, 0.2, 0.1, 0.05, 0.03, 0.02), restarts=4, seed=0)


def test_tau_sweep_3_8_increases_to_spec_values(sweep38):
    rhos = [s["rho"] for s in sweep38]
    assert all(b >= a - 1e-9 for a, b in zip(rhos, rhos[1:])), rhos
    spec = {1.0: 0.7310, 0.2: 0.7363, 0.05: 0.7386, 0.02: 0.7388}  # SPEC §2, 4 digits
    got = {s["tau"]: s["rho"] for s in sweep38}
    for tau, v in spec.items():
        assert abs(got[tau] - v) < 6e-5, (tau, got[tau], v)
    # (3, 8) is "open": the finite-tau optimum stays above the Tammes lower bound and below the distance bound
    assert rhos[-1] >= 1.0 - sweep38[-1]["max_cos"] - 1e-9


def test_tau_log_ce_tends_to_hardmax(sweep38):
    W = sweep38[-1]["W"]
    for H in (W, C._optimal_features(W)):
        L = C.hardmax_loss(W, H)
        errs = [abs(C.tau_log_ce(W, H, t) - L) for t in (1e-1, 1e-2, 1e-3, 1e-4)]
        assert all(b < a for a, b in zip(errs, errs[1:])), errs
        assert errs[-1] < 1e-4 * math.log(8 * 7) + 1e-9
    # with the optimal features, L_HM = -rho(W)
    assert abs(C.hardmax_loss(W, C._optimal_features(W)) + C._rho(W)) < 1e-9


def test_softmax_equals_tammes_simplex_regime():
    rep = C.softmax_tammes_check(4, 3, restarts=4, seed=0, refine=False)  # refinement: slow tests
    assert rep.ok, rep.summary()
    by = {f.name: f for f in rep.findings}
    assert abs(by["rho(W_softmax) vs closed-form rho*"].measured - 4.0 / 3.0) < 1e-6


# ------------------------------------------------------------------------------------------------ [HUG] and SPEC §5
def test_uniformity_optima_are_the_simplex():
    rep = C.uniformity_check(4, 3, n=2, restarts=4, seed=0)
    assert rep.ok, rep.summary()
    assert sum(f.agrees is True for f in rep.findings) >= 10


def test_report_dict_and_summary():
    rep = C.CheckReport(3, 2, "simplex", "p", [C._finding("x", 1.0, 1.0 + 1e-9, 1e-6),
                                                C._finding("y", None, 2.0, 1e-6)])
    d = rep.to_dict()
    assert d["ok"] and d["findings"][1]["agrees"] is None
    assert "agrees" in rep.summary() and "reported" in rep.summary()
    bad = C.CheckReport(3, 2, "simplex", "p", [C._finding("x", 1.0, 2.0, 1e-6)])
    assert not bad.ok and len(bad.failures()) == 1


# ------------------------------------------------------------------------------------------------ slow
@pytest.mark.slow
@pytest.mark.parametrize("K,d", [(5, 2), (6, 3), (12, 3), (3, 4)])
def test_softmax_closed_forms_slow(K, d):
    rep = C.softmax_tammes_check(K, d, restarts=8, seed=0)
    assert rep.ok, rep.summary()


@pytest.mark.slow
@pytest.mark.parametrize("K,d", [(4, 3), (3, 4), (5, 4)])
def test_consistency_across_papers_slow(K, d):
    rep = C.consistency_check(K, d, restarts=4, seed=0)
    assert rep.ok, rep.summary()


@pytest.mark.slow
@pytest.mark.parametrize("K,d,tau", [(4, 3, 1.0), (5, 2, 1.0), (3, 5, 0.5)])
def test_spherical_ce_exact_regimes_slow(K, d, tau):
    rep = C.spherical_ce_check(K, d, tau, n=2, restarts=4, seed=0)
    assert rep.ok, rep.summary()


@pytest.mark.slow
def test_ufm_hessian_large_slow():
    rep = C.ufm_check(10, 12, 5, 5e-4, 5e-4, 5e-4, restarts=2, seed=0)
    assert rep.ok, rep.summary()
    assert next(f for f in rep.findings if "origin" in f.name).measured < 0


@pytest.mark.slow
def test_full_check_slow():
    rep = C.check(4, 3)
    assert rep.ok, rep.summary()


def test_cli_theory_check_json(capsys):
    import json

    from gnc_jax.cli import main

    rc = main(["theory", "check", "--K", "4", "--d", "5", "--n", "3", "--parts", "ufm", "--json",
               "--lambda-W", "5e-3", "--lambda-H", "1e-2", "--lambda-b", "1e-2"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["ok"] and out["regime"] == "simplex" and out["tag"] == "(derived)"
    assert any(f["name"].startswith("[NC21]") and f["agrees"] for f in out["findings"])
