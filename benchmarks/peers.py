"""gnc-jax side by side with peer Riemannian toolboxes: same problems, same starts, same stop rule, float64.

    python benchmarks/peers.py [--cases thomson24,tammes24,tammes48,etf10,ufm4 | PROBLEM:C:d[:tau],...]
        [--solvers gnc-lbfgs,gnc-cg,gnc-tr,gnc-lbfgs+refine,pymanopt-cg,pymanopt-tr,gnc-adam,geoopt-radam]
        [--restarts 16] [--seed 0] [--max-steps 1000] [--gtol 1e-8] [--lr 1e-2] [--pymanopt-eager]
        [--device-label L] [--out peers]

Solvers: gnc-lbfgs, gnc-cg, gnc-gd, gnc-adam, gnc-tr (trust regions), gnc-lbfgs+refine; pymanopt-cg,
pymanopt-tr (trust regions), pymanopt-sd; geoopt-radam, geoopt-rsgd. Every solver gets the same R random starts
(`gnc_jax.api.random_batch`), the same objective (the gnc-jax registry's JAX function; Pymanopt calls it through its own JAX backend, so both
sides differentiate the same code; its backend runs eagerly, so it gets the function under jax.jit unless
--pymanopt-eager; Geoopt gets it written again in torch, checked against the JAX one first),
the same continuation temperatures (surrogates and CE at small tau), and per stage the same iteration budget
(--max-steps) and gradient-norm tolerance (--gtol). Each restart is scored in float64:

- tammes: the exact minimal angle (deg) against the bundled best-known record (gap = record - angle);
- softmax-code: the exact margin rho(W) against the best any solver reached;
- ce-ufm-collapsed with C <= d + 1: the objective against the simplex ETF's value (the proven minimizer);
- ce-ufm-regularized with d >= C - 1: the objective against the closed-form f* of [NC21];
- anything else (riesz, ...): the objective against the best value any solver reached in this run.

A restart "hits" when its gap is within 1e-6 deg (tammes) or 1e-8 relative (the rest). gnc-jax solves the R
restarts as one compiled, vmapped program, each restart stopping on its own; Pymanopt solves them one after
another with its host-side loop; Geoopt steps all of them as one (R, C, d) parameter in one shared loop.
"warm" is a timed pass after everything is compiled or traced; "cold" a first pass with it (for Pymanopt: its
first restart, which traces its JAX functions, plus restarts 1..R-1). `gnc-lbfgs+refine` (tammes and
softmax-code) adds the exact float64 max-min refinement (`gnc_jax.api.refine_restarts`), inside both timings.

Prints a table and writes OUT.json (rows with per-restart figures, and the run's metadata). A peer that is not
installed is skipped with a note (``pip install -e '.[bench]'`` installs Pymanopt, ``'.[bench-torch]'`` Geoopt).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import statistics
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from gnc_jax.api import REFINABLE, batch_hparams, figures_of, make_solver, make_spec, random_batch, \
    refine_restarts, solve_batch  # noqa: E402
from gnc_jax.codes import best_known  # noqa: E402
from gnc_jax.problems import REGISTRY, default_stages, tau_schedule  # noqa: E402
from gnc_jax.solvers import Status  # noqa: E402
from gnc_jax.theory import simplex_etf, ufm_global_optimum  # noqa: E402

from _meta import output_path, run_meta, timed_twice  # noqa: E402  (benchmarks/_meta.py: this script's folder is on sys.path)

F64 = jnp.float64
NAMED_CASES = {
    "thomson24": ("riesz", 24, 3, None, {"s": 1.0}),
    "thomson64": ("riesz", 64, 3, None, {"s": 1.0}),
    "tammes24": ("tammes", 24, 3, None, {}),
    "tammes48": ("tammes", 48, 3, None, {}),
    "etf10": ("ce-ufm-collapsed", 10, 9, 0.1, {}),
    "ufm4": ("ce-ufm-regularized", 4, 5, None, {"lambda_W": 5e-3, "lambda_H": 1e-2, "lambda_b": 1e-2}),
}
DEFAULT_CASES = "thomson24,tammes24,tammes48,etf10,ufm4"
GNC_SOLVERS = {"gnc-lbfgs": "lbfgs", "gnc-cg": "cg", "gnc-gd": "gd", "gnc-adam": "adam", "gnc-tr": "tr",
               "gnc-lbfgs+refine": "lbfgs"}
PYMANOPT_SOLVERS = {"pymanopt-cg": "ConjugateGradient", "pymanopt-tr": "TrustRegions",
                    "pymanopt-sd": "SteepestDescent"}
GEOOPT_SOLVERS = {"geoopt-radam": "RiemannianAdam", "geoopt-rsgd": "RiemannianSGD"}
DEFAULT_SOLVERS = "gnc-lbfgs,gnc-cg,gnc-tr,gnc-lbfgs+refine,pymanopt-cg,pymanopt-tr,gnc-adam,geoopt-radam"
ANGLE_HIT_DEG = 1e-6
OBJECTIVE_HIT_REL = 1e-8


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark problem: a validated gnc-jax spec and its name."""

    name: str
    spec: object  # gnc_jax.api.Spec

    @property
    def pdef(self):
        return self.spec.pdef

    @property
    def higher_is_better(self) -> bool:
        return self.spec.problem in ("tammes", "softmax-code")

    def stage_taus(self) -> list:
        """The temperatures every solver runs through, one stage each ([None] without a temperature)."""
        p = self.pdef
        if not p.uses_tau:
            return [None]
        return tau_schedule(p, self.spec.tau, default_stages(p, self.spec.tau))

    def hparams(self, tau) -> dict:
        """The objective's hyperparameters (all-ones masks, float64) at temperature ``tau``."""
        hp = batch_hparams([self.spec], self.spec.C, self.spec.d, self.spec.n, 1, F64)
        hp = {k: jnp.asarray(v[0]) for k, v in hp.items() if k != "taus"}
        if tau is not None:
            hp["tau"] = jnp.asarray(tau, F64)
        return hp


