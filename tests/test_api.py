"""Public API and CLI: figures, statuses, validation before compiling, JSON output."""
import json
import subprocess
import sys

import chex
import jax.numpy as jnp
import numpy as np
import pytest

import gnc_jax
from gnc_jax.api import compiled_batch_solve, make_solver, make_spec
from gnc_jax.cli import main


def test_solve_tammes_simplex_and_cross_polytope_figures():
    r = gnc_jax.solve("tammes", C=4, d=3, restarts=2, seed=1)
    np.testing.assert_allclose(r.max_cos, -1 / 3, atol=1e-6)
    np.testing.assert_allclose(r.min_margin, 4 / 3, atol=1e-5)
    assert r.status in ("CONVERGED", "MIN_STEP") and r.W.shape == (4, 3)
    assert r.restarts["max_cos"].shape == (2,) and len(r.restarts["status"]) == 2


def test_softmax_code_d2_is_the_regular_polygon():
    r = gnc_jax.solve("softmax-code", C=5, d=2, restarts=2)
    np.testing.assert_allclose(r.min_margin, 1 - np.cos(2 * np.pi / 5), atol=1e-5)  # 0.690983


def test_ce_ufm_at_any_tau_gives_the_simplex_for_K_le_d_plus_1():
    for tau in (1.0, 0.2):
        r = gnc_jax.solve("ce-ufm", C=4, d=4, tau=tau, n=2, restarts=2)
        np.testing.assert_allclose(r.max_cos, -1 / 3, atol=1e-4)


def test_regularized_ufm_reaches_the_closed_form_optimum():
    r = gnc_jax.solve("ce-ufm-regularized", C=4, d=5, n=3, restarts=2, lambda_W=5e-3, lambda_H=1e-2, lambda_b=1e-2)
    np.testing.assert_allclose(r.objective, 0.19781481, atol=2e-6)
    np.testing.assert_allclose(np.sum(r.point["W"] ** 2, axis=1), 8.019023, rtol=1e-3)


def test_a_single_solve_does_not_recompile_for_a_new_seed_or_tau():
    gnc_jax.solve("ce-ufm-collapsed", C=5, d=3, tau=1.0, restarts=2, seed=0)
    fn = compiled_batch_solve("ce-ufm-collapsed", make_solver("lbfgs"), 1)
    before = fn._cache_size()
    gnc_jax.solve("ce-ufm-collapsed", C=5, d=3, tau=0.7, restarts=2, seed=3)
    assert fn._cache_size() == before


@pytest.mark.parametrize("kwargs,name", [
    (dict(problem="tammes", C=1, d=3), "C"), (dict(problem="tammes", C=5, d=0), "d"),
    (dict(problem="ce-ufm", C=5, d=3, tau=0.0), "tau"), (dict(problem="ce-ufm", C=5, d=3, tau=float("nan")), "tau"),
    (dict(problem="ce-ufm", C=5, d=3), "tau"), (dict(problem="nope", C=5, d=3), "problem"),
    (dict(problem="riesz", C=5, d=3, s=-1.0), "s"), (dict(problem="riesz", C=5, d=3, tau=1.0), "tau"),
    (dict(problem="tammes", C=5, d=3, solver="newton"), "solver"), (dict(problem="tammes", C=5, d=3, restarts=0), "restarts"),
    (dict(problem="tammes", C=4, d=3, init={"W": np.zeros((3, 3))}), "init"),
    (dict(problem="tammes", C=4, d=3, refine="yes"), "refine"), (dict(problem="tammes", C=4, d=3, history=1), "history"),
    (dict(problem="tammes", C=4, d=3, solver="tr", max_steps=0), "max_steps"),
])
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        gnc_jax.solve(**kwargs)


def test_explicit_init_is_opt_in_and_used():
    from conftest import simplex
    r = gnc_jax.solve("tammes", C=4, d=3, restarts=1, init={"W": simplex(4)}, max_steps=5)
    np.testing.assert_allclose(r.max_cos, -1 / 3, atol=1e-6)


def test_history_is_returned_on_request():
    r = gnc_jax.solve("riesz", C=6, d=3, restarts=2, history=True, max_steps=50)
    v = r.history["value"]
    assert v.shape == (50,) and np.isfinite(v[: r.steps]).all() and np.isnan(v[r.steps:]).all()


def test_history_covers_every_stage_of_every_restart():
    r = gnc_jax.solve("ce-ufm", C=8, d=3, tau=0.1, n=2, restarts=3, history=True)
    frame = r.history_frame("all")
    taus = [1.0, 0.1 ** (1 / 3), 0.1 ** (2 / 3), 0.1]  # 4 stages from 16 tau capped at 1, geometric
    for k in range(3):
        rows = frame[frame.restart == k]
        assert len(rows) == r.restarts["steps"][k] and list(rows.iteration) == list(range(len(rows)))
        assert list(rows.stage) == sorted(rows.stage) and set(rows.stage) == {0, 1, 2, 3}
        np.testing.assert_allclose(rows.groupby("stage").tau.first().to_numpy(), taus, rtol=1e-12)
        assert rows.value.iloc[-1] == pytest.approx(r.restarts["objective"][k], rel=1e-6)
    best = r.history_frame()
    assert set(best.restart) == {r.best_restart} and best.value.iloc[-1] == pytest.approx(r.objective, rel=1e-6)
    with pytest.raises(ValueError, match="history=True"):
        gnc_jax.solve("riesz", C=5, d=3, restarts=1).history_frame()
    with pytest.raises(ValueError, match="restarts"):
        r.history_frame("some")


