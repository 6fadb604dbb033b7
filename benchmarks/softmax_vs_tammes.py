"""Softmax code vs Tammes over a (d, K) table (SPEC §2): is rho* = delta_T^2/2 (a self-dual softmax code)?

For every d in [--dmin, --dmax] and K in [d + 2, --kmax] (K <= d + 1 is the simplex, equal by theorem; add it with
--with-simplex) both problems are solved with random restarts in one padded, batched program per problem and padded-shape bucket
(gnc_jax.api.solve_batch; cells grouped by (K, d) rounded up to powers of two, as gnc_jax.grid does), the best restart of each cell is refined in float64
(gnc_jax.solvers.refine; --refine fast: without the Newton polish; skipped with --no-refine), and the exact float64 figures are tabulated:

    rho_soft    rho(W) of the best softmax code (exact one-vs-rest distance)
    tammes_lb   delta_T^2/2 = 1 - max cos of the best Tammes code (lower bound on rho*)
    gap         rho_soft - tammes_lb  (0 when they coincide; > 0: a softmax code beats the Tammes bound;
                < 0: the softmax search fell short of a point it could reach)
    self_dual   rho_soft - (1 - max cos W_soft)  (0 iff the softmax code's optimal features are W itself)
    rho_tammes  rho(W_T) of the Tammes code; tammes_self_dual = rho_tammes - tammes_lb
    rho_star    the closed form where one is known (regimes.regime)
    tammes_record_deg, tammes_gap_deg   the best-known minimal angle where tabulated or proven (gnc_jax.codes.best_known;
                compared against, never a start) and record - found
    soft_below_larger_K, tammes_below_larger_K   how far the cell lies below the value of a larger K of the same d (both
                optima are non-increasing in K, so > 0 means that search fell short)
    floor_deg, floor_source, tammes_below_floor_deg, soft_below_floor   the largest minimal angle of a known code with
                at least K points in dimension <= d (gnc_jax.codes.known_floor: table rows, D_d and E7 roots; compared
                against, never a start), and how far each side lies below it (rho* >= 1 - cos of it; > 0: fell short)

Unless --no-cross-seed, each side is also refined from the other side's best code (this run's own solves, never
a table), and a cell more than 1e-9 below the value of a larger K of the same d in this run (both optima are
non-increasing in K) is refined again from that larger code minus its surplus points, in rounds until none is
lifted (a lifted cell can leave a smaller K below it); with --grow, each Tammes code also starts from its K - 1
cell's code plus one point at a deepest hole (gnc_jax.codes.records.grown_codes), chained up the K while cells are
lifted. The columns softmax_source / tammes_source say which start won ("own", "from softmax" / "from tammes",
"from K=...", "grown from K=...", "from --tammes-codes").
--tammes-codes FILES adds, for the cells they cover, the codes of earlier tammes_records.py runs (that script's own
finds from random starts, read by its reader, which refuses rows it did not write) to the Tammes side's candidates
before the cross-seeding, so a d = 3 row can take the record search's codes without searching again.
With --refine fast, the cells still flagged after all that get the full (Newton-polished) refinement, both sides
from both codes (--recheck flagged, the default; all: every cell; none: skip), since an L-BFGS-only refinement can
stop ~1e-6 short of a max-min optimum; the columns rechecked and gap_before_recheck say which cells had it and
their gap before it. Cells with |gap| > --tol are flagged. Writes CSV, JSON and a PNG next to --out (a path prefix).

    python benchmarks/softmax_vs_tammes.py [--dmin 3 --dmax 5 --kmax 10 --restarts 8 --out benchmarks/softmax_vs_tammes]

--merge A.json,B.json solves nothing: it combines earlier runs' JSON into one table (per cell the largest softmax
margin and the best Tammes code of any run, each a code that was found, and the gap between them), with the file
each came from, how far the runs spread, and the (d, K) coverage.

Every run also writes PREFIX.codes.npz: each cell's final softmax code (W, H) and Tammes code W, float64 (K, d).
--start-codes FILES adds such codes (this script's own finds, read only from files it wrote, never a table) to each
side's candidates for the cells they cover, so a later run's repair can start from an earlier run's better code;
--restarts 0 solves nothing and starts every cell from them (a repair and recheck pass over earlier runs); a cell with
a code on one side only (or only a --tammes-codes code) starts the other side from it and refines it there. --merge
also writes the merged table's codes, each side's from the run that won it where that run stored its codes.
The codes file is rewritten after each stage (solved, cross-seeded, repaired, final), so a run that stopped is taken
up where it had got with the same command plus --resume; nothing is solved again.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from gnc_jax import api, metrics  # noqa: E402
from gnc_jax.codes.records import parse_cells as records_parse_cells  # noqa: E402
from gnc_jax.grid.engine import next_pow2  # noqa: E402
from gnc_jax.theory import regime  # noqa: E402
from _meta import in_benchmarks, output_path, run_meta  # noqa: E402  (benchmarks/_meta.py)


def cells_of(dmin: int, dmax: int, kmax: int, with_simplex: bool) -> list:
    return [(d, K) for d in range(dmin, dmax + 1) for K in range(2 if with_simplex else d + 2, kmax + 1)]


def parse_cells(spec: str) -> list:
    """Cells (d, K) from "d:K,d:K1-K2,..." (`records.parse_cells`); SystemExit naming --cells on a malformed item."""
    try:
        return records_parse_cells(spec, "--cells")
    except ValueError as e:
        raise SystemExit(str(e)) from None


def buckets_of(cells: list) -> dict:
    """Cell indices grouped by padded shape (C_pad, d_pad), powers of two as in gnc_jax.grid: one compiled
    program per bucket and problem, and no cell padded beyond twice its size."""
    out: dict = {}
    for i, (d, K) in enumerate(cells):
        out.setdefault((next_pow2(K, 4), next_pow2(d)), []).append(i)
    return out


def padded(cells: list, Ws: list, C_pad: int, d_pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows of each (K, d) array zero-padded to (C_pad, d_pad), and the (B, C_pad) real-row mask."""
    W = np.zeros((len(cells), C_pad, d_pad))
    mask = np.zeros((len(cells), C_pad))
    for b, ((d, K), w) in enumerate(zip(cells, Ws)):
        W[b, :K, :d] = unit(w)
        mask[b, :K] = 1.0
    return W, mask


