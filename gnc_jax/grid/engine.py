"""Grid engine: many (C, d, tau, n) cells solved in a few compiled, batched programs.

Cells are grouped into buckets of one padded shape (C and d padded up to powers of two, C >= 4;
n up to a power of two for problems with samples) and one continuation length; each bucket is
solved in chunks of ``chunk_cells`` cells x ``restarts`` starts, each chunk one call of
``api.solve_batch``. The last chunk of a bucket is filled up with repeats of its cells so
every chunk of a bucket has the same batch size (one trace/compile per bucket).

Restart r of every cell starts from ``api.random_points(spec, seed, r, ...)``, which does not
depend on the padding, so a grid row reproduces ``api.solve(..., seed=seed)`` up to float32
roundoff (padding changes reduction shapes).

With more than one device (``devices="all"``, the default, or a count), each chunk's
cells x restarts lanes are sharded over a 1-D mesh of local devices (``sharding.py``), padded
to a multiple of the device count with dummy lanes that are dropped; one device runs the
unsharded ``api.solve_batch`` exactly as before.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import math
import sys
import time
from typing import Iterable, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from .. import __version__
from .. import api, metrics
from ..problems import SOLVERS, default_stages, get_problem
from ..solvers import Status
from . import sharding

ROW_FIELDS = ("problem", "C", "d", "tau", "n", "seed", "restarts", "min_angle_deg", "max_cos", "min_margin",
              "objective", "status", "refine_status", "steps", "seconds", "device", "version")


# ----------------------------------------------------------------------------------------------
# parsing
# ----------------------------------------------------------------------------------------------
def _parse_int_item(name: str, s: str) -> int:
    try:
        return int(s)
    except ValueError:
        raise ValueError(f"{name}: expected an integer, got {s!r}") from None


def parse_values(name: str, value, *, integer: bool) -> list:
    """Values of a grid axis: a number, a list/tuple/range of numbers, or a string "a:b"
    (inclusive, integers only; "a:b:step" too), "x,y,z" or both ("4:9,13,24"). Raises ValueError naming
    ``name``."""
    if value is None:
        return [None]
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    if isinstance(value, (float, np.floating)):
        if integer:
            if not float(value).is_integer():
                raise ValueError(f"{name}: expected an integer, got {value!r}")
            return [int(value)]
        return [float(value)]
    if isinstance(value, str):
        s = value.strip()
        if not s:
            raise ValueError(f"{name}: empty specification")
        if ":" in s and "," in s:  # "4:9,13,24": ranges and single values mixed
            items = [t.strip() for t in s.split(",")]
            if any(not t for t in items):
                raise ValueError(f"{name}: empty item in {value!r}")
            return [v for t in items for v in parse_values(name, t, integer=integer)]
        if ":" in s:
            if not integer:
                raise ValueError(f"{name}: ranges 'a:b' need integer values; use a list 'x,y,z' for {name}")
            parts = s.split(":")
            if len(parts) not in (2, 3):
                raise ValueError(f"{name}: expected 'start:stop' or 'start:stop:step', got {value!r}")
            lo, hi = _parse_int_item(name, parts[0]), _parse_int_item(name, parts[1])
            step = _parse_int_item(name, parts[2]) if len(parts) == 3 else 1
            if step < 1:
                raise ValueError(f"{name}: range step must be >= 1, got {step}")
            if hi < lo:
                raise ValueError(f"{name}: empty range {value!r} (stop < start)")
            return list(range(lo, hi + 1, step))
        items = [t.strip() for t in s.split(",")]
        if any(not t for t in items):
            raise ValueError(f"{name}: empty item in {value!r}")
        if integer:
            return [_parse_int_item(name, t) for t in items]
        out = []
        for t in items:
            try:
                out.append(float(t))
            except ValueError:
                raise ValueError(f"{name}: expected a number, got {t!r}") from None
        return out
    if isinstance(value, (list, tuple, range, np.ndarray)):
        out = []
        for v in list(value):
            out.extend(parse_values(name, v, integer=integer))
        if not out:
            raise ValueError(f"{name}: empty list")
        return out
    raise ValueError(f"{name}: cannot interpret {value!r} as values")


def _dedupe(values: list) -> list:
    seen, out = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


# ----------------------------------------------------------------------------------------------
# cells and buckets
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Cell:
    """One grid cell: a validated Spec with its seed and number of restarts."""

    spec: api.Spec
    seed: int
    restarts: int

    problem = property(lambda self: self.spec.problem)
    C = property(lambda self: self.spec.C)
    d = property(lambda self: self.spec.d)
    tau = property(lambda self: self.spec.tau)
    n = property(lambda self: self.spec.n)
    hparams = property(lambda self: dict(self.spec.hparams))

    @property
    def hparams_json(self) -> str:
        return json.dumps(dict(self.spec.hparams), sort_keys=True)

    @property
    def stages(self) -> int:
        return default_stages(self.spec.pdef, self.spec.tau)


def _is_range(value) -> bool:
    """A hyperparameter given as "a:b" (possibly mixed with single values) is an integer range."""
    return isinstance(value, str) and ":" in value


def expand_grid(problem: str, C, d, tau=None, n=1, restarts: int = 8, seed: int = 0, **hparams) -> list[Cell]:
    """All cells of the product C x d x tau x n x hyperparameters (in that nesting order), validated up front.

    C, d, n: ints, lists or strings "4:512" (inclusive) / "2,3,4"; tau and each hyperparameter: numbers, lists or
    "0.01,0.1" (a hyperparameter also takes integer ranges "1:8", e.g. ``n_minor="1:8"``).
    Raises ValueError naming the offending argument.
    """
    get_problem(problem)  # unknown problem -> ValueError before anything else
    restarts = api._check_int("restarts", restarts, 1)
    seed = api._check_int("seed", seed, 0)
    Cs = _dedupe(parse_values("C", C, integer=True))
    ds = _dedupe(parse_values("d", d, integer=True))
    taus = _dedupe(parse_values("tau", tau, integer=False))
    ns = _dedupe(parse_values("n", n, integer=True))
    if None in Cs or None in ds or None in ns:
        raise ValueError("C, d and n are required")
    names = sorted(hparams)
    axes = [_dedupe([float(v) for v in parse_values(k, hparams[k], integer=_is_range(hparams[k]))]) for k in names]
    cells = []
    for c, dd, t, nn, *hp in itertools.product(Cs, ds, taus, ns, *axes):
        cells.append(Cell(api.make_spec(problem, c, dd, t, nn, **dict(zip(names, hp))), seed, restarts))
    return cells


def next_pow2(x: int, lo: int = 1) -> int:
    """Smallest power of two >= x, at least lo (the grid's bucket sizes)."""
    return max(lo, 1 << max(0, int(x) - 1).bit_length())


def padded_shape(cell: Cell) -> tuple[int, int, int]:
    """(C_pad, d_pad, n_pad) of a cell's bucket: powers of two, or the cell's own shape for a custom problem that
    does not honour the masks (``ProblemDef.masked``)."""
    if not cell.spec.pdef.masked:
        return cell.C, cell.d, cell.n
    n_pad = next_pow2(cell.n) if cell.spec.pdef.uses_n else 1
    return next_pow2(cell.C, 4), next_pow2(cell.d), n_pad


def bucket(cells: Iterable[Cell]) -> dict[tuple, list[Cell]]:
    """Group cells by compiled program: key (problem, C_pad, d_pad, n_pad, stages), insertion order."""
    out: dict[tuple, list[Cell]] = {}
    for c in cells:
        out.setdefault((c.problem,) + padded_shape(c) + (c.stages,), []).append(c)
    return out


# ----------------------------------------------------------------------------------------------
# running
# ----------------------------------------------------------------------------------------------
def _device_name(devices: list | None = None) -> str:
    devs = devices or jax.local_devices()
    dev = devs[0]
    name = f"{dev.platform}:{getattr(dev, 'device_kind', '')}".rstrip(":")
    return name if len(devs) == 1 else f"{name} x{len(devs)}"


class _Progress:
    """A one-line stderr progress bar with ETA; silent unless enabled and stderr is a TTY."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.t0 = total, 0, time.perf_counter()
        self.on = bool(enabled) and total > 0 and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()

    def update(self, k: int) -> None:
        self.done += k
        if not self.on:
            return
        el = time.perf_counter() - self.t0
        frac = self.done / self.total
        eta = el / frac - el if frac > 0 else float("nan")
        w = 30
        bar = "#" * int(w * frac) + "-" * (w - int(w * frac))
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} cells  {el:6.1f}s elapsed  ETA {eta:6.1f}s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            sys.stderr.write("\n")
            sys.stderr.flush()


def chunk_figures(cells: list[Cell], x: dict, restarts: int) -> list[dict]:
    """Exact float64 figures of every lane of a chunk at its padded shape, padded classes masked
    (one metrics compile per bucket, not per exact (C, d); equal to ``api.figures_of`` on the
    unpadded rows). x: dict of (len(cells) * restarts, ...) arrays; one dict per lane."""
    W = api.classifier_rows(cells[0].problem, x)  # (B, C_pad, d_pad); padded rows/columns are zero
    mask = np.zeros(W.shape[:2], np.float64)
    for i, c in enumerate(cells):
        mask[i * restarts:(i + 1) * restarts, : c.C] = 1.0
    f = metrics.figures(W, mask)
    return [{k: float(np.asarray(v)[b]) for k, v in f._asdict().items()} for b in range(W.shape[0])]


def refine_chunk(cells: list[Cell], x: dict, restarts: int) -> tuple[dict, np.ndarray]:
    """Exact float64 max-min refinement of the lanes of ``cells`` (their ``restarts`` lanes each, in order).

    Every cell's lanes go through ``refine.refine_best_of`` (fast refinement of each, the full one of its best,
    as ``api.refine_restarts`` does for one solve) at the cell's own dimension: padded classes are masked and
    padded coordinates stay zero. x: dict of (B, C_pad, d_pad) arrays, B >= len(cells) * restarts (lanes past
    those are left as they are). Returns the points (float64) and (B,) status names ("" for lanes not refined).
    """
    from ..solvers.refine import refine_best_of

    out = {k: np.array(v, np.float64) for k, v in x.items()}
    status = np.full(out["W"].shape[0], "", dtype=object)
    for d in sorted({c.d for c in cells}):
        mine = [i for i, c in enumerate(cells) if c.d == d]
        lanes = np.asarray([i * restarts + r for i in mine for r in range(restarts)])
        mask = np.zeros((len(lanes), out["W"].shape[1]))
        for j, i in enumerate(mine):
            mask[j * restarts:(j + 1) * restarts, : cells[i].C] = 1.0
        refined, status[lanes] = refine_best_of(cells[0].problem, {k: v[lanes, :, :d] for k, v in out.items()},
                                                mask, group=restarts)
        for k, v in refined.items():
            out[k][lanes] = 0.0
            out[k][lanes, :, :d] = v
    return out, status


def _best_rows(chunk: list[Cell], res, restarts: int, seconds_per_cell: float, device: str,
               padded: list[Cell] | None = None, refine_status: np.ndarray | None = None) -> list[dict]:
    values = np.asarray(res.value, np.float64)
    status = np.asarray(res.status)
    steps = np.asarray(res.steps)
    all_figs = chunk_figures(padded or chunk, {k: np.asarray(v) for k, v in res.x.items()}, restarts)
    rows = []
    for i, cell in enumerate(chunk):
        sl = slice(i * restarts, (i + 1) * restarts)
        x = {k: np.asarray(v)[sl] for k, v in res.x.items()}
        figs = all_figs[sl]
        keys = [api._rank_key(cell.spec.pdef.score, figs[r], values[sl][r], status[sl][r]) for r in range(restarts)]
        best = int(np.argmin(keys))
        f = figs[best]
        point = {k: v[best] for k, v in x.items()}
        W = api.classifier_rows(cell.problem, point)[: cell.C, : cell.d]
        rows.append({
            "problem": cell.problem, "C": cell.C, "d": cell.d, "tau": cell.tau, "n": cell.n, "seed": cell.seed,
            "restarts": restarts, "min_angle_deg": float(f["min_angle_deg"]), "max_cos": float(f["max_cos"]),
            "min_margin": float(f["rho"]), "objective": float(values[sl][best]),
            "status": Status(int(status[sl][best])).name,
            "refine_status": None if refine_status is None else str(refine_status[sl][best]),
            "steps": int(steps[sl][best]),
            "seconds": seconds_per_cell, "device": device, "version": __version__,
            "hparams": cell.hparams_json, "W": np.ascontiguousarray(W, np.float64),
        })
    return rows


def solver_options(solver: str, max_steps: int, gtol, dtype, refine: bool, warm_steps: int | None) -> dict:
    """The solver options that, with a cell's own key, identify a stored row (``GridStore``)."""
    return {"solver": solver, "max_steps": max_steps, "gtol": gtol, "dtype": jnp.dtype(dtype).name,
            "refine": bool(refine), "warm_steps": warm_steps}


