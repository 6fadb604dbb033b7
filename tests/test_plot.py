"""Plots of grid results (Agg, no display): real content, not just "it runs"."""
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib  # noqa: E402

matplotlib.use("Agg")

from gnc_jax import plot  # noqa: E402
from gnc_jax.codes import best_known, cross_polytope, icosahedron  # noqa: E402
from gnc_jax.grid import GridStore  # noqa: E402


def _frame():
    import pandas as pd

    rows = []
    for d, Cs in ((2, range(4, 9)), (3, range(4, 13))):
        for C in Cs:
            bk = best_known(d, C).min_angle_deg
            for seed, miss in ((0, 0.5), (1, 0.1 * (C % 3))):  # best of two seeds is kept
                rows.append({"problem": "tammes", "C": C, "d": d, "seed": seed, "min_angle_deg": bk - miss})
    return pd.DataFrame(rows)


def test_contact_edges_of_known_codes():
    assert len(plot.contact_edges(icosahedron())) == 30
    assert len(plot.contact_edges(cross_polytope(3))) == 12
    assert len(plot.contact_edges(cross_polytope(3), tol=100.0)) == 15  # everything within 100 deg of 90


def test_sphere_draws_the_contact_graph():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    for pts, edges in ((icosahedron() @ q, 30), (cross_polytope(3), 12)):
        fig = plot.plot_sphere(pts)
        assert plot.count_contact_lines(fig) == edges
        lines = [ln for ln in fig.axes[0].lines if ln.get_gid() == plot.CONTACT_GID]
        xyz = np.stack(lines[0].get_data_3d(), axis=1)
        np.testing.assert_allclose(np.linalg.norm(xyz, axis=1), 1.0, atol=1e-12)  # arcs lie on the sphere
    with pytest.raises(ValueError, match="points"):
        plot.plot_sphere(np.ones((4, 2)))


def test_min_angle_vs_C_and_best_known_curve():
    fig = plot.plot_min_angle_vs_C(_frame(), d=3)
    lines = {ln.get_label(): ln for ln in fig.axes[0].lines}
    Cs = list(range(4, 13))
    np.testing.assert_array_equal(lines["best known"].get_xdata(), Cs)
    np.testing.assert_array_equal(lines["best known"].get_ydata(), [best_known(3, C).min_angle_deg for C in Cs])
    expected = [best_known(3, C).min_angle_deg - min(0.5, 0.1 * (C % 3)) for C in Cs]
    np.testing.assert_allclose(lines["grid"].get_ydata(), expected)
    with pytest.raises(ValueError, match="d"):
        plot.plot_min_angle_vs_C(_frame(), d=7)


def test_gap_heatmap_values():
    df = _frame()
    table = plot.gap_table(df)
    assert list(table.index) == [2, 3] and list(table.columns) == list(range(4, 13))
    assert np.isnan(table.loc[2, 9])  # no d=2 row at C=9
    np.testing.assert_allclose(table.loc[3, 7], min(0.5, 0.1 * (7 % 3)))
    fig = plot.plot_gap_heatmap(df)
    img = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(img.filled(np.nan), table.to_numpy(), equal_nan=True)


def test_cli_plot_from_db(tmp_path):
    from gnc_jax.cli import main

    db = str(tmp_path / "g.sqlite")
    opts = {"solver": "lbfgs", "max_steps": 10, "gtol": None, "dtype": "float32"}
    W = icosahedron()
    rows = [{"problem": "tammes", "C": C, "d": 3, "tau": None, "n": 1, "seed": 0, "restarts": 1, "hparams": "{}",
             "min_angle_deg": best_known(3, C).min_angle_deg, "max_cos": 0.0, "min_margin": 0.0, "objective": 0.0,
             "status": "CONVERGED", "steps": 1, "seconds": 0.0, "device": "cpu", "version": "0",
             "W": W if C == 12 else cross_polytope(3)} for C in (6, 12)]
    with GridStore(db) as s:
        s.write(rows, opts)
    for kind in ("angle", "gap", "sphere"):
        out = tmp_path / f"{kind}.png"
        assert main(["plot", db, "--kind", kind, "--C", "12", "--out", str(out)]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", db, "--kind", "sphere", "--C", "5", "--out", str(tmp_path / "x.png")]) == 2
    assert main(["plot", db, "--kind", "sphere", "--d", "4", "--C", "12", "--out", str(tmp_path / "x.png")]) == 2


def test_missing_matplotlib_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="matplotlib"):
        plot.plot_sphere(icosahedron())


def test_cli_plot_of_one_configuration_file(tmp_path, capsys, monkeypatch):
    """`gnc-jax plot FILE.npz`: the d = 3 sphere of a saved configuration, titled with its angle and contacts
    (the icosahedron: 63.4349488 deg, 30 contacts); files without an (N, 3) W are refused, exit 2, naming DB."""
    from gnc_jax.cli import main

    made = []
    real = plot.plot_sphere
    monkeypatch.setattr(plot, "plot_sphere", lambda *a, **k: made.append(k.get("title")) or real(*a, **k))
    path = tmp_path / "ico.npz"
    np.savez(path, W=icosahedron())
    out = tmp_path / "ico.png"
    assert main(["plot", str(path), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert made == ["N = 12: min angle 63.4349488 deg, 30 contacts"]
    np.savez(tmp_path / "d4.npz", W=np.eye(4))
    np.savez(tmp_path / "none.npz", H=icosahedron())
    for bad in ("d4.npz", "none.npz", "missing.npz"):
        assert main(["plot", str(tmp_path / bad), "--out", str(out)]) == 2
        assert "DB" in capsys.readouterr().err
