"""Records pipeline: random starts -> batched surrogate solve -> exact refinement -> basin search.

`solve_record(d, N)` finds a Tammes code of N points on S^{d-1} from random starts only (nothing
here reads the tables or constructions before the search has stopped) and then measures it
against the best-known record with `compare`:

1. round 0: ``restarts`` Gaussian starts (``api.random_points``), one batched tau-continuation of
   the smooth Tammes surrogate (``api.solve_batch``, N padded up to a bucket so one compile
   serves several N; start temperatures cycled over ``START_TAUS``), exact float64 angles of
   every restart (opt-in: ``symmetric`` more restarts per round from random symmetric codes,
   `symmetry.symmetric_starts`: rotation groups for d = 3, antipodal codes for other d, whose first
   temperatures are ``ANTIPODAL_START_TAUS``; the caller's own ``start_codes``);
2. the pool is screened by a short float64 refinement (a few augmented-Lagrangian steps; the
   surrogate's own angles cannot rank basins), and the best few distinct codes (``refine_top``)
   go through the full exact max-min refinement (``solvers.refine.refine_tammes``) in one batch;
3. rounds 1, 2, ...: fresh random restarts (new restart indices) plus perturbations of the best
   code so far, each solved again locally or by a short continuation from a cold temperature
   (basin hopping at a few scales), and ``direct_hops`` perturbations of the best that skip the
   surrogate (its logsumexp is biased against codes with many contacts, so some records are no basin
   of it), screened and refined the same way. The search stops after
   ``max_rounds`` rounds or after ``patience`` rounds without an improvement of more than
   ``improve_tol_deg`` — a rule that never looks at the record.

`search_codes(d, Ns)` runs the same search for several N in lockstep, one batch per stage over all of
them; `run_records(d, Ns, lockstep=k)` yields one `RecordRow` per N
(progress on stderr when it is a TTY).
"""
from __future__ import annotations

import dataclasses
import math
import re
import sys
import time
from typing import Iterable, Iterator

import numpy as np

from ._validate import check_count, check_dim, check_int
from .compare import compare, min_angle_deg

BUCKET = 8  # pad N up to a multiple of this: one compile per bucket and batch size
PERTURB_SCALES = (0.05, 0.15, 0.3)  # perturbation sigma, in units of the current minimal angle
# Basin hops: perturb the best code (sigma = scale x its minimal angle; only the fraction `region`
# of its points nearest to a random one of them when region < 1), then solve the surrogate again
# over HOP_STAGES continuation stages from the start temperature tau0 of the move
# (HOP_MOVES = (scale, tau0, region[, relocate]), cycled; tau0 = 0: all stages at the final tau, a
# local solve; relocate: that many points first moved to the deepest holes, default 0).
# Global local moves alone scatter on d = 3, N = 49 (no better basin in 128 hops); short
# continuations from 1e-3 or 3e-3 reach the record's basin in ~1-3 of 128 there. Without the small
# local move, N = 44 stopped 7e-3 deg short; without the regional moves (15-25 % of the points),
# N = 66 and 69 stopped 5e-4 and 2e-4 deg short in 16 rounds (benchmarks/RESULTS.md).
HOP_MOVES = ((0.1, 0.0, 1.0), (0.3, 1e-3, 1.0), (0.5, 1e-3, 1.0), (0.8, 1e-3, 1.0), (0.3, 3e-3, 1.0),
             (0.5, 3e-3, 1.0), (0.8, 3e-3, 1.0), (1.2, 3e-3, 1.0),
             (0.5, 0.0, 0.15), (1.0, 0.0, 0.15), (0.5, 1e-3, 0.25), (1.0, 1e-3, 0.25))
