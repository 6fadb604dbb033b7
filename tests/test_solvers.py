"""Solvers: convergence to closed forms, per-lane status codes, invariants, logs, recompiles."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gnc_jax import objectives as obj
from gnc_jax.manifolds import Oblique, Product
from gnc_jax.solvers import RCG, RGD, RLBFGS, OptaxSolver, Status, TrustRegion, run_continuation
from gnc_jax.solvers.minimize import Armijo, Solver

from conftest import oblique_starts

MAN = Product({"W": Oblique()})
_starts = oblique_starts  # (B, K, d, seed, dtype) -> {"W": (B, K, d)}


@pytest.mark.parametrize("solver", [RLBFGS(max_steps=300), RCG(max_steps=600), RGD(max_steps=600)],
                         ids=["lbfgs", "cg", "gd"])
def test_each_solver_reaches_the_simplex_etf_from_ce(solver):
    """Collapsed CE at tau = 1 with K <= d+1: the optimum is the simplex, max cos -1/(K-1)."""
    K, d = 5, 6
    run = jax.jit(jax.vmap(lambda x: solver.run(obj.ce_ufm_collapsed, MAN, x, {"tau": jnp.float32(1.0)})))
    res = run(_starts(4, K, d))
    mc = jax.vmap(lambda x: obj.tammes_max_cos(x, {}))(res.x)
    np.testing.assert_allclose(np.asarray(mc), -1 / (K - 1), atol=2e-5)
    assert set(np.asarray(res.status).tolist()) <= {Status.CONVERGED, Status.MIN_STEP}
    assert float(jnp.max(res.constraint_violation)) < 1e-6


def test_riemannian_adam_reaches_the_simplex():
    K, d = 4, 3
    solver = OptaxSolver(optax.adam(2e-2), max_steps=1500, gtol=1e-4)
    res = jax.jit(jax.vmap(lambda x: solver.run(obj.riesz_energy, MAN, x, {"s": 1.0})))(_starts(3, K, d))
    mc = jax.vmap(lambda x: obj.tammes_max_cos(x, {}))(res.x)
    np.testing.assert_allclose(np.asarray(mc), -1 / 3, atol=1e-3)
    assert float(jnp.max(res.constraint_violation)) < 1e-6


def _tammes_angles(K, d, B=8, seed=0):
    solver = RLBFGS(max_steps=1000)
    taus = jnp.geomspace(3e-2, 1e-4, 6).astype(jnp.float32)
    run = jax.jit(jax.vmap(lambda x: run_continuation(solver, obj.tammes_smooth, MAN, x, {"tau": jnp.float32(1.0)}, taus)))
    res = run(_starts(B, K, d, seed))
    mc = np.asarray(jax.vmap(lambda x: obj.tammes_max_cos(x, {}))(res.x), np.float64)
    return np.degrees(np.arccos(mc)), res


def test_tammes_icosahedron_to_1e_4_degrees_in_float32():
    ang, res = _tammes_angles(12, 3)
    assert abs(ang.max() - 63.4349488) < 1e-4
    assert float(jnp.max(res.constraint_violation)) < 1e-6  # iterates stay on the sphere in float32


@pytest.mark.parametrize("K,d,want", [(5, 2, 72.0), (7, 2, 360 / 7), (4, 3, np.degrees(np.arccos(-1 / 3))),
                                      (6, 3, 90.0), (5, 4, np.degrees(np.arccos(-0.25))), (7, 4, 90.0)])
def test_tammes_closed_forms(K, d, want):
    ang, _ = _tammes_angles(K, d, B=4)
    assert abs(ang.max() - want) < 1e-3


def test_vmap_over_problems_equals_a_loop_of_single_solves():
    solver = RLBFGS(max_steps=200)
    hp = {"tau": jnp.float32(0.5)}
    x0 = _starts(3, 6, 3, seed=4)
    batched = jax.jit(jax.vmap(lambda x: solver.run(obj.ce_ufm_collapsed, MAN, x, hp)))(x0)
    single = jax.jit(lambda x: solver.run(obj.ce_ufm_collapsed, MAN, x, hp))
    for i in range(3):
        one = single(jax.tree.map(lambda a: a[i], x0))
        chex.assert_trees_all_close(jax.tree.map(lambda a: a[i], batched.x), one.x, atol=1e-5)
        assert int(one.steps) == int(batched.steps[i]) and int(one.status) == int(batched.status[i])


def test_each_lane_keeps_its_own_status_and_nonfinite_is_reported():
    """A lane whose objective turns NaN stops with NONFINITE at its last finite point; others converge."""
    def f(x, hp):
        w = x["W"]
        val = obj.ce_ufm_collapsed(x, {"tau": 1.0})
        return jnp.where(hp["poison"] & (w[0, 0] > hp["thresh"]), jnp.nan, val)

    solver = RLBFGS(max_steps=200)
    x0 = _starts(2, 4, 3, seed=1)
    thresh = jnp.asarray([x0["W"][0, 0, 0] + 1e-3, 2.0])
    res = jax.jit(jax.vmap(lambda x, t, p: solver.run(f, MAN, x, {"thresh": t, "poison": p})))(
        x0, thresh, jnp.asarray([True, False]))
    status = np.asarray(res.status)
    assert status[1] in (Status.CONVERGED, Status.MIN_STEP)
    assert np.isfinite(np.asarray(res.value)).all() and np.isfinite(np.asarray(res.x["W"])).all()
    assert status[0] in (Status.NONFINITE, Status.MIN_STEP, Status.CONVERGED)
    # a NaN at the start is reported as NONFINITE straight away
    bad = solver.run(lambda x, hp: jnp.nan * jnp.sum(x["W"]), MAN, jax.tree.map(lambda a: a[0], x0), {})
    assert int(bad.status) == Status.NONFINITE and int(bad.steps) == 0


def test_max_steps_status_and_complete_history():
    solver = RGD(max_steps=7, history=True, gtol=0.0)
    res = jax.jit(lambda x: solver.run(obj.riesz_energy, MAN, x, {"s": 1.0}))(jax.tree.map(lambda a: a[0], _starts(1, 9, 3)))
    assert int(res.status) == Status.MAX_STEPS and int(res.steps) == 7
    v = np.asarray(res.history.value)
    assert np.all(np.isfinite(v)) and np.all(np.diff(v) <= 1e-6)  # monotone (Armijo)
    np.testing.assert_allclose(v[-1], float(res.value))


def test_stage_histories_are_joined_in_order():
    from gnc_jax.solvers.base import History
    from gnc_jax.solvers.continuation import concat_stage_histories

    v = jnp.asarray([[1.0, 2.0, 3.0, 9.0], [4.0, 9.0, 9.0, 9.0], [5.0, 6.0, 7.0, 8.0]])
    h = History(v, 10 * v, v / 10, v < 5)
    out = concat_stage_histories(h, jnp.asarray([3, 1, 4]))
    np.testing.assert_array_equal(np.asarray(out.value)[:8], [1, 2, 3, 4, 5, 6, 7, 8])
    assert np.isnan(np.asarray(out.value)[8:]).all() and np.asarray(out.value).shape == (12,)
    np.testing.assert_array_equal(np.asarray(out.stage), [0, 0, 0, 1, 2, 2, 2, 2, -1, -1, -1, -1])
    np.testing.assert_array_equal(np.asarray(out.grad_norm)[:8], 10 * np.arange(1, 9))
    np.testing.assert_array_equal(np.asarray(out.accepted)[:8], np.arange(1, 9) < 5)
    assert not np.asarray(out.accepted)[8:].any()


def test_init_and_update_are_pure_steps():
    solver = RLBFGS()
    x0 = jax.tree.map(lambda a: a[0], _starts(1, 6, 3))
    hp = {"s": 1.0}
    s0 = solver.init(obj.riesz_energy, MAN, x0, hp)
    s1 = solver.update(obj.riesz_energy, MAN, s0, hp)
    s1b = solver.update(obj.riesz_energy, MAN, s0, hp)
    chex.assert_trees_all_close(s1, s1b)
    assert int(s1.steps) == 1 and float(s1.value) <= float(s0.value)


def test_no_recompile_for_new_data_of_the_same_shape():
    solver = RLBFGS(max_steps=50)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(x, tau):
        return solver.run(obj.ce_ufm_collapsed, MAN, x, {"tau": tau})

    x0 = _starts(2, 5, 3)
    run(jax.tree.map(lambda a: a[0], x0), jnp.float32(1.0))
    run(jax.tree.map(lambda a: a[1], x0), jnp.float32(0.5))  # would raise on a second trace


def test_float64_solve_keeps_float64(x64):
    solver = RLBFGS(max_steps=200, gtol=1e-12)
    x0 = MAN.random(jax.random.key(0), {"W": (4, 3)}, jnp.float64)
    res = jax.jit(lambda x: solver.run(obj.ce_ufm_collapsed, MAN, x, {"tau": 1.0}))(x0)
    assert res.x["W"].dtype == jnp.float64 and res.value.dtype == jnp.float64
    np.testing.assert_allclose(float(obj.tammes_max_cos(res.x, {})), -1 / 3, atol=1e-11)
    assert float(res.constraint_violation) < 1e-14


@pytest.mark.parametrize("make, field", [
    (lambda: RLBFGS(max_steps=0), "max_steps"),
    (lambda: RLBFGS(max_steps=2.5), "max_steps"),
    (lambda: RLBFGS(gtol=float("nan")), "gtol"),
    (lambda: RLBFGS(memory=0), "memory"),
    (lambda: RCG(beta="dy"), "beta"),
    (lambda: RGD(min_step=0.0), "min_step"),
    (lambda: RGD(init_step=-1.0), "init_step"),
    (lambda: Solver(descent="lbfgs"), "descent"),
    (lambda: Solver(search=Armijo(c1=1.5)), "c1"),
    (lambda: Armijo(delta=0.5), "delta"),
    (lambda: TrustRegion(max_inner=0), "max_inner"),
    (lambda: TrustRegion(rho_prime=0.3), "rho_prime"),
    (lambda: TrustRegion(kappa=1.0), "kappa"),
    (lambda: TrustRegion(radius=-1.0), "radius"),
    (lambda: TrustRegion(radius=2.0, max_radius=1.0), "max_radius"),
    (lambda: TrustRegion(history=1), "history"),
    (lambda: OptaxSolver(tx="adam"), "tx"),
])
def test_solver_objects_refuse_bad_options_when_built(make, field):
    """Solvers built directly (not by name through `solve`) check their options too: a ValueError naming the field
    at construction, instead of a silent run (max_steps=0 used to run one step; radius < 0 stopped at once)."""
    with pytest.raises(ValueError, match=field):
        make()