def parse_cases(text: str) -> list[Case]:
    """Named cases (NAMED_CASES) or PROBLEM:C:d[:tau] items (n = 3 samples per class where the problem has
    them, default hyperparameters), comma-separated; errors name the item."""
    out = []
    for item in [t.strip() for t in text.split(",") if t.strip()]:
        if item in NAMED_CASES:
            problem, C, d, tau, hp = NAMED_CASES[item]
        else:
            parts = item.split(":")
            if len(parts) not in (3, 4) or parts[0] not in REGISTRY:
                raise ValueError(f"--cases: {item!r} is neither a named case ({', '.join(NAMED_CASES)}) nor "
                                 f"PROBLEM:C:d[:tau] with PROBLEM one of {sorted(REGISTRY)}")
            try:
                problem, C, d = parts[0], int(parts[1]), int(parts[2])
                tau = float(parts[3]) if len(parts) == 4 else None
            except ValueError:
                raise ValueError(f"--cases: {item!r}: C and d must be integers and tau a number") from None
            hp = {}
        try:
            spec = make_spec(problem, C, d, tau, 3 if REGISTRY[problem].uses_n else 1, **hp)
        except ValueError as err:
            raise ValueError(f"--cases: {item!r}: {err}") from None
        out.append(Case(item, spec))
    if not out:
        raise ValueError("--cases: no case given")
    return out


def parse_solvers(text: str) -> list[str]:
    known = list(GNC_SOLVERS) + list(PYMANOPT_SOLVERS) + list(GEOOPT_SOLVERS)
    out = [t.strip() for t in text.split(",") if t.strip()]
    for name in out:
        if name not in known:
            raise ValueError(f"--solvers: unknown solver {name!r}; choose from {known}")
    if not out:
        raise ValueError("--solvers: no solver given")
    return out


# ----------------------------------------------------------------------------------------------
# scoring (shared by every solver)
# ----------------------------------------------------------------------------------------------
def stack(points: list[dict]) -> dict:
    """A list of dict points -> one dict of (R, ...) arrays."""
    return {k: np.stack([np.asarray(p[k], np.float64) for p in points]) for k in points[0]}


