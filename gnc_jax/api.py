"""Public API: ``solve`` one (problem, C, d, tau) with many restarts in one compiled program.

Data path: validate (host, before tracing) -> hyperparameter arrays with masks -> random
starting points (host numpy, independent of padding) -> one jitted ``vmap`` over restarts of
(continuation of) a Riemannian solve -> exact figures of merit in float64 -> best restart.

The batched core, ``solve_batch``, takes any number of problems of one padded shape; a grid
bucket and a single solve use the same function (a single solve is a batch of ``restarts``).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import metrics
from ._checks import check_bool
from ._checks import check_finite as _check_finite
from ._checks import check_int as _check_int
from ._checks import check_nonneg as _check_nonneg
from ._checks import check_positive as _check_positive
from .problems import SOLVERS, ProblemDef, check_objective, default_stages, get_problem, tau_schedule
from .solvers import RCG, RGD, RLBFGS, RTR, OptaxSolver, Result, Status, run_continuation

REFINABLE = ("tammes", "softmax-code")


# ----------------------------------------------------------------------------------------------
# validation (host side, before anything is traced)
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Spec:
    """A validated problem instance (one grid cell)."""

    problem: str
    C: int
    d: int
    tau: float | None
    n: int
    hparams: tuple[tuple[str, float], ...]

    @property
    def pdef(self) -> ProblemDef:
        return get_problem(self.problem)


def make_spec(problem: str, C, d, tau=None, n=1, **hparams) -> Spec:
    """Validate inputs and fill defaults; raises ValueError naming the offending argument."""
    p = get_problem(problem)
    C = _check_int("C", C, 2)
    d = _check_int("d", d, 1)
    n = _check_int("n", n, 1)
    if p.uses_tau:
        if tau is None:
            if p.default_tau is None:
                raise ValueError(f"tau is required for problem {problem!r} (a positive temperature)")
            tau = p.default_tau
        tau = _check_positive("tau", tau)
    elif tau is not None:
        raise ValueError(f"tau: problem {problem!r} has no temperature; leave tau unset")
    known = dict(p.hparams)
    unknown = set(hparams) - set(known)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown hyperparameter for {problem!r}; known: {sorted(known)}")
    hp = {k: hparams.get(k, v) for k, v in known.items()}
    for k, v in hp.items():
        if p.custom:
            hp[k] = _check_finite(k, v)
        else:
            hp[k] = _check_positive(k, v) if k in ("alpha", "beta") else _check_nonneg(k, v)
    if not p.uses_n and n != 1:
        raise ValueError(f"n: problem {problem!r} has one point per class; n must be 1")
    if p.validate is not None:
        p.validate(C, d, n, hp)
    if p.custom:
        check_objective(p, C, d, n)
    return Spec(problem, C, d, tau, n, tuple(sorted(hp.items())))


def make_solver(solver: str | Any = "lbfgs", *, max_steps: int = 1000, gtol: float | None = None,
                dtype=jnp.float32, history: bool = False, learning_rate: float = 1e-2, gtol_scaled: bool = False):
    """Solver by name ("lbfgs", "cg", "gd", "adam", "tr": trust regions) or a solver object passed through.

    ``gtol``: tolerance on the Riemannian gradient norm, 1e-5 (float32) or 1e-10 (float64) when None. With
    ``gtol_scaled`` (problems whose objective vanishes at the optimum, ``ProblemDef.vanishing``) it is scaled by
    min(1, |f|): absolute while |f| >= 1, relative below; its float32 default is then 1e-7, near the float32 floor
    of the CE's gradient, since at tau ~ 1 the CE is flat enough that 1e-5 leaves rho(W) ~1e-3 off.
    """
    if not isinstance(solver, str):
        return solver
    if solver not in SOLVERS:
        raise ValueError(f"solver: unknown solver {solver!r}; choose one of {list(SOLVERS)}")
    max_steps = _check_int("max_steps", max_steps, 1)
    if gtol is None:
        gtol = (1e-7 if gtol_scaled else 1e-5) if jnp.dtype(dtype) == jnp.float32 else 1e-10
    gtol = _check_nonneg("gtol", gtol)
    kw = dict(max_steps=max_steps, gtol=gtol, gtol_scaled=bool(gtol_scaled), history=history)
    if solver == "adam":
        import optax

        return OptaxSolver(optax.adam(_check_positive("learning_rate", learning_rate)), **kw)
    return {"lbfgs": RLBFGS, "cg": RCG, "gd": RGD, "tr": RTR}[solver](**kw)


# ----------------------------------------------------------------------------------------------
# batched core
# ----------------------------------------------------------------------------------------------
def batch_hparams(specs: list[Spec], C_pad: int, d_pad: int, n_pad: int, stages: int, dtype,
                  tau_start=None) -> dict:
    """Stack the hyperparameters and masks of ``specs`` (one row per problem) as numpy arrays.
    ``tau_start``: None, a float or one float per spec: first continuation temperature (`tau_schedule`)."""
    np_dtype = np.dtype(jnp.dtype(dtype).name)
    B = len(specs)
    hp = {
        "class_mask": np.zeros((B, C_pad), np_dtype),
        "dim_mask": np.zeros((B, d_pad), np_dtype),
        "sample_mask": np.zeros((B, n_pad), np_dtype),
    }
    for b, s in enumerate(specs):
        hp["class_mask"][b, : s.C] = 1
        hp["dim_mask"][b, : s.d] = 1
        hp["sample_mask"][b, : s.n] = 1
    p = specs[0].pdef
    if tau_start is None:
        starts = [None] * B
    else:
        starts = np.ravel(np.asarray(tau_start, np.float64))
        if starts.size == 1:
            starts = np.repeat(starts, B)
        if starts.shape != (B,):
            raise ValueError(f"tau_start must be one temperature or one per problem ({B}), got {starts.size}")
    if p.uses_tau:
        hp["tau"] = np.asarray([s.tau for s in specs], np_dtype)
        hp["taus"] = np.asarray([tau_schedule(p, s.tau, stages, None if t0 is None else float(t0))
                                 for s, t0 in zip(specs, starts)], np_dtype)
    for key, _ in p.hparams:
        hp[key] = np.asarray([dict(s.hparams)[key] for s in specs], np_dtype)
    return hp


def random_points(spec: Spec, seed: int, restart: int, C_pad: int, d_pad: int, n_pad: int, dtype) -> dict:
    """Starting point of restart ``restart``: Gaussian rows, normalized on spherical factors, drawn
    at the true (C, n, d) and zero-padded, so padding never changes a start. Host numpy."""
    rng = np.random.default_rng([int(seed), int(restart)])
    p = spec.pdef
    np_dtype = np.dtype(jnp.dtype(dtype).name)
    point = {}
    for key, kind in p.factors:
        true_shape = {"sphere": (spec.C, spec.d), "euclid": (spec.C, spec.d), "vector": (spec.C,),
                      "sphere_n": (spec.C, spec.n, spec.d), "euclid_n": (spec.C, spec.n, spec.d)}[kind]
        pad_shape = p.shapes(C_pad, d_pad, n_pad)[key]
        x = rng.standard_normal(true_shape)
        if kind.startswith("sphere"):
            x /= np.linalg.norm(x, axis=-1, keepdims=True)
        else:
            x *= 0.1
        out = np.zeros(pad_shape, np_dtype)
        out[tuple(slice(0, s) for s in true_shape)] = x
        point[key] = out
    return point


def random_batch(starts, C_pad: int, d_pad: int, n_pad: int, dtype) -> dict:
    """`random_points` of each (spec, seed, restart) in ``starts``, stacked: dict of (B, ...) arrays."""
    pts = [random_points(spec, seed, r, C_pad, d_pad, n_pad, dtype) for spec, seed, r in starts]
    return {k: np.stack([p[k] for p in pts]) for k in pts[0]}


def compiled_batch_solve(problem: str | ProblemDef, solver, stages: int, progress_every: int = 0,
                         warm_steps: int | None = None):
    """Jitted ``(x0, hp) -> Result`` vmapped over a leading batch axis; one trace per shape/dtype. Cached by the
    problem's definition, not its name, so a custom problem registered again compiles its new objective.
    ``progress_every`` > 0: the same results from one loop over the batch that reports every so many iterations
    (`solvers.progress.run_batch`; the reports go to the reporter of `solvers.progress.reporting_to`).
    ``warm_steps``: iteration budget of the continuation stages before the last (`run_continuation`)."""
    return _compiled_batch_solve(get_problem(problem) if isinstance(problem, str) else problem, solver, stages,
                                 int(progress_every), None if warm_steps is None else int(warm_steps))


def _problem_setup(p: ProblemDef, hp: dict):
    """One problem's (manifold, objective arguments) from its hyperparameters and masks."""
    rows = None
    if p.sample_rows is not None:
        rows = p.sample_rows(hp, hp["class_mask"].shape[-1], hp["sample_mask"].shape[-1], hp["class_mask"].dtype)
    manifold = p.manifold(hp["class_mask"], hp["dim_mask"], hp["sample_mask"], rows)
    return manifold, {k: v for k, v in hp.items() if k != "taus"}


