"""Riemannian trust regions: the Hessian operator against finite differences and the dense Hessian, the truncated-CG
inner solve's guarantees, closed-form optima, local quadratic convergence, batched status codes, the API path."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gnc_jax
from gnc_jax import objectives as obj
from gnc_jax.manifolds import Euclidean, Oblique, Product
from gnc_jax.solvers import RLBFGS, Status, TrustRegion, hessian_operator, run_continuation, truncated_cg
from gnc_jax.theory.checks import riemannian_hessian_eigs

from conftest import oblique_starts

MAN = Product({"W": Oblique()})
_starts = oblique_starts  # (B, K, d, seed, dtype) -> {"W": (B, K, d)}


def _tangent(x, seed):
    v = {"W": jax.random.normal(jax.random.key(seed), x["W"].shape, x["W"].dtype)}
    return MAN.proj(x, v)


def test_hessian_operator_matches_finite_differences_of_the_gradient_along_geodesics(x64):
    """Hess f(x)[v] = P_x d/dt grad f(exp_x(t v)) at t = 0 (the Levi-Civita connection of the sphere)."""
    x = _starts(1, 7, 4, seed=3, dtype=jnp.float64)
    x = jax.tree.map(lambda a: a[0], x)
    v = _tangent(x, 1)
    args = {"s": 1.0}
    fun = obj.riesz_energy
    rgrad = lambda z: MAN.egrad_to_rgrad(z, jax.grad(fun)(z, args))  # noqa: E731
    h = 1e-5
    fd = jax.tree.map(lambda a, b: (a - b) / (2 * h), MAN.proj(x, rgrad(MAN.exp(x, jax.tree.map(lambda u: h * u, v)))),
                      MAN.proj(x, rgrad(MAN.exp(x, jax.tree.map(lambda u: -h * u, v)))))
    hv = hessian_operator(fun, MAN, x, args)(v)
    scale = float(jnp.max(jnp.abs(hv["W"])))
    np.testing.assert_allclose(np.asarray(hv["W"]), np.asarray(fd["W"]), atol=1e-7 * scale)
    # tangent and symmetric
    np.testing.assert_allclose(np.asarray(jnp.sum(hv["W"] * x["W"], axis=-1)), 0.0, atol=1e-12)
    u = _tangent(x, 2)
    hu = hessian_operator(fun, MAN, x, args)(u)
    np.testing.assert_allclose(float(MAN.inner(x, u, hv)), float(MAN.inner(x, hu, v)), rtol=1e-10)


def test_hessian_operator_has_the_dense_riemannian_spectrum_on_a_product_with_a_euclidean_factor(x64):
    man = Product({"W": Oblique(), "b": Euclidean(ndim=1)})
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 3))
    x = {"W": jnp.asarray(W / np.linalg.norm(W, axis=1, keepdims=True)), "b": jnp.asarray(rng.standard_normal(4))}
    fun = lambda p, a: jnp.sum(jnp.exp(p["W"] @ p["W"].T) * jnp.cos(p["b"])[:, None]) + jnp.sum(p["b"] ** 4)  # noqa
    eigs, B = riemannian_hessian_eigs(lambda p: fun(p, None), x, {"W": "sphere", "b": "euclidean"}, return_basis=True)
    hess = hessian_operator(fun, man, x, None)
    # ravel_pytree orders the dict's keys sorted: W (12 entries) then b (4)
    cols = []
    for j in range(B.shape[1]):
        v = {"W": jnp.asarray(B[:12, j].reshape(4, 3)), "b": jnp.asarray(B[12:, j])}
        hv = hess(v)
        cols.append(np.concatenate([np.ravel(hv["W"]), np.ravel(hv["b"])]))
    R = B.T @ np.stack(cols, axis=1)
    np.testing.assert_allclose(np.linalg.eigvalsh(0.5 * (R + R.T)), eigs, atol=1e-9 * np.max(np.abs(eigs)))
    assert man.dim(x) == 4 * 2 + 4


def _euclidean_quadratic(A, b):
    man = Product({"x": Euclidean(ndim=1)})
    fun = lambda p, a: 0.5 * p["x"] @ (A @ p["x"]) - b @ p["x"]  # noqa: E731
    return man, fun


def test_truncated_cg_gives_the_newton_step_inside_a_large_radius_and_stops_on_the_boundary_otherwise(x64):
    rng = np.random.default_rng(1)
    M = rng.standard_normal((6, 6))
    A = jnp.asarray(M @ M.T + 0.5 * np.eye(6))
    b = jnp.asarray(rng.standard_normal(6))
    man, fun = _euclidean_quadratic(A, b)
    x = {"x": jnp.zeros(6)}
    g = {"x": -b}
    gn = jnp.linalg.norm(b)
    hess = hessian_operator(fun, man, x, None)
    eta, h_eta, boundary, its = truncated_cg(hess, man, x, g, gn, jnp.asarray(1e6), 6, 1.0, 1e-12)
    np.testing.assert_allclose(np.asarray(eta["x"]), np.linalg.solve(np.asarray(A), np.asarray(b)), rtol=1e-8)
    np.testing.assert_allclose(np.asarray(h_eta["x"]), np.asarray(A @ eta["x"]), rtol=1e-10, atol=1e-12)
    assert not bool(boundary) and int(its) <= 6
    eta, _, boundary, _ = truncated_cg(hess, man, x, g, gn, jnp.asarray(0.05), 6, 1.0, 1e-12)
    assert bool(boundary)
    np.testing.assert_allclose(float(jnp.linalg.norm(eta["x"])), 0.05, rtol=1e-12)
    # negative curvature along the first direction: the step goes to the boundary, and lowers the model
    A_ind = A - 3.0 * float(jnp.linalg.eigvalsh(A)[-1]) * jnp.outer(b, b) / (b @ b)
    man, fun = _euclidean_quadratic(A_ind, b)
    hess = hessian_operator(fun, man, x, None)
    eta, h_eta, boundary, its = truncated_cg(hess, man, x, g, gn, jnp.asarray(2.0), 6, 1.0, 1e-12)
    assert bool(boundary) and int(its) == 1
    np.testing.assert_allclose(float(jnp.linalg.norm(eta["x"])), 2.0, rtol=1e-12)
    assert float(g["x"] @ eta["x"] + 0.5 * eta["x"] @ h_eta["x"]) < 0


def test_trust_regions_solve_a_quadratic_in_one_newton_step(x64):
    """With an exact inner solve (kappa ~ 0) the first trial is the Newton step, the exact minimizer; with the default
    inexact one (|r| <= 0.1 |grad|) it takes a few more, still ending at it."""
    rng = np.random.default_rng(2)
    M = rng.standard_normal((5, 5))
    A = jnp.asarray(M @ M.T + np.eye(5))
    b = jnp.asarray(rng.standard_normal(5))
    man, fun = _euclidean_quadratic(A, b)
    want = np.linalg.solve(np.asarray(A), np.asarray(b))
    exact = TrustRegion(max_steps=20, gtol=1e-12, radius=100.0, max_radius=1e3, kappa=1e-15)
    res = exact.run(fun, man, {"x": jnp.zeros(5)}, None)
    np.testing.assert_allclose(np.asarray(res.x["x"]), want, rtol=1e-10)
    assert int(res.status) == Status.CONVERGED and int(res.steps) == 1
    res = TrustRegion(max_steps=20, gtol=1e-12, radius=100.0, max_radius=1e3).run(fun, man, {"x": jnp.zeros(5)}, None)
    np.testing.assert_allclose(np.asarray(res.x["x"]), want, rtol=1e-10)
    assert int(res.status) == Status.CONVERGED and 1 < int(res.steps) <= 5


def test_thomson_12_reaches_the_icosahedron_energy_with_quadratic_local_convergence(x64):
    """Riesz s = 1 (both orders of each pair) on 12 points: the icosahedron, 2 x 49.165253058."""
    solver = TrustRegion(max_steps=100, gtol=1e-10, history=True)
    run = jax.jit(jax.vmap(lambda x: solver.run(obj.riesz_energy, MAN, x, {"s": 1.0})))
    res = run(_starts(6, 12, 3, dtype=jnp.float64))
    np.testing.assert_allclose(np.asarray(res.value), 2 * 49.165253058, rtol=1e-10)
    assert np.all(np.asarray(res.status) == Status.CONVERGED)
    assert float(jnp.max(res.constraint_violation)) < 1e-14
    mc = np.asarray(jax.vmap(lambda x: obj.tammes_max_cos(x, {}))(res.x))
    np.testing.assert_allclose(mc, 1 / np.sqrt(5), atol=1e-10)
    for lane in range(6):  # from |grad| <= 1e-3 to <= 1e-9 in at most 3 accepted iterations: superlinear
        g_acc = np.asarray(res.history.grad_norm[lane])[np.asarray(res.history.accepted[lane])]
        first = int(np.argmax(g_acc <= 1e-3))
        assert g_acc[first] <= 1e-3 and np.any(g_acc[first:first + 4] <= 1e-9), g_acc


def test_trust_regions_match_the_regularized_ufm_closed_form_f_star(x64):
    """[NC21]'s f* = 0.1978148111 for (K, d, n) = (4, 5, 3), lambda = (5e-3, 1e-2, 1e-2), on a Euclidean product."""
    r = gnc_jax.solve("ce-ufm-regularized", C=4, d=5, n=3, lambda_W=5e-3, lambda_H=1e-2, lambda_b=1e-2, restarts=4,
                      solver="tr", dtype=jnp.float64)
    assert abs(r.objective - 0.1978148111) < 1e-10
    assert set(r.restarts["status"]) == {"CONVERGED"}