def exact_figures(cells: list, Ws: list) -> list:
    """metrics.figures (float64 max cos and rho) of each cell's W, one masked call per bucket."""
    out = [None] * len(cells)
    for (C_pad, d_pad), idx in buckets_of(cells).items():
        W, mask = padded([cells[i] for i in idx], [Ws[i] for i in idx], C_pad, d_pad)
        f = metrics.figures(W, mask)
        for j, i in enumerate(idx):
            out[i] = {"max_cos": float(f.max_cos[j]), "rho": float(f.rho[j])}
    return out


def records_tammes(cells: list, seed: int, symmetric: int = 0) -> list:
    """The record search of gnc_jax.codes.records (random starts, basin hopping, exact refinement; ``symmetric``
    more random symmetric starts per round) on each cell's Tammes side, one cell at a time: [{"W": (K, d)}]."""
    from gnc_jax.codes.records import search_code

    return [{"W": search_code(d, K, seed=seed, symmetric=symmetric)[0]} for d, K in cells]


def batched_best(problem: str, cells: list, restarts: int, seed: int, max_steps: int, dtype, stage=None) -> list:
    """Solve every (d, K) cell with ``restarts`` starts, one batched program per padded-shape bucket; return the
    best point of each cell (by exact float64 max cos for Tammes, rho for the softmax code) as dicts of unpadded
    float64 arrays."""
    out = [None] * len(cells)
    solver = api.make_solver("lbfgs", max_steps=max_steps, dtype=dtype)
    for (C_pad, d_pad), idx in buckets_of(cells).items():
        if stage:
            stage(f"  {problem}: bucket (C {C_pad}, d {d_pad}), {len(idx)} cells")
        sub = [cells[i] for i in idx]
        specs = [api.make_spec(problem, K, d) for d, K in sub for _ in range(restarts)]
        x0 = api.random_batch([(spec, seed, i % restarts) for i, spec in enumerate(specs)], C_pad, d_pad, 1, dtype)
        stages = api.default_stages(specs[0].pdef, specs[0].tau)
        res = jax.device_get(jax.block_until_ready(
            api.solve_batch(specs, x0, solver, stages=stages, C_pad=C_pad, d_pad=d_pad, n_pad=1, dtype=dtype)))
        lanes = [(c, r) for c in range(len(sub)) for r in range(restarts)]
        W, mask = padded([sub[c] for c, _ in lanes],
                         [np.asarray(res.x["W"][i], np.float64)[:sub[c][1], :sub[c][0]] for i, (c, _) in enumerate(lanes)],
                         C_pad, d_pad)
        f = metrics.figures(W, mask)
        score = np.asarray(f.max_cos if problem == "tammes" else -f.rho).reshape(len(sub), restarts)
        for c, i in enumerate(idx):
            lane = c * restarts + int(np.nanargmin(score[c]))
            d, K = cells[i]
            out[i] = {k: np.asarray(v[lane], np.float64)[:K, :d] for k, v in res.x.items()}
    return out


def unit(W):
    W = np.asarray(W, np.float64)
    return W / np.linalg.norm(W, axis=-1, keepdims=True)


def refine_all(problem: str, pts: list, cells: list, stage=None, fast: bool = False,
               chunk: int | None = None) -> list:
    """Float64 refinement of each best point (gnc_jax.solvers.refine), one padded program per bucket, run on
    ``chunk`` cells at a time (None: the whole bucket at once); ``fast``: L-BFGS inner solves only
    (refine.FAST_KW, no Newton polish)."""
    from gnc_jax.solvers import refine as R

    kw = dict(R.FAST_KW if fast else {}, chunk_size=chunk)
    out = [None] * len(cells)
    for (C_pad, d_pad), idx in buckets_of(cells).items():
        if stage:
            stage(f"  refine {problem}: bucket (C {C_pad}, d {d_pad}), {len(idx)} cells"
                  f"{f' in chunks of {chunk}' if chunk and chunk < len(idx) else ''}")
        sub = [cells[i] for i in idx]
        W, cm = padded(sub, [pts[i]["W"] for i in idx], C_pad, d_pad)
        point = {"W": W}
        if problem != "tammes":
            point["H"], _ = padded(sub, [pts[i]["H"] for i in idx], C_pad, d_pad)
        rr = R.refine_problem(problem, point, cm, **kw)
        for j, (i, (d, K)) in enumerate(zip(idx, sub)):
            out[i] = {"W": np.asarray(rr.W[j])[:K, :d]}
            if problem != "tammes":
                out[i]["H"] = np.asarray(rr.H[j])[:K, :d]
    return out


def max_cos(W) -> float:
    U = unit(W)
    G = U @ U.T
    np.fill_diagonal(G, -np.inf)
    return float(G.max())


def drop_points(W: np.ndarray, H: np.ndarray | None, count: int) -> tuple:
    """W (K', d) without ``count`` rows, removed one at a time, each the row whose removal leaves the smallest max cos;
    H (K', d) or None loses the same rows."""
    keep = list(range(len(W)))
    for _ in range(count):
        drop = min(keep, key=lambda i: max_cos(W[[j for j in keep if j != i]]))
        keep.remove(drop)
    return W[keep], None if H is None else H[keep]


def repair_monotone(problem: str, pts: list, values: list, cells: list, tol: float, stage=None, fast=False,
                    chunk: int | None = None) -> dict:
    """Refine each cell whose value lies more than ``tol`` below that of a larger K of the same d in this run from
    that larger code with the surplus points dropped (dropping keeps the minimal angle and the margin, so the
    result reaches at least that value). Returns {cell index: (refined point, larger K)}."""
    low = below_larger_K([dict(d=d, K=K, v=v) for (d, K), v in zip(cells, values)], "v")
    todo = {}
    for i, (d, K) in enumerate(cells):
        if low[(d, K)] > tol:
            j = max((j for j, c in enumerate(cells) if c[0] == d and c[1] > K), key=lambda j: values[j])
            todo[i] = j
    if not todo:
        return {}
    if stage:
        stage(f"  {problem}: {len(todo)} cell(s) below a larger K, refined from that code minus points")
    starts = []
    for i, j in todo.items():
        W, H = drop_points(pts[j]["W"], pts[j].get("H"), cells[j][1] - cells[i][1])
        starts.append({"W": W} if H is None else {"W": W, "H": H})
    sub = [cells[i] for i in todo]
    out = refine_all(problem, starts, sub, None, fast, chunk)
    return {i: (p, cells[j][1]) for (i, j), p in zip(todo.items(), out)}


