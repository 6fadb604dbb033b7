"""Grid engine: parsing, bucketing, agreement with solve(), one compile per bucket, SQLite resume."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from gnc_jax import api
from gnc_jax.grid import GridStore, bucket, engine, expand_grid, parse_values, run_grid, to_csv, to_dataframe

MAX_STEPS = 200  # shared by the solving tests so they reuse compiled programs (same solver object)
RESTARTS = 2
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------------------------
# parsing and bucketing (no solving)
# ----------------------------------------------------------------------------------------------
def test_parse_values():
    assert parse_values("C", "4:8", integer=True) == [4, 5, 6, 7, 8]
    assert parse_values("C", "4:12:4", integer=True) == [4, 8, 12]
    assert parse_values("d", "2,3,4", integer=True) == [2, 3, 4]
    assert parse_values("d", 3, integer=True) == [3]
    assert parse_values("d", [2, "5:6"], integer=True) == [2, 5, 6]
    assert parse_values("C", "4:6,13,20:24:2", integer=True) == [4, 5, 6, 13, 20, 22, 24]
    assert parse_values("tau", "0.01,0.1", integer=False) == [0.01, 0.1]
    assert parse_values("tau", 0.5, integer=False) == [0.5]
    assert parse_values("tau", None, integer=False) == [None]


@pytest.mark.parametrize("kw, name", [
    (dict(C="4:x", d=2), "C"), (dict(C="8:4", d=2), "C"), (dict(C="4,,5", d=2), "C"), (dict(C=4, d="a"), "d"),
    (dict(C=4, d=2.5), "d"), (dict(C=4, d="1:2:0"), "d"), (dict(C=4, d=2, tau="0.1:1"), "tau"),
    (dict(C=4, d=2, tau="abc"), "tau"), (dict(C=4, d=2, tau=-1.0), "tau"), (dict(C=1, d=2), "C"),
    (dict(C=4, d=2, restarts=0), "restarts"), (dict(C=4, d=2, n=2), "n"), (dict(C="", d=2), "C"),
    (dict(C="4:6,,8", d=2), "C"), (dict(C="4:6,x", d=2), "C"),
])
def test_expand_grid_errors_name_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        expand_grid("tammes", **kw)


def test_expand_and_bucket():
    cells = expand_grid("tammes", "4:9", "2,3", tau="0.01,0.1")
    assert len(cells) == 6 * 2 * 2
    assert {c.restarts for c in cells} == {8} and {c.seed for c in cells} == {0}
    b = bucket(cells)
    # C_pad in {4, 8, 16}, d_pad in {2, 4}; stages are the same for every tau of a surrogate
    assert set(k[1:4] for k in b) == {(4, 2, 1), (4, 4, 1), (8, 2, 1), (8, 4, 1), (16, 2, 1), (16, 4, 1)}
    assert len(b) == 6
    assert sum(len(v) for v in b.values()) == len(cells)
    assert engine.padded_shape(expand_grid("tammes", 3, 1)[0]) == (4, 1, 1)
    assert engine.padded_shape(expand_grid("ce-ufm", 5, 3, tau=0.1, n=3)[0]) == (8, 4, 4)
    # CE at tau < 0.5 uses 4 continuation stages, at tau >= 0.5 one: different programs
    assert len(bucket(expand_grid("ce-ufm-collapsed", 5, 3, tau="0.1,1.0"))) == 2


# ----------------------------------------------------------------------------------------------
# solving
# ----------------------------------------------------------------------------------------------
def _hetero_cells():
    # two buckets: (C_pad, d_pad) = (8, 4) holding C=5, 6, 7 (d=3), and (4, 2) holding C=4, d=2
    return expand_grid("tammes", "5:7", 3, restarts=RESTARTS, seed=3) + \
        expand_grid("tammes", 4, 2, restarts=RESTARTS, seed=3)


def _cache_size(problem="tammes", stages=6):
    solver = api.make_solver("lbfgs", max_steps=MAX_STEPS)
    return api.compiled_batch_solve(problem, solver, stages)._cache_size()


def test_grid_rows_match_solve_and_compile_once_per_bucket(capsys):
    cells = _hetero_cells()
    n_buckets = len(bucket(cells))
    assert n_buckets == 2
    before = _cache_size()
    # chunks of 2 cells: bucket (8, 4) runs a full chunk and a last chunk padded with a repeated cell
    rows = run_grid(cells, max_steps=MAX_STEPS, chunk_cells=2)
    assert _cache_size() - before == n_buckets
    assert capsys.readouterr().err == ""  # no progress bar when stderr is not a TTY
    assert len(rows) == len(cells)
    for row, cell in zip(sorted(rows, key=lambda r: (r["C"], r["d"])), sorted(cells, key=lambda c: (c.C, c.d))):
        ref = api.solve("tammes", cell.C, cell.d, restarts=RESTARTS, seed=3, max_steps=MAX_STEPS)
        assert (row["C"], row["d"], row["seed"], row["restarts"]) == (cell.C, cell.d, 3, RESTARTS)
        assert set(engine.ROW_FIELDS) <= set(row)
        # float32: padding changes reduction shapes, and MIN_STEP stopping amplifies that roundoff a
        # little (C=5, d=3 differs by ~1.6e-4 deg); float64 agreement is checked tightly below
        assert abs(row["min_angle_deg"] - ref.min_angle_deg) < 5e-4
        assert abs(row["max_cos"] - ref.max_cos) < 1e-5
        assert abs(row["min_margin"] - ref.min_margin) < 1e-5
        assert row["W"].shape == (cell.C, cell.d)
        np.testing.assert_allclose(np.linalg.norm(row["W"], axis=1), 1.0, atol=1e-6)


def test_resume_skips_stored_cells(tmp_path, monkeypatch):
    db = str(tmp_path / "runs.sqlite")
    cells = _hetero_cells()
    calls = []
    real = api.solve_batch

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(api, "solve_batch", counting)
    rows = run_grid(cells, max_steps=MAX_STEPS, db=db, chunk_cells=2, progress=False)
    assert len(rows) == 4 and len(calls) == 3  # (8, 4): 2 chunks; (4, 2): 1 chunk
    # re-run: nothing solved, nothing duplicated
    assert run_grid(cells, max_steps=MAX_STEPS, db=db, chunk_cells=2, progress=False) == []
    assert len(calls) == 3
    with GridStore(db) as s:
        assert s.count() == 4
        W = s.load_W("tammes", 7, 3, tau=1e-4, seed=3)
    assert W.shape == (7, 3)
    np.testing.assert_allclose(W, next(r["W"] for r in rows if r["C"] == 7))
    # lose one cell: only that one is solved again
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM cells WHERE C=5")
    again = run_grid(cells, max_steps=MAX_STEPS, db=db, chunk_cells=2, progress=False)
    assert [r["C"] for r in again] == [5] and len(calls) == 4
    df = to_dataframe(db)
    assert len(df) == 4 and not df.duplicated(["problem", "C", "d", "tau", "n", "seed", "restarts"]).any()

    # DataFrame / CSV export
    assert {"problem", "C", "d", "tau", "min_angle_deg", "max_cos", "min_margin", "objective", "status",
            "steps", "seconds", "device", "version", "hparams"} <= set(df.columns)
    dfw = to_dataframe(db, with_W=True)
    assert [w.shape for w in dfw["W"]] == [(c, d) for c, d in zip(dfw["C"], dfw["d"])]
    out = tmp_path / "runs.csv"
    to_csv(db, str(out))
    import pandas as pd

    back = pd.read_csv(out)
    assert len(back) == 4
    np.testing.assert_allclose(np.sort(back["min_angle_deg"]), np.sort(df["min_angle_deg"]))

    # the CLI on a complete db solves nothing and prints every cell; show exports CSV
    from gnc_jax.cli import main

    assert main(["grid", "tammes", "--C", "5:7", "--d", "3", "--restarts", str(RESTARTS), "--seed", "3",
                 "--max-steps", str(MAX_STEPS), "--db", db, "--quiet"]) == 0
    assert len(calls) == 4
    assert main(["show", db, "--csv", str(tmp_path / "show.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "show.csv")) == 4


def test_refined_grid_reaches_the_d3_records_and_is_stored_apart(tmp_path, capsys):
    """``refine=True``: every restart refined exactly at its own (C, d) inside a padded bucket (C = 5..8 pad to
    8 and d = 3 to 4), so the rows reach Sloane's records to 1e-9 deg; the unrefined run of the same cells is
    another row, the gap column is best known minus found, and non-refinable problems are refused."""
    db = str(tmp_path / "refined.sqlite")
    cells = expand_grid("tammes", "5:8", 3, restarts=4, seed=0)
    rows = run_grid(cells, max_steps=MAX_STEPS, db=db, progress=False, refine=True)
    from gnc_jax.codes import best_known

    for r in rows:
        rec = best_known(3, r["C"]).min_angle_deg  # 90, 90, 77.8695421, 74.8584922 deg
        assert abs(r["min_angle_deg"] - rec) < 1e-9, (r["C"], r["min_angle_deg"], rec)
        assert r["refine_status"] == "CONVERGED" and r["W"].shape == (r["C"], 3)
        np.testing.assert_allclose(np.linalg.norm(r["W"], axis=1), 1.0, atol=1e-12)
    plain = run_grid(cells, max_steps=MAX_STEPS, db=db, progress=False)
    assert len(plain) == 4 and all(r["refine_status"] is None for r in plain)
    assert run_grid(cells, max_steps=MAX_STEPS, db=db, progress=False, refine=True) == []  # resumed: nothing left
    df = to_dataframe(db)
    assert len(df) == 8 and sorted(set(df["solver"])) == ["lbfgs", "lbfgs+refine"]
    refined = df[df["solver"] == "lbfgs+refine"]
    np.testing.assert_allclose(refined["gap_deg"], 0.0, atol=1e-9)
    assert (df[df["solver"] == "lbfgs"]["gap_deg"] > 1e-7).any()  # the surrogate alone stops short (C = 7, 8)
    with pytest.raises(ValueError, match="^refine"):
        run_grid(expand_grid("riesz", 5, 3), refine=True)
    # the softmax code refines W and H together: d = 2 regular polygons, rho* = 1 - cos(2 pi / K) (SPEC section 2)
    rows = run_grid(expand_grid("softmax-code", "5,7", 2, restarts=2), max_steps=MAX_STEPS, progress=False, refine=True)
    for r in rows:
        assert abs(r["min_margin"] - (1 - np.cos(2 * np.pi / r["C"]))) < 1e-9 and r["refine_status"] == "CONVERGED"


def test_a_database_from_before_refine_status_opens_and_gains_the_column(tmp_path):
    db = str(tmp_path / "old.sqlite")
    old_schema = _schema_without("refine_status")
    with sqlite3.connect(db) as conn:
        conn.executescript(old_schema)
        conn.execute("INSERT INTO cells (problem, C, d, tau, tau_key, n, seed, restarts, hparams, solver, max_steps, "
                     "gtol_key, dtype, min_angle_deg, status, steps, seconds) VALUES ('tammes', 6, 3, 1e-4, '0.0001', "
                     "1, 0, 2, '{}', 'lbfgs', 200, 'default', 'float32', 89.9, 'MIN_STEP', 10, 0.5)")
    df = to_dataframe(db)
    assert len(df) == 1 and df["refine_status"].isna().all()
    assert df["gap_deg"].iloc[0] == pytest.approx(0.1, abs=1e-12)


def _schema_without(column: str) -> str:
    from gnc_jax.grid import store

    lines = [ln for ln in store.SCHEMA.splitlines() if not ln.strip().startswith(column)]
    assert len(lines) == len(store.SCHEMA.splitlines()) - 1
    return "\n".join(lines)


def test_cli_bad_spec_exits_2(capsys):
    from gnc_jax.cli import main

    assert main(["grid", "tammes", "--C", "4:x", "--d", "2"]) == 2
    assert "C" in capsys.readouterr().err
    assert main(["grid", "tammes", "--C", "4", "--d", "2", "--tau", "0.1:1"]) == 2
    assert main(["show", "/nonexistent/x.sqlite"]) == 2


def test_sigkill_mid_run_then_resume(tmp_path):
    db = str(tmp_path / "kill.sqlite")
    # the child commits chunk by chunk and dawdles between chunks, so it is killed mid-run
    script = textwrap.dedent(f"""
        import time
        from gnc_jax.grid import expand_grid, iter_grid
        cells = expand_grid("tammes", "5:8", 3, restarts={RESTARTS}, seed=3)
        for row in iter_grid(cells, max_steps={MAX_STEPS}, db={db!r}, chunk_cells=2, progress=False):
            time.sleep(2.0)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        deadline = time.time() + 120
        n = 0
        while time.time() < deadline:
            if os.path.exists(db):
                try:
                    with sqlite3.connect(db, timeout=5) as conn:
                        n = conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0  # table not created yet
                if n >= 1:
                    break
            assert proc.poll() is None, "child exited early"
            time.sleep(0.1)
        assert n >= 1, "no chunk committed in time"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with GridStore(db) as s:
        stored = s.count()
    assert 1 <= stored < 4
    cells = expand_grid("tammes", "5:8", 3, restarts=RESTARTS, seed=3)
    rows = run_grid(cells, max_steps=MAX_STEPS, db=db, chunk_cells=2, progress=False)
    df = to_dataframe(db)
    assert sorted(df["C"]) == [5, 6, 7, 8]
    assert len(rows) == 4 - stored  # only the missing cells were solved