@functools.lru_cache(maxsize=None)
def _compiled_batch_solve(p: ProblemDef, solver, stages: int, progress_every: int = 0, warm_steps: int | None = None):
    continuation = p.uses_tau and stages > 1
    if progress_every > 0:
        from .solvers.progress import run_batch

        def batch(x0, hp):
            return run_batch(solver, p.objective, functools.partial(_problem_setup, p), x0, hp,
                             hp["taus"] if continuation else None, every=progress_every, warm_steps=warm_steps)

        return jax.jit(batch)

    def one(x0, hp):
        manifold, fun_hp = _problem_setup(p, hp)
        if continuation:
            return run_continuation(solver, p.objective, manifold, x0, fun_hp, hp["taus"], warm_steps)
        return solver.run(p.objective, manifold, x0, fun_hp)

    return jax.jit(jax.vmap(one))


def solve_batch(specs: list[Spec], x0: dict, solver, *, stages: int, C_pad: int, d_pad: int, n_pad: int,
                dtype=jnp.float32, tau_start=None, progress_every: int = 0, warm_steps: int | None = None) -> Result:
    """Solve a batch of problems of one padded shape. ``x0``: dict of (B, ...) arrays;
    ``tau_start``: first continuation temperature, one for all or (B,) (default: `tau_schedule`'s);
    ``progress_every``, ``warm_steps``: see `compiled_batch_solve`."""
    hp = batch_hparams(specs, C_pad, d_pad, n_pad, stages, dtype, tau_start)
    fn = compiled_batch_solve(specs[0].pdef, solver, stages, progress_every, warm_steps)
    x0 = {k: jnp.asarray(v, dtype) for k, v in x0.items()}
    return fn(x0, {k: jnp.asarray(v) for k, v in hp.items()})


