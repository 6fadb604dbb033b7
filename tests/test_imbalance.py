"""The regularized CE-UFM with class imbalance (minority collapse) and grids over hyperparameter axes."""
import chex
import numpy as np
import pytest

import gnc_jax
from gnc_jax.grid import expand_grid, run_grid, to_dataframe
from gnc_jax.grid.engine import format_table, padded_shape
from gnc_jax.theory.closed_forms import ufm_global_optimum

PROBLEM = "ce-ufm-regularized-imbalanced"
LAMBDAS = dict(lambda_W=5e-3, lambda_H=5e-3, lambda_b=0.0)


def _cos(W, i, j):
    return float(W[i] @ W[j] / (np.linalg.norm(W[i]) * np.linalg.norm(W[j])))


def test_without_minority_it_is_the_balanced_model():
    a = gnc_jax.solve(PROBLEM, C=4, d=5, n=3, minority=0, n_minor=1, restarts=2, **LAMBDAS)
    b = gnc_jax.solve("ce-ufm-regularized", C=4, d=5, n=3, restarts=2, **LAMBDAS)
    chex.assert_trees_all_close(a.point, b.point, rtol=1e-5, atol=1e-6)
    c = gnc_jax.solve(PROBLEM, C=4, d=5, n=3, minority=2, n_minor=3, restarts=2, **LAMBDAS)  # n_minor = n
    opt = ufm_global_optimum(4, 5, 3, **LAMBDAS)
    assert c.objective == pytest.approx(opt.f_star, rel=1e-6)
    assert c.max_cos == pytest.approx(-1 / 3, abs=1e-4)  # the simplex ETF (float32: the optimum is flat)


def test_spherical_imbalanced_model_reduces_to_ce_ufm_and_pulls_the_minority_together(x64):
    import jax.numpy as jnp

    a = gnc_jax.solve("ce-ufm-imbalanced", C=4, d=3, n=3, tau=0.2, minority=0, restarts=2, dtype=jnp.float64)
    b = gnc_jax.solve("ce-ufm", C=4, d=3, n=3, tau=0.2, restarts=2, dtype=jnp.float64)
    chex.assert_trees_all_close(a.point, b.point, rtol=1e-9, atol=1e-10)
    cos = []
    for n_minor in (20, 5, 1):
        r = gnc_jax.solve("ce-ufm-imbalanced", C=4, d=3, n=20, tau=0.1, minority=2, n_minor=n_minor, restarts=4,
                          dtype=jnp.float64)
        cos.append(_cos(r.point["W"], 2, 3))
        np.testing.assert_allclose(np.linalg.norm(r.point["W"], axis=1), 1.0, atol=1e-12)  # unit rows: no shrinking
    assert cos[0] == pytest.approx(-1 / 3, abs=1e-6) and np.all(np.diff(cos) > 0.05)
    eigs = r.hessian_eigenvalues()  # the unused sample rows are zero modes, (d - 1) each: 2 x 19 x 2
    assert np.all(np.isfinite(eigs)) and eigs[0] > -1e-6 and np.sum(np.abs(eigs) < 1e-8) >= 2 * 19 * 2


def test_minority_classifiers_collapse_as_the_imbalance_grows():
    cos_minor, cos_major = [], []
    for n_minor in (100, 20, 5, 1):  # imbalance ratio R = 1, 5, 20, 100
        r = gnc_jax.solve(PROBLEM, C=4, d=5, n=100, minority=2, n_minor=n_minor, restarts=4, max_steps=3000,
                          **LAMBDAS)
        assert r.status == "CONVERGED"
        H = r.point["H"]
        assert np.all(H[2:, n_minor:] == 0) and np.all(np.linalg.norm(H[2:, :n_minor], axis=-1) > 0)
        cos_minor.append(_cos(r.point["W"], 2, 3))
        cos_major.append(_cos(r.point["W"], 0, 1))
    assert cos_minor[0] == pytest.approx(-1 / 3, abs=1e-4) and cos_major[0] == pytest.approx(-1 / 3, abs=1e-4)
    assert np.all(np.diff(cos_minor) > 0.05) and np.all(np.diff(cos_major) < 0)
    assert cos_minor[-1] > 0.9999  # the two minority classifiers point the same way


def test_strong_imbalance_and_decay_zero_the_minority_classifiers():
    r = gnc_jax.solve(PROBLEM, C=4, d=5, n=100, minority=2, n_minor=1, restarts=4, max_steps=3000,
                      lambda_W=2e-2, lambda_H=2e-2, lambda_b=0.0)
    norms = np.linalg.norm(r.point["W"], axis=1)
    assert norms[2:].max() < 1e-3 * norms[:2].min()
    assert _cos(r.point["W"], 0, 1) == pytest.approx(-1.0, abs=1e-5)  # the majority pair is antipodal


@pytest.mark.parametrize("kw, arg", [(dict(minority=4), "minority"), (dict(minority=1.5), "minority"),
                                     (dict(n_minor=4), "n_minor"), (dict(n_minor=0), "n_minor"),
                                     (dict(minority=-1), "minority")])
def test_imbalance_arguments_are_checked(kw, arg):
    with pytest.raises(ValueError, match=arg):
        gnc_jax.solve(PROBLEM, C=4, d=5, n=3, **kw)


def test_a_hyperparameter_sweep_compiles_once():
    from gnc_jax import api

    solver = api.make_solver("lbfgs", max_steps=300)
    fn = api.compiled_batch_solve(PROBLEM, solver, 1)
    before = fn._cache_size()
    for n_minor in (1, 2, 3):  # hyperparameters are traced arrays: one program for every value
        gnc_jax.solve(PROBLEM, C=3, d=3, n=3, minority=1, n_minor=n_minor, restarts=2, solver=solver, **LAMBDAS)
    assert fn._cache_size() - before <= 1


def test_grid_sweeps_a_hyperparameter_axis_and_pads_classes_correctly(tmp_path):
    cells = expand_grid(PROBLEM, C=3, d=4, n=8, restarts=2, minority=1, n_minor="1:2,8", **LAMBDAS)
    assert [c.hparams["n_minor"] for c in cells] == [1.0, 2.0, 8.0]
    assert padded_shape(cells[0]) == (4, 4, 8)  # C = 3 padded to 4: the minority is the last *real* class
    db = str(tmp_path / "imb.sqlite")
    rows = run_grid(cells, db=db, progress=False)
    for row, cell in zip(rows, cells):
        ref = gnc_jax.solve(PROBLEM, C=3, d=4, n=8, restarts=2, minority=1, n_minor=cell.hparams["n_minor"],
                            **LAMBDAS)
        assert row["objective"] == pytest.approx(ref.objective, rel=1e-5)
    table = format_table(rows)
    assert "n_minor" in table.splitlines()[0] and "lambda_W" not in table.splitlines()[0]  # only varying ones
    df = to_dataframe(db)
    assert list(df["n_minor"]) == [1.0, 2.0, 8.0] and set(df["minority"]) == {1.0}
    with pytest.raises(ValueError, match="n_minor"):
        expand_grid(PROBLEM, C=3, d=4, n=8, n_minor="1,x")
    with pytest.raises(ValueError, match="n_minor"):
        expand_grid(PROBLEM, C=3, d=4, n=8, n_minor="1,9")  # 9 > n
