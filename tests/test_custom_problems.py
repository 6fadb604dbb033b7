"""Custom problems: ``gnc_jax.register_problem`` runs a user's objective through solve, grids and the CLI."""
import contextlib
import json
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gnc_jax
from gnc_jax import objectives as obj
from gnc_jax.cli import main
from gnc_jax.codes import compare
from gnc_jax.grid import expand_grid, run_grid
from gnc_jax.grid.engine import padded_shape
from gnc_jax.objectives.common import gram, pair_mask


def uniformity(point, hp):
    """log mean_{i<j} exp(-t |w_i - w_j|^2) over the real classes (the contrastive 'uniformity' loss)."""
    W = point["W"]
    pairs = pair_mask(hp["class_mask"])
    z = jnp.where(pairs, -hp["t"] * (2.0 - 2.0 * gram(W)), -jnp.inf)
    return jax.nn.logsumexp(z) - jnp.log(jnp.sum(pairs))


def uniformity_unmasked(point, hp):
    """The same loss, ignoring the masks (every row counts)."""
    W = point["W"]
    C = W.shape[0]
    z = jnp.where(jnp.triu(jnp.ones((C, C), bool), 1), -hp["t"] * (2.0 - 2.0 * gram(W)), -jnp.inf)
    return jax.nn.logsumexp(z) - jnp.log(C * (C - 1) / 2)


@contextlib.contextmanager
def registered(name, *args, **kw):
    p = gnc_jax.register_problem(name, *args, **kw)
    try:
        yield p
    finally:
        gnc_jax.unregister_problem(name)


@pytest.mark.parametrize("C, angle", [(6, 90.0), (12, math.degrees(math.acos(1 / math.sqrt(5))))])
def test_custom_gaussian_energy_finds_the_universally_optimal_codes(x64, C, angle):
    # Gaussian energies are minimized by the sharp codes (Cohn-Kumar): the octahedron and the icosahedron.
    with registered("uniformity-test", uniformity, {"W": "sphere"}, hparams={"t": 2.0}, masked=True):
        r = gnc_jax.solve("uniformity-test", C=C, d=3, restarts=4, dtype=jnp.float64)
        assert r.status == "CONVERGED"
        assert abs(r.min_angle_deg - angle) < 1e-6
        rep = compare(r.W)
        assert rep.congruent_to is not None and rep.symmetry.startswith("O" if C == 6 else "I")
        np.testing.assert_allclose(np.linalg.norm(r.W, axis=1), 1.0, atol=1e-12)


def test_registered_copy_of_a_builtin_gives_the_builtin_result():
    with registered("riesz-copy", obj.riesz_energy, [("W", "sphere")], hparams={"s": 1.0}, masked=True):
        mine = gnc_jax.solve("riesz-copy", C=9, d=3, restarts=3, seed=2, s=2.0)
    ref = gnc_jax.solve("riesz", C=9, d=3, restarts=3, seed=2, s=2.0)
    chex.assert_trees_all_close(mine.point, ref.point, atol=0, rtol=0)
    assert mine.objective == ref.objective and mine.status == ref.status


def test_custom_problem_in_a_grid_padded_or_at_its_own_shape(tmp_path):
    with registered("unif-masked", uniformity, {"W": "sphere"}, hparams={"t": 2.0}, masked=True), \
            registered("unif-own-shape", uniformity_unmasked, {"W": "sphere"}, hparams={"t": 2.0}):
        padded = expand_grid("unif-masked", C="5,6", d=3, restarts=4)
        own = expand_grid("unif-own-shape", C="5,6", d=3, restarts=4)
        assert [padded_shape(c) for c in padded] == [(8, 4, 1), (8, 4, 1)]
        assert [padded_shape(c) for c in own] == [(5, 3, 1), (6, 3, 1)]
        rows_padded = run_grid(padded, db=str(tmp_path / "g.sqlite"), progress=False)
        rows_own = run_grid(own, db=str(tmp_path / "g.sqlite"), progress=False)
    for a, b in zip(rows_padded, rows_own):
        assert a["C"] == b["C"] and a["status"] == b["status"] == "CONVERGED"
        assert abs(a["objective"] - b["objective"]) < 1e-5
    # C = 6: the octahedron (float32 solve); C = 5: the triangular bipyramid's 90 deg
    assert abs(rows_padded[1]["min_angle_deg"] - 90.0) < 1e-2
    assert abs(rows_padded[0]["min_angle_deg"] - 90.0) < 1e-2