def iter_grid(cells: list[Cell], restarts: int | None = None, seed: int | None = None, solver: str = "lbfgs",
              max_steps: int = 1000, gtol: float | None = None, db=None, chunk_cells: int = 64,
              progress: bool = True, dtype=jnp.float32, devices="all", refine: bool = False,
              warm_steps: int | None = None) -> Iterator[dict]:
    """Like ``run_grid`` but yields rows chunk by chunk (each chunk committed to ``db`` first)."""
    cells = list(cells)
    if refine:
        other = sorted({c.problem for c in cells} - set(api.REFINABLE))
        if other:
            raise ValueError(f"refine: only problems {list(api.REFINABLE)} have an exact refinement, not {other}")
    if restarts is not None or seed is not None:
        cells = [Cell(c.spec, c.seed if seed is None else api._check_int("seed", seed, 0),
                      c.restarts if restarts is None else api._check_int("restarts", restarts, 1)) for c in cells]
    chunk_cells = api._check_int("chunk_cells", chunk_cells, 1)
    max_steps = api._check_int("max_steps", max_steps, 1)
    warm_steps = None if warm_steps is None else api._check_int("warm_steps", warm_steps, 1)
    if not isinstance(solver, str):
        raise ValueError(f"solver: give a solver name ({', '.join(SOLVERS)})")
    solvers = {name: api.make_solver(solver, max_steps=max_steps, gtol=gtol, dtype=dtype,
                                     gtol_scaled=get_problem(name).vanishing) for name in {c.problem for c in cells}}
    options = solver_options(solver, max_steps, gtol, dtype, refine, warm_steps)
    mesh = sharding.make_mesh(devices)  # validates ``devices`` before anything is opened or solved

    store = None
    if db is not None:
        from .store import GridStore

        store = db if isinstance(db, GridStore) else GridStore(db)
        present = store.present_keys(options)
        cells = [c for c in cells if store.cell_key(c, options) not in present]
    # de-duplicate identical cells (same key) so each is solved once
    cells = list(dict.fromkeys(cells))

    device = _device_name(list(mesh.devices.flat))
    bar = _Progress(len(cells), progress)
    try:
        for key, bcells in bucket(cells).items():
            _, C_pad, d_pad, n_pad, stages = key
            # group by restarts too: the batch size per chunk must be constant inside a bucket
            by_r: dict[int, list[Cell]] = {}
            for c in bcells:
                by_r.setdefault(c.restarts, []).append(c)
            for R, rcells in by_r.items():
                size = min(chunk_cells, len(rcells))
                for start in range(0, len(rcells), size):
                    chunk = rcells[start:start + size]
                    padded = chunk + [chunk[0]] * (size - len(chunk))
                    x0 = api.random_batch([(c.spec, c.seed, r) for c in padded for r in range(R)],
                                          C_pad, d_pad, n_pad, dtype)
                    specs = [c.spec for c in padded for _ in range(R)]
                    t0 = time.perf_counter()
                    if mesh.size == 1:
                        res = api.solve_batch(specs, x0, solvers[key[0]], stages=stages, C_pad=C_pad, d_pad=d_pad,
                                              n_pad=n_pad, dtype=dtype, warm_steps=warm_steps)
                        res = jax.device_get(jax.block_until_ready(res))
                    else:
                        res = sharding.solve_batch_sharded(specs, x0, solvers[key[0]], stages=stages, C_pad=C_pad,
                                                           d_pad=d_pad, n_pad=n_pad, mesh=mesh, dtype=dtype,
                                                           warm_steps=warm_steps)
                        res = sharding.drop_lanes(jax.device_get(jax.block_until_ready(res)), len(specs))
                    rstatus = None
                    if refine:
                        x, rstatus = refine_chunk(chunk, {k: np.asarray(v) for k, v in res.x.items()}, R)
                        res = res._replace(x=x)
                    sec = (time.perf_counter() - t0) / len(padded)
                    rows = _best_rows(chunk, res, R, sec, device, padded, rstatus)
                    if store is not None:
                        store.write(rows, options)
                    bar.update(len(chunk))
                    yield from rows
    finally:
        bar.close()
        if store is not None and store is not db:
            store.close()