def test_trust_regions_in_float32_stay_on_the_sphere_and_stop_with_a_status(x64):
    """float32 near an optimum: f's differences are roundoff, the gradient still judges the steps; the lanes stop
    with MIN_STEP or CONVERGED on the simplex, on the sphere to 1e-6."""
    solver = TrustRegion(max_steps=300, gtol=1e-6)
    run = jax.jit(jax.vmap(lambda x: solver.run(obj.ce_ufm_collapsed, MAN, x, {"tau": jnp.float32(1.0)})))
    res = run(_starts(4, 5, 6))
    mc = jax.vmap(lambda x: obj.tammes_max_cos(x, {}))(res.x)
    np.testing.assert_allclose(np.asarray(mc), -1 / 4, atol=2e-5)
    assert set(np.asarray(res.status).tolist()) <= {Status.CONVERGED, Status.MIN_STEP}
    assert float(jnp.max(res.constraint_violation)) < 1e-6
    assert res.x["W"].dtype == jnp.float32


def test_lanes_equal_single_solves_and_keep_their_own_status():
    solver = TrustRegion(max_steps=8, gtol=1e-5)
    x0 = _starts(3, 6, 3)
    args = {"s": jnp.float32(1.0)}
    batched = jax.jit(jax.vmap(lambda x: solver.run(obj.riesz_energy, MAN, x, args)))(x0)
    single = jax.jit(lambda x: solver.run(obj.riesz_energy, MAN, x, args))
    for lane in range(3):
        one = single(jax.tree.map(lambda a: a[lane], x0))
        chex.assert_trees_all_close(jax.tree.map(lambda a: a[lane], batched.x), one.x, atol=2e-5)
        assert int(batched.steps[lane]) == int(one.steps)
    # an 8-iteration budget does not finish Thomson 6 from every start; with 60 every lane converges
    long = jax.jit(jax.vmap(lambda x: TrustRegion(max_steps=60, gtol=1e-4).run(obj.riesz_energy, MAN, x, args)))(x0)
    assert set(np.asarray(long.status).tolist()) <= {Status.CONVERGED, Status.MIN_STEP}
    assert Status.MAX_STEPS in set(np.asarray(batched.status).tolist())