def objective_values(case: Case, points: dict, tau) -> np.ndarray:
    """The registry's objective at temperature ``tau`` of every point of a stacked batch (dict of (R, ...)
    arrays), in float64 and one vmapped call: (R,)."""
    hp = case.hparams(tau)
    batch = {k: jnp.asarray(v, F64) for k, v in points.items()}
    return np.asarray(jax.vmap(lambda p: case.pdef.objective(p, hp))(batch))


def figures(case: Case, points: list[dict]) -> list[float]:
    """Each restart's float64 figure: the exact min angle (deg, tammes) or margin rho(W) (softmax-code), else the
    objective at the final temperature (re-evaluated for every solver alike)."""
    s = case.spec
    if case.higher_is_better:
        key = "min_angle_deg" if s.problem == "tammes" else "rho"
        return [f[key] for f in figures_of(s.problem, stack(points), s.C, s.d)]
    return [float(v) for v in objective_values(case, stack(points), s.tau if case.pdef.uses_tau else None)]


def sphere_drift(case: Case, points: list[dict]) -> float:
    """max | ||row|| - 1 | over the spherical factors of every restart's returned point."""
    drift = 0.0
    for key, kind in case.pdef.factors:
        if kind.startswith("sphere"):
            for pt in points:
                drift = max(drift, float(np.max(np.abs(np.linalg.norm(np.asarray(pt[key]), axis=-1) - 1.0))))
    return drift


def reference(case: Case, rows: list[dict]) -> tuple[float, str]:
    """The value each gap is measured from, and what it is."""
    s = case.spec
    if s.problem == "tammes":
        rec = best_known(s.d, s.C)
        if rec is not None:
            return rec.min_angle_deg, f"best-known record ({rec.status})"
    if s.problem == "ce-ufm-collapsed" and s.C <= s.d + 1:
        return figures(case, [{"W": simplex_etf(s.C, s.d)}])[0], "closed form (simplex ETF)"
    if s.problem == "ce-ufm-regularized" and s.d >= s.C - 1:
        hp = dict(s.hparams)
        return ufm_global_optimum(s.C, s.d, s.n, hp["lambda_W"], hp["lambda_H"], hp["lambda_b"]).f_star, \
            "closed form f* [NC21]"
    values = [v for r in rows for v in r["figures"] if math.isfinite(v)]
    if not values:
        return math.nan, "best found (none finite)"
    return (max(values) if case.higher_is_better else min(values)), "best found by any solver"


def score_rows(case: Case, rows: list[dict]) -> None:
    """Fill the reference, gap statistics and hits into each row of one case (in place)."""
    ref, kind = reference(case, rows)
    for r in rows:
        gaps = [(ref - v) if case.higher_is_better else (v - ref) for v in r["figures"]]
        tol = ANGLE_HIT_DEG if case.spec.problem == "tammes" else OBJECTIVE_HIT_REL * max(1.0, abs(ref))
        finite = [g for g in gaps if math.isfinite(g)]
        r.update(reference=ref, reference_kind=kind, gaps=gaps, hits=sum(g <= tol for g in finite),
                 best_gap=min(finite) if finite else math.nan,
                 median_gap=statistics.median(finite) if finite else math.nan)


# ----------------------------------------------------------------------------------------------
# gnc-jax: one compiled, vmapped program for all restarts
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Budget:
    """The stop rule every solver gets, per continuation stage; ``lr``: the first-order methods' step;
    ``pymanopt_jit``: hand Pymanopt the objective under jax.jit (its JAX backend runs eagerly otherwise)."""

    max_steps: int
    gtol: float
    lr: float
    pymanopt_jit: bool = True


def applicable(case: Case, name: str) -> str | None:
    """Why solver ``name`` does not apply to ``case`` (None when it does)."""
    if name.endswith("+refine") and case.spec.problem not in REFINABLE:
        return f"only {list(REFINABLE)} have an exact refinement"
    if name in GEOOPT_SOLVERS and case.spec.problem not in TORCH_OBJECTIVES:
        return f"no torch objective for {case.spec.problem!r} here (only {sorted(TORCH_OBJECTIVES)})"
    return None