def run_grid(cells: list[Cell], restarts: int | None = None, seed: int | None = None, solver: str = "lbfgs",
             max_steps: int = 1000, gtol: float | None = None, db=None, chunk_cells: int = 64,
             progress: bool = True, dtype=jnp.float32, devices="all", refine: bool = False,
             warm_steps: int | None = None) -> list[dict]:
    """Solve every cell (best of ``restarts`` starts each); returns one row dict per solved cell.

    ``restarts``/``seed`` override the cells' own values when given. With ``db`` (a path or a
    ``GridStore``), cells already stored (same key and solver options) are skipped and each
    chunk's rows are written in one transaction as soon as it is solved; the returned rows are
    those solved in this call. Row keys: ``ROW_FIELDS`` plus ``hparams`` (JSON) and ``W``.
    ``devices``: "all" local devices (default) or a count N; with N > 1 each chunk's lanes are
    sharded over N devices (rows equal the 1-device rows up to roundoff).
    ``refine`` ("tammes" and "softmax-code" only): finish every restart with the exact float64 max-min
    refinement (``refine_chunk``) and rank the restarts by the refined figures; rows then carry the best
    restart's ``refine_status``, and the store keeps refined and unrefined runs of a cell apart.
    ``warm_steps``: iteration budget of the continuation stages before the last (``api.solve``); the store keeps
    runs with different budgets apart too.
    """
    return list(iter_grid(cells, restarts, seed, solver, max_steps, gtol, db, chunk_cells, progress, dtype,
                          devices, refine, warm_steps))