def test_a_non_finite_objective_is_reported_with_the_last_finite_point(x64):
    """NaN beyond a small ball around the start: every trial is rejected, the radius collapses, NONFINITE."""
    x0 = jax.tree.map(lambda a: a[0], _starts(1, 4, 3, dtype=jnp.float64))

    def fun(p, a):
        far = jnp.sum((p["W"] - x0["W"]) ** 2) > 1e-20
        return jnp.where(far, jnp.nan, 0.0) + jnp.sum(p["W"][:, 0])

    res = TrustRegion(max_steps=200).run(fun, MAN, x0, None)
    assert int(res.status) == Status.NONFINITE
    chex.assert_trees_all_close(res.x, x0)
    res = TrustRegion(max_steps=5).run(lambda p, a: jnp.nan * jnp.sum(p["W"]), MAN, x0, None)
    assert int(res.status) == Status.NONFINITE and int(res.steps) == 0


def test_no_recompile_across_temperatures_and_continuation_logs():
    solver = TrustRegion(max_steps=40, history=True)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(x, taus):
        return run_continuation(solver, obj.tammes_smooth, MAN, x, {"tau": jnp.float32(1.0)}, taus)

    x0 = _starts(2, 8, 3)
    taus = jnp.geomspace(3e-2, 1e-3, 3).astype(jnp.float32)
    res = run(jax.tree.map(lambda a: a[0], x0), taus)
    run(jax.tree.map(lambda a: a[1], x0), taus * 0.5)
    stages = np.asarray(res.history.stage)
    assert sorted(set(stages[stages >= 0].tolist())) == [0, 1, 2]
    assert int(np.sum(stages >= 0)) == int(res.steps)
    assert int(np.sum(res.history.inner_steps)) == int(res.inner_steps) > int(res.steps)  # all stages' products