def test_hessian_eigenvalues_tell_a_minimum_from_a_saddle():
    tet = gnc_jax.solve("riesz", C=4, d=3, restarts=2).hessian_eigenvalues()
    assert tet.shape == (8,) and np.sum(np.abs(tet) < 1e-4) == 3 and tet[3] > 1.0  # 3 rotations, the rest > 0
    square = np.array([[1.0, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]])  # critical by symmetry: a saddle
    r = gnc_jax.solve("riesz", C=4, d=3, restarts=1, init={"W": square})
    assert r.steps == 0 and r.hessian_eigenvalues()[0] < -0.5
    # the k smallest by Lanczos on Hessian-vector products: the dense ones, with no size limit
    np.testing.assert_allclose(r.hessian_eigenvalues(k=2), r.hessian_eigenvalues()[:2], atol=1e-10)
    with pytest.raises(ValueError, match="max_dim.*pass k"):
        r.hessian_eigenvalues(max_dim=10)
    assert r.hessian_eigenvalues(max_dim=10, k=1)[0] < -0.5


def test_saved_result_loads_back_and_seeds_a_solve(tmp_path):
    from gnc_jax.api import SolveResult

    r = gnc_jax.solve("ce-ufm", C=6, d=3, tau=0.2, n=2, restarts=3, history=True)
    r.save(tmp_path / "r.npz")
    q = SolveResult.load(tmp_path / "r.npz")
    chex.assert_trees_all_close(q.point, r.point, atol=0, rtol=0)
    assert q.summary() == r.summary() and q.best_restart == r.best_restart
    np.testing.assert_array_equal(q.restarts["min_margin"], r.restarts["min_margin"])
    assert q.history_frame("all").equals(r.history_frame("all"))
    again = gnc_jax.solve("ce-ufm", C=6, d=3, tau=0.2, n=2, restarts=1, init=q.point)
    assert again.objective <= r.objective * (1 + 1e-6)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="path"):
        SolveResult.load(tmp_path / "other.npz")


def test_nc_metrics_of_solved_feature_models(x64):
    r = gnc_jax.solve("ce-ufm-regularized", C=4, d=5, n=3, lambda_W=5e-3, lambda_H=1e-2, lambda_b=1e-2, restarts=2,
                      dtype=jnp.float64)
    m = r.nc_metrics()  # [NC21]: the minimizer is collapsed, an ETF, self-dual, and the bias absorbs the mean
    assert m["NC1"] < 1e-12 and m["NC2"] < 1e-6 and m["NC3"] < 1e-6 and m["NC4"] < 1e-6
    assert m["GNC2"] == pytest.approx(4 / 3, abs=1e-8)
    r = gnc_jax.solve("ce-ufm-regularized-imbalanced", C=4, d=5, n=10, minority=2, n_minor=2, lambda_W=5e-3,
                      lambda_H=5e-3, lambda_b=0.0, restarts=2, dtype=jnp.float64)
    m = r.nc_metrics()  # only the real samples count: 2 of the minority classes' 10 rows
    assert m["NC1"] < 1e-12 and m["NC2"] > 0.1  # collapsed within classes, but not an ETF
    assert set(gnc_jax.solve("tammes", C=4, d=3, restarts=1).nc_metrics()) == {"NC1", "GNC1", "NC2", "NC3", "GNC2",
                                                                                 "GNC3"}