def classifier_rows(problem: str, point: dict) -> np.ndarray:
    """The classifier W of a (numpy) point, rows normalized (for the regularized model too)."""
    w = np.asarray(point["W"], np.float64)
    norms = np.linalg.norm(w, axis=-1, keepdims=True)
    return np.where(norms > 0, w / np.where(norms > 0, norms, 1.0), 0.0)


def figures_of(problem: str, point: dict, C: int, d: int) -> list[dict]:
    """Exact float64 figures {min_angle_deg, max_cos, rho} of the classifier rows of a batch of
    points (dict of (B, ...) arrays), unpadded to (C, d); one dict per batch entry."""
    w = classifier_rows(problem, point)[..., :C, :d]
    f = metrics.figures(w)
    return [{k: float(np.asarray(v)[b]) for k, v in f._asdict().items()} for b in range(w.shape[0])]


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class SolveResult:
    """Best restart of one solve, its exact figures and the per-restart statistics.

    ``point``: dict of numpy arrays (unpadded); ``W``: (C, d) classifier (normalized rows).
    Figures are float64: ``min_angle_deg``, ``max_cos``, ``min_margin`` (= rho(W), the minimum
    one-vs-rest distance), ``objective`` (solver objective at the final temperature).
    ``restarts``: dict of (R,) arrays for every restart (``inner_steps``, the Hessian-vector products, for
    ``solver="tr"``). ``status`` is the solver's stop code for the
    best restart; ``refine_status`` (``refine=True`` only) is its exact refinement's.
    """

    problem: str
    C: int
    d: int
    tau: float | None
    n: int
    hparams: dict
    point: dict
    W: np.ndarray
    min_angle_deg: float
    max_cos: float
    min_margin: float
    objective: float
    status: str
    steps: int
    seconds: float
    seed: int
    solver: str
    dtype: str
    restarts: dict
    history: dict | None = None
    refine_status: str | None = None
    histories: dict | None = None
    best_restart: int = 0

    def history_columns(self, restart: int | None = None) -> dict:
        """One restart's per-iteration log (``history=True``; default the reported restart) over the iterations
        that ran, as columns: restart, stage, tau (problems with a temperature), iteration (counted over all
        stages), value, grad_norm, step, accepted, and for the trust regions inner_steps (Hessian-vector products)."""
        if self.histories is None:
            raise ValueError("history: solve with history=True to keep the per-iteration logs")
        r = self.best_restart if restart is None else int(restart)
        ran = self.histories["stage"][r] >= 0
        cols = {"restart": np.full(int(ran.sum()), r), "stage": self.histories["stage"][r][ran]}
        if "tau" in self.histories:
            cols["tau"] = self.histories["tau"][r][ran]
        cols["iteration"] = np.arange(int(ran.sum()))
        for k in ("value", "grad_norm", "step", "accepted", "inner_steps"):
            if k in self.histories:
                cols[k] = self.histories[k][r][ran]
        return cols

    def history_frame(self, restarts: str = "best"):
        """The per-iteration logs as a tidy pandas DataFrame (`history_columns`), one row per iteration that ran;
        ``restarts``: "best" (the reported restart) or "all"."""
        import pandas as pd

        if restarts not in ("best", "all"):
            raise ValueError(f"restarts: expected 'best' or 'all', got {restarts!r}")
        if self.histories is None:
            raise ValueError("history: solve with history=True to keep the per-iteration logs")
        rows = [self.best_restart] if restarts == "best" else range(len(self.histories["value"]))
        return pd.concat([pd.DataFrame(self.history_columns(r)) for r in rows], ignore_index=True)

    def nc_metrics(self) -> dict:
        """NC1-NC4 and GNC1-GNC3 of the reported point (`theory.nc_metrics`, the official codes' conventions):
        features are H (ce-ufm models; the real samples only for the imbalanced ones), X (hug), or the classifier
        rows themselves (W-only problems, softmax-code's H); NC4 needs a bias (the regularized models)."""
        from .theory.nc_metrics import neural_collapse_metrics

        W = np.asarray(self.point["W"], np.float64)
        feats = self.point.get("H", self.point.get("X", W))
        feats = np.asarray(feats, np.float64)
        if feats.ndim == 2:
            feats = feats[:, None, :]
        K, n = feats.shape[:2]
        counts = np.full(K, n)
        if "minority" in self.hparams:
            m = int(self.hparams["minority"])
            counts[K - m:] = int(self.hparams["n_minor"])
        rows = np.concatenate([feats[k, : counts[k]] for k in range(K)])
        b = self.point.get("b")
        return neural_collapse_metrics(rows, np.repeat(np.arange(K), counts), W, None if b is None else
                                       np.asarray(b, np.float64), K)

    def hessian_eigenvalues(self, max_dim: int = 4000, k: int | None = None) -> np.ndarray:
        """Eigenvalues (ascending, float64) of the Riemannian Hessian of the problem's objective at the reported point
        (the final temperature for problems with one): all >= 0 (up to roundoff) at a local minimum, one < 0 at a
        saddle. Symmetries give zero modes (sphere codes: d(d-1)/2 rotations; the imbalanced models' unused sample
        rows too). Sphere rows are renormalized in float64 first. Dense (all eigenvalues,
        ``theory.checks.riemannian_hessian_eigs``): the ambient dimension must stay below ``max_dim``. With ``k``:
        the k smallest only, by Lanczos on Hessian-vector products, at any dimension
        (``theory.checks.riemannian_hessian_smallest``)."""
        from .theory.checks import riemannian_hessian_eigs, riemannian_hessian_smallest

        p = get_problem(self.problem)
        kinds = {key: "sphere" if kind.startswith("sphere") else "euclidean" for key, kind in p.factors}
        point = {key: np.asarray(v, np.float64) for key, v in self.point.items()}
        for key, kind in kinds.items():
            if kind == "sphere":  # renormalize; unused (zero) rows of the imbalanced models become e_1
                norms = np.linalg.norm(point[key], axis=-1, keepdims=True)
                e1 = np.zeros(point[key].shape[-1])
                e1[0] = 1.0
                point[key] = np.where(norms > 0, point[key] / np.where(norms > 0, norms, 1.0), e1)
        dim = sum(v.size for v in point.values())
        if k is None and dim > max_dim:
            raise ValueError(f"max_dim: the Hessian would be {dim} x {dim} (dense); raise max_dim to allow it, or "
                             f"pass k for the k smallest eigenvalues by Lanczos")
        hp = {"class_mask": np.ones(self.C), "dim_mask": np.ones(self.d), "sample_mask": np.ones(self.n),
              **{name: float(v) for name, v in self.hparams.items()}}
        if self.tau is not None:
            hp["tau"] = float(self.tau)
        if k is not None:
            return riemannian_hessian_smallest(lambda x: p.objective(x, hp), point, kinds, k=_check_int("k", k, 1))
        return riemannian_hessian_eigs(lambda x: p.objective(x, hp), point, kinds)

    @property
    def ok(self) -> bool:
        return self.status != Status.NONFINITE.name

    def to_dict(self) -> dict:
        """JSON-safe summary (no coordinates)."""
        out = {k: getattr(self, k) for k in ("problem", "C", "d", "tau", "n", "min_angle_deg", "max_cos",
                                                 "min_margin", "objective", "status", "steps", "seconds",
                                                 "seed", "solver", "dtype")}
        if self.refine_status is not None:
            out["refine_status"] = self.refine_status
        out["best_restart"] = self.best_restart
        out["hparams"] = dict(self.hparams)
        out["restarts"] = {k: np.asarray(v).tolist() for k, v in self.restarts.items()}
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=True)

    def save(self, path: str) -> None:
        """Save the configuration, figures, per-restart table and (``history=True``) the logs to ``path`` (.npz);
        `load` reads it back."""
        arrays = {f"point_{k}": v for k, v in self.point.items()}
        arrays.update({f"history_{k}": v for k, v in (self.histories or {}).items()})
        np.savez(path, W=self.W, summary=np.asarray(self.to_json()), **arrays)

    @classmethod
    def load(cls, path: str) -> "SolveResult":
        """A result saved by `save` (``point`` can seed another solve: ``solve(..., init=r.point)``)."""
        with np.load(path, allow_pickle=False) as z:
            if "summary" not in z.files or "W" not in z.files:
                raise ValueError(f"path: {path!r} is not a file written by SolveResult.save")
            d = json.loads(str(z["summary"]))
            point = {k[len("point_"):]: z[k] for k in z.files if k.startswith("point_")}
            hists = {k[len("history_"):]: z[k] for k in z.files if k.startswith("history_")} or None
            W = z["W"]
        restarts = {k: np.asarray(v) for k, v in d.pop("restarts").items()}
        best = d.pop("best_restart", 0)
        return cls(**d, point=point, W=W, restarts=restarts, histories=hists, best_restart=best,
                   history=None if hists is None else {k: v[best] for k, v in hists.items()})

    def summary(self) -> str:
        tau = "" if self.tau is None else f" tau={self.tau:g}"
        refined = "" if self.refine_status is None else f" (refinement {self.refine_status})"
        return (f"{self.problem} C={self.C} d={self.d}{tau}: min angle {self.min_angle_deg:.7f} deg, "
                f"max cos {self.max_cos:.9f}, rho(W) {self.min_margin:.9f}, objective {self.objective:.9g}, "
                f"{self.status}{refined}, {self.steps} steps{self._inner_text()}, {self.seconds:.2f} s")

    def _inner_text(self) -> str:
        inner = self.restarts.get("inner_steps")
        return "" if inner is None else f" ({int(np.asarray(inner)[self.best_restart])} Hessian-vector products)"

    __str__ = summary