GROW_HOLES = 2  # --grow: candidates per cell, the smaller code plus one point at each of this many deepest holes


def grow_from_smaller(pts: list, values: list, cells: list, idx, holes: int = GROW_HOLES, stage=None, fast=False,
                      chunk: int | None = None) -> dict:
    """Tammes codes of the cells ``idx`` grown from the K - 1 cell of the same d in this run: that code plus one point
    at each of its ``holes`` deepest distinct holes (gnc_jax.codes.records.grown_codes, holes polished), refined, the
    best kept. Only cells more than 1e-12 below their K - 1 cell are tried (growing reaches at most its value).
    Returns {cell index: (refined point, K - 1)} for the cells tried."""
    from gnc_jax.codes.records import grown_codes

    where = {c: i for i, c in enumerate(cells)}
    todo = {}  # cell index: its K - 1 cell's index
    for i in sorted(idx):
        j = where.get((cells[i][0], cells[i][1] - 1))
        if j is not None and values[j] > values[i] + 1e-12:
            todo[i] = j
    if not todo:
        return {}
    if stage:
        stage(f"  tammes: {len(todo)} cell(s) grown from K - 1 ({holes} hole(s) each)")
    starts, owners = [], []
    for i, j in todo.items():
        d, K = cells[i]
        for W in grown_codes(pts[j]["W"], holes, np.random.default_rng([d, K, 13])):
            starts.append({"W": W})
            owners.append(i)
    out = refine_all("tammes", starts, [cells[i] for i in owners], None, fast, chunk)
    best = {}
    for i, p in zip(owners, out):
        if i not in best or max_cos(p["W"]) < max_cos(best[i]["W"]):
            best[i] = p
    return {i: (best[i], cells[todo[i]][1]) for i in todo}


class Table:
    """Each cell's best softmax code (with its exact figures) and best Tammes code so far, where each came from, and
    the refinements that improve them in place: cross-seeding, the below-a-larger-K repair and the full-refinement
    recheck."""

    def __init__(self, cells: list, soft: list, f_soft: list, tam: list, fast: bool, chunk: int | None, stage=None):
        self.cells, self.soft, self.f_soft, self.tam = cells, soft, f_soft, tam
        self.fast, self.chunk, self.stage = fast, chunk, stage
        self.soft_src, self.tam_src = ["own"] * len(cells), ["own"] * len(cells)
        self.where = {c: i for i, c in enumerate(cells)}

    def next_k(self, idx) -> set:
        """Indices of the cells (d, K + 1) of the cells ``idx`` that are in the table."""
        return {self.where[(d, K + 1)] for d, K in (self.cells[i] for i in idx) if (d, K + 1) in self.where}

    def gap(self, i: int) -> float:
        """rho of cell i's softmax code - delta_T^2/2 of its Tammes code."""
        return self.f_soft[i]["rho"] - (1.0 - max_cos(self.tam[i]["W"]))

    def adopt_tammes(self, idx: list, cands: list, labels: list) -> set:
        """Take each candidate code whose max cos is lower than cell idx[k]'s by > 1e-13; return the cells taken."""
        taken = {i for i, t in zip(idx, cands) if max_cos(t["W"]) < max_cos(self.tam[i]["W"]) - 1e-13}
        for i, t, label in zip(idx, cands, labels):
            if i in taken:
                self.tam[i], self.tam_src[i] = t, label
        return taken

    def adopt_softmax(self, idx: list, cands: list, labels: list) -> set:
        """Take each candidate softmax code whose exact rho beats cell idx[k]'s by > 1e-13 (exact figures in one call
        per bucket); return the cells taken."""
        taken = set()
        figs = exact_figures([self.cells[i] for i in idx], [p["W"] for p in cands])
        for i, p, f, label in zip(idx, cands, figs, labels):
            if f["rho"] > self.f_soft[i]["rho"] + 1e-13:
                self.soft[i], self.f_soft[i], self.soft_src[i] = p, f, label
                taken.add(i)
        return taken

    def _tammes_from(self, idx: list, side: str, fast: bool, label: str) -> set:
        """Refine the Tammes codes of cells ``idx`` from ``side``'s ("tammes" or "softmax") best W; keep
        improvements."""
        codes = self.tam if side == "tammes" else self.soft
        starts = [{"W": codes[i]["W"]} for i in idx]
        cands = refine_all("tammes", starts, [self.cells[i] for i in idx], self.stage, fast, self.chunk)
        return self.adopt_tammes(idx, cands, [label] * len(idx))

    def _softmax_from(self, idx: list, side: str, fast: bool, label: str) -> set:
        """Refine the softmax codes of cells ``idx`` from ``side``'s best code (a Tammes code W starts with H = W);
        keep improvements."""
        starts = [self.soft[i] if side == "softmax" else {"W": self.tam[i]["W"], "H": self.tam[i]["W"]} for i in idx]
        cands = refine_all("softmax-code", starts, [self.cells[i] for i in idx], self.stage, fast, self.chunk)
        return self.adopt_softmax(idx, cands, [label] * len(idx))

    def cross_seed(self, idx: list) -> None:
        """Refine each side of the cells ``idx`` from the other side's best code, Tammes first; keep improvements."""
        self._tammes_from(idx, "softmax", self.fast, "from softmax")
        self._softmax_from(idx, "tammes", self.fast, "from tammes")

    def grow(self, idx) -> set:
        """Grow the Tammes codes of the cells ``idx`` from their K - 1 cells (grow_from_smaller), then of the next K
        of each cell lifted, until none is; return the cells lifted (label "grown from K=...")."""
        lifted, todo = set(), set(idx)
        while todo:
            values = [1.0 - max_cos(t["W"]) for t in self.tam]
            fixed = grow_from_smaller(self.tam, values, self.cells, todo, stage=self.stage, fast=self.fast,
                                      chunk=self.chunk)
            new = self.adopt_tammes(list(fixed), [p for p, _ in fixed.values()],
                                    [f"grown from K={K2}" for _, K2 in fixed.values()])
            lifted |= new
            todo = self.next_k(new)
        return lifted

    def repair(self, cross_seed: bool, max_rounds: int = 10, grow: bool = False) -> set:
        """Refine every cell more than 1e-9 below a larger K's value (either side) from that code minus points
        (repair_monotone), and with ``grow`` every Tammes code from its K - 1 cell's code plus a point (`grow`: every
        cell in the first round, then the next K of the cells lifted); cross-seed the repaired cells if
        ``cross_seed``, and repeat while a round lifts a cell (a lifted cell can leave a smaller K below it), at most
        ``max_rounds`` rounds; return the cells lifted."""
        lifted = set()
        grow_todo = set(range(len(self.cells))) if grow else set()
        for _ in range(max_rounds):
            new = set()
            for problem, pts, values, adopt in (
                    ("tammes", self.tam, [1.0 - max_cos(t["W"]) for t in self.tam], self.adopt_tammes),
                    ("softmax-code", self.soft, [f["rho"] for f in self.f_soft], self.adopt_softmax)):
                fixed = repair_monotone(problem, pts, values, self.cells, 1e-9, self.stage, self.fast, self.chunk)
                new |= adopt(list(fixed), [p for p, _ in fixed.values()], [f"from K={K2}" for _, K2 in fixed.values()])
            grown = self.grow(grow_todo) if grow_todo else set()
            new |= grown
            after_growth = {i: self.tam[i] for i in grown}
            if not new:
                break
            if cross_seed:  # so that the gap of a repaired cell compares the two sides' best again
                if self.stage:
                    self.stage(f"cross-seeding the {len(new)} repaired cell(s)")
                self.cross_seed(sorted(new))
            lifted |= new
            if grow:  # a Tammes code changed since its growth chain (repaired, cross-seeded) can grow the next K
                grow_todo = self.next_k(i for i in new if self.tam[i] is not after_growth.get(i))
        else:
            if self.stage:
                self.stage(f"  repair stopped after {max_rounds} rounds with cells still lifted in the last one")
        return lifted

    def recheck(self, idx: list, max_rounds: int = 3) -> None:
        """Full (Newton-polished) refinement of both sides of the cells ``idx``, each from its own best code, then
        from the other side's (Tammes first); keep improvements (labels "recheck", "recheck from softmax/tammes").
        A softmax code lifted here can be a better Tammes code than the cell's own (its W alone has 1 - max cos above
        delta_T^2/2): those cells go round again, at most ``max_rounds`` rounds in all."""
        self._tammes_from(idx, "tammes", False, "recheck")
        self._softmax_from(idx, "softmax", False, "recheck")
        todo = list(idx)
        for _ in range(max_rounds):
            self._tammes_from(todo, "softmax", False, "recheck from softmax")
            self._softmax_from(todo, "tammes", False, "recheck from tammes")
            todo = [i for i in todo if max_cos(self.soft[i]["W"]) < max_cos(self.tam[i]["W"]) - 1e-13]
            if not todo:
                break