def run_gnc(case: Case, name: str, x0: dict, budget: Budget) -> dict:
    s = case.spec
    refine = name.endswith("+refine")
    R = next(iter(x0.values())).shape[0]
    solver = make_solver(GNC_SOLVERS[name], max_steps=budget.max_steps, gtol=budget.gtol, dtype=F64,
                         learning_rate=budget.lr)
    stages = len(case.stage_taus())

    def one_pass():
        res = solve_batch([s] * R, x0, solver, stages=stages, C_pad=s.C, d_pad=s.d, n_pad=s.n, dtype=F64)
        res = jax.device_get(jax.block_until_ready(res))
        if refine:
            res, _ = refine_restarts(s.problem, res)
        return res

    cold, warm, res = timed_twice(one_pass)
    points = [{k: np.asarray(v[r]) for k, v in res.x.items()} for r in range(R)]
    status = [Status(int(c)).name for c in np.asarray(res.status)]
    return dict(cold_s=cold, warm_s=warm, points=points, status=status,
                iterations=[int(i) for i in np.asarray(res.steps)])


# ----------------------------------------------------------------------------------------------
# Pymanopt: the same objective through its JAX backend, one restart after another
# ----------------------------------------------------------------------------------------------
def pymanopt_status(reason: str) -> str:
    """Pymanopt's stopping sentence as a gnc-jax status name ("MAX_TIME" or "OTHER" where none fits)."""
    text = reason.lower()
    for key, status in (("min grad norm", "CONVERGED"), ("max iterations", "MAX_STEPS"),
                        ("min step", "MIN_STEP"), ("max time", "MAX_TIME"), ("max cost evals", "MAX_STEPS")):
        if key in text:
            return status
    return "OTHER"


class PymanoptSide:
    """Pymanopt's manifold for a case's point (a Product when it has several factors) and the maps between its
    points and gnc-jax's dict points. Spherical factors are Pymanopt Oblique(d, rows): unit columns."""

    def __init__(self, case: Case):
        import pymanopt
        from pymanopt.manifolds import Euclidean, Oblique, Product

        self.pymanopt, self.case = pymanopt, case
        s = case.spec
        self.keys, mans = [], []
        for key, kind in case.pdef.factors:
            shape = case.pdef.shapes(s.C, s.d, s.n)[key]
            rows = int(np.prod(shape[:-1])) if kind.startswith("sphere") else None
            mans.append(Oblique(s.d, rows) if rows else Euclidean(*shape))
            self.keys.append((key, kind, shape))
        self.manifold = mans[0] if len(mans) == 1 else Product(mans)
        self._objective = None

    def to_pymanopt(self, point: dict):
        xs = [np.asarray(point[k], np.float64).reshape(-1, shape[-1]).T.copy() if kind.startswith("sphere")
              else np.asarray(point[k], np.float64).copy() for k, kind, shape in self.keys]
        return xs[0] if len(xs) == 1 else xs

    def to_point(self, xs, xp=np) -> dict:
        xs = [xs] if len(self.keys) == 1 else list(xs)
        return {k: (xp.reshape(x.T, shape) if kind.startswith("sphere") else x)
                for (k, kind, shape), x in zip(self.keys, xs)}

    def problem(self, tau, jit: bool = True):
        """Pymanopt's Problem at temperature ``tau``. Pymanopt's JAX backend differentiates the cost eagerly
        (no jit of its own); ``jit`` hands it the objective under ``jax.jit`` (one compiled function for every
        stage: the temperature is an argument), so its gradient and Hessian-vector products run compiled too."""
        if self._objective is None:
            objective = self.case.pdef.objective
            inner = lambda xs, hp: objective(self.to_point(xs if len(xs) > 1 else xs[0], jnp), hp)  # noqa: E731
            self._objective = jax.jit(inner) if jit else inner
        hp, inner = self.case.hparams(tau), self._objective

        @self.pymanopt.function.jax(self.manifold)
        def cost(*xs):
            return inner(xs, hp)

        return self.pymanopt.Problem(self.manifold, cost)