def _rank_key(score: str, fig: dict, value: float, status: int) -> float:
    if status == Status.NONFINITE or not math.isfinite(value):
        return math.inf
    if score == "max_cos":
        return fig["max_cos"]
    if score == "rho":
        return -fig["rho"]
    return value


def solve(problem: str, C: int, d: int, tau: float | None = None, n: int = 1, restarts: int = 8, seed: int = 0,
          solver: str | Any = None, max_steps: int = 1000, gtol: float | None = None, dtype=jnp.float32,
          stages: int | None = None, history: bool = False, init: dict | None = None, refine: bool = False,
          devices="all", progress: bool | int = False, warm_steps: int | None = None, **hparams) -> SolveResult:
    """Solve one problem with ``restarts`` random starts in one compiled, batched program.

    Args:
      problem: "tammes", "softmax-code", "ce-ufm", "ce-ufm-collapsed", "ce-ufm-regularized",
        "ce-ufm-imbalanced", "ce-ufm-regularized-imbalanced", "riesz", "mgd", "hug", or a name added by
        ``register_problem``.
      C, d: classes (points) and dimension; n: samples per class (ce-ufm, ce-ufm-regularized, hug).
      tau: CE temperature, or the final surrogate temperature for "tammes"/"softmax-code".
      restarts, seed: random starts (restart r uses numpy's generator seeded with [seed, r]).
      solver: "lbfgs" (default), "cg", "gd", "adam", "tr" (trust regions) or a solver object.
      max_steps, gtol: per continuation stage (``warm_steps`` caps the stages before the last); gtol is the
        tolerance on the Riemannian gradient norm (default 1e-5 in float32, 1e-10 in float64). For the spherical
        CE problems, whose loss and gradient vanish like exp(-margin / tau), it is scaled by min(1, |f|):
        |grad| <= gtol * min(1, |f|), default 1e-7 in float32.
        dtype: float32 or float64 (enable x64 first).
      stages: temperature-continuation stages (default: 6 for surrogates, 4 for CE at tau < 0.5).
      warm_steps: iteration budget of each continuation stage but the last (default None: ``max_steps``, as the last).
        A small budget (100-400) makes CE solves 2-6x faster; restarts then reach the best basin at a different rate
        (more often on some problems, less on others: benchmarks/warm_stages.py). No effect on one-stage solves.
      history: keep every restart's per-iteration log over all continuation stages: ``history`` (the best
        restart's, arrays with ``stage`` and ``tau`` per iteration), ``histories`` (all, (R, L) arrays) and
        ``history_frame()`` (a tidy DataFrame).
      init: optional explicit starting point (dict of arrays of the point's shape, or (R, ...)
        batches): an opt-in seed, e.g. a known code; off by default.
      refine: "tammes" and "softmax-code" only: finish every restart with the exact float64 max-min
        refinement (``solvers.refine``; L-BFGS inner solves, the best restart then Newton-polished to
        the roundoff floor, `refine_restarts`) and rank the restarts by the refined figures. The refined
        points are float64; ``objective``/``status``/``steps`` stay those of the surrogate solve and
        ``restarts["refine_status"]`` holds the refinement statuses. ``seconds`` includes it.
      devices: "all" (default) or a count N: the restarts are sharded over the first N local devices (one 1-D
        mesh, as grids do; `grid.sharding`), padded to a multiple of N with dummy lanes that are dropped.
      progress: True (every 100 iterations) or a number of iterations: print a line to stderr that often, and at
        the end of every continuation stage (stage, temperature, problems still running, best value, largest
        gradient norm, seconds), from inside the compiled loop (`solvers.progress`); same results. One device.
      **hparams: problem hyperparameters (lambda_W, lambda_H, lambda_b; minority, n_minor; s; alpha, beta; a custom
        problem's own).
    """
    spec = make_spec(problem, C, d, tau, n, **hparams)
    restarts = _check_int("restarts", restarts, 1)
    seed = _check_int("seed", seed, 0)
    dtype = jnp.dtype(dtype)
    if dtype not in (jnp.float32, jnp.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        raise ValueError("dtype float64 needs x64: call jax.config.update('jax_enable_x64', True) first")
    p = spec.pdef
    if check_bool("refine", refine) and problem not in REFINABLE:
        raise ValueError(f"refine: only problems {list(REFINABLE)} have an exact refinement, not {problem!r}")
    solver_name = solver if isinstance(solver, str) else (p.default_solver if solver is None else type(solver).__name__)
    solver_obj = make_solver(p.default_solver if solver is None else solver, max_steps=max_steps, gtol=gtol,
                             dtype=dtype, history=history, gtol_scaled=p.vanishing)
    stages = default_stages(p, spec.tau) if stages is None else _check_int("stages", stages, 1)
    warm_steps = None if warm_steps is None else _check_int("warm_steps", warm_steps, 1)
    every = _progress_every(progress, solver_obj)

    if init is None:
        x0 = random_batch([(spec, seed, r) for r in range(restarts)], C, d, n, dtype)
    else:
        x0 = _validate_init(p, init, spec, restarts)

    from .grid import sharding

    mesh = sharding.make_mesh(devices)  # validates ``devices`` before anything compiles
    if every and mesh.size > 1:
        raise ValueError(f"progress: reported from one device's loop; pass devices=1 to watch a solve (devices "
                         f"gives {mesh.size})")
    taus = tau_schedule(p, spec.tau, stages) if p.uses_tau else None
    t0 = time.perf_counter()
    if mesh.size == 1:
        with _progress_printer(every, p, stages, taus, f"{problem} C={C} d={d}: "):
            res = solve_batch([spec] * restarts, x0, solver_obj, stages=stages, C_pad=C, d_pad=d, n_pad=n,
                              dtype=dtype, progress_every=every, warm_steps=warm_steps)
            res = jax.device_get(jax.block_until_ready(res))
    else:
        res = sharding.solve_batch_sharded([spec] * restarts, x0, solver_obj, stages=stages, C_pad=C, d_pad=d,
                                           n_pad=n, mesh=mesh, dtype=dtype, warm_steps=warm_steps)
        res = sharding.drop_lanes(jax.device_get(jax.block_until_ready(res)), restarts)
    refine_status = None
    if refine:
        if every:
            print(f"{problem} C={C} d={d}: refining {restarts} restarts (float64 max-min)", file=sys.stderr, flush=True)
        res, refine_status = refine_restarts(problem, res)
    seconds = time.perf_counter() - t0
    return _assemble(spec, res, seconds, seed, solver_name, dtype, history, refine_status, taus)


def _progress_every(progress, solver) -> int:
    """``solve``'s ``progress`` as a report interval in iterations (0: no reports)."""
    if isinstance(progress, (bool, np.bool_)):
        every = 100 if progress else 0
    else:
        every = _check_int("progress", progress, 1)
    if every and not all(callable(getattr(solver, m, None)) for m in ("init", "update", "result")):
        raise ValueError(f"progress: needs a solver with init, update and result methods, got {solver!r}")
    return every


def _progress_printer(every: int, p: ProblemDef, stages: int, taus, label: str):
    """A `solvers.progress.reporting_to` block printing to stderr (a no-op block when ``every`` is 0)."""
    import contextlib

    from .solvers.progress import ProgressPrinter, reporting_to

    if not every:
        return contextlib.nullcontext()
    continuation = p.uses_tau and stages > 1
    return reporting_to(ProgressPrinter(stages if continuation else 1, taus if continuation else
                                        (None if taus is None else taus[-1:]), label))


def refine_restarts(problem: str, res: Result) -> tuple[Result, np.ndarray]:
    """Exact float64 max-min refinement of every restart of ``res`` (points (R, C, d), unpadded).

    Every restart is refined with L-BFGS inner solves (``refine.FAST_KW``); the best of them (by
    the exact figure) is refined again with the full refinement (Newton polish to the roundoff
    floor): ``refine.refine_best_of``. Returns ``res`` with the refined points (float64) and the (R,)
    refinement status names.
    """
    from .solvers.refine import refine_best_of

    refined, status = refine_best_of(problem, res.x)
    return res._replace(x={**res.x, **refined}), status


def _validate_init(p: ProblemDef, init: dict, spec: Spec, restarts: int) -> dict:
    shapes = p.shapes(spec.C, spec.d, spec.n)
    if not isinstance(init, dict) or set(init) != set(shapes):
        raise ValueError(f"init must be a dict with keys {sorted(shapes)}")
    out = {}
    for k, shape in shapes.items():
        a = np.asarray(init[k], np.float64)
        if a.shape == shape:
            a = np.broadcast_to(a, (restarts,) + shape)
        if a.shape != (restarts,) + shape:
            raise ValueError(f"init[{k!r}] must have shape {shape} or {(restarts,) + shape}, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"init[{k!r}] contains non-finite values")
        out[k] = a
    return out


def history_arrays(h, taus=None) -> dict:
    """A batch's ``History`` (fields (R, L)) as numpy arrays with a ``stage`` for every entry (-1 past the last
    iteration; 0 for a single-stage solve) and, given the stage temperatures ``taus``, each iteration's ``tau``."""
    out = {k: np.asarray(v) for k, v in h._asdict().items() if v is not None}
    if "stage" not in out:
        out["stage"] = np.where(np.isnan(out["step"]), -1, 0).astype(np.int32)
    if taus is not None:
        taus = np.asarray(taus, np.float64)
        out["tau"] = np.where(out["stage"] >= 0, taus[np.clip(out["stage"], 0, len(taus) - 1)], np.nan)
    return out


def _assemble(spec: Spec, res: Result, seconds: float, seed: int, solver_name: str, dtype, history: bool,
              refine_status: np.ndarray | None = None, taus=None) -> SolveResult:
    p = spec.pdef
    R = np.asarray(res.value).shape[0]
    figs = figures_of(spec.problem, res.x, spec.C, spec.d)
    values = np.asarray(res.value, np.float64)
    status = np.asarray(res.status)
    keys = [_rank_key(p.score, figs[r], values[r], status[r]) for r in range(R)]
    best = int(np.argmin(keys))
    point = {k: np.asarray(v[best]) for k, v in res.x.items()}
    hist = hists = None
    if history and res.history is not None:
        hists = history_arrays(res.history, taus)
        hist = {k: v[best] for k, v in hists.items()}
    restarts = {
        "objective": values,
        "max_cos": np.asarray([f["max_cos"] for f in figs]),
        "min_angle_deg": np.asarray([f["min_angle_deg"] for f in figs]),
        "min_margin": np.asarray([f["rho"] for f in figs]),
        "status": np.asarray([Status(int(s)).name for s in status]),
        "steps": np.asarray(res.steps),
        "grad_norm": np.asarray(res.grad_norm, np.float64),
        "constraint_violation": np.asarray(res.constraint_violation, np.float64),
    }
    if res.inner_steps is not None:
        restarts["inner_steps"] = np.asarray(res.inner_steps)
    if refine_status is not None:
        restarts["refine_status"] = refine_status
    f = figs[best]
    return SolveResult(
        problem=spec.problem, C=spec.C, d=spec.d, tau=spec.tau, n=spec.n, hparams=dict(spec.hparams),
        point=point, W=classifier_rows(spec.problem, point), min_angle_deg=float(f["min_angle_deg"]),
        max_cos=float(f["max_cos"]), min_margin=float(f["rho"]), objective=float(values[best]),
        status=Status(int(status[best])).name, steps=int(np.asarray(res.steps)[best]), seconds=seconds,
        seed=seed, solver=solver_name, dtype=jnp.dtype(dtype).name, restarts=restarts, history=hist,
        refine_status=None if refine_status is None else str(refine_status[best]), histories=hists, best_restart=best)