# Opt-in moves (``hop_moves=HOP_MOVES + RELOCATE_MOVES``; benchmarks/tammes_records.py --relocate):
# one or two random points moved to the deepest holes first, then a small global or regional
# perturbation. On the 8 misses of d = 3, N = 71..100 with the defaults (seed 0) they matched N = 71
# and 74, took N = 94 from 3.8e-4 to 4.8e-6 deg short and left the other five where they were; the
# defaults at seed 1 (the control) matched N = 74 only, N = 71 to 2.4e-5 and N = 94 to 8.9e-4 deg short
# (benchmarks/RESULTS.md): two rows in favour from one paired run, too little to make them default.
RELOCATE_MOVES = ((0.1, 0.0, 1.0, 1), (0.3, 1e-3, 0.25, 1), (0.1, 1e-3, 1.0, 2), (0.0, 0.0, 1.0, 1))
# Symmetric restarts (``symmetric=K``, d = 3, `symmetry.symmetric_starts`) are opt-in too: with K = 32 on the 9
# misses of N = 110..127 at seed 0 they matched 115, 116 and 120, went beyond the bundled record at 111, and left
# 119 1.2e-3 deg below the default's code; on the misses of 71..109 they matched 80, 94 and 109 (73, 85, 91, 99,
# 101, 102 unchanged), and went beyond the record at 125 (127 unchanged); at seed 1 with neighbour seeds
# (`start_codes`) they went beyond the record at 119 and matched 73 and 91 (benchmarks/RESULTS.md); on N = 4..40
# they matched every row but cost ~55 % more per round and saved no rounds; on N = 41..70 they missed N = 58
# (+2.2e-3 deg) and N = 69 (+1.7e-4 deg), which the defaults matched, at +39-52 % per round; N = 71..130 not rerun.
# In d != 3 the symmetric starts are antipodal (N/2 random points and their negatives): on (5, 40) 3-15 of 128
# surrogate solves from them reached the D5 roots' 60 deg, none of 128 from Gaussian starts; on (7, 126), from
# the start temperatures of the fresh restarts, they did no better than Gaussian starts (58.72 vs 58.89 deg), and
# from 0.1 they reach E7's 60 deg (``ANTIPODAL_START_TAUS``).
HOP_STAGES = 3
POLISH_SCALES = (0.01,)  # a small direct perturbation of the best, refined as is (the slot of ``direct_hops=0``)
# Direct hops (``direct_hops``, after round 0, needs refine_top >= 2): perturbations of the best that skip the
# surrogate; they are screened like the pool, and the best of them by its screened angle takes the refinement
# slot of the polish. All of a round's direct hops share one scale (sigma = scale x minimal angle), cycled over
# the rounds, since a smaller perturbation screens higher and would always be picked. The smooth surrogate is
# biased against codes with many contacts (its logsumexp counts the near-contacts): from the d = 3, N = 102
# record's own coordinates, a local surrogate solve at the final temperature ends in a 198-contact basin that
# refines to 3.9e-5 deg below the record's 210-contact code, so no surrogate-based hop reaches it; 22 of the 60
# records of N = 71..130 are no basin of the surrogate (benchmarks/surrogate_bias.py). With direct hops the search
# matched N = 71, 101, 102 and 112 at seed 0, four of the eight rows no earlier run had matched, and still matched
# all of N = 4..40 (+16 % time) and 29 of N = 41..70 (N = 69, which the old defaults matched using all 16 rounds, ended
# 4.2e-4 deg short). Smaller scales (``direct_scales=(0.02, 0.01, 0.03)``) climbed from a code 1.2e-5 deg short to
# the N = 110 record where these could not (benchmarks/RESULTS.md); they stay an option.
DIRECT_SCALES = (0.1, 0.05, 0.2)
# First continuation temperatures of the fresh restarts, cycled over restart indices. From 0.03 the
# continuation funnels almost every start into a few basins (d = 3, N = 49: 121 of 128 starts in one,
# none in the record's); colder starts keep more of the random start's diversity.
START_TAUS = (0.03, 0.01, 0.003, 0.001)
# First temperatures of the antipodal starts (``symmetric``, group "Ci"), cycled over them. Hot starts keep the
# orbit's freedom longer: from 0.1, 3 of 32 surrogate solves of (7, 126) reached the E7 roots' 60 deg, none from 0.03
# or 0.3, and none of 32 Gaussian starts from 0.1; the D5 roots (5, 40) need the colder 0.03 (9 of 64; 0 from 0.1).
ANTIPODAL_START_TAUS = (0.1, 0.03)
# Screening: a short float64 refinement of the whole pool. The surrogate's end point stops
# 0.05-0.2 deg short of its basin's optimum, more than basins differ, so its angle cannot rank
# candidates; a few augmented-Lagrangian outer steps can, at a fraction of a full refinement.
SCREEN_KW = dict(inner="lbfgs", max_outer=8, inner_steps=100, tol=1e-8)
# Refinements inside the rounds: the fast refinement (``solvers.refine.FAST_KW``, L-BFGS inner
# solves, no Newton polish); the best code of each N gets the full refinement (``refine_kw``) once,
# when its search stops.
# The search's defaults: the one source for search_code, solve_record, run_records, the records
# CLI and benchmarks/tammes_records.py.
SEARCH_DEFAULTS = dict(restarts=16, max_rounds=16, patience=5, hops=64, refine_top=2, direct_hops=32)
_D = SEARCH_DEFAULTS


