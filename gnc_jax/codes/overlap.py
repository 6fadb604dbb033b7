"""Threshold search on the overlap energy: lifts a found code out of a basin that hops and refinement cannot leave.

For a target angle theta_t a little above a code's own minimal angle, the overlap energy

    E_t(X) = 1/2 sum_{i != j} max(0, <x_i, x_j> - cos theta_t)^2        (X: (N, d) unit rows)

is zero exactly on the codes whose minimal angle is at least theta_t. It counts only the pairs that are too close,
each by how much, so unlike the smooth surrogate (a logsumexp of all cosines) it is not biased against codes with
many contacts. `overlap_search` keeps ``lanes`` configurations; each iteration moves every lane (one point to the
deepest hole, the most overlapped point to the deepest hole, noise on a region, or small noise everywhere),
minimizes E_t from there (Riemannian L-BFGS on the oblique manifold in float64, all lanes in one compiled batch)
and accepts the result when its energy is below (1 + threshold) times the lane's current energy (a larger
threshold every ``kick_every`` iterations; every lane back at the best energy every ``reset_every``). A
configuration with E_t = 0 reaches the target, which then moves above its angle. At the end the best-energy and
the largest-angle configurations are refined exactly (`records.refine_batch`); the result is never worse than the
input. On d = 3, N = 127 this took our best code (+3.2e-4 deg short) to the record (benchmarks/RESULTS.md).

    res = overlap_search(points, iterations=1000, lanes=4, seed=0)   # points: (N, d), e.g. a search's best
    res.points, res.angle_deg, res.start_angle_deg, res.raised

Nothing here reads a table: the target comes from the code's own angle.
"""
from __future__ import annotations

import functools
import math
import sys
import time
from typing import NamedTuple

import numpy as np

from ._validate import check_int, check_points
from .compare import min_angle_deg


def _angle(x: np.ndarray) -> float:
    return float(min_angle_deg(x))

OVERLAP_MOVES = ("hole", "worst-to-hole", "region", "global")  # cycled at random, one per lane and iteration
REGION_SIZES = (5, 25)  # a regional move perturbs this many (low inclusive, high exclusive) nearest points
REGION_SCALE = 0.3  # its noise, in units of the minimal angle (radians)
GLOBAL_SCALES = (0.05, 0.1, 0.2)  # noise of the global move, in units of the minimal angle
HOLE_SAMPLES = 2048  # random candidates per deepest-hole search (then polished, `records.polish_holes`)


class OverlapHistory(NamedTuple):
    """The search's log, one entry per iteration (arrays of shape (iterations,)): best_energy: the lowest E_t so far
    at that iteration's target (a raise of the target starts it again from the new target's energy);
    best_angle_deg: the largest raw (unrefined) minimal angle so far; target_deg: the target after the iteration;
    accepted: lane moves accepted in it; seconds: wall time at its end. ``pandas.DataFrame(history._asdict())``
    makes it a table."""

    best_energy: np.ndarray
    best_angle_deg: np.ndarray
    target_deg: np.ndarray
    accepted: np.ndarray
    seconds: np.ndarray


class OverlapResult(NamedTuple):
    """points: (N, d) float64 unit rows, the best code (never worse than the input); angle_deg: its minimal angle;
    start_angle_deg: the input's; target_deg: the last target angle; raised: how often a configuration reached the
    target (energy zero) and the target moved up; iterations: iterations run; accepted: lane moves accepted;
    nonfinite: local solves that ended non-finite (never accepted); seconds: wall time; history: the per-iteration
    log (`OverlapHistory`)."""

    points: np.ndarray
    angle_deg: float
    start_angle_deg: float
    target_deg: float
    raised: int
    iterations: int
    accepted: int
    nonfinite: int
    seconds: float
    history: OverlapHistory

    def summary(self) -> dict:
        """The scalar fields as a JSON-safe dict (no points, no history)."""
        return {k: (float(v) if isinstance(v, float) else int(v)) for k, v in self._asdict().items()
                if k not in ("points", "history")}


def overlap_energy(W, args):
    """E_t of (N, d) rows W; ``args``: mask (N,) 0/1 (rows with 0 are padding), cos_target (scalar). Scalar."""
    import jax.numpy as jnp
    from jax import lax

    g = jnp.matmul(W, W.T, precision=lax.Precision.HIGHEST)
    m = args["mask"]
    pair = m[:, None] * m[None, :] * (1.0 - jnp.eye(W.shape[0], dtype=W.dtype))
    v = jnp.maximum(g - args["cos_target"], 0.0) * pair
    return 0.5 * jnp.sum(v * v)