# last: toggling x64 changes jit cache keys, so earlier tests would otherwise recompile
def test_grid_row_matches_solve_float64(x64):
    import jax.numpy as jnp

    cells = expand_grid("tammes", 5, 3, restarts=RESTARTS, seed=3)  # padded to (8, 4)
    row = run_grid(cells, max_steps=MAX_STEPS, progress=False, dtype=jnp.float64)[0]
    ref = api.solve("tammes", 5, 3, restarts=RESTARTS, seed=3, max_steps=MAX_STEPS, dtype=jnp.float64)
    assert abs(row["min_angle_deg"] - ref.min_angle_deg) < 1e-8
    assert abs(row["objective"] - ref.objective) < 1e-10
    np.testing.assert_allclose(np.abs(row["W"] @ row["W"].T), np.abs(ref.W @ ref.W.T), atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Parquet export (synthetic rows: nothing is solved)
# ----------------------------------------------------------------------------------------------
def _synthetic_db(path):
    opts = {"solver": "lbfgs", "max_steps": 10, "gtol": None, "dtype": "float32"}
    rows = [{"problem": "tammes", "C": C, "d": 3, "tau": None, "n": 1, "seed": 0, "restarts": 2, "hparams": "{}",
             "min_angle_deg": 60.0 + C, "max_cos": 0.5, "min_margin": 0.1, "objective": 1.0, "status": "CONVERGED",
             "steps": 5, "seconds": 0.01, "device": "cpu", "version": "0", "W": np.eye(C, 3)} for C in (4, 5, 6)]
    with GridStore(path) as s:
        s.write(rows, opts)
    return path


def test_parquet_export(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    from gnc_jax.cli import main
    from gnc_jax.grid import to_parquet

    db = _synthetic_db(str(tmp_path / "p.sqlite"))
    to_parquet(db, str(tmp_path / "a.parquet"))
    back = pd.read_parquet(tmp_path / "a.parquet")
    pd.testing.assert_frame_equal(back, to_dataframe(db))
    assert main(["show", db, "--parquet", str(tmp_path / "b.parquet")]) == 0
    assert list(pd.read_parquet(tmp_path / "b.parquet")["C"]) == [4, 5, 6]


def test_parquet_without_pyarrow_names_it(tmp_path, monkeypatch, capsys):
    from gnc_jax.cli import main
    from gnc_jax.grid import to_parquet

    db = _synthetic_db(str(tmp_path / "p.sqlite"))
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    with pytest.raises(ImportError, match="pyarrow"):
        to_parquet(db, str(tmp_path / "a.parquet"))
    assert main(["show", db, "--parquet", str(tmp_path / "b.parquet")]) == 2
    assert "pyarrow" in capsys.readouterr().err
    assert not (tmp_path / "b.parquet").exists()