CODES_WRITER = "benchmarks/softmax_vs_tammes.py"


def complete_sides(cells: list, first: dict, own: dict) -> tuple[dict, list]:
    """Fill the sides that no stored code covers: ``first`` is {side: [(label, code) or None per cell]} and ``own``
    {(d, K): (deg, W)} the --tammes-codes codes. A Tammes side takes the cell's --tammes-codes code, or else the
    softmax code's W; a softmax side takes the Tammes code as W and H. Returns the filled copy and the indices of the
    cells where a side was filled (to be refined from there); ValueError naming the cells that have no code at all."""
    soft, tam = list(first["softmax"]), list(first["tammes"])
    missing = [f"{d}:{K}" for i, (d, K) in enumerate(cells) if soft[i] is None and tam[i] is None and (d, K) not in own]
    if missing:
        raise ValueError(f"none for {', '.join(missing)}")
    filled = []
    for i, cell in enumerate(cells):
        if tam[i] is None:
            tam[i] = (("from --tammes-codes", {"W": own[cell][1]}) if cell in own
                      else ("from softmax", {"W": soft[i][1]["W"]}))
        if soft[i] is None:
            soft[i] = ("from tammes", {"W": tam[i][1]["W"], "H": tam[i][1]["W"]})
        if first["softmax"][i] is None or first["tammes"][i] is None:
            filled.append(i)
    return {"softmax": soft, "tammes": tam}, filled


def codes_path(out: str) -> str:
    """The codes file beside an output prefix or its .json: PREFIX.codes.npz."""
    return (out[:-5] if out.endswith(".json") else out) + ".codes.npz"


CODE_STAGES = ("solved", "cross-seeded", "repaired", "final")