@dataclasses.dataclass
class RecordRow:
    """One (d, N) result. Angles in degrees; gap_deg = record - found (negative: better).

    status: the record's status (None when no record is known); matched: |gap| <= tol_deg;
    congruent: name of a known code congruent to the result, else None; contacts: pairs at the
    minimal angle; rounds: search rounds used; seconds: wall time of the search (compiles
    included; in a lockstep group, from the group's start to this N's stop); points: (N, d) float64 unit rows;
    symmetry: for d = 3 the rotation group of the code less its rattlers (`Comparison.symmetry`), else None;
    overlap: with the opt-in overlap search, its `OverlapResult.summary()` (start and final angle, iterations,
    raises, seconds), else None.
    """

    d: int
    N: int
    angle_deg: float
    record_deg: float | None
    gap_deg: float | None
    status: str | None
    matched: bool | None
    better: bool | None
    congruent: str | None
    contacts: int
    rounds: int
    seconds: float
    points: np.ndarray = dataclasses.field(repr=False)
    symmetry: str | None = None
    overlap: dict | None = None

    def to_dict(self, points: bool = False) -> dict:
        """JSON-safe dict; coordinates only when ``points``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "points"}
        if points:
            out["points"] = np.asarray(self.points).tolist()
        return out

    @classmethod
    def from_dict(cls, r: dict) -> "RecordRow":
        """Inverse of ``to_dict(points=True)``; extra keys are ignored, and a field with a default (``symmetry``,
        ``overlap``) may be missing (rows written before it was reported)."""
        return cls(**{f.name: np.asarray(r[f.name], np.float64) if f.name == "points" else
                      r[f.name] if f.default is dataclasses.MISSING else r.get(f.name, f.default)
                      for f in dataclasses.fields(cls)})


# ----------------------------------------------------------------------------------------------
# stages (pure helpers)
# ----------------------------------------------------------------------------------------------
def padded_size(N: int, bucket: int = BUCKET) -> int:
    """N rounded up to a multiple of ``bucket``."""
    return int(math.ceil(N / bucket) * bucket)


def random_starts(d: int, N: int, restart_ids: Iterable[int], seed: int, N_pad: int) -> np.ndarray:
    """Gaussian starts of restarts ``restart_ids`` (``api.random_points``), zero-padded to N_pad rows.
    Returns (R, N_pad, d) float32."""
    from .. import api

    spec = api.make_spec("tammes", N, d)
    return api.random_batch([(spec, seed, r) for r in restart_ids], N_pad, d, 1, np.float32)["W"]


def surrogate_batch(d: int, Ns, starts: np.ndarray, *, max_steps: int = 1000, stages: int | None = None,
                    tau_start=None) -> np.ndarray:
    """Batched surrogate Tammes solve (float32, api defaults) of codes with ``Ns`` (int or (B,)) real
    points from ``starts`` (B, N_pad, d): random starts or perturbations of codes found earlier.
    ``stages``: continuation stages (default 6; 1 = a local solve at the final tau); ``tau_start``:
    first temperature, a float or (B,) (default 0.03; <= the final tau: every stage at the final tau).
    Returns W (B, N_pad, d) float64 unit rows, rows >= N zero.
    """
    import jax

    from .. import api
    from ..problems import default_stages

    starts = np.asarray(starts, np.float32)
    B, N_pad = starts.shape[:2]
    Ns = np.broadcast_to(np.asarray(Ns, int), (B,))
    specs = [api.make_spec("tammes", int(n), d) for n in Ns]
    solver = api.make_solver("lbfgs", max_steps=max_steps)
    stages = default_stages(specs[0].pdef, specs[0].tau) if stages is None else stages
    res = api.solve_batch(specs, {"W": starts}, solver, stages=stages, C_pad=N_pad, d_pad=d, n_pad=1,
                          tau_start=tau_start)
    w = np.asarray(jax.device_get(res.x["W"]), np.float64)
    return normalize_rows(w * row_masks(Ns, N_pad)[..., None])


def row_masks(Ns, N_pad: int) -> np.ndarray:
    """(B,) real-row counts -> (B, N_pad) 0/1 masks."""
    return (np.arange(N_pad)[None, :] < np.asarray(Ns, int).reshape(-1, 1)).astype(np.float64)


def normalize_rows(w: np.ndarray) -> np.ndarray:
    """Unit rows (zero rows stay zero); (..., N, d) float64."""
    w = np.asarray(w, np.float64)
    n = np.linalg.norm(w, axis=-1, keepdims=True)
    return np.where(n > 0, w / np.where(n > 0, n, 1.0), 0.0)


def exact_angles(w: np.ndarray, N: int) -> np.ndarray:
    """Exact float64 minimal angles (deg) of the first N rows of each code; (B, N_pad, d) -> (B,)."""
    return np.asarray(min_angle_deg(np.asarray(w)[:, :N]), np.float64).reshape(-1)


def pick_distinct(angles: np.ndarray, k: int, resolution_deg: float = 1e-4) -> np.ndarray:
    """Indices of up to k best entries of ``angles`` with distinct values (to ``resolution_deg``)."""
    order = np.argsort(-np.nan_to_num(angles, nan=-np.inf), kind="stable")
    chosen: list[int] = []
    for i in order:
        if all(abs(angles[i] - angles[j]) > resolution_deg for j in chosen):
            chosen.append(int(i))
        if len(chosen) == k:
            break
    for i in order:  # fill up with repeats so the batch shape stays fixed
        if len(chosen) == k:
            break
        if int(i) not in chosen:
            chosen.append(int(i))
    return np.asarray(chosen, int)


HOLE_TAUS = (0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 5e-4, 2e-4, 1e-4)  # polish_holes: smoothing temperatures
HOLE_STEPS = 100  # polish_holes: gradient steps per temperature


def deepest_hole(points: np.ndarray, rng: np.random.Generator, samples: int = 4096) -> np.ndarray:
    """The point of the sphere farthest from every row of ``points`` (N, d), as far as a search finds it: the best
    of ``samples`` random unit vectors, polished (`polish_holes`). Returns (d,)."""
    return distinct_holes(points, 1, rng, samples, separation_deg=0.0)[0]  # one hole: no separation to compute


def polish_holes(points: np.ndarray, cand: np.ndarray, taus=HOLE_TAUS, steps: int = HOLE_STEPS) -> np.ndarray:
    """Move each candidate (M, d) uphill to a local maximum of its angle to the nearest row of ``points`` (N, d): a
    smoothed max of cosines (temperature ``taus`` in turn, ``steps`` Riemannian gradient steps each), then an exact
    finish (the unit vector equidistant from the near-nearest rows, least squares, kept where it is deeper). Returns
    (M, d) unit rows, each at least as deep as its start. float64 numpy; a random net alone stops degrees short of
    a hole in d >= 5 (65536 samples: 47-54 deg deep around a code of 112 points at 60 deg in d = 7)."""
    x = np.asarray(points, np.float64)
    p0 = normalize_rows(cand)
    p = p0.copy()
    for tau in taus:
        for _ in range(steps):
            c = p @ x.T / tau
            w = np.exp(c - c.max(axis=1, keepdims=True))
            g = (w / w.sum(axis=1, keepdims=True)) @ x
            g -= np.sum(g * p, axis=1, keepdims=True) * p
            p = normalize_rows(p - tau * g)
    for _ in range(3):  # exact finish: equidistant from the rows within 1e-3 (cosine) of the nearest
        c = p @ x.T
        for i in range(len(p)):
            near = x[c[i] > c[i].max() - 1e-3]
            q = np.linalg.lstsq(near, np.ones(len(near)), rcond=None)[0]
            if np.linalg.norm(q) > 0:
                q /= np.linalg.norm(q)
                if q @ p[i] > 0 and np.max(x @ q) < c[i].max():
                    p[i] = q
    deeper = np.max(p @ x.T, axis=1) <= np.max(p0 @ x.T, axis=1)
    return np.where(deeper[:, None], p, p0)


def distinct_holes(points: np.ndarray, k: int, rng: np.random.Generator, samples: int = 4096,
                   separation_deg: float | None = None, polish: int = 64) -> np.ndarray:
    """Up to ``k`` deep holes of ``points`` (N, d), deepest first: of ``samples`` random unit vectors, the ``polish``
    deepest are moved to local maxima of their distance to the code (`polish_holes`; 0: none), then greedily the
    one farthest from the code, each at least ``separation_deg`` (default: half the code's minimal angle) from the
    holes picked before. Returns (k', d), 1 <= k' <= k."""
    points = np.asarray(points, np.float64)
    cand = normalize_rows(rng.standard_normal((samples, points.shape[1])))
    depth = np.max(cand @ points.T, axis=1)  # cosine to the nearest point: smaller is deeper
    if polish:
        top = np.argsort(depth, kind="stable")[:max(int(polish), k)]
        cand = np.concatenate([polish_holes(points, cand[top]), cand])
        depth = np.max(cand @ points.T, axis=1)
    sep = 0.5 * min_angle_deg(points) if separation_deg is None else separation_deg
    cos_sep = math.cos(math.radians(sep))
    chosen: list[int] = []
    for i in np.argsort(depth, kind="stable"):
        if all(cand[i] @ cand[j] < cos_sep for j in chosen):
            chosen.append(int(i))
            if len(chosen) == k:
                break
    return cand[chosen]


def grown_codes(code: np.ndarray, k: int, rng: np.random.Generator, samples: int = 4096) -> np.ndarray:
    """Codes of N + 1 points from a code of N (N, d): the code plus one point at one of its ``k``
    deepest distinct holes (`distinct_holes`). Returns (k', N + 1, d), k' <= k."""
    code = normalize_rows(code)
    holes = distinct_holes(code, k, rng, samples)
    return np.stack([np.concatenate([code, h[None]]) for h in holes])


def thinned_codes(code: np.ndarray) -> np.ndarray:
    """Codes of N - 1 points from a code of N (N, d): each point removed in turn. Returns (N, N - 1, d)."""
    code = normalize_rows(code)
    return np.stack([np.delete(code, i, axis=0) for i in range(len(code))])


def neighbor_starts(N: int, smaller: np.ndarray | None = None, larger: np.ndarray | None = None, *,
                    holes: int = 8, rng: np.random.Generator | None = None) -> np.ndarray:
    """Starting codes of N points from codes found for N - 1 (``smaller``, (N-1, d): `grown_codes`
    with ``holes`` holes) and N + 1 (``larger``, (N+1, d): `thinned_codes`), for
    ``iter_search_codes(start_codes=...)``. Returns (S, N, d); (0, N, 0) when neither is given."""
    rng = np.random.default_rng(0) if rng is None else rng
    parts = []
    for code, want, make in ((smaller, N - 1, lambda c: grown_codes(c, holes, rng)), (larger, N + 1, thinned_codes)):
        if code is None:
            continue
        code = np.asarray(code, np.float64)
        if code.ndim != 2 or code.shape[0] != want:
            raise ValueError(f"neighbor_starts: a code of {want} points expected for N = {N}, got shape {code.shape}")
        parts.append(make(code))
    return np.concatenate(parts) if parts else np.zeros((0, N, 0))


def relocate_points(code: np.ndarray, N: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Move ``k`` random points of ``code`` (first N rows of (N_pad, d)), one after the other, to
    the deepest hole of the code as it stands (`deepest_hole`): a change of the contact graph that
    a small perturbation does not make. Returns a copy."""
    out = np.array(code, np.float64)
    for i in rng.choice(N, size=min(int(k), N), replace=False):
        out[i] = deepest_hole(out[:N], rng)
    return out


def perturb(best: np.ndarray, N: int, count: int, angle_deg: float, rng: np.random.Generator,
            scales=PERTURB_SCALES, regions=None, relocate=None) -> np.ndarray:
    """``count`` Gaussian perturbations of ``best`` (N_pad, d), sigma = scale x angle (radians),
    cycling over ``scales``; padded rows stay zero. ``regions`` (cycled with the scales; default all
    1.0): the fraction of points moved, the ones nearest to a random point of the code (a local
    move), the rest kept. ``relocate`` (cycled; default all 0): points first moved to the deepest
    holes (`relocate_points`). Returns (count, N_pad, d) unit rows."""
    theta = math.radians(angle_deg)
    out = np.repeat(best[None], count, axis=0).astype(np.float64)
    for i in range(count):
        k = 0 if relocate is None else int(relocate[i % len(relocate)])
        if k > 0:
            out[i] = relocate_points(best, N, k, rng)
        sigma = scales[i % len(scales)] * theta
        noise = sigma * rng.standard_normal(out[i, :N].shape)
        frac = 1.0 if regions is None else float(regions[i % len(regions)])
        if frac < 1.0:
            m = max(1, int(math.ceil(frac * N)))
            near = np.argsort(-(out[i, :N] @ out[i, rng.integers(N)]), kind="stable")[:m]
            noise[np.setdiff1d(np.arange(N), near)] = 0.0
        out[i, :N] += noise
    out[:, N:] = 0.0
    return normalize_rows(out)


def refine_batch(w: np.ndarray, Ns, **refine_kw) -> np.ndarray:
    """Exact float64 refinement of a batch (B, N_pad, d) with rows >= N masked (``Ns``: int or (B,));
    returns refined W."""
    from ..solvers.refine import refine_tammes

    mask = row_masks(np.broadcast_to(np.asarray(Ns, int), w.shape[:1]), w.shape[1])
    return normalize_rows(np.asarray(refine_tammes(w, mask, **refine_kw).W))


# ----------------------------------------------------------------------------------------------
# pipeline
# ----------------------------------------------------------------------------------------------
def _positive_floats(values, name: str, what: str) -> tuple[float, ...]:
    """One or more finite values > 0 as a tuple of floats (ValueError naming ``name`` otherwise)."""
    try:
        out = tuple(float(t) for t in np.atleast_1d(np.asarray(values, np.float64)))
    except (TypeError, ValueError):
        out = ()
    if not out or not all(math.isfinite(t) and t > 0 for t in out):
        raise ValueError(f"{name} must be one or more finite {what} > 0, got {values!r}")
    return out


def _check_search(restarts, refine_top, max_rounds, patience, hops, seed, start_taus,
                  direct_hops=0, direct_scales=DIRECT_SCALES) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Validate the search options (ValueError naming the option); returns ``start_taus`` and ``direct_scales``
    as floats."""
    for name, v, lo in (("restarts", restarts, 1), ("refine_top", refine_top, 1), ("max_rounds", max_rounds, 1),
                        ("patience", patience, 1), ("hops", hops, 0), ("seed", seed, 0),
                        ("direct_hops", direct_hops, 0)):
        check_int(v, name, lo)
    return (_positive_floats(start_taus, "start_taus", "temperatures"),
            _positive_floats(direct_scales, "direct_scales", "scales"))


def _check_start_codes(start_codes, Ns: list[int], d: int, N_pad: int) -> dict[int, np.ndarray]:
    """``start_codes`` ({N: (S, N, d)} or None) validated (ValueError naming it) and zero-padded to
    (S, N_pad, d) unit rows; N not searched are an error, N without codes are left out."""
    if start_codes is None:
        return {}
    if not hasattr(start_codes, "items"):
        raise ValueError(f"start_codes must map N to an (S, N, d) array, got {type(start_codes).__name__}")
    out = {}
    for N, codes in start_codes.items():
        if N not in Ns:
            raise ValueError(f"start_codes: N = {N!r} is not among the searched Ns {Ns}")
        codes = np.asarray(codes, np.float64)
        if codes.size == 0:  # nothing for this N
            continue
        if codes.ndim == 2:
            codes = codes[None]
        if codes.ndim != 3 or codes.shape[1:] != (N, d):
            raise ValueError(f"start_codes[{N}]: expected shape (S, {N}, {d}), got {codes.shape}")
        if not np.all(np.isfinite(codes)) or np.any(np.linalg.norm(codes, axis=-1) == 0):
            raise ValueError(f"start_codes[{N}]: every row must be finite and nonzero")
        out[N] = normalize_rows(np.pad(codes, ((0, 0), (0, N_pad - N), (0, 0))))
    return out


def _check_symmetric(symmetric, groups, d: int, Ns: list[int]) -> dict[int, list[str]]:
    """Validate ``symmetric`` (a count >= 0) and, when it is > 0, ``symmetric_groups`` (`symmetry.group_names`:
    default the rotation groups for d = 3, the antipodal map elsewhere; each N must fit one of them) before any
    compile; returns each N's plan, the group of each of its ``symmetric`` starts per round
    (`symmetry.start_groups`; empty when ``symmetric`` is 0)."""
    from .symmetry import start_groups

    check_int(symmetric, "symmetric", 0)
    return {N: start_groups(N, symmetric, groups, d) for N in Ns} if symmetric else {}


def hop_move_table(moves) -> np.ndarray:
    """Hop moves as a (M, 4) float array of (scale, tau0, region, relocate); a move of three fields
    relocates nothing. ValueError naming ``hop_moves`` on an empty list, a wrong length or a value
    out of range (scale >= 0, tau0 >= 0, 0 < region <= 1, relocate a count >= 0)."""
    rows = []
    for m in moves:
        try:
            m = tuple(float(v) for v in m)
        except (TypeError, ValueError):
            raise ValueError(f"hop_moves: each move is a tuple of numbers, got {m!r}") from None
        if len(m) == 3:
            m = m + (0.0,)
        ok = (len(m) == 4 and all(math.isfinite(v) for v in m) and m[0] >= 0 and m[1] >= 0
              and 0 < m[2] <= 1 and m[3] >= 0 and m[3] == int(m[3]))
        if not ok:
            raise ValueError(f"hop_moves: each move is (scale >= 0, tau0 >= 0, 0 < region <= 1[, relocate >= 0]), "
                             f"got {m!r}")
        rows.append(m)
    if not rows:
        raise ValueError("hop_moves must hold at least one move")
    return np.asarray(rows, np.float64)


def start_temperatures(restart_ids: Iterable[int], start_taus=START_TAUS) -> np.ndarray:
    """First continuation temperature of each restart: ``start_taus`` cycled over the restart index."""
    return np.asarray([start_taus[int(r) % len(start_taus)] for r in restart_ids], np.float64)


def symmetric_temperatures(names, start_taus=START_TAUS) -> np.ndarray:
    """First continuation temperature of each symmetric start, given its group (``names``, `symmetry.start_groups`):
    the rotation groups' starts cycle over ``start_taus``, the antipodal starts over ``ANTIPODAL_START_TAUS``."""
    from .symmetry import ANTIPODAL

    anti = np.cumsum([g == ANTIPODAL for g in names]) - 1
    rot = np.cumsum([g != ANTIPODAL for g in names]) - 1
    return np.asarray([ANTIPODAL_START_TAUS[a % len(ANTIPODAL_START_TAUS)] if g == ANTIPODAL
                       else start_taus[r % len(start_taus)] for g, a, r in zip(names, anti, rot)], np.float64)


def _pad_slots(groups: list[np.ndarray]) -> np.ndarray:
    """Concatenate per-N blocks of equal length, repeating the first block up to a power-of-two count
    of blocks (so a shrinking set of active N compiles only a few batch shapes)."""
    from ..grid.engine import next_pow2

    return np.concatenate(groups + [groups[0]] * (next_pow2(len(groups)) - len(groups)))


def _slot_counts(ns: np.ndarray, size: int) -> np.ndarray:
    """Real-row counts of a slotted batch of ``size`` entries per N (padded like `_pad_slots`)."""
    return _pad_slots([np.full(size, n) for n in ns])


def _unslot(batch: np.ndarray, size: int, count: int) -> list[np.ndarray]:
    """The first ``count`` blocks of ``size`` entries of a slotted batch (padding slots dropped)."""
    return [batch[i * size:(i + 1) * size] for i in range(count)]


@dataclasses.dataclass(eq=False)
class _SearchState:
    index: int  # position in the caller's Ns
    N: int
    rng: np.random.Generator
    direct_rng: np.random.Generator  # the direct hops' own stream: the other draws stay those of direct_hops=0
    best: np.ndarray | None = None
    best_angle: float = -math.inf
    stale: int = 0
    rounds: int = 0
    done: bool = False


def search_codes(d: int, Ns: Iterable[int], **search_kw) -> list[tuple[np.ndarray, float, int]]:
    """`iter_search_codes` collected in the order of ``Ns``: per N (points (N, d), angle deg, rounds)."""
    Ns = list(Ns)
    out: list = [None] * len(Ns)
    for i, found in iter_search_codes(d, Ns, **search_kw):
        out[i] = found
    return out


def iter_search_codes(d: int, Ns: Iterable[int], *, restarts: int = _D["restarts"], seed: int = 0,
                      refine_top: int = _D["refine_top"], max_rounds: int = _D["max_rounds"],
                      patience: int = _D["patience"], hops: int = _D["hops"], improve_tol_deg: float = 1e-8,
                      bucket: int = BUCKET, refine_kw: dict | None = None, screen: dict | bool = True,
                      start_taus=START_TAUS, hop_moves=HOP_MOVES,
                      start_codes=None, symmetric: int = 0, symmetric_groups=None,
                      direct_hops: int = _D["direct_hops"], direct_scales=DIRECT_SCALES
                      ) -> Iterator[tuple[int, tuple[np.ndarray, float, int]]]:
    """Search good Tammes codes for several N at once, from random starts. Yields
    (index into Ns, (points (N, d), angle deg, rounds)) as soon as each N's search stops.

    Every N runs the same search as alone (`search_code`: same random restarts, same perturbations;
    the batch shape can still change float rounding, and so which candidate a round keeps), but the
    N advance in lockstep and each stage is one batch over all active N (padded to the largest N's
    bucket): few large programs instead of many small ones. Each batched refinement
    runs until its slowest lane stops, so a group is not faster than its members one by one on the
    CPU, nor was it on an H100 with 15 N per group (benchmarks/RESULTS.md).

    Round 0 works on ``restarts`` surrogate restarts alone, whose continuations start at the
    temperatures ``start_taus`` cycled over the restart index (`start_temperatures`). Every later
    round pools ``restarts`` fresh surrogate restarts (new restart indices) with ``hops``
    perturbations of the best code so far, each solved again by the surrogate, locally or by a short
    continuation from a cold temperature (basin hopping; ``hop_moves``, default ``HOP_MOVES``, cycled
    over the hops; ``HOP_STAGES``), and ``direct_hops`` perturbations of the best that skip the surrogate
    (one scale of ``direct_scales``, default ``DIRECT_SCALES``, per round, cycled; screened with the pool, ranked
    among themselves).
    ``start_codes`` ({N: (S, N, d)}, optional) adds the caller's own
    codes to round 0's pool (for example `neighbor_starts` of codes found for N - 1 and N + 1); they
    are screened and refined like the rest. Nothing passes them by default: codes taken from a table
    or a construction would make the result a refinement of the record, not a find. ``symmetric``
    (default 0): that many extra fresh restarts per round start as random symmetric codes
    (`symmetry.symmetric_starts`, cycling over ``symmetric_groups``: for d = 3 by default the rotation
    groups of `symmetry.GROUPS` whose orbit sizes sum to N; for other d the antipodal map, the only
    group built there; first temperatures by `symmetric_temperatures`). Every
    round screens its whole pool with a short float64 refinement (``screen``, default ``SCREEN_KW``;
    ``screen=False`` ranks by the surrogate's angles) and refines the best ``refine_top`` distinct
    codes to their max-min optimum (after round 0: ``refine_top - 1`` of the pool plus the best-screened
    direct hop, or with ``direct_hops=0`` one small direct perturbation of the best; with ``refine_top=1`` all from
    the pool and no direct hop is drawn; ``solvers.refine.FAST_KW``: L-BFGS inner solves). An N stops after
    ``max_rounds`` rounds or ``patience`` rounds in a row without a gain above ``improve_tol_deg``
    (never by looking at a record); its best code then gets one full refinement (``refine_kw``,
    default: `refine_tammes`'s, Newton polish to the roundoff floor) before it is yielded.
    """
    d = check_dim(d)
    Ns = [check_count(n) for n in Ns]
    if not Ns:
        raise ValueError("Ns must name at least one point count")
    from ..solvers.refine import FAST_KW

    start_taus, direct_scales = _check_search(restarts, refine_top, max_rounds, patience, hops, seed, start_taus,
                                              direct_hops, direct_scales)
    refine_kw = dict(refine_kw or {})
    round_kw = {**FAST_KW, **refine_kw}
    N_pad = padded_size(max(Ns), bucket)
    seeded = _check_start_codes(start_codes, Ns, d, N_pad)
    sym_plan = _check_symmetric(symmetric, symmetric_groups, d, Ns)  # {N: group of each symmetric start}
    sym_taus = {N: symmetric_temperatures(names, start_taus) for N, names in sym_plan.items()}
    states = [_SearchState(index=i, N=N, rng=np.random.default_rng([seed, d, N, 7]),
                           direct_rng=np.random.default_rng([seed, d, N, 11])) for i, N in enumerate(Ns)]
    moves = hop_move_table(hop_moves)
    hop_scales, hop_taus, hop_regions, hop_relocate = (moves[np.arange(hops) % len(moves), k] for k in range(4))
    for rnd in range(max_rounds):
        active = [st for st in states if not st.done]
        if not active:
            break
        ns = np.asarray([st.N for st in active])
        # 1. pools: fresh restarts (continuation) and basin hops from the best (`HOP_MOVES`)
        ids = range(rnd * restarts, (rnd + 1) * restarts)
        starts = [random_starts(d, st.N, ids, seed, N_pad) for st in active]
        taus = [start_temperatures(ids, start_taus)] * len(active)
        if symmetric:  # extra restarts from random symmetric codes (symmetry.starts_of_groups)
            from .symmetry import starts_of_groups

            starts = [np.concatenate([s, np.pad(starts_of_groups(sym_plan[st.N], st.N, d, st.rng),
                                                ((0, 0), (0, N_pad - st.N), (0, 0)))]) for s, st in zip(starts, active)]
            taus = [np.concatenate([t, sym_taus[st.N]]) for t, st in zip(taus, active)]
        size = restarts + symmetric
        fresh = surrogate_batch(d, _slot_counts(ns, size), _pad_slots(starts), tau_start=_pad_slots(taus))
        pools = _unslot(fresh, size, len(active))
        if rnd == 0 and seeded:  # the caller's codes, each N's cycled up to one common count (one batch shape)
            count = max(len(c) for c in seeded.values())
            pools = [np.concatenate([p, np.resize(seeded.get(st.N, p), (count,) + p.shape[1:])])
                     for st, p in zip(active, pools)]
        if rnd > 0 and hops > 0:
            starts = [perturb(st.best, st.N, hops, st.best_angle, st.rng, scales=hop_scales, regions=hop_regions,
                              relocate=hop_relocate) for st in active]
            hopped = surrogate_batch(d, _slot_counts(ns, hops), _pad_slots(starts), stages=HOP_STAGES,
                                     tau_start=_pad_slots([hop_taus] * len(active)))
            pools = [np.concatenate([p, h]) for p, h in zip(pools, _unslot(hopped, hops, len(active)))]
        n_pool = refine_top if rnd == 0 or refine_top == 1 else refine_top - 1
        n_direct = direct_hops if n_pool < refine_top else 0
        if n_direct:  # perturbations of the best without the surrogate, screened with the pool
            scale = (direct_scales[(rnd - 1) % len(direct_scales)],)
            pools = [np.concatenate([p, perturb(st.best, st.N, n_direct, st.best_angle, st.direct_rng, scales=scale)])
                     for st, p in zip(active, pools)]
        # 2. screening by a short exact refinement, then the best distinct candidates per N
        size = len(pools[0])
        if screen:
            screened = refine_batch(_pad_slots(pools), _slot_counts(ns, size),
                                    **(SCREEN_KW if screen is True else screen))
            pools = _unslot(screened, size, len(active))
        cands = []
        for st, pool in zip(active, pools):
            pool, direct = pool[:size - n_direct], pool[size - n_direct:]
            cand = pool[pick_distinct(exact_angles(pool, st.N), n_pool)]
            if len(cand) < refine_top:  # round 0 (no best yet): repeats of the pool's; later the best direct hops
                fill = refine_top - len(cand)  # (ranked among themselves) or a small perturbation of the best
                cand = np.concatenate([cand, np.resize(cand, (fill,) + cand.shape[1:]) if st.best is None else
                                       direct[pick_distinct(exact_angles(direct, st.N), fill)] if n_direct else
                                       perturb(st.best, st.N, fill, st.best_angle, st.rng, scales=POLISH_SCALES)])
            cands.append(cand)
        # 3. refinement (fast) of every candidate in one batch; per-N bookkeeping
        refined = refine_batch(_pad_slots(cands), _slot_counts(ns, refine_top), **round_kw)
        for st, mine in zip(active, _unslot(refined, refine_top, len(active))):
            angles = exact_angles(mine, st.N)
            j = int(np.nanargmax(angles))
            gain = angles[j] - st.best_angle
            if gain > 0:
                st.best, st.best_angle = mine[j], float(angles[j])
            st.rounds = rnd + 1
            st.stale = 0 if gain > improve_tol_deg else st.stale + 1
            st.done = st.stale >= patience or st.rounds == max_rounds
        # 4. the N that stopped: one full (polished) refinement of each best code, then yield
        stopped = [st for st in active if st.done]
        if stopped:
            polished = refine_batch(_pad_slots([st.best[None] for st in stopped]),
                                    _slot_counts(np.asarray([st.N for st in stopped]), 1), **refine_kw)
            for st, w in zip(stopped, _unslot(polished, 1, len(stopped))):
                angle = float(exact_angles(w, st.N)[0])
                if angle > st.best_angle:
                    st.best, st.best_angle = w[0], angle
                yield st.index, (st.best[:st.N], st.best_angle, st.rounds)


def search_code(d: int, N: int, **search_kw) -> tuple[np.ndarray, float, int]:
    """`search_codes` for one N. Returns (points (N, d), angle deg, rounds)."""
    return search_codes(d, [N], **search_kw)[0]


def overlap_note(row: RecordRow) -> str:
    """', overlap search a -> b deg in K iterations (R raises)' for a row that went through it, else ''."""
    o = row.overlap
    if not o:
        return ""
    return (f", overlap search {o['start_angle_deg']:.9f} -> {o['angle_deg']:.9f} deg in {o['iterations']} iterations "
            f"({o['raised']} raises, {o['seconds']:.0f} s)")


def record_row(d: int, N: int, points: np.ndarray, rounds: int, seconds: float, tol_deg: float = 1e-6,
               overlap: dict | None = None) -> RecordRow:
    """Compare a found code with the best-known record and pack the `RecordRow` (``overlap``: the overlap search's
    summary, if it ran)."""
    c = compare(points, tol_deg=tol_deg)
    rec = c.record
    return RecordRow(d=d, N=N, angle_deg=c.min_angle_deg, record_deg=None if rec is None else rec.min_angle_deg,
                     gap_deg=c.gap_deg, status=None if rec is None else rec.status, matched=c.matched,
                     better=c.better_than_record, congruent=c.congruent_to, contacts=c.contacts, rounds=rounds,
                     seconds=seconds, points=points, symmetry=c.symmetry, overlap=overlap)


def solve_records(d: int, Ns: Iterable[int], restarts: int = _D["restarts"], seed: int = 0, tol_deg: float = 1e-6,
                  **search_kw) -> list[RecordRow]:
    """Search all ``Ns`` in lockstep (`search_codes`, random starts only), then compare each with its
    record. Rows in the order of ``Ns``."""
    Ns = [check_count(n) for n in Ns]
    position = {N: i for i, N in enumerate(Ns)}
    return sorted(iter_solve_records(d, Ns, restarts=restarts, seed=seed, tol_deg=tol_deg, **search_kw),
                  key=lambda r: position[r.N])


def iter_solve_records(d: int, Ns: Iterable[int], restarts: int = _D["restarts"], seed: int = 0,
                       tol_deg: float = 1e-6, overlap_iterations: int = 0, overlap_kw: dict | None = None,
                       **search_kw) -> Iterator[RecordRow]:
    """`solve_records`, yielding each row as soon as its N's search stops (lockstep order, not Ns's).
    A row's ``seconds`` run from the start of the group's search to the stop of its own.
    ``overlap_iterations`` > 0 (opt-in): each N's best code then goes through that many iterations of the
    threshold search on the overlap energy (`overlap.overlap_search`, seeded with ``seed``; further options in
    ``overlap_kw``), which keeps it unless it finds a better one."""
    Ns = [check_count(n) for n in Ns]
    overlap_iterations = check_int(overlap_iterations, "overlap_iterations", 0)
    if overlap_kw is not None and not isinstance(overlap_kw, dict):
        raise ValueError(f"overlap_kw must be a dict of overlap_search options or None, got {overlap_kw!r}")
    if overlap_iterations:  # checked before the search, not after it
        from .overlap import check_overlap_options

        check_overlap_options(iterations=overlap_iterations, seed=seed, **{
            k: v for k, v in (overlap_kw or {}).items() if k not in ("refine_kw", "progress")})
    t0 = time.perf_counter()
    for i, (pts, _, rounds) in iter_search_codes(d, Ns, restarts=restarts, seed=seed, **search_kw):
        summary = None
        if overlap_iterations:
            from .overlap import overlap_search

            found = overlap_search(pts, iterations=overlap_iterations, seed=seed, **(overlap_kw or {}))
            pts, summary = found.points, found.summary()
        yield record_row(d, Ns[i], pts, rounds, time.perf_counter() - t0, tol_deg, overlap=summary)


def solve_record(d: int, N: int, restarts: int = _D["restarts"], seed: int = 0, tol_deg: float = 1e-6,
                 **search_kw) -> RecordRow:
    """Search (`search_code`, random starts only), then compare with the best-known record.

    Returns a `RecordRow`; the record is consulted only after the search has stopped.
    """
    return solve_records(d, [N], restarts=restarts, seed=seed, tol_deg=tol_deg, **search_kw)[0]


def run_records(d: int, Ns: Iterable[int], restarts: int = _D["restarts"], seed: int = 0, progress: bool | None = None,
                lockstep: int = 1, **kw) -> Iterator[RecordRow]:
    """Yield a `RecordRow` for each N, solving ``lockstep`` consecutive N at a time in one batched
    search (`iter_solve_records`; 1 = one N at a time, the fastest measured so far on CPU and GPU).
    One progress line per row on stderr (default: if a TTY)."""
    Ns = [check_count(n) for n in Ns]
    lockstep = check_int(lockstep, "lockstep", 1)
    progress = sys.stderr.isatty() if progress is None else progress
    done = 0
    for g in range(0, len(Ns), lockstep):
        for row in iter_solve_records(d, Ns[g:g + lockstep], restarts=restarts, seed=seed, **kw):
            done += 1
            if progress:
                gap = "n/a" if row.gap_deg is None else f"{row.gap_deg:+.2e}"
                print(f"[{done}/{len(Ns)}] d={d} N={row.N}: {row.angle_deg:.7f} deg, gap {gap}, {row.seconds:.1f} s"
                      f"{overlap_note(row)}", file=sys.stderr, flush=True)
            yield row


def parse_range(text: str, name: str = "N", lo: int = 2) -> list[int]:
    """'4:130' (inclusive), '4,8,12', '4:10,24' -> sorted unique ints; ValueError naming ``name``."""
    out: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        try:
            if ":" in part:
                a, b = part.split(":")
                a, b = int(a), int(b)
                if b < a:
                    raise ValueError
                out.update(range(a, b + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise ValueError(f"{name}: expected A:B (inclusive) or a comma list of integers, got {text!r}") from None
    if not out or min(out) < lo:
        raise ValueError(f"{name}: values must be integers >= {lo}, got {text!r}")
    return sorted(out)


def parse_cells(text: str, name: str = "--cells") -> list[tuple[int, int]]:
    """'8:86,6:84-86' -> [(8, 86), (6, 84), (6, 85), (6, 86)]: (d, N) cells, N1-N2 inclusive, in the given order
    without repeats; ValueError naming ``name`` for a malformed item, d < 2, N < 2, N1 > N2 or no cell."""
    cells: list[tuple[int, int]] = []
    for item in (x.strip() for x in str(text).split(",") if x.strip()):
        m = re.fullmatch(r"(\d+):(\d+)(?:-(\d+))?", item)
        if m is None:
            raise ValueError(f"{name}: expected d:N or d:N1-N2 in a comma list, got {item!r}")
        d, n1 = int(m[1]), int(m[2])
        n2 = int(m[3]) if m[3] else n1
        if d < 2 or n1 < 2 or n2 < n1:
            raise ValueError(f"{name}: {item!r} needs d >= 2, N >= 2 and N1 <= N2")
        cells += [(d, n) for n in range(n1, n2 + 1) if (d, n) not in cells]
    if not cells:
        raise ValueError(f"{name}: no cells in {text!r}")
    return cells


def parse_scales(text: str, name: str = "--direct-scales") -> tuple[float, ...]:
    """'0.02,0.05' -> (0.02, 0.05): one or more finite scales > 0 in a comma list; ValueError naming ``name``."""
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise ValueError(f"{name}: expected a comma list of numbers, got {text!r}") from None
    return _positive_floats(values, name, "scales")


__all__ = ["RecordRow", "deepest_hole", "distinct_holes", "exact_angles", "grown_codes", "neighbor_starts",
           "polish_holes", "thinned_codes", "hop_move_table", "iter_search_codes", "iter_solve_records", "overlap_note",
           "parse_cells", "parse_scales", "parse_range", "perturb", "pick_distinct", "random_starts", "record_row",
           "refine_batch", "relocate_points", "row_masks", "run_records", "search_code", "search_codes", "solve_record",
           "solve_records", "start_temperatures", "surrogate_batch", "symmetric_temperatures", "HOP_MOVES",
           "RELOCATE_MOVES", "DIRECT_SCALES", "SCREEN_KW", "SEARCH_DEFAULTS", "START_TAUS", "ANTIPODAL_START_TAUS",
           "HOLE_TAUS", "HOLE_STEPS"]