def overlap_energy_np(x: np.ndarray, cos_target: float) -> float:
    """`overlap_energy` of unit rows x (N, d) in numpy float64."""
    g = x @ x.T
    np.fill_diagonal(g, -1.0)
    v = np.maximum(g - cos_target, 0.0)
    return 0.5 * float(np.sum(v * v))


@functools.lru_cache(maxsize=None)
def _local_batch_fn(max_steps: int, memory: int):
    import jax

    from ..manifolds import Oblique, Product
    from ..solvers.descents import LBFGS
    from ..solvers.minimize import Solver

    solver = Solver(descent=LBFGS(memory), max_steps=max_steps, gtol=0.0)

    def one(w, mask, cos_target):
        res = solver.run(lambda x, args: overlap_energy(x["W"], args), Product({"W": Oblique(row_mask=mask)}),
                         {"W": w}, dict(mask=mask, cos_target=cos_target))
        return res.x["W"], res.value, res.status

    return jax.jit(jax.vmap(one, in_axes=(0, None, None)))


def local_minimize(W: np.ndarray, cos_target: float, max_steps: int = 1500, memory: int = 20):
    """Minimize E_t from each of the (B, N, d) configurations W (float64, one compiled batch per shape).
    Returns (W (B, N, d) unit rows, energies (B,), statuses (B,) `solvers.Status` codes)."""
    import jax

    from ..solvers.base import Status

    with jax.enable_x64(True):
        fn = _local_batch_fn(int(max_steps), int(memory))
        w = np.asarray(W, np.float64)
        x, e, s = fn(w, np.ones(w.shape[1], np.float64), np.float64(cos_target))
        x, e, s = (np.asarray(a) for a in jax.device_get((x, e, s)))
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    bad = ~np.isfinite(e) | (s == Status.NONFINITE) | ~np.all(np.isfinite(x), axis=(1, 2))
    return x, np.where(bad, np.inf, e), s


def move(x: np.ndarray, kind: str, cos_target: float, rng: np.random.Generator) -> np.ndarray:
    """One `OVERLAP_MOVES` move of the configuration x (N, d) unit rows; returns new unit rows. "worst-to-hole" moves
    one of the three points with the largest overlap energy at ``cos_target``."""
    from .records import deepest_hole, normalize_rows

    N, d = x.shape
    y = x.copy()
    theta = math.radians(_angle(x))
    if kind in ("hole", "worst-to-hole"):
        if kind == "hole":
            i = int(rng.integers(N))
        else:
            g = x @ x.T
            np.fill_diagonal(g, -1.0)
            worst = np.argsort(-np.sum(np.maximum(g - cos_target, 0.0) ** 2, axis=1))[:3]
            i = int(rng.choice(worst))
        y[i] = deepest_hole(np.delete(x, i, axis=0), rng, HOLE_SAMPLES)
    elif kind == "region":
        k = min(N, int(rng.integers(*REGION_SIZES)))
        near = np.argsort(-(x @ x[int(rng.integers(N))]))[:k]
        y[near] += rng.normal(scale=REGION_SCALE * theta, size=(k, d))
    elif kind == "global":
        y += rng.normal(scale=float(rng.choice(GLOBAL_SCALES)) * theta, size=y.shape)
    else:
        raise ValueError(f"kind must be one of {OVERLAP_MOVES}, got {kind!r}")
    return normalize_rows(y)


class OverlapOptions(NamedTuple):
    """`overlap_search`'s options and their defaults (see its docstring)."""

    eps_deg: float = 5e-4
    iterations: int = 500
    lanes: int = 4
    threshold: float = 0.2
    kick_threshold: float = 1.0
    kick_every: int = 50
    reset_every: int = 200
    seed: int = 0
    time_limit: float | None = None
    max_steps: int = 1500