def run_pymanopt(case: Case, name: str, x0: dict, budget: Budget) -> dict:
    """Restart 0 once to trace Pymanopt's JAX functions (timed: its time is what "cold" adds), then all R
    restarts one after another (timed: "warm"). cold = that first solve + restarts 1..R-1 of the timed pass."""
    try:
        import pymanopt.optimizers as opts
    except ImportError:
        return dict(skipped="pymanopt is not installed (pip install -e '.[bench]')")
    side = PymanoptSide(case)
    problems = [side.problem(tau, budget.pymanopt_jit) for tau in case.stage_taus()]
    optimizer = getattr(opts, PYMANOPT_SOLVERS[name])(max_iterations=budget.max_steps,
                                                       min_gradient_norm=budget.gtol, verbosity=0, log_verbosity=0)
    R = next(iter(x0.values())).shape[0]

    def one_restart(r):
        x = side.to_pymanopt({k: v[r] for k, v in x0.items()})
        iterations, status = 0, "OTHER"
        for prob in problems:
            res = optimizer.run(prob, initial_point=x)
            iterations += int(res.iterations)
            status = pymanopt_status(res.stopping_criterion)
            parts = [res.point] if len(side.keys) == 1 else res.point
            if not (np.isfinite(res.cost) and all(np.all(np.isfinite(a)) for a in parts)):
                return x, iterations, Status.NONFINITE.name
            x = res.point
        return x, iterations, status

    t = time.perf_counter()
    one_restart(0)
    first = time.perf_counter() - t
    out, seconds = [], []
    for r in range(R):
        t = time.perf_counter()
        out.append(one_restart(r))
        seconds.append(time.perf_counter() - t)
    return dict(cold_s=first + sum(seconds[1:]), warm_s=sum(seconds), points=[side.to_point(x) for x, _, _ in out],
                status=[st for _, _, st in out], iterations=[it for _, it, _ in out])


# ----------------------------------------------------------------------------------------------
# Geoopt (PyTorch): all restarts as one (R, C, d) parameter on its Sphere, one shared loop
# ----------------------------------------------------------------------------------------------
def _torch_riesz(w, hp):
    import torch

    C = w.shape[-2]
    off = ~torch.eye(C, dtype=torch.bool)
    r2 = torch.where(off, (2.0 - 2.0 * w @ w.transpose(-1, -2)).clamp_min(0.0), torch.ones((), dtype=w.dtype))
    s = float(hp["s"])
    per_pair = r2.pow(-0.5 * s) if s > 0 else -0.5 * r2.log()
    return torch.where(off, per_pair, torch.zeros((), dtype=w.dtype)).sum((-1, -2))


def _torch_tammes(w, hp):
    import torch

    C = w.shape[-2]
    iu = torch.triu_indices(C, C, 1)
    g = (w @ w.transpose(-1, -2))[..., iu[0], iu[1]]
    return float(hp["tau"]) * torch.logsumexp(g / float(hp["tau"]), dim=-1)


def _torch_ce_collapsed(w, hp):
    import torch

    logits = (w @ w.transpose(-1, -2)) / float(hp["tau"])
    return (torch.logsumexp(logits, dim=-1) - torch.diagonal(logits, dim1=-2, dim2=-1)).mean(-1)


#: (R, C, d) torch tensor, hp -> (R,) objectives: the registry's objectives for one spherical factor, written
#: again in torch for Geoopt (the tests check each against the JAX one).
TORCH_OBJECTIVES = {"riesz": _torch_riesz, "tammes": _torch_tammes, "ce-ufm-collapsed": _torch_ce_collapsed}


def check_torch_objective(case: Case, fun, x0: dict) -> float:
    """The torch objective against the registry's JAX one at every start and temperature (float64); raises if
    any relative difference exceeds 1e-12. Returns the largest."""
    import torch

    w = torch.tensor(np.asarray(x0["W"]), dtype=torch.float64)
    worst = 0.0
    for tau in case.stage_taus():
        mine = fun(w, dict(dict(case.spec.hparams), tau=tau)).numpy()
        theirs = objective_values(case, {"W": x0["W"]}, tau)
        worst = max(worst, float(np.max(np.abs(mine - theirs) / np.maximum(1.0, np.abs(theirs)))))
    if not worst <= 1e-12:
        raise AssertionError(f"{case.name}: the torch objective differs from gnc-jax's by {worst:.2e} (relative)")
    return worst