def write_codes(path: str, cells: list, soft: list, tam: list, stage: str = "final", sources=None) -> None:
    """Each cell's softmax code (W, H) and Tammes code W, float64 (K, d), to one compressed .npz, written to a
    temporary file and renamed (a crash never leaves half a file); a None entry is left out (a merge whose winning
    run kept no codes). ``stage`` (CODE_STAGES) is how far the run had got, ``sources`` its (softmax, Tammes) source
    labels, both for --resume."""
    arrays = {}
    for (d, K), s, t in zip(cells, soft, tam):
        if s is not None:
            arrays[f"softmax_W_{d}_{K}"], arrays[f"softmax_H_{d}_{K}"] = s["W"], s["H"]
        if t is not None:
            arrays[f"tammes_W_{d}_{K}"] = t["W"]
    meta = dict(writer=CODES_WRITER, cells=[[d, K] for d, K in cells], stage=stage,
                sources=None if sources is None else [list(x) for x in sources])
    tmp = path[:-4] + ".tmp.npz"
    np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def read_codes(path: str, option: str, with_meta: bool = False):
    """{(d, K): {"softmax": {"W", "H"} or None, "tammes": {"W"} or None}} from a codes file this script wrote (its own
    finds, never a table), and its meta dict if ``with_meta``; SystemExit naming ``option`` for a missing file,
    another writer, or an array that is not a finite (K, d) array."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("writer") != CODES_WRITER:
                raise ValueError(f"written by {meta.get('writer')!r}, not {CODES_WRITER}")
            out = {}
            for d, K in meta["cells"]:
                e = {}
                for side, keys in (("softmax", ("W", "H")), ("tammes", ("W",))):
                    arrs = {k: z.get(f"{side}_{k}_{d}_{K}") for k in keys}
                    if any(a is None for a in arrs.values()):
                        e[side] = None
                        continue
                    for k, a in arrs.items():
                        if a.shape != (K, d) or not np.all(np.isfinite(a)):
                            raise ValueError(f"{side}_{k}_{d}_{K} has shape {a.shape} or non-finite entries")
                    e[side] = {k: np.asarray(a, np.float64) for k, a in arrs.items()}
                out[(int(d), int(K))] = e
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SystemExit(f"{option}: {path} is not a codes file of this script ({err})")
    return (out, meta) if with_meta else out


def flag_of(gap: float, tol: float) -> str:
    return "softmax>tammes" if gap > tol else ("softmax short" if gap < -tol else "")


def merge_rows(runs: list, tol: float, with_codes=frozenset()) -> list:
    """One row per (d, K) from several runs, given as [(name, rows)]: the largest rho_soft and the largest
    delta_T^2/2 of any run (ties: a run in ``with_codes``, the runs that kept their codes, then the earlier run), the
    gap recomputed between them, the run each came from, the spread between the runs (best - worst, 0 for one run)
    and how many runs had the cell."""
    cells: dict = {}
    for name, rows in runs:
        for r in rows:
            key = (int(r["d"]), int(r["K"]))
            cells.setdefault(key, []).append((name, r))
    out = []
    for (d, K), seen in sorted(cells.items()):
        soft_name, s = max(seen, key=lambda nr: (nr[1]["rho_soft"], nr[0] in with_codes))  # max keeps the first
        tam_name, t = max(seen, key=lambda nr: (nr[1]["tammes_lb"], nr[0] in with_codes))  # of equals
        gap = s["rho_soft"] - t["tammes_lb"]
        out.append(dict(d=d, K=K, regime=s["regime"], rho_star=s["rho_star"], rho_soft=s["rho_soft"],
                        tammes_lb=t["tammes_lb"], rho_tammes=t.get("rho_tammes"),
                        tammes_self_dual=t.get("tammes_self_dual"), tammes_angle_deg=t["tammes_angle_deg"], gap=gap,
                        self_dual=s["self_dual"], softmax_file=soft_name, tammes_file=tam_name, runs=len(seen),
                        soft_spread=s["rho_soft"] - min(r["rho_soft"] for _, r in seen),
                        tammes_spread=t["tammes_lb"] - min(r["tammes_lb"] for _, r in seen),
                        flag=flag_of(gap, tol)))
    return out


def below_larger_K(rows: list, key: str) -> dict:
    """{(d, K): how far row[key] lies below its best value at any larger K of the same d (0 if none)}. Dropping a
    point keeps a code's minimal angle, and dropping a class keeps (or raises) a softmax code's margin, so both optima
    are non-increasing in K: a cell below a larger K's value is where that run's search fell short."""
    out = {}
    for d in {r["d"] for r in rows}:
        best = -math.inf
        for r in sorted((r for r in rows if r["d"] == d), key=lambda r: -r["K"]):
            out[(d, r["K"])] = max(0.0, best - r[key])
            best = max(best, r[key])
    return out


def add_checks(rows: list, tol: float) -> str:
    """Add to each row the best-known Tammes angle where one is tabulated or proven (gnc_jax.codes.best_known; compared
    against, never used to start) with the gap to it, and how far each side lies below a larger K's value; return a
    summary line."""
    from gnc_jax.codes import best_known, known_floor

    soft_low, tam_low = below_larger_K(rows, "rho_soft"), below_larger_K(rows, "tammes_lb")
    for r in rows:
        rec = best_known(r["d"], r["K"])
        r["tammes_record_deg"] = None if rec is None else rec.min_angle_deg
        r["tammes_gap_deg"] = None if rec is None else rec.min_angle_deg - r["tammes_angle_deg"]
        r["soft_below_larger_K"], r["tammes_below_larger_K"] = soft_low[(r["d"], r["K"])], tam_low[(r["d"], r["K"])]
        # a known code with >= K points in dimension <= d bounds both optima from below (rho* >= delta_T^2/2)
        floor = known_floor(r["d"], r["K"])
        r["floor_deg"], r["floor_source"] = floor.angle_deg, floor.source
        r["tammes_below_floor_deg"] = max(0.0, floor.angle_deg - r["tammes_angle_deg"])
        r["soft_below_floor"] = max(0.0, 1.0 - math.cos(math.radians(floor.angle_deg)) - r["rho_soft"])
    known = [r for r in rows if r["tammes_gap_deg"] is not None]
    short = [f"{r['d']}:{r['K']}" for r in known if r["tammes_gap_deg"] > 1e-6]
    mono = [f"{r['d']}:{r['K']}" for r in rows if max(r["soft_below_larger_K"], r["tammes_below_larger_K"]) > tol]
    low = [f"{r['d']}:{r['K']} ({r['tammes_below_floor_deg']:.2g} deg)" for r in rows
           if r["tammes_below_floor_deg"] > 1e-6 or r["soft_below_floor"] > tol]
    vs_known = (f"{len(known) - len(short)}/{len(known)} within 1e-6 deg"
                f"{' (short: ' + ', '.join(short) + ')' if short else ''}") if known else "no value known for these cells"
    return (f"Tammes side vs best known: {vs_known}; below a larger K's value (search fell short): "
            f"{', '.join(mono) if mono else 'none'}; below a known code with at least K points (search fell short): "
            f"{', '.join(low) if low else 'none'}")


def coverage(rows: list) -> str:
    """'d=3: 40 K in 5..128; ...' for a table's cells."""
    parts = []
    for d in sorted({r["d"] for r in rows}):
        ks = sorted(r["K"] for r in rows if r["d"] == d)
        parts.append(f"d={d}: {len(ks)} K in {ks[0]}..{ks[-1]}")
    return "; ".join(parts)