def check_overlap_options(**options) -> OverlapOptions:
    """`OverlapOptions` from keyword options, checked and normalized (ValueError naming the option, or naming an
    unknown one)."""
    from ..api import _check_positive

    unknown = sorted(set(options) - set(OverlapOptions._fields))
    if unknown:
        raise ValueError(f"unknown overlap_search option(s) {unknown}; known: {list(OverlapOptions._fields)}")
    o = OverlapOptions(**options)
    for value, name in ((o.threshold, "threshold"), (o.kick_threshold, "kick_threshold")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return o._replace(
        eps_deg=_check_positive("eps_deg", o.eps_deg), iterations=check_int(o.iterations, "iterations", 1),
        lanes=check_int(o.lanes, "lanes", 1), threshold=float(o.threshold), kick_threshold=float(o.kick_threshold),
        kick_every=check_int(o.kick_every, "kick_every", 1), reset_every=check_int(o.reset_every, "reset_every", 1),
        seed=check_int(o.seed, "seed", 0), max_steps=check_int(o.max_steps, "max_steps", 1),
        time_limit=None if o.time_limit is None else _check_positive("time_limit", o.time_limit))


def overlap_search(points, *, refine_kw: dict | None = None, progress: bool = False, **options) -> OverlapResult:
    """Threshold search on E_t from a code ``points`` (N, d); see the module docstring.

    options (`OverlapOptions`, defaults there): eps_deg: the target is the best minimal angle so far plus this;
    iterations: at most this many (each moves and locally solves all ``lanes``); threshold / kick_threshold:
    acceptance E_new < (1 + threshold) E_current (kick_threshold every ``kick_every``-th iteration); reset_every:
    every lane restarts from the best-energy configuration this often; seed; time_limit: seconds, stop after the
    iteration that passes it (None: no limit); max_steps: L-BFGS iterations per local solve. refine_kw:
    `refine_tammes` options for the final refinement; progress: a line on stderr every 50 iterations.
    ValueError naming the argument on bad input (before anything is compiled).
    """
    from .records import refine_batch

    x0 = check_points(points)
    N, d = x0.shape
    if d < 2:
        raise ValueError(f"points must have dimension d >= 2, got shape {x0.shape}")
    o = check_overlap_options(**options)
    lanes = o.lanes

    t0 = time.perf_counter()
    rng = np.random.default_rng(o.seed)
    start_angle = _angle(x0)
    best_angle, best_angle_x = start_angle, x0
    target = start_angle + o.eps_deg
    c_t = math.cos(math.radians(target))
    cur, e_cur, _ = local_minimize(np.repeat(x0[None], lanes, axis=0), c_t, o.max_steps)
    ib = int(np.argmin(e_cur))
    best_x, best_e = cur[ib].copy(), float(e_cur[ib])
    raised = accepted = nonfinite = 0
    log = []
    for it in range(1, o.iterations + 1):
        accepted_before = accepted
        kinds = rng.choice(len(OVERLAP_MOVES), lanes)
        trial = np.stack([move(cur[k], OVERLAP_MOVES[kinds[k]], c_t, rng) for k in range(lanes)])
        new, e_new, _ = local_minimize(trial, c_t, o.max_steps)
        nonfinite += int(np.sum(~np.isfinite(e_new)))
        for k in range(lanes):
            if not np.isfinite(e_new[k]):
                continue
            a = _angle(new[k])
            if a > best_angle:
                best_angle, best_angle_x = a, new[k].copy()
            if e_new[k] == 0.0:  # the target is reached: aim above this configuration's angle
                raised += 1
                target = a + o.eps_deg
                c_t = math.cos(math.radians(target))
                cur = np.repeat(new[k][None], lanes, axis=0)
                e_cur = np.full(lanes, overlap_energy_np(new[k], c_t))
                best_x, best_e = new[k].copy(), float(e_cur[0])
                break
            bar = o.kick_threshold if it % o.kick_every == 0 else o.threshold
            if e_new[k] < e_cur[k] * (1.0 + bar):
                cur[k], e_cur[k] = new[k], e_new[k]
                accepted += 1
                if e_new[k] < best_e:
                    best_x, best_e = new[k].copy(), float(e_new[k])
        if it % o.reset_every == 0:
            cur, e_cur = np.repeat(best_x[None], lanes, axis=0), np.full(lanes, best_e)
        log.append((best_e, best_angle, target, accepted - accepted_before, time.perf_counter() - t0))
        if progress and it % 50 == 0:
            print(f"overlap search N={N} d={d}: iteration {it}, best energy {best_e:.3e}, best raw angle "
                  f"{best_angle:.9f} deg, target {target:.9f}, {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                  flush=True)
        if o.time_limit is not None and time.perf_counter() - t0 > o.time_limit:
            break
    refined = refine_batch(np.stack([best_x, best_angle_x]), N, **(refine_kw or {}))
    cands = [x0, *refined]
    angles = [_angle(c) for c in cands]
    i = int(np.argmax(angles))
    columns = np.array(log, np.float64).reshape(-1, len(OverlapHistory._fields)).T
    history = OverlapHistory(*columns[:3], columns[3].astype(np.int64), columns[4])
    return OverlapResult(points=cands[i], angle_deg=angles[i], start_angle_deg=start_angle, target_deg=target,
                         raised=raised, iterations=it, accepted=accepted, nonfinite=nonfinite,
                         seconds=time.perf_counter() - t0, history=history)


__all__ = ["OVERLAP_MOVES", "OverlapHistory", "OverlapOptions", "OverlapResult", "check_overlap_options",
           "local_minimize", "move", "overlap_energy", "overlap_energy_np", "overlap_search"]