def run_geoopt(case: Case, name: str, x0: dict, budget: Budget) -> dict:
    """Geoopt's Riemannian optimizer on a ManifoldParameter (R, C, d) on its Sphere (last axis), float64; per
    stage a fresh optimizer and at most max_steps steps, stopped when every restart's Riemannian gradient norm
    is <= gtol (one loop for all: a restart cannot stop alone). Two passes, "cold" and "warm"."""
    try:
        import geoopt
        import torch
    except ImportError:
        return dict(skipped="geoopt is not installed (pip install -e '.[bench-torch]')")
    fun = TORCH_OBJECTIVES[case.spec.problem]
    sphere = geoopt.Sphere()
    hp = dict(case.spec.hparams)
    check_torch_objective(case, fun, x0)

    def one_pass():
        w = geoopt.ManifoldParameter(torch.tensor(np.asarray(x0["W"]), dtype=torch.float64), manifold=sphere)
        steps, status = 0, None
        for tau in case.stage_taus():
            opt = getattr(geoopt.optim, GEOOPT_SOLVERS[name])([w], lr=budget.lr)
            stage_hp = dict(hp, tau=tau)
            for _ in range(budget.max_steps):
                opt.zero_grad()
                value = fun(w, stage_hp)
                value.sum().backward()
                with torch.no_grad():
                    gnorm = sphere.egrad2rgrad(w, w.grad).flatten(1).norm(dim=1)
                    finite = torch.isfinite(value) & torch.isfinite(gnorm)
                    if bool((gnorm <= budget.gtol).all()) or not bool(finite.all()):
                        break
                opt.step()
                steps += 1
            status = np.where(~finite.numpy(), Status.NONFINITE.name,
                              np.where(gnorm.numpy() <= budget.gtol, Status.CONVERGED.name, Status.MAX_STEPS.name))
            if not bool(finite.all()):
                break
        return w.detach().numpy(), steps, status.tolist()

    cold, warm, (w, steps, status) = timed_twice(one_pass)
    return dict(cold_s=cold, warm_s=warm, points=[{"W": wr} for wr in w], status=status,
                iterations=[steps] * len(w))


RUNNERS = {**{k: run_gnc for k in GNC_SOLVERS}, **{k: run_pymanopt for k in PYMANOPT_SOLVERS},
           **{k: run_geoopt for k in GEOOPT_SOLVERS}}


# ----------------------------------------------------------------------------------------------
def run_case(case: Case, solvers: list[str], restarts: int, seed: int, budget: Budget, log=print) -> list[dict]:
    """Every applicable solver on the same starts; rows scored against the case's reference."""
    s = case.spec
    x0 = random_batch([(s, seed, r) for r in range(restarts)], s.C, s.d, s.n, F64)
    rows = []
    for name in solvers:
        why = applicable(case, name)
        if why is not None:
            log(f"  {case.name} {name}: not applicable: {why}")
            continue
        t = time.perf_counter()
        out = RUNNERS[name](case, name, x0, budget)
        row = dict(case=case.name, problem=s.problem, C=s.C, d=s.d, n=s.n, tau=s.tau, hparams=dict(s.hparams),
                   solver=name, restarts=restarts, stages=len(case.stage_taus()))
        if "skipped" in out:
            log(f"  {case.name} {name}: skipped: {out['skipped']}")
            rows.append(dict(row, skipped=out["skipped"]))
            continue
        points = out.pop("points")
        row.update(out, figures=figures(case, points), drift=sphere_drift(case, points),
                   nonfinite=sum(st == Status.NONFINITE.name for st in out["status"]))
        rows.append(row)
        log(f"  {case.name} {name}: {time.perf_counter() - t:.1f} s")
    score_rows(case, [r for r in rows if "skipped" not in r])
    return rows


def status_counts(status: list[str]) -> str:
    names = sorted(set(status), key=status.index)
    return " ".join(f"{n.lower()}:{status.count(n)}" for n in names)