def test_hessian_vector_products_are_counted_per_iteration_and_over_the_solve(x64):
    """``inner_steps``: one product per outer iteration with max_inner = 1 (the Cauchy step); between 1 and the
    manifold's dimension (12 x 2) per iteration by default, the log summing to the total; at most 5 for the exact
    Newton step on a 5 x 5 quadratic; the API's per-restart column and history column agree."""
    x0 = _starts(3, 12, 3, dtype=jnp.float64)
    args = {"s": 1.0}
    for solver in (TrustRegion(max_steps=30, max_inner=1, history=True),
                   TrustRegion(max_steps=100, gtol=1e-10, history=True)):
        res = jax.jit(jax.vmap(lambda x: solver.run(obj.riesz_energy, MAN, x, args)))(x0)
        for lane in range(3):
            per = np.asarray(res.history.inner_steps[lane])[: int(res.steps[lane])]
            assert per.sum() == int(res.inner_steps[lane])
            if solver.max_inner == 1:
                assert np.all(per == 1)
            else:
                assert np.all((per >= 1) & (per <= 24)) and per.sum() > int(res.steps[lane])
    rng = np.random.default_rng(2)
    M = rng.standard_normal((5, 5))
    man, fun = _euclidean_quadratic(jnp.asarray(M @ M.T + np.eye(5)), jnp.asarray(rng.standard_normal(5)))
    res = TrustRegion(max_steps=20, gtol=1e-12, radius=100.0, max_radius=1e3, kappa=1e-15).run(
        fun, man, {"x": jnp.zeros(5)}, None)
    assert int(res.steps) == 1 and 1 <= int(res.inner_steps) <= 5
    r = gnc_jax.solve("riesz", C=8, d=3, restarts=3, solver="tr", history=True, stages=1)
    frame = r.history_frame("all")
    np.testing.assert_array_equal(frame.groupby("restart").inner_steps.sum().to_numpy(), r.restarts["inner_steps"])
    assert f"({r.restarts['inner_steps'][r.best_restart]} Hessian-vector products)" in r.summary()
    first_order = gnc_jax.solve("riesz", C=8, d=3, restarts=2, history=True)
    assert "inner_steps" not in first_order.restarts and "inner_steps" not in first_order.history_frame()