def test_register_problem_rejects_bad_input_naming_the_argument():
    bad = [
        (dict(name="tammes"), "name"),
        (dict(factors={"W": "ball"}), "factors"),
        (dict(factors={"H": "sphere"}), "factors"),
        (dict(objective=3), "objective"),
        (dict(tau=-1.0), "tau"),
        (dict(tau="hot"), "tau"),
        (dict(surrogate=True), "surrogate"),
        (dict(score="best"), "score"),
        (dict(hparams={"class_mask": 1.0}), "hparams"),
        (dict(hparams={"restarts": 1.0}), "hparams"),
        (dict(hparams={"t": float("nan")}), "hparams"),
        (dict(solver="newton"), "solver"),
    ]
    for change, arg in bad:
        kw = dict(name="bad-problem", objective=uniformity, factors={"W": "sphere"}, hparams={"t": 2.0})
        kw.update(change)
        with pytest.raises(ValueError, match=arg):
            gnc_jax.register_problem(**kw)
    assert "bad-problem" not in gnc_jax.PROBLEMS
    with pytest.raises(ValueError, match="name"):
        gnc_jax.unregister_problem("riesz")


def test_bad_custom_objective_is_reported_before_compiling():
    def vector(point, hp):
        return jnp.sum(point["W"], axis=1)

    def broken(point, hp):
        return jnp.sum(point["W"] @ point["W"])  # (C, d) @ (C, d): shapes do not match

    with registered("vector-valued", vector, {"W": "sphere"}), registered("broken", broken, {"W": "sphere"}):
        with pytest.raises(ValueError, match="objective: problem 'vector-valued' must return a real scalar"):
            gnc_jax.solve("vector-valued", C=4, d=3)
        with pytest.raises(ValueError, match="objective: problem 'broken' failed"):
            gnc_jax.solve("broken", C=4, d=3)
        with pytest.raises(ValueError, match="t: unknown hyperparameter"):
            gnc_jax.solve("broken", C=4, d=3, t=1.0)


def test_replacing_a_custom_problem_compiles_its_new_objective():
    def spread(point, hp):
        return jnp.sum(gram(point["W"]))  # |sum w|^2: minimized by codes summing to zero

    def gather(point, hp):
        return -jnp.sum(gram(point["W"]))  # maximized sum: every point equal

    with registered("switch", spread, {"W": "sphere"}):
        assert gnc_jax.solve("switch", C=4, d=3, restarts=2).objective < 1e-6
        with pytest.raises(ValueError, match="replace=True"):
            gnc_jax.register_problem("switch", gather, {"W": "sphere"})
        gnc_jax.register_problem("switch", gather, {"W": "sphere"}, replace=True)
        r = gnc_jax.solve("switch", C=4, d=3, restarts=2)
        assert abs(r.objective + 16.0) < 1e-4 and r.max_cos > 1 - 1e-5


def test_cli_import_runs_a_custom_problem(tmp_path, capsys):
    module = tmp_path / "my_problems.py"
    module.write_text(
        "import jax.numpy as jnp\n"
        "import gnc_jax\n"
        "from gnc_jax.objectives.common import gram\n"
        "gnc_jax.register_problem('cli-spread', lambda p, hp: jnp.sum(gram(p['W'])) * hp['scale'],\n"
        "                         {'W': 'sphere'}, hparams={'scale': 1.0})\n")
    try:
        assert main(["--import", str(module), "problems", "--json"]) == 0
        listed = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
        assert listed["cli-spread"]["custom"] and listed["cli-spread"]["hparams"] == {"scale": 1.0}
        assert listed["tammes"]["refinable"] and not listed["tammes"]["custom"]
        assert main(["problems"]) == 0 and "ce-ufm-regularized-imbalanced" in capsys.readouterr().out
        assert main(["--import", str(module), "solve", "cli-spread", "--C", "3", "--d", "2", "--set", "scale=2",
                     "--json"]) == 0
        res = json.loads(capsys.readouterr().out)
        assert res["problem"] == "cli-spread" and abs(res["min_angle_deg"] - 120.0) < 1e-2
    finally:
        gnc_jax.unregister_problem("cli-spread")
    assert main(["--import", str(tmp_path / "missing.py"), "solve", "x", "--C", "3", "--d", "2"]) == 2
    assert "--import: no such file" in capsys.readouterr().err
    (tmp_path / "raises.py").write_text("raise RuntimeError('boom')\n")
    assert main(["--import", str(tmp_path / "raises.py"), "solve", "x", "--C", "3", "--d", "2"]) == 2
    assert "RuntimeError: boom" in capsys.readouterr().err
