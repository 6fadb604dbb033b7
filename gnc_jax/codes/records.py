"""Records pipeline: random starts -> batched surrogate solve -> exact refinement -> basin search.

`solve_record(d, N)` finds a Tammes code of N points on S^{d-1} from random starts only (nothing
here reads the tables or constructions before the search has stopped) and then measures it
against the best-known record with `compare`:

1. round 0: ``restarts`` Gaussian starts (``api.random_points``), one batched tau-continuation of
   the smooth Tammes surrogate (``api.solve_batch``, N padded up to a bucket so one compile
   serves several N), exact float64 angles of every restart;
2. the pool is screened by a short float64 refinement (a few augmented-Lagrangian steps; the
   surrogate's own angles cannot rank basins), and the best few distinct codes (``refine_top``)
   go through the full exact max-min refinement (``solvers.refine.refine_tammes``) in one batch;
3. rounds 1, 2, ...: fresh random restarts (new restart indices) plus perturbations of the best
   code so far (basin hopping at a few scales), screened and refined the same way. The search stops after
   ``max_rounds`` rounds or after ``patience`` rounds without an improvement of more than
   ``improve_tol_deg`` — a rule that never looks at the record.

`run_records(d, Ns)` yields one `RecordRow` per N (progress on stderr when it is a TTY).
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from typing import Iterable, Iterator

import numpy as np

from ._validate import check_count, check_dim
from .compare import compare, min_angle_deg

BUCKET = 8  # pad N up to a multiple of this: one compile per bucket and batch size
PERTURB_SCALES = (0.05, 0.15, 0.3)  # perturbation sigma, in units of the current minimal angle
HOP_SCALES = (0.1, 0.2, 0.3, 0.5)  # basin hops: perturb, then a local surrogate solve
POLISH_SCALES = (0.01,)  # a small direct perturbation of the best, refined as is
# Screening: a short float64 refinement of the whole pool. The surrogate's end point stops
# 0.05-0.2 deg short of its basin's optimum, more than basins differ, so its angle cannot rank
# candidates; a few augmented-Lagrangian outer steps can, at a fraction of a full refinement.
SCREEN_KW = dict(inner="lbfgs", max_outer=8, inner_steps=100, tol=1e-8)
# The search's defaults: the one source for search_code, solve_record, run_records, the records
# CLI and benchmarks/tammes_records.py.
SEARCH_DEFAULTS = dict(restarts=16, max_rounds=8, patience=3, hops=128, refine_top=2)
_D = SEARCH_DEFAULTS


@dataclasses.dataclass
class RecordRow:
    """One (d, N) result. Angles in degrees; gap_deg = record - found (negative: better).

    status: the record's status (None when no record is known); matched: |gap| <= tol_deg;
    congruent: name of a known code congruent to the result, else None; contacts: pairs at the
    minimal angle; rounds: search rounds used; seconds: wall time of the search (compiles
    included); points: (N, d) float64 unit rows.
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

    def to_dict(self, points: bool = False) -> dict:
        """JSON-safe dict; coordinates only when ``points``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "points"}
        if points:
            out["points"] = np.asarray(self.points).tolist()
        return out


# ----------------------------------------------------------------------------------------------
# stages (pure helpers)
# ----------------------------------------------------------------------------------------------
def padded_size(N: int, bucket: int = BUCKET) -> int:
    """N rounded up to a multiple of ``bucket``."""
    return int(math.ceil(N / bucket) * bucket)


def surrogate_batch(d: int, N: int, restart_ids: Iterable[int], seed: int, *, N_pad: int | None = None,
                    max_steps: int = 1000, stages: int | None = None, starts: np.ndarray | None = None) -> np.ndarray:
    """Batched surrogate Tammes solve (float32, api defaults) from random starts ``restart_ids``
    (``api.random_points``) or from explicit ``starts`` (R, N_pad, d), e.g. perturbations of a code
    found earlier. ``stages``: continuation stages (default 6, from tau 0.03; 1 = a local solve
    at the final tau). Returns W (R, N_pad, d) float64 with rows >= N zero.
    """
    import jax

    from .. import api
    from ..problems import default_stages

    N_pad = N if N_pad is None else N_pad
    spec = api.make_spec("tammes", N, d)
    if starts is None:
        pts = [api.random_points(spec, seed, r, N_pad, d, 1, np.float32) for r in restart_ids]
        x0 = {k: np.stack([s[k] for s in pts]) for k in pts[0]}
    else:
        x0 = {"W": np.asarray(starts, np.float32)}
    R = len(x0["W"])
    solver = api.make_solver("lbfgs", max_steps=max_steps)
    stages = default_stages(spec.pdef, spec.tau) if stages is None else stages
    res = api.solve_batch([spec] * R, x0, solver, stages=stages, C_pad=N_pad, d_pad=d, n_pad=1)
    w = np.asarray(jax.device_get(res.x["W"]), np.float64)
    w[:, N:] = 0.0
    return normalize_rows(w)


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


def perturb(best: np.ndarray, N: int, count: int, angle_deg: float, rng: np.random.Generator,
            scales=PERTURB_SCALES) -> np.ndarray:
    """``count`` Gaussian perturbations of ``best`` (N_pad, d), sigma = scale x angle (radians),
    cycling over ``scales``; padded rows stay zero. Returns (count, N_pad, d) unit rows."""
    theta = math.radians(angle_deg)
    out = np.repeat(best[None], count, axis=0).astype(np.float64)
    for i in range(count):
        sigma = scales[i % len(scales)] * theta
        out[i, :N] += sigma * rng.standard_normal(out[i, :N].shape)
    out[:, N:] = 0.0
    return normalize_rows(out)


def refine_batch(w: np.ndarray, N: int, **refine_kw) -> np.ndarray:
    """Exact float64 refinement of a batch (B, N_pad, d) with rows >= N masked; returns refined W."""
    from ..solvers.refine import refine_tammes

    mask = np.zeros(w.shape[:2])
    mask[:, :N] = 1.0
    return normalize_rows(np.asarray(refine_tammes(w, mask, **refine_kw).W))


# ----------------------------------------------------------------------------------------------
# pipeline
# ----------------------------------------------------------------------------------------------
def search_code(d: int, N: int, *, restarts: int = _D["restarts"], seed: int = 0, refine_top: int = _D["refine_top"],
                max_rounds: int = _D["max_rounds"], patience: int = _D["patience"], hops: int = _D["hops"],
                improve_tol_deg: float = 1e-9, bucket: int = BUCKET, refine_kw: dict | None = None, screen: dict | bool = True) -> tuple[np.ndarray, float, int]:
    """Search for a good Tammes code from random starts. Returns (points (N, d), angle deg, rounds).

    Round 0 works on ``restarts`` surrogate restarts alone. Every later round pools
    ``restarts`` fresh surrogate restarts (new restart indices) with ``hops`` perturbations of the
    best code so far, each solved locally by the surrogate at its final temperature (basin
    hopping). Every round screens its whole pool with a short float64 refinement (``screen``,
    default ``SCREEN_KW``; ``screen=False`` ranks by the surrogate's angles) and fully refines
    the best ``refine_top`` distinct codes (``refine_top - 1`` plus one small direct perturbation
    of the best, after round 0). Stops after ``max_rounds`` rounds or ``patience`` rounds
    in a row without a gain above ``improve_tol_deg`` (never by looking at a record).
    """
    d, N = check_dim(d), check_count(N)
    for name, v, lo in (("restarts", restarts, 1), ("refine_top", refine_top, 1), ("max_rounds", max_rounds, 1),
                        ("patience", patience, 1), ("hops", hops, 0), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    refine_kw = dict(refine_kw or {})
    N_pad = padded_size(N, bucket)
    rng = np.random.default_rng([seed, d, N, 7])
    best, best_angle, stale, rounds = None, -math.inf, 0, 0
    for rnd in range(max_rounds):
        rounds = rnd + 1
        pool = surrogate_batch(d, N, range(rnd * restarts, (rnd + 1) * restarts), seed, N_pad=N_pad)
        if best is not None and hops > 0:
            starts = perturb(best, N, hops, best_angle, rng, scales=HOP_SCALES)
            pool = np.concatenate([pool, surrogate_batch(d, N, (), seed, N_pad=N_pad, stages=1, starts=starts)])
        n_pool = refine_top if best is None or refine_top == 1 else refine_top - 1
        if screen:
            pool = refine_batch(pool, N, **(SCREEN_KW if screen is True else screen))
        cand = pool[pick_distinct(exact_angles(pool, N), n_pool)]
        if len(cand) < refine_top:
            cand = np.concatenate([cand, perturb(best, N, refine_top - len(cand), best_angle, rng,
                                                 scales=POLISH_SCALES)])
        refined = refine_batch(cand, N, **refine_kw)
        angles = exact_angles(refined, N)
        i = int(np.nanargmax(angles))
        gain = angles[i] - best_angle
        if gain > 0:
            best, best_angle = refined[i], float(angles[i])
        stale = 0 if gain > improve_tol_deg else stale + 1
        if stale >= patience:
            break
    return best[:N], best_angle, rounds


def solve_record(d: int, N: int, restarts: int = _D["restarts"], seed: int = 0, tol_deg: float = 1e-6, **search_kw) -> RecordRow:
    """Search (`search_code`, random starts only), then compare with the best-known record.

    Returns a `RecordRow`; the record is consulted only after the search has stopped.
    """
    t0 = time.perf_counter()
    points, _, rounds = search_code(d, N, restarts=restarts, seed=seed, **search_kw)
    seconds = time.perf_counter() - t0
    c = compare(points, tol_deg=tol_deg)
    rec = c.record
    return RecordRow(d=d, N=N, angle_deg=c.min_angle_deg, record_deg=None if rec is None else rec.min_angle_deg,
                     gap_deg=c.gap_deg, status=None if rec is None else rec.status, matched=c.matched,
                     better=c.better_than_record, congruent=c.congruent_to, contacts=c.contacts, rounds=rounds,
                     seconds=seconds, points=points)


def run_records(d: int, Ns: Iterable[int], restarts: int = _D["restarts"], seed: int = 0, progress: bool | None = None,
                **kw) -> Iterator[RecordRow]:
    """Yield `solve_record(d, N, ...)` for each N; one progress line per row on stderr (default: if a TTY)."""
    Ns = [check_count(n) for n in Ns]
    progress = sys.stderr.isatty() if progress is None else progress
    for i, N in enumerate(Ns):
        row = solve_record(d, N, restarts=restarts, seed=seed, **kw)
        if progress:
            gap = "n/a" if row.gap_deg is None else f"{row.gap_deg:+.2e}"
            print(f"[{i + 1}/{len(Ns)}] d={d} N={N}: {row.angle_deg:.7f} deg, gap {gap}, {row.seconds:.1f} s",
                  file=sys.stderr, flush=True)
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


__all__ = ["RecordRow", "exact_angles", "parse_range", "perturb", "pick_distinct", "refine_batch", "run_records",
           "search_code", "solve_record", "surrogate_batch", "SEARCH_DEFAULTS", "SCREEN_KW"]