def row_gap_deg(row: dict) -> float:
    """A grid row's gap to the Tammes record (``codes.record_gap_deg``; > 0: short of it): Tammes rows only, NaN
    for other problems and untabulated (d, C)."""
    if row.get("problem") != "tammes" or row.get("min_angle_deg") is None:
        return math.nan
    from ..codes import record_gap_deg

    return record_gap_deg(row["d"], row["C"], row["min_angle_deg"])


def _hparams_of(row: dict) -> dict:
    h = row.get("hparams") or {}
    return json.loads(h) if isinstance(h, str) else dict(h)


def varying_hparams(hps: list[dict]) -> list[str]:
    """Hyperparameter names whose value differs between the dicts ``hps`` (missing counts as different), sorted."""
    seen: dict[str, set] = {}
    for h in hps:
        for k, v in h.items():
            seen.setdefault(k, set()).add(v)
    return sorted(k for k, vals in seen.items() if len(vals) > 1 or any(k not in h for h in hps))


def format_table(rows: list[dict]) -> str:
    """A plain-text table of rows (dicts with ROW_FIELDS); Tammes rows add ``gap_deg`` to the record, refined
    runs their ``refine_status``."""
    cols = ["problem", "C", "d", "tau", "n", "min_angle_deg", "max_cos", "min_margin", "objective", "status",
            "steps", "seconds"]
    rows = [dict(r) for r in rows]
    hps = [_hparams_of(r) for r in rows]
    varying = varying_hparams(hps)
    for r, h in zip(rows, hps):
        r.update({k: h.get(k) for k in varying})
    cols[cols.index("n") + 1:cols.index("n") + 1] = varying
    if any(isinstance(r.get("refine_status"), str) for r in rows):  # NaN/None: a plain run's row
        cols.insert(cols.index("status") + 1, "refine_status")
    if any(r.get("problem") == "tammes" for r in rows):
        for r in rows:
            r["gap_deg"] = row_gap_deg(r)
        cols.insert(cols.index("min_angle_deg") + 1, "gap_deg")

    def fmt(k, v):
        if v is None or (isinstance(v, float) and math.isnan(v) and k in ("tau", "gap_deg", "refine_status")):
            return "-"
        if k in ("min_angle_deg",):
            return f"{v:.6f}"
        if k == "gap_deg":
            return f"{v:.2e}"
        if k in ("max_cos", "min_margin"):
            return f"{v:.9f}"
        if k == "objective":
            return f"{v:.6g}"
        if k == "seconds":
            return f"{v:.3f}"
        if k == "tau" or k in varying:
            return f"{v:g}"
        return str(v)

    body = [[fmt(k, r.get(k)) for k in cols] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(b, widths)) for b in body]
    return "\n".join(lines)