def test_solve_grid_and_cli_take_the_trust_region_solver(capsys):
    """`solve`, a padded grid bucket and the CLI run solver "tr"; C = 5 padded to (8, 4) in the grid equals the CLI's
    unpadded solve from the same starts."""
    import json

    from gnc_jax.cli import main
    from gnc_jax.grid import expand_grid, run_grid

    r = gnc_jax.solve("hug", C=6, d=3, n=2, restarts=4, solver="tr")
    assert abs(r.min_angle_deg - 90.0) < 1e-3  # the cross-polytope
    assert set(r.restarts["status"]) <= {"CONVERGED", "MIN_STEP"}
    rows = {r["C"]: r for r in run_grid(expand_grid("riesz", "5:6", 3, restarts=2, seed=1), solver="tr",
                                          progress=False)}
    np.testing.assert_allclose(rows[5]["min_angle_deg"], 90.0, atol=1e-3)  # the triangular bipyramid
    np.testing.assert_allclose(rows[6]["min_angle_deg"], 90.0, atol=1e-3)  # the octahedron
    capsys.readouterr()
    assert main(["solve", "riesz", "--C", "5", "--d", "3", "--solver", "tr", "--restarts", "2", "--seed", "1",
                 "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert abs(rows[5]["min_angle_deg"] - alone["min_angle_deg"]) < 1e-3 and rows[5]["status"] == alone["status"]
    with pytest.raises(ValueError, match="solver"):
        gnc_jax.solve("riesz", C=6, d=3, solver="trust")


def test_trust_regions_take_fewer_iterations_than_lbfgs_on_thomson(x64):
    x0 = _starts(4, 16, 3, dtype=jnp.float64)
    args = {"s": 1.0}
    tr = jax.jit(jax.vmap(lambda x: TrustRegion(max_steps=200, gtol=1e-10).run(obj.riesz_energy, MAN, x, args)))(x0)
    lb = jax.jit(jax.vmap(lambda x: RLBFGS(max_steps=2000, gtol=1e-10).run(obj.riesz_energy, MAN, x, args)))(x0)
    assert np.all(np.asarray(tr.status) == Status.CONVERGED) and np.all(np.asarray(lb.status) == Status.CONVERGED)
    assert int(jnp.max(tr.steps)) < int(jnp.min(lb.steps)) / 2
    np.testing.assert_allclose(float(jnp.min(tr.value)), float(jnp.min(lb.value)), rtol=1e-12)


def test_the_hessian_operator_keeps_padded_rows_and_coordinates_at_zero(x64):
    """A (3, 2) problem padded to (4, 3): the Hessian-vector product of the padded problem is the unpadded one's,
    embedded, with zeros in the padding; the dimension counts the padded shape."""
    man_pad = Product({"W": Oblique(row_mask=jnp.asarray([1.0, 1, 1, 0]), col_mask=jnp.asarray([1.0, 1, 0]))})
    rng = np.random.default_rng(4)
    W = rng.standard_normal((3, 2))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    V = rng.standard_normal((3, 2))
    V -= np.sum(V * W, axis=1, keepdims=True) * W
    fun = lambda p, a: obj.riesz_energy(p, {"s": 1.0, "class_mask": a})  # noqa: E731
    small = hessian_operator(fun, MAN, {"W": jnp.asarray(W)}, jnp.ones(3))({"W": jnp.asarray(V)})["W"]
    pad = lambda A: jnp.asarray(np.pad(A, ((0, 1), (0, 1))))  # noqa: E731
    big = hessian_operator(fun, man_pad, {"W": pad(W)}, jnp.asarray([1.0, 1, 1, 0]))({"W": pad(V)})["W"]
    np.testing.assert_allclose(np.asarray(big), np.asarray(pad(np.asarray(small))), atol=1e-12)
    assert MAN.dim({"W": W}) == 3 and man_pad.dim({"W": pad(W)}) == 8
    np.testing.assert_allclose(MAN.typical_distance({"W": W}), np.pi * np.sqrt(3))
