"""gnc_jax.nets: real MLPs trained to the terminal phase approach the feature model's optimum."""
import jax
import numpy as np
import pytest

from gnc_jax.cli import main
from gnc_jax.nets import gaussian_mixture, train_collapse


def test_linear_head_approaches_the_simplex_etf():
    run = train_collapse(K=4, d=8, steps=2000, log_every=100, seeds=2)
    assert run.status == ["FIT", "FIT"] and run.prediction["rho"] == pytest.approx(4 / 3)
    h = run.history
    early, last = h["step"] == 100, h["step"] == 2000
    assert np.all(h["NC2"][last] < h["NC2"][early] / 4) and np.all(h["NC1"][last] < h["NC1"][early])
    assert np.all(h["NC2"][last] < 0.06) and np.all(np.abs(h["GNC2"][last] - 4 / 3) < 0.01)
    assert np.all(np.abs(h["min_angle_deg"][last] - 109.4712206) < 2.0)
    assert set(run.history_frame().columns) >= {"seed", "step", "loss", "NC1", "NC4", "GNC2"}


def test_spherical_head_approaches_the_spherical_model_at_the_same_tau():
    run = train_collapse(K=8, d=3, head="spherical", tau=0.1, steps=4000, log_every=1000, seeds=2)
    rho_model = run.prediction["rho"]  # gnc_jax.solve("ce-ufm", tau=0.1) in float64: 0.738085
    assert rho_model == pytest.approx(0.738085, abs=1e-5)
    final = run.final()
    assert all(s == "FIT" for s in run.status) and all(np.isnan(r["NC4"]) for r in final)  # no bias: no NC4
    assert all(abs(r["GNC2"] - rho_model) < 0.01 for r in final)
    assert "rho(W_hat)" in run.report()


def test_seeds_train_independently_in_one_batch():
    both = train_collapse(K=3, d=4, steps=200, log_every=100, seeds=[0, 1], predict_model=False)
    one = train_collapse(K=3, d=4, steps=200, log_every=100, seeds=[1], predict_model=False)
    gap = jax.tree.reduce(max, jax.tree.map(lambda a, b: float(np.max(np.abs(np.asarray(a)[1] - np.asarray(b)[0]))),
                                            both.params, one.params))
    assert gap < 1e-5
    np.testing.assert_allclose(both.history["loss"][both.history["seed"] == 1], one.history["loss"], rtol=1e-5)


@pytest.mark.parametrize("kw, arg", [(dict(K=1), "K"), (dict(head="conv"), "head"), (dict(log_every=300), "log_every"),
                                     (dict(tau=-1.0, head="spherical"), "tau"), (dict(seeds=0), "seeds"),
                                     (dict(momentum=1.0), "momentum"), (dict(hidden=()), "hidden"),
                                     (dict(learning_rate=0.0), "learning_rate"), (dict(tau=0.1), "tau")])
def test_bad_training_arguments_are_named(kw, arg):
    args = dict(K=3, d=2, steps=1000, log_every=100, predict_model=False)
    args.update(kw)
    with pytest.raises(ValueError, match=arg):
        train_collapse(**args)


def test_divergent_training_is_reported_not_hidden():
    run = train_collapse(K=3, d=2, steps=200, log_every=100, seeds=2, learning_rate=1e4, predict_model=False)
    assert run.status == ["NONFINITE", "NONFINITE"] and all(np.isnan(r["NC1"]) for r in run.final())
    assert "NONFINITE" in run.report()


def test_data_and_cli(tmp_path, capsys):
    X, y = gaussian_mixture(3, 5, dim=4, seed=1)
    assert X.shape == (15, 4) and list(np.bincount(y)) == [5, 5, 5]
    np.testing.assert_array_equal(X, gaussian_mixture(3, 5, dim=4, seed=1)[0])
    with pytest.raises(ValueError, match="separation"):
        gaussian_mixture(3, 5, separation=0.0)
    csv = tmp_path / "h.csv"
    assert main(["nets", "--K", "3", "--d", "2", "--steps", "200", "--log-every", "100", "--seeds", "2",
                 "--no-predict", "--csv", str(csv), "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["status"] == ["FIT", "FIT"] and len(out["final"]) == 2 and out["config"]["steps"] == 200
    assert len(csv.read_text().splitlines()) == 1 + 2 * 2
    assert main(["nets", "--K", "3", "--d", "2", "--head", "conv"]) == 2
    assert "head" in capsys.readouterr().err