def write_outputs(rows: list, meta: dict, out: str) -> None:
    with open(out + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(out + ".json", "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    plot(rows, out + ".png")


def merge_main(files: list, a, argv) -> int:
    runs, sources, codes = [], [], {}
    for path in files:
        try:
            with open(path) as f:
                data = json.load(f)
            rows = data["rows"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SystemExit(f"--merge: {path} is not a JSON output of this script ({e})")
        runs.append((os.path.basename(path), rows))
        has_codes = os.path.exists(codes_path(path))
        if has_codes:
            codes[os.path.basename(path)] = read_codes(codes_path(path), "--merge")
        m = data.get("meta", {})
        sources.append(dict(file=os.path.basename(path), date=m.get("date"), device=m.get("device"),
                            refine=m.get("refine"), tammes_search=m.get("tammes_search"), cells=len(rows),
                            codes=has_codes))
    rows = merge_rows(runs, a.tol, frozenset(codes))
    # the winning run's code of each side, where that run kept its codes (runs before codes were stored did not)
    kept = [(codes.get(r["softmax_file"], {}).get((r["d"], r["K"]), {}).get("softmax"),
             codes.get(r["tammes_file"], {}).get((r["d"], r["K"]), {}).get("tammes")) for r in rows]
    print(f"{'d':>2} {'K':>3} {'rho_soft':>12} {'dT^2/2':>12} {'gap':>10} {'self_dual':>10} {'runs':>4} "
          f"{'T spread':>9} flag")
    for r in rows:
        print(f"{r['d']:>2} {r['K']:>3} {r['rho_soft']:>12.9f} {r['tammes_lb']:>12.9f} {r['gap']:>10.2e} "
              f"{r['self_dual']:>10.2e} {r['runs']:>4} {r['tammes_spread']:>9.2e} {r['flag']}")
    flagged = [r for r in rows if r["flag"]]
    print(f"{len(rows)} cells from {len(files)} runs, {len(flagged)} flagged (|gap| > {a.tol:g}); {coverage(rows)}")
    print(add_checks(rows, a.tol))
    n_soft, n_tam = sum(s is not None for s, _ in kept), sum(t is not None for _, t in kept)
    print(f"codes kept for {n_soft} softmax and {n_tam} Tammes sides (the rest came from runs that stored none)")
    meta = dict(merged=sources, tol=a.tol, codes=dict(softmax=n_soft, tammes=n_tam),
                command="python benchmarks/softmax_vs_tammes.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    write_outputs(rows, meta, a.out)
    if n_soft or n_tam:
        write_codes(codes_path(a.out), [(r["d"], r["K"]) for r in rows], [s for s, _ in kept], [t for _, t in kept])
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dmin", type=int, default=3)
    ap.add_argument("--dmax", type=int, default=5, help="largest d (the study goes to 8; default small for CPU)")
    ap.add_argument("--kmax", type=int, default=10, help="largest K")
    ap.add_argument("--with-simplex", action="store_true", help="include K <= d + 1")
    ap.add_argument("--cells", default=None,
                    help="only these cells, as d:K,d:K1-K2 (instead of the d and K ranges)")
    ap.add_argument("--tammes-search", choices=("batched", "records"), default="batched",
                    help="Tammes side: the batched restarts (default) or the record search of gnc_jax.codes.records "
                         "(random starts, basin hopping, exact refinement; one cell at a time, slower). With "
                         "--restarts 0 the search's codes join the stored ones")
    ap.add_argument("--symmetric", type=int, default=0,
                    help="with --tammes-search records: this many more starts per round from random symmetric codes "
                         "(gnc_jax.codes.symmetry: rotation groups for d = 3, antipodal codes for d >= 4)")
    ap.add_argument("--tammes-codes", default=None,
                    help="comma list of tammes_records.py rows files / JSON outputs: their codes (this toolkit's own "
                         "finds, never a table) join the Tammes side's candidates for the cells they cover")
    ap.add_argument("--restarts", type=int, default=8,
                    help="random starts per cell for the batched solves; 0: no solves, every cell starts from "
                         "--start-codes (a repair and recheck pass over earlier runs' codes); a side with no stored "
                         "code starts from the other side's (or from --tammes-codes)")
    ap.add_argument("--start-codes", default=None,
                    help="comma list of earlier runs' .codes.npz files (this script's own finds, never a table): "
                         "their codes join each side's candidates for the cells they cover, before the cross-seeding")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=1000)
    ap.add_argument("--no-refine", action="store_true")
    ap.add_argument("--refine", choices=("full", "fast"), default="full",
                    help="full: Newton-polished to the roundoff floor (default); fast: L-BFGS inner solves only, "
                         "figures to ~1e-9, several times faster at large K")
    ap.add_argument("--refine-chunk", type=int, default=None,
                    help="refine at most this many cells of a bucket at once (0: the whole bucket). Default: 1 on a "
                         "CPU (one cell at a time: 2.2x faster than a bucket of 16 at K ~ 100 on 2 cores, "
                         "refine_chunking.py), the whole bucket on other devices (not measured there)")
    ap.add_argument("--no-cross-seed", dest="cross_seed", action="store_false",
                    help="do not refine each side from the other side's best code")
    ap.add_argument("--recheck", choices=("flagged", "all", "none"), default="flagged",
                    help="with --refine fast and cross-seeding: give the cells still flagged after it (or all) the full "
                         "refinement, both sides from both codes, so a fast refinement's shortfall is not reported "
                         "as a flag (default: flagged)")
    ap.add_argument("--resume", action="store_true",
                    help="continue a run of the same cells that stopped: its codes, written to OUT.codes.npz after "
                         "each stage, are taken up where it had got (no solve again); without that file, a fresh run")
    ap.add_argument("--grow", action="store_true",
                    help="in the repair, also start each Tammes code from its K - 1 cell's code (this run's) plus one "
                         "point at a deepest hole, chained up the K of each d while a cell is lifted")
    ap.add_argument("--tol", type=float, default=1e-6, help="flag |gap| above this")
    ap.add_argument("--device-label", default=None, help="device description written to the JSON")
    ap.add_argument("--merge", default=None,
                    help="comma list of earlier JSON outputs: solve nothing, write their combined table to --out")
    ap.add_argument("--out", type=output_path, default=in_benchmarks("softmax_vs_tammes"))
    a = ap.parse_args(argv)
    if a.merge is not None:
        return merge_main([f for f in a.merge.split(",") if f], a, argv)
    cells = cells_of(a.dmin, a.dmax, a.kmax, a.with_simplex) if a.cells is None else parse_cells(a.cells)
    if a.refine_chunk is not None and a.refine_chunk < 0:
        ap.error("--refine-chunk must be >= 0 (0: no chunking)")
    chunk = (a.refine_chunk if a.refine_chunk is not None else int(jax.default_backend() == "cpu")) or None
    if a.restarts < 0:
        ap.error("--restarts must be >= 0 (0: start every cell from --start-codes)")
    if a.grow and a.no_refine:
        ap.error("--grow works in the repair, which needs the refinement: drop --no-refine")
    if a.symmetric < 0 or (a.symmetric and a.tammes_search != "records"):
        ap.error("--symmetric must be >= 0, and is for --tammes-search records only")
    starts = []  # [(label, {(d, K): {"softmax": ..., "tammes": ...}})], one per --start-codes file, read before compiling
    for path in [f for f in (a.start_codes or "").split(",") if f]:
        starts.append((f"from {os.path.basename(path)}", read_codes(path, "--start-codes")))
    resumed = None  # the stage a --resume run takes up (CODE_STAGES), and the stopped run's source labels
    if a.resume and os.path.exists(codes_path(a.out)):
        codes, m = read_codes(codes_path(a.out), "--resume", with_meta=True)
        if [tuple(c) for c in m["cells"]] != cells:
            ap.error(f"--resume: {codes_path(a.out)} holds other cells than these; run them with the same --cells")
        resumed, sources = m.get("stage", "solved"), m.get("sources")
        if resumed not in CODE_STAGES:
            ap.error(f"--resume: {codes_path(a.out)} has stage {resumed!r}, not one of {', '.join(CODE_STAGES)}")
        starts.insert(0, ("resumed", codes))
    own = {}
    if a.tammes_codes:
        from tammes_records import own_codes  # benchmarks/tammes_records.py: its reader of its own outputs

        own = own_codes([f for f in a.tammes_codes.split(",") if f], option="--tammes-codes")
    from_codes = a.restarts == 0 or resumed is not None  # no batched solve: every cell starts from stored codes
    if not cells:
        ap.error("empty table: need kmax >= dmin + 2 (or --with-simplex)")
    t0 = time.perf_counter()

    def stage(msg):  # progress on stderr: each stage is one long batched call
        print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", file=sys.stderr, flush=True)

    filled = []  # --restarts 0: cells with one side started from the other side's code
    if from_codes:  # each side starts from the first --start-codes file that has it (else complete_sides fills it
        # from --tammes-codes or the other side); the other files join below
        stage(f"{len(cells)} cells from " + (f"{codes_path(a.out)} (--resume after stage {resumed!r})" if resumed
                                             else "stored codes") + ", no batched solves")
        first = {side: [next(((label, c[cell][side]) for label, c in starts if c.get(cell, {}).get(side)), None)
                        for cell in cells] for side in ("softmax", "tammes")}  # side: [(file label, code)] per cell
        try:
            first, filled = complete_sides(cells, first, own)
        except ValueError as err:  # before anything compiles
            ap.error(f"--restarts 0 needs a code for every cell, from --start-codes (either side) or --tammes-codes; "
                     f"{err}")
        soft, tam = [code for _, code in first["softmax"]], [code for _, code in first["tammes"]]
    else:
        stage(f"{len(cells)} cells in {len(buckets_of(cells))} padded-shape buckets: batched softmax-code solves")
        soft = batched_best("softmax-code", cells, a.restarts, a.seed, a.max_steps, jnp.float32, stage)
        stage("batched Tammes solves")
        if a.tammes_search == "records":
            tam = records_tammes(cells, a.seed, a.symmetric)
        else:
            tam = batched_best("tammes", cells, a.restarts, a.seed, a.max_steps, jnp.float32, stage)
    t_solve = time.perf_counter() - t0
    refined = not a.no_refine
    fast = a.refine == "fast"
    f_soft = exact_figures(cells, [p["W"] for p in soft])  # kept beside `soft` as it changes
    if refined and not from_codes:  # start codes are earlier runs' refined finals
        stage("float64 refinement of the best restarts")
        soft_r, tam_r = (refine_all(p, x, cells, stage, fast, chunk) for p, x in (("softmax-code", soft), ("tammes", tam)))
        # keep the better of raw and refined (refine already returns the better; this guards the unpadding)
        f_sr = exact_figures(cells, [p["W"] for p in soft_r])
        keep = [fr["rho"] >= fs["rho"] for fr, fs in zip(f_sr, f_soft)]
        soft = [r if k else s for r, s, k in zip(soft_r, soft, keep)]
        f_soft = [fr if k else fs for fr, fs, k in zip(f_sr, f_soft, keep)]
        tam = [r if max_cos(r["W"]) <= max_cos(s["W"]) else s for r, s in zip(tam_r, tam)]
    table = Table(cells, soft, f_soft, tam, fast, chunk, stage)
    if from_codes:
        table.soft_src = [label for label, _ in first["softmax"]]
        table.tam_src = [label for label, _ in first["tammes"]]
        if resumed and sources:  # the stopped run's own labels ("own", "from K=...")
            table.soft_src, table.tam_src = [list(x) for x in zip(*sources)]

    def checkpoint(name):  # codes so far, so that --resume takes the run up after this stage
        write_codes(codes_path(a.out), cells, table.soft, table.tam, name, list(zip(table.soft_src, table.tam_src)))

    adopted = set()  # cells that took a code from --start-codes (it may be refined further below)
    for label, codes in starts[1 if resumed else 0:]:  # earlier runs' codes (this script's own finds), either side
        for side, adopt in (("tammes", table.adopt_tammes), ("softmax", table.adopt_softmax)):
            idx = [i for i, c in enumerate(cells) if codes.get(c, {}).get(side)]
            if idx:
                taken = adopt(idx, [codes[cells[i]][side] for i in idx], [label] * len(idx))
                adopted |= taken
                stage(f"--start-codes {label[5:]}: {side} codes of {len(idx)} cell(s), {len(taken)} better than this "
                      f"run's")
    if from_codes and not resumed and a.tammes_search == "records":  # --restarts 0: the search's codes join too
        stage(f"record searches on the Tammes side of {len(cells)} cell(s)")
        taken = table.adopt_tammes(list(range(len(cells))), records_tammes(cells, a.seed, a.symmetric),
                                   ["records search"] * len(cells))
        stage(f"record searches: {len(taken)} cell(s) better than the stored codes")
        if taken and a.cross_seed:
            table.cross_seed(sorted(taken))
    own_idx = [i for i, c in enumerate(cells) if c in own]
    if own_idx:  # earlier record searches' codes (found from random starts by tammes_records.py) as more candidates
        stage(f"Tammes codes of {len(own_idx)} cells from --tammes-codes")
        sub = [cells[i] for i in own_idx]
        loaded = [{"W": own[c][1]} for c in sub]
        table.adopt_tammes(own_idx, refine_all("tammes", loaded, sub, stage, fast, chunk) if refined else loaded,
                           ["from --tammes-codes"] * len(own_idx))
    if not resumed:
        checkpoint("solved")
    if filled and a.cross_seed and not resumed:
        # a side that had no stored code started from the other side's: refine it from there (both sides, as below)
        stage(f"cross-seeding the {len(filled)} cell(s) with one side from the other's code")
        table.cross_seed(filled)
    if a.cross_seed and (not from_codes or resumed == "solved"):  # (start codes had theirs in their own run)
        # each side also refines the other side's best code (this run's own solves, never a table), Tammes first:
        # a Tammes code started at the softmax code reaches at least 1 - max cos of it, and a softmax code started
        # at that (final) Tammes code keeps rho >= its margin delta_T^2/2 (refine returns the better of input and
        # result), so gap >= 0 up to rounding and a flag is left only where a softmax code beats the Tammes bound
        stage("cross-seeding: refine each side from the other side's best code")
        table.cross_seed(list(range(len(cells))))
        checkpoint("cross-seeded")
    if refined:
        # both optima are non-increasing in K: a cell below a larger K's value starts again from that code
        stage("cells below a larger K of the same d")
        table.repair(a.cross_seed, grow=a.grow)
        checkpoint("repaired")
    rechecked = {}  # cell index: its gap before the recheck
    if refined and fast and a.cross_seed and a.recheck != "none":
        # a fast (L-BFGS only) refinement can stop ~1e-6 short of the max-min optimum and leave a false flag;
        # the flagged cells (or all, --recheck all) get the full refinement, both sides from both codes
        gaps = [table.gap(i) for i in range(len(cells))]
        rechecked = {i: g for i, g in enumerate(gaps) if a.recheck == "all" or abs(g) > a.tol}
        if rechecked:
            stage(f"recheck: full refinement of {len(rechecked)} cell(s)"
                  f"{'' if a.recheck == 'all' else f' with |gap| > {a.tol:g}'}: "
                  + ", ".join(f"{cells[i][0]}:{cells[i][1]} (gap {g:+.2e})" for i, g in rechecked.items()))
            table.recheck(sorted(rechecked))
    soft_src, tam_src = table.soft_src, table.tam_src
    stage("exact figures")
    f_tam = exact_figures(cells, [p["W"] for p in tam])
    seconds = time.perf_counter() - t0
    rows = []
    for i, ((d, K), s, t, fs, ft, s_src, t_src) in enumerate(zip(cells, soft, tam, f_soft, f_tam, soft_src, tam_src)):
        rho_soft = fs["rho"]
        lb = 1.0 - max_cos(t["W"])
        reg = regime(K, d)
        gap = rho_soft - lb
        rho_tam = ft["rho"]
        rows.append(dict(d=d, K=K, regime=reg.name, rho_star=reg.rho_star, rho_soft=rho_soft, tammes_lb=lb,
                         rho_tammes=rho_tam, tammes_self_dual=rho_tam - lb,
                         tammes_angle_deg=math.degrees(math.acos(max(-1.0, min(1.0, 1.0 - lb)))), gap=gap,
                         self_dual=rho_soft - (1.0 - max_cos(s["W"])), softmax_source=s_src, tammes_source=t_src,
                         rechecked=i in rechecked, gap_before_recheck=rechecked.get(i), flag=flag_of(gap, a.tol)))
    print(f"{'d':>2} {'K':>3} {'regime':>14} {'rho*':>10} {'rho_soft':>12} {'dT^2/2':>12} {'gap':>10} "
          f"{'self_dual':>10} flag")
    for r in rows:
        rs = "-" if r["rho_star"] is None else f"{r['rho_star']:.8f}"
        print(f"{r['d']:>2} {r['K']:>3} {r['regime']:>14} {rs:>10} {r['rho_soft']:>12.9f} {r['tammes_lb']:>12.9f} "
              f"{r['gap']:>10.2e} {r['self_dual']:>10.2e} {r['flag']}"
              f"{'' if r['softmax_source'] == 'own' else ' (softmax ' + r['softmax_source'] + ')'}"
              f"{'' if r['tammes_source'] == 'own' else ' (tammes ' + r['tammes_source'] + ')'}")
    flagged = [r for r in rows if r["flag"]]
    kept_src = {"own", "records search"} | {label for label, _ in starts}
    crossed = sum(r["softmax_source"] not in kept_src or r["tammes_source"] not in kept_src for r in rows)
    print(f"{len(rows)} cells, {len(flagged)} flagged (|gap| > {a.tol:g}), {crossed} improved by cross-seeding or "
          f"from another K{f', {len(adopted)} took a better code from --start-codes' if a.start_codes else ''}; "
          f"{seconds:.1f} s "
          f"(batched solves {t_solve:.1f} s, compile included)")
    print(add_checks(rows, a.tol))
    meta = dict(**run_meta(a.device_label), restarts=a.restarts, seed=a.seed,
                max_steps=a.max_steps, refined=refined, refine=a.refine if refined else None,
                refine_chunk=chunk, cross_seed=a.cross_seed, grow=a.grow, recheck=a.recheck if refined and fast and a.cross_seed else None,
                rechecked=len(rechecked), start_codes=a.start_codes, resumed_after=resumed,
                tammes_search=a.tammes_search, symmetric=a.symmetric, tammes_codes=a.tammes_codes, seconds=seconds,
                tol=a.tol,
                command="python benchmarks/softmax_vs_tammes.py " + " ".join(argv if argv is not None else
                                                                            sys.argv[1:]))
    write_outputs(rows, meta, a.out)
    checkpoint("final")
    return 0


def plot(rows: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for d in sorted({r["d"] for r in rows}):
        rr = [r for r in rows if r["d"] == d]
        ax1.plot([r["K"] for r in rr], [r["rho_soft"] for r in rr], "o-", label=f"d={d} softmax rho")
        ax1.plot([r["K"] for r in rr], [r["tammes_lb"] for r in rr], "x", c="k")
        ax2.semilogy([r["K"] for r in rr], [max(abs(r["gap"]), 1e-16) for r in rr], "o-", label=f"d={d}")
    ax1.set_xlabel("K"); ax1.set_ylabel("rho (x: Tammes delta_T^2/2)"); ax1.legend(fontsize=7)
    ax2.set_xlabel("K"); ax2.set_ylabel("|rho_soft - delta_T^2/2| (floored at 1e-16)"); ax2.legend(fontsize=7)
    fig.suptitle("softmax code vs Tammes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
