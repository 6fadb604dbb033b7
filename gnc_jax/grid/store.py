"""SQLite store for grid runs (stdlib ``sqlite3``): one row per solved cell.

A cell's key is (problem, C, d, tau, n, seed, restarts, hparams-json) together with the solver
options (solver, max_steps, gtol, dtype), under a UNIQUE constraint; rows are written with
``INSERT OR IGNORE``, one transaction per chunk, so a run killed at any point and re-run
neither loses nor duplicates cells. A refined run (``options["refine"]``) is stored under the solver name
``"<solver>+refine"``, so refined and unrefined runs of a cell are different rows. ``tau`` is kept in a text key
column too (SQLite treats NULLs as distinct in UNIQUE constraints). The best configuration W is a float64 blob.
"""
from __future__ import annotations

import json
import sqlite3

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    id INTEGER PRIMARY KEY,
    problem TEXT NOT NULL,
    C INTEGER NOT NULL,
    d INTEGER NOT NULL,
    tau REAL,
    tau_key TEXT NOT NULL,
    n INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    restarts INTEGER NOT NULL,
    hparams TEXT NOT NULL,
    solver TEXT NOT NULL,
    max_steps INTEGER NOT NULL,
    gtol_key TEXT NOT NULL,
    dtype TEXT NOT NULL,
    min_angle_deg REAL,
    max_cos REAL,
    min_margin REAL,
    objective REAL,
    status TEXT,
    refine_status TEXT,
    steps INTEGER,
    seconds REAL,
    device TEXT,
    version TEXT,
    W BLOB,
    created TEXT DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (problem, C, d, tau_key, n, seed, restarts, hparams, solver, max_steps, gtol_key, dtype)
);
"""

COLUMNS = ("problem", "C", "d", "tau", "n", "seed", "restarts", "hparams", "solver", "max_steps", "dtype",
           "min_angle_deg", "max_cos", "min_margin", "objective", "status", "refine_status", "steps", "seconds",
           "device", "version")


def _tau_key(tau) -> str:
    return "none" if tau is None else repr(float(tau))


def _gtol_key(gtol) -> str:
    return "default" if gtol is None else repr(float(gtol))


def _solver_key(options: dict) -> str:
    """The solver name, "+warmN" for a stage budget (``warm_steps``), "+refine" for refined runs."""
    warm = options.get("warm_steps")
    warm = "" if warm is None else f"+warm{int(warm)}"
    return options["solver"] + warm + ("+refine" if options.get("refine") else "")


def _option_keys(options: dict) -> tuple:
    """The solver options' part of a cell's key: (solver, max_steps, gtol_key, dtype)."""
    return _solver_key(options), int(options["max_steps"]), _gtol_key(options.get("gtol")), options["dtype"]


class GridStore:
    """An open grid database. ``GridStore(path)``; also a context manager."""

    def __init__(self, path: str):
        self.path = str(path)
        self.conn = sqlite3.connect(self.path, timeout=60.0)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        with self.conn:
            self.conn.executescript(SCHEMA)
            have = {r[1] for r in self.conn.execute("PRAGMA table_info(cells)")}
            if "refine_status" not in have:  # a database written before refined grids existed
                self.conn.execute("ALTER TABLE cells ADD COLUMN refine_status TEXT")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    @staticmethod
    def cell_key(cell, options: dict) -> tuple:
        return (cell.problem, int(cell.C), int(cell.d), _tau_key(cell.tau), int(cell.n), int(cell.seed),
                int(cell.restarts), cell.hparams_json)

    def present_keys(self, options: dict) -> set:
        """Keys (as ``cell_key``) of the cells already stored under these solver options."""
        cur = self.conn.execute(
            "SELECT problem, C, d, tau_key, n, seed, restarts, hparams FROM cells "
            "WHERE solver=? AND max_steps=? AND gtol_key=? AND dtype=?", _option_keys(options))
        return {tuple(r) for r in cur}

    def write(self, rows: list[dict], options: dict) -> int:
        """Insert rows in one transaction (existing keys are left alone); returns rows inserted."""
        vals = []
        for r in rows:
            W = np.ascontiguousarray(np.asarray(r["W"], np.float64))
            vals.append((r["problem"], int(r["C"]), int(r["d"]), r["tau"], _tau_key(r["tau"]), int(r["n"]),
                         int(r["seed"]), int(r["restarts"]), r["hparams"]) + _option_keys(options) + (
                         r["min_angle_deg"], r["max_cos"], r["min_margin"], r["objective"], r["status"],
                         r.get("refine_status"), int(r["steps"]), float(r["seconds"]), r["device"], r["version"],
                         W.tobytes()))
        with self.conn:
            before = self.conn.total_changes
            self.conn.executemany(
                "INSERT OR IGNORE INTO cells (problem, C, d, tau, tau_key, n, seed, restarts, hparams, solver, "
                "max_steps, gtol_key, dtype, min_angle_deg, max_cos, min_margin, objective, status, refine_status, "
                "steps, seconds, device, version, W) VALUES (" + ",".join("?" * 24) + ")", vals)
            return self.conn.total_changes - before

    def fetch(self, cells, options: dict) -> list[dict]:
        """Stored rows (dicts of COLUMNS) of ``cells`` under these solver options, in cell order."""
        q = (f"SELECT {', '.join(COLUMNS)} FROM cells WHERE problem=? AND C=? AND d=? AND tau_key=? AND n=? "
             "AND seed=? AND restarts=? AND hparams=? AND solver=? AND max_steps=? AND gtol_key=? AND dtype=?")
        out = []
        for c in cells:
            row = self.conn.execute(q, self.cell_key(c, options) + _option_keys(options)).fetchone()
            if row is not None:
                out.append(dict(zip(COLUMNS, row)))
        return out

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0])

    def load_W(self, problem: str, C: int, d: int, tau=None, n: int = 1, seed: int = 0, restarts: int | None = None):
        """The stored best W (C, d) of one cell (the first match), or None."""
        q = "SELECT W, C, d FROM cells WHERE problem=? AND C=? AND d=? AND tau_key=? AND n=? AND seed=?"
        args = [problem, int(C), int(d), _tau_key(tau), int(n), int(seed)]
        if restarts is not None:
            q += " AND restarts=?"
            args.append(int(restarts))
        row = self.conn.execute(q + " ORDER BY id LIMIT 1", args).fetchone()
        if row is None:
            return None
        return np.frombuffer(row[0], np.float64).reshape(row[1], row[2]).copy()


def to_dataframe(db, with_W: bool = False):
    """All stored cells as a pandas DataFrame (sorted by problem, C, d, tau, n), one column per hyperparameter
    after n (besides the ``hparams`` JSON); ``with_W`` adds a column of (C, d) float64 arrays. ``gap_deg``:
    best-known minus found min angle of Tammes rows (NaN for other problems and untabulated (d, C))."""
    import pandas as pd

    from .engine import row_gap_deg

    with GridStore(db) as store:
        cols = list(COLUMNS) + (["W"] if with_W else [])
        cur = store.conn.execute(f"SELECT {', '.join(cols)} FROM cells ORDER BY problem, C, d, tau, n, seed, id")
        data = cur.fetchall()
    df = pd.DataFrame(data, columns=cols)
    df.insert(cols.index("min_angle_deg") + 1, "gap_deg", [row_gap_deg(r) for r in df.to_dict("records")])
    hps = [json.loads(h) for h in df["hparams"]]
    names = sorted({k for h in hps for k in h} - set(df.columns))
    for i, k in enumerate(names):  # one column per hyperparameter, after n (NaN where a problem has none)
        df.insert(df.columns.get_loc("n") + 1 + i, k, [h.get(k, np.nan) for h in hps])
    if with_W and len(df):
        df["W"] = [np.frombuffer(b, np.float64).reshape(c, d).copy() for b, c, d in zip(df["W"], df["C"], df["d"])]
    return df


def to_csv(db, path: str) -> None:
    """Write all stored cells (without W) to a CSV file."""
    to_dataframe(db).to_csv(path, index=False)


def to_parquet(db, path: str) -> None:
    """Write all stored cells (without W) to a Parquet file; needs pyarrow (``pip install pyarrow``)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError("Parquet export needs pyarrow: pip install 'pyarrow>=14' (or gnc-jax[bench])") from None
    to_dataframe(db).to_parquet(path, index=False, engine="pyarrow")