def table(rows: list[dict]) -> str:
    """One line a (case, solver); "x lbfgs": warm seconds over gnc-lbfgs's on the same case."""
    cw = max([10] + [len(r["case"]) for r in rows])
    head = (f"{'case':<{cw}} {'solver':<17} {'cold s':>8} {'warm s':>8} {'x lbfgs':>8} {'iters':>7} {'best gap':>10} "
            f"{'median gap':>10} {'hits':>6} {'drift':>8}  status")
    lines = [head, "-" * len(head)]
    base = {r["case"]: r["warm_s"] for r in rows if r["solver"] == "gnc-lbfgs" and "skipped" not in r}
    for r in rows:
        if "skipped" in r:
            lines.append(f"{r['case']:<{cw}} {r['solver']:<17} skipped: {r['skipped']}")
            continue
        ratio = r["warm_s"] / base[r["case"]] if base.get(r["case"]) else math.nan
        lines.append(f"{r['case']:<{cw}} {r['solver']:<17} {r['cold_s']:>8.2f} {r['warm_s']:>8.3f} {ratio:>8.1f} "
                     f"{statistics.mean(r['iterations']):>7.0f} {r['best_gap']:>10.2e} {r['median_gap']:>10.2e} "
                     f"{r['hits']:>3}/{r['restarts']:<2} {r['drift']:>8.1e}  {status_counts(r['status'])}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=DEFAULT_CASES)
    ap.add_argument("--solvers", default=DEFAULT_SOLVERS)
    ap.add_argument("--restarts", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=1000, help="iterations per continuation stage")
    ap.add_argument("--gtol", type=float, default=1e-8, help="Riemannian gradient-norm tolerance")
    ap.add_argument("--lr", type=float, default=1e-2, help="learning rate of gnc-adam, gnc-gd's first step and "
                    "geoopt's optimizers")
    ap.add_argument("--pymanopt-eager", action="store_true",
                    help="give Pymanopt the objective as it is (its JAX backend then differentiates it eagerly, op by "
                    "op); by default it gets it under jax.jit")
    ap.add_argument("--device-label", default=None)
    ap.add_argument("--out", type=output_path, default="peers", help="writes OUT.json")
    a = ap.parse_args(argv)
    try:
        cases, solvers = parse_cases(a.cases), parse_solvers(a.solvers)
        for flag, value, lo in (("--restarts", a.restarts, 1), ("--max-steps", a.max_steps, 1), ("--seed", a.seed, 0)):
            if value < lo:
                raise ValueError(f"{flag} must be >= {lo}, got {value}")
        for flag, value in (("--gtol", a.gtol), ("--lr", a.lr)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{flag} must be a positive number, got {value}")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = []
    for case in cases:
        print(f"{case.name}: {case.spec.problem} C={case.spec.C} d={case.spec.d}"
              f"{'' if case.spec.tau is None else f' tau={case.spec.tau:g}'}, {len(case.stage_taus())} stage(s)",
              file=sys.stderr, flush=True)
        rows += run_case(case, solvers, a.restarts, a.seed, Budget(a.max_steps, a.gtol, a.lr, not a.pymanopt_eager),
                         log=lambda m: print(m, file=sys.stderr, flush=True))
    print(table(rows))
    for case in cases:
        r = next((r for r in rows if r["case"] == case.name and "reference" in r), None)
        if r is not None:
            unit = {"tammes": "deg", "softmax-code": "rho"}.get(case.spec.problem, "objective")
            print(f"{case.name}: reference {r['reference']:.10g} ({unit}, {r['reference_kind']})")
    total = time.perf_counter() - t0
    print(f"total {total:.1f} s")
    meta = dict(run_meta(a.device_label), command=shlex.join(["peers.py"] + (argv or sys.argv[1:])), seconds=total,
                restarts=a.restarts, seed=a.seed, max_steps=a.max_steps, gtol=a.gtol, lr=a.lr,
                pymanopt_objective="eager" if a.pymanopt_eager else "jax.jit",
                dtype="float64", pymanopt=_version("pymanopt"), geoopt=_version("geoopt"), torch=_version("torch"))
    with open(a.out + ".json", "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    return 0


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except ImportError:
        return None


if __name__ == "__main__":
    sys.exit(main())