def test_cli_json_and_out(tmp_path, capsys):
    out = tmp_path / "w.npz"
    assert main(["solve", "tammes", "--C", "6", "--d", "3", "--restarts", "2", "--json", "--out", str(out)]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("problem", "C", "d", "tau", "min_angle_deg", "max_cos", "min_margin", "objective", "status", "steps", "seconds"):
        assert key in d
    assert abs(d["min_angle_deg"] - 90.0) < 1e-3
    assert np.load(out)["W"].shape == (6, 3)


def test_cli_bad_input_exits_2_with_the_argument_named():
    p = subprocess.run([sys.executable, "-m", "gnc_jax.cli", "solve", "ce-ufm", "--C", "1", "--d", "3", "--tau", "1"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "C must be" in p.stderr
    p = subprocess.run([sys.executable, "-m", "gnc_jax.cli", "solve", "nope", "--C", "4", "--d", "3"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "problem" in p.stderr


@pytest.mark.parametrize("argv, flag", [
    (["solve", "tammes", "--C", "4", "--d", "3", "--out", "{missing}/r.npz"], "--out"),
    (["solve", "tammes", "--C", "4", "--d", "3", "--history", "{tmp}"], "--history"),
    (["grid", "tammes", "--C", "4", "--d", "3", "--db", "{missing}/g.db"], "--db"),
    (["records", "--d", "3", "--N", "4", "--out", "{missing}/rows.json"], "--out"),
    (["plot", "{tmp}/g.db", "--out", "{missing}/fig.png"], "--out"),
    (["nets", "--K", "3", "--d", "2", "--csv", "{missing}/h.csv"], "--csv"),
])
def test_cli_output_files_are_checked_before_any_work(argv, flag, tmp_path, capsys):
    """An output in a missing directory (or a directory given as a file) exits 2 naming the flag, before solving,
    instead of a traceback after the run."""
    from gnc_jax.cli import main

    argv = [a.format(missing=tmp_path / "no" / "such", tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert flag in err and ("does not exist" in err or "is a directory" in err), err
    assert list(tmp_path.iterdir()) == []


def test_float64_solve(x64):
    r = gnc_jax.solve("ce-ufm-collapsed", C=4, d=3, tau=1.0, restarts=1, dtype=jnp.float64)
    assert r.point["W"].dtype == np.float64 and r.dtype == "float64"
    np.testing.assert_allclose(r.max_cos, -1 / 3, atol=1e-10)


def test_subpackages_load_on_first_attribute_access():
    """After a bare ``import gnc_jax``, ``gnc_jax.codes`` / ``theory`` / ``grid`` work as the README writes them."""
    probe = (
        "import sys, gnc_jax\n"
        "assert 'gnc_jax.codes' not in sys.modules\n"
        "print(gnc_jax.codes.best_known(3, 13).min_angle_deg, gnc_jax.theory.__name__, gnc_jax.grid.__name__)\n"
        "assert 'codes' in dir(gnc_jax)\n"
        "try:\n    gnc_jax.no_such_module\nexcept AttributeError as e:\n    print('AttributeError', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) == pytest.approx(57.1367030752, abs=1e-9)
    assert out[1:3] == ["gnc_jax.theory", "gnc_jax.grid"]
    assert out[3] == "AttributeError" and "no_such_module" in out[-1]


def test_cli_refine_and_history_csv(tmp_path, capsys):
    """`--refine` reports the refinement's status; `--history` writes every stage's iterations as CSV."""
    import csv

    hist = tmp_path / "h.csv"
    argv = ["solve", "tammes", "--C", "6", "--d", "3", "--restarts", "2", "--refine", "--gtol", "1e-5",
            "--history", str(hist), "--json"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["refine_status"] == "CONVERGED" and abs(d["min_angle_deg"] - 90.0) < 1e-9  # octahedron, exact
    rows = list(csv.DictReader(open(hist)))
    assert rows and [int(r["iteration"]) for r in rows] == list(range(len(rows)))
    assert len(rows) == d["steps"] and all(np.isfinite(float(r["value"])) for r in rows)
    stages = [int(r["stage"]) for r in rows]
    assert stages == sorted(stages) and stages[0] == 0 and max(stages) <= 5  # the 6 continuation stages, in order
    assert float(rows[0]["tau"]) == pytest.approx(0.03) and float(rows[-1]["tau"]) == pytest.approx(1e-4)
    assert main(["solve", "riesz", "--C", "5", "--d", "3", "--refine"]) == 2
    assert "refine" in capsys.readouterr().err


def test_default_stop_test_is_scaled_only_for_vanishing_objectives():
    from gnc_jax.problems import get_problem

    vanishing = [p for p in gnc_jax.PROBLEMS if get_problem(p).vanishing]
    assert vanishing == ["ce-ufm", "ce-ufm-collapsed", "ce-ufm-imbalanced"]  # the spherical CE models
    s = make_solver("lbfgs", gtol_scaled=True)
    assert (s.gtol, s.gtol_scaled) == (1e-7, True)
    s = make_solver("adam", gtol_scaled=True, dtype=jnp.float64)
    assert (s.gtol, s.gtol_scaled) == (1e-10, True)
    s = make_solver("cg")
    assert (s.gtol, s.gtol_scaled) == (1e-5, False)
    from gnc_jax.solvers.base import gradient_converged

    # absolute while |f| >= 1, relative below
    assert bool(gradient_converged(9e-6, 3.0, 1e-5, True)) and not bool(gradient_converged(9e-6, 0.5, 1e-5, True))
    assert bool(gradient_converged(4e-12, 5e-7, 1e-5, True)) and bool(gradient_converged(9e-6, 0.5, 1e-5))


def test_the_readme_demo_reaches_its_reference_values(capsys):
    """`./scripts/demo --quick`: Tammes N = 24 matched to the record, the ETF at tau = 1, SPEC's rho at tau = 0.05."""
    import re

    from gnc_jax.demo import run_demo

    assert run_demo(quick=True) == 0
    out = capsys.readouterr().out
    assert "matched within 1e-6 deg" in out and "refinement CONVERGED" in out
    max_cos = float(re.search(r"max cos (-?[0-9.]+) \(simplex ETF", out).group(1))
    assert abs(max_cos + 1 / 3) < 1e-5
    assert re.search(r"tau=0.05: rho\(W\) 0\.7386 ", out)
