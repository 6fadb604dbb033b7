"""Exact max-min refinement: finish a near-optimal code to its exact local max-min optimum.

Smooth surrogates (tau·logsumexp with continuation) stop a little short of the exact optimum of a
max-min problem. This module solves the nonsmooth problem itself,

    maximize t   subject to   g_a(x) >= t  for every valid a,   x on a product manifold,

(g a vector of smooth functions) with an augmented Lagrangian (Powell–Hestenes–Rockafellar form
for inequalities) in the variables (x, t), t a Euclidean factor:

    L_rho(x, t; lam) = -(t - t_ref) + (1/(2 rho)) sum_a [ max(0, lam_a - rho (g_a(x) - t))^2 - lam_a^2 ].

Each outer iteration minimizes L_rho over (x, t) with the Riemannian L-BFGS of ``minimize.py``
(warm-started), then updates lam_a <- max(0, lam_a - rho (g_a - t)) and grows rho when the
violation max_a (t - g_a) did not shrink enough. Inactive constraints get lam = 0 automatically,
so every constraint (every pair) is kept; the active set, rattlers included, sorts itself out.
At a KKT point sum_a lam_a = 1 and lam is a certificate (contact-graph stress).

The whole refinement of one problem is one ``lax.while_loop`` (outer) around the solver's
``while_loop`` (inner), so it jits and vmaps over a batch of problems. The best configuration
seen (by the exact figure min_a g_a, the input included) is returned: refinement never makes a
configuration worse.

Public entry points work in float64 (``jax.enable_x64`` is switched on locally, never globally):

* ``refine_tammes(W, class_mask=None, ...)``: g_ij = -<w_i, w_j>, i < j (minimize the max cosine).
* ``refine_softmax_code(W, H=None, class_mask=None, ...)``: g_kj = <w_k - w_j, h_k>, j != k, over
  (W, H) in OB x OB (maximize the softmax-code margin, SPEC §2).
* ``refine_maxmin(constraints, x0, manifold, mask, ...)``: the generic core (one problem, pure,
  jittable) for any other max-min problem.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..manifolds import Euclidean, Oblique, Product, tree_all_finite, tree_scale, tree_where
from ..objectives.common import gram, pair_mask
from .base import Status
from .minimize import RLBFGS

Array = jax.Array
PyTree = Any


# ----------------------------------------------------------------------------------------------
# Inner solver: Riemannian (semismooth) Newton with Levenberg damping, dense
# ----------------------------------------------------------------------------------------------
class _NewtonState(NamedTuple):
    x: PyTree
    value: Array
    grad: Array  # flat Riemannian gradient
    grad_norm: Array
    hess: Array  # (n, n) P Hess P in flat ambient coordinates
    proj: Array  # (n, n) tangent projector P at x
    mu: Array  # Levenberg damping, relative to ``scale``
    scale: Array  # Hessian scale (mean |diag|) at the start
    rejects: Array  # consecutive failed iterations
    steps: Array  # Newton iterations (Hessian evaluations)
    accepted: Array
    status: Array


@dataclasses.dataclass(frozen=True)
class DenseNewton:
    """Riemannian Newton with Levenberg damping and backtracking, for small problems (a dense n x n
    Hessian, n = the ambient size of a point).

    Hess f(x)[v] = P_x D(grad f)(x)[v] (embedded submanifolds), built column by column with JVPs of
    the Riemannian gradient. Each iteration solves (P H P + mu s P + (I - P)) d = -grad (Cholesky;
    s = the Hessian scale) and backtracks along R_x(a d), a = 1, 1/2, ... (function values only)
    until the Armijo test holds, or, at the roundoff floor of f (|f_trial - f| within a few ulps),
    until the gradient norm decreases; then the Hessian is rebuilt at the new point and mu shrinks.
    A failed search grows mu (x 16) and keeps x. The generalized Hessian of a piecewise-smooth f
    (max(0, .)^2 terms) comes out of autodiff, so this is a semismooth Newton. Same ``run``
    interface and status codes as ``Solver``; ``steps`` counts Newton iterations.
    """

    max_steps: int = 200
    gtol: float = 1e-13
    c1: float = 1e-4
    mu0: float = 1e-6
    mu_min: float = 1e-14
    mu_max: float = 1e8
    max_rejects: int = 4
    max_backtracks: int = 30
    chunk: int = 32

    def _derivs(self, fun, manifold, x, args):
        xf, unravel = ravel_pytree(x)
        n = xf.shape[0]
        dtype = xf.dtype

        def rgrad_flat(v):
            p = unravel(v)
            return ravel_pytree(manifold.egrad_to_rgrad(p, jax.grad(fun)(p, args)))[0]

        def proj_flat(v):
            return ravel_pytree(manifold.proj(x, unravel(v)))[0]

        value = fun(x, args)
        g = rgrad_flat(xf)
        pm = jax.vmap(proj_flat)(jnp.eye(n, dtype=dtype))
        pm = 0.5 * (pm + pm.T)
        hv = lambda v: proj_flat(jax.jvp(rgrad_flat, (xf,), (v,))[1])
        hm = jax.lax.map(hv, pm, batch_size=min(self.chunk, n))
        hm = 0.5 * (hm + hm.T)
        return value, g, hm, pm

    def _value_and_gnorm(self, fun, manifold, x, args):
        value, eg = jax.value_and_grad(fun)(x, args)
        rg = manifold.egrad_to_rgrad(x, eg)
        return value, jnp.sqrt(sum(jnp.sum(l * l) for l in jax.tree_util.tree_leaves(rg)))

    def init(self, fun, manifold, x0, args) -> _NewtonState:
        x0 = manifold.project_point(x0)
        value, g, hm, pm = self._derivs(fun, manifold, x0, args)
        gnorm = jnp.sqrt(jnp.sum(g * g))
        scale = jnp.maximum(jnp.mean(jnp.abs(jnp.diagonal(hm))), jnp.finfo(g.dtype).tiny)
        finite = jnp.isfinite(value) & jnp.all(jnp.isfinite(g)) & jnp.all(jnp.isfinite(hm))
        status = jnp.where(~finite, Status.NONFINITE,
                           jnp.where(gnorm <= self.gtol, Status.CONVERGED, Status.RUNNING)).astype(jnp.int32)
        zero = jnp.zeros((), jnp.int32)
        return _NewtonState(x0, value, g, gnorm, hm, pm, jnp.asarray(self.mu0, g.dtype), scale, zero, zero, zero,
                            status)

    def update(self, fun, manifold, s: _NewtonState, args) -> _NewtonState:
        n = s.grad.shape[0]
        dtype = s.grad.dtype
        eps = jnp.finfo(dtype).eps
        a = s.hess + (s.mu * s.scale) * s.proj + (jnp.eye(n, dtype=dtype) - s.proj)
        chol = jnp.linalg.cholesky(a)
        d = -jax.scipy.linalg.cho_solve((chol, True), s.grad[:, None])[:, 0]
        d = s.proj @ d
        _, unravel = ravel_pytree(s.x)
        slope = jnp.dot(s.grad, d)
        ok_dir = jnp.all(jnp.isfinite(d)) & (slope < 0)
        d = jnp.where(ok_dir, d, 0.0)
        dtree = unravel(d)

        def trial(alpha):
            x_t = manifold.retract(s.x, tree_scale(alpha, dtree))
            v, gn = self._value_and_gnorm(fun, manifold, x_t, args)
            at_floor = jnp.abs(v - s.value) <= 16 * eps * (1.0 + jnp.abs(s.value))
            good = jnp.isfinite(v) & jnp.isfinite(gn) & (
                (v <= s.value + self.c1 * alpha * slope) | (at_floor & (gn < s.grad_norm)))
            return good

        def search_cond(c):
            alpha, good, i = c
            return ~good & (i < self.max_backtracks)

        def search_body(c):
            alpha, _, i = c
            alpha = 0.5 * alpha
            return alpha, trial(alpha), i + 1

        alpha0 = jnp.ones((), dtype)
        alpha, good, _ = jax.lax.while_loop(search_cond, search_body, (alpha0, ok_dir & trial(alpha0), 0))
        accept = ok_dir & good
        x_new = manifold.retract(s.x, tree_scale(jnp.where(accept, alpha, 0.0), dtree))
        value, g, hm, pm = self._derivs(fun, manifold, x_new, args)
        finite = jnp.isfinite(value) & jnp.all(jnp.isfinite(g)) & jnp.all(jnp.isfinite(hm))
        accept = accept & finite
        gnorm = jnp.sqrt(jnp.sum(g * g))
        # Trust-region-like damping: a full step shrinks mu, a short one grows it.
        mu_acc = jnp.where(alpha == 1.0, jnp.maximum(s.mu * 0.25, self.mu_min),
                           jnp.where(alpha >= 0.25, s.mu, s.mu * 8.0))
        mu = jnp.where(accept, mu_acc, s.mu * 16.0)
        new = _NewtonState(
            tree_where(accept, x_new, s.x), jnp.where(accept, value, s.value), jnp.where(accept, g, s.grad),
            jnp.where(accept, gnorm, s.grad_norm), jnp.where(accept, hm, s.hess), jnp.where(accept, pm, s.proj),
            mu, s.scale, jnp.where(accept, 0, s.rejects + 1), s.steps + 1, s.accepted + accept.astype(jnp.int32),
            s.status)
        code = jnp.where(new.grad_norm <= self.gtol, Status.CONVERGED,
                         jnp.where((new.mu > self.mu_max) | (new.rejects >= self.max_rejects), Status.MIN_STEP,
                                   jnp.where(new.steps >= self.max_steps, Status.MAX_STEPS, Status.RUNNING)))
        new = new._replace(status=code.astype(jnp.int32))
        return tree_where(s.status == Status.RUNNING, new, s)

    def run(self, fun, manifold, x0, args):
        s = self.init(fun, manifold, x0, args)
        s = jax.lax.while_loop(lambda s: s.status == Status.RUNNING, lambda s: self.update(fun, manifold, s, args), s)
        return s


# ----------------------------------------------------------------------------------------------
# Generic core
# ----------------------------------------------------------------------------------------------
class MaxMinResult(NamedTuple):
    """Outcome of ``refine_maxmin`` for one problem (add leading axes to batch)."""

    x: PyTree  # best point seen (exact figure), the input included
    value: Array  # exact figure min_a g_a(x) at x
    initial_value: Array  # exact figure of the (projected) input
    multipliers: Array  # last multiplier estimate lam (shape of g); sums to ~1 at a KKT point
    violation: Array  # max(0, t - min_a g_a) at the last AL iterate
    status: Array  # int32 Status
    iterations: Array  # outer (multiplier) iterations, int32
    inner_steps: Array  # total inner L-BFGS iterations, int32
    history: Array | None  # (max_outer, 5) per outer iteration: value, violation, t, rho, inner steps (NaN past end)


class _Outer(NamedTuple):
    x: PyTree  # (point, t): current AL iterate
    lam: Array
    rho: Array
    prev_viol: Array
    best_x: PyTree
    best_value: Array
    best_viol: Array  # violation max(0, t - value) of the AL iterate that gave best_x (inf: the input)
    since_best: Array  # outer iterations since best_value last improved by more than tol
    k: Array
    inner_steps: Array
    viol: Array
    status: Array
    history: Array | None


_T_KEY = "__maxmin_t__"


def _augment(manifold):
    """(manifold x R, pack, unpack): append the level t as a Euclidean factor (flat product)."""
    t_factor = Euclidean(ndim=0)
    if isinstance(manifold, Product) and isinstance(manifold.factors, dict):
        if _T_KEY in manifold.factors:
            raise ValueError(f"factor name {_T_KEY!r} is reserved")
        aug = Product({**manifold.factors, _T_KEY: t_factor})

        def pack(x, t):
            return {**x, _T_KEY: t}

        def unpack(p):
            return {k: v for k, v in p.items() if k != _T_KEY}, p[_T_KEY]
    elif isinstance(manifold, Product) and isinstance(manifold.factors, tuple):
        aug = Product(tuple(manifold.factors) + (t_factor,))

        def pack(x, t):
            return tuple(x) + (t,)

        def unpack(p):
            return tuple(p[:-1]), p[-1]
    else:  # a single factor
        aug = Product((manifold, t_factor))

        def pack(x, t):
            return (x, t)

        def unpack(p):
            return p[0], p[1]
    return aug, pack, unpack


def _softmax_multipliers(g, mask, gmin, tau):
    z = jnp.where(mask, -(g - gmin) / tau, -jnp.inf)
    return jnp.where(mask, jax.nn.softmax(z.ravel()).reshape(g.shape), 0.0)


def _masked_min(g: Array, mask: Array) -> Array:
    return jnp.min(jnp.where(mask, g, jnp.inf))


def refine_maxmin(
    constraints: Callable[[PyTree], Array],
    x0: PyTree,
    manifold,
    mask: Array,
    *,
    max_outer: int = 60,
    tol: float = 1e-12,
    rho0: float | Array = 100.0,
    rho_growth: float = 4.0,
    rho_max: float = 1e8,
    inner_steps: int = 2000,
    memory: int = 20,
    patience: int = 6,
    inner: str = "auto",
    newton_max_dim: int = 1500,
    newton_steps: int = 100,
    polish_outer: int = 20,
    switch_tol: float = 1e-7,
    lam0_tau: float = 0.0,
    kkt_tol: float = 1e-6,
    history: bool = False,
) -> MaxMinResult:
    """Maximize min_a g_a(x) over ``manifold`` from ``x0`` (one problem; pure, jit- and vmap-able).

    Args:
      constraints: ``g(x) -> Array`` of constraint values (any shape); larger is better.
      x0: starting point (a pytree matching ``manifold``).
      manifold: the manifold of x (e.g. ``Product({"W": Oblique(row_mask)})``).
      mask: bool array with the shape of ``g(x)``: which entries are real constraints.
      max_outer: outer (multiplier-update) iterations.
      tol: convergence tolerance in the units of g: stop when the violation max_a(t - g_a) and
        the change of t over an outer iteration are both <= tol.
      rho0, rho_growth, rho_max: penalty parameter schedule (rho grows when the violation does not
        fall below a quarter of the previous one).
      inner_steps, memory: budget and memory of the inner Riemannian L-BFGS.
      patience: stop after this many outer iterations without an improvement of the exact figure by
        more than tol: CONVERGED if the violation of the last iterate or of the one that gave the
        returned best is below sqrt(tol), else MIN_STEP.

    Status: CONVERGED (tests above passed), MAX_STEPS (max_outer spent), MIN_STEP (no progress for
    ``patience`` iterations: the roundoff floor), NONFINITE (a non-finite iterate; best returned).
    """
    mask = jnp.asarray(mask, bool)
    x0 = manifold.project_point(x0)
    g0 = constraints(x0)
    dtype = g0.dtype
    v0 = _masked_min(g0, mask)
    has_constraints = jnp.any(mask)
    v0 = jnp.where(has_constraints, v0, jnp.asarray(0.0, dtype))

    aug, pack, unpack = _augment(manifold)
    n_ambient = ravel_pytree(x0)[0].shape[0] + 1
    if inner not in ("auto", "newton", "lbfgs"):
        raise ValueError(f"inner must be 'auto', 'newton' or 'lbfgs', got {inner!r}")
    use_lbfgs = inner in ("auto", "lbfgs")
    use_newton = inner == "newton" or (inner == "auto" and n_ambient <= newton_max_dim)
    lbfgs = RLBFGS(memory=memory, max_steps=inner_steps, gtol=0.1 * tol, min_step=None)
    newton = DenseNewton(max_steps=newton_steps, gtol=0.1 * tol)
    total_outer = (max_outer if use_lbfgs else 0) + (polish_outer if use_newton else 0)

    def lagrangian(p, args):
        lam, rho, t_ref = args["lam"], args["rho"], args["t_ref"]
        x, t = unpack(p)
        c = constraints(x) - t
        z = jnp.where(mask, jnp.maximum(0.0, lam - rho * c), 0.0)
        return -(t - t_ref) + (jnp.sum(z * z) - jnp.sum(lam * lam)) / (2.0 * rho)

    zero = jnp.zeros((), jnp.int32)
    state = _Outer(
        x=(x0, v0),
        lam=_softmax_multipliers(g0, mask, v0, lam0_tau) if lam0_tau > 0 else jnp.zeros(g0.shape, dtype),
        rho=jnp.asarray(rho0, dtype),
        prev_viol=jnp.asarray(jnp.inf, dtype),
        best_x=x0,
        best_value=v0,
        best_viol=jnp.asarray(jnp.inf, dtype),
        since_best=zero,
        k=zero,
        inner_steps=zero,
        viol=jnp.asarray(0.0, dtype),
        status=jnp.where(has_constraints & jnp.isfinite(v0), Status.RUNNING,
                         jnp.where(has_constraints, Status.NONFINITE, Status.CONVERGED)).astype(jnp.int32),
        history=jnp.full((max(total_outer, 1), 5), jnp.nan, dtype) if history else None,
    )

    def make_body(solver, phase_tol, k_max):
        def body(s: _Outer) -> _Outer:
            args = {"lam": s.lam, "rho": s.rho, "t_ref": s.x[1]}
            r = solver.run(lagrangian, aug, pack(*s.x), args)
            x_new = unpack(r.x)
            g = constraints(x_new[0])
            value = _masked_min(g, mask)
            t_new = x_new[1]
            finite = tree_all_finite(x_new) & jnp.isfinite(value)
            lam_new = jnp.where(mask, jnp.maximum(0.0, s.lam - s.rho * (g - t_new)), 0.0)
            viol = jnp.maximum(0.0, t_new - value)
            dt = jnp.abs(t_new - s.x[1])

            better = finite & (value > s.best_value)
            big_gain = finite & (value > s.best_value + tol)
            best_x = tree_where(better, x_new[0], s.best_x)
            best_value = jnp.where(better, value, s.best_value)
            best_viol = jnp.where(better, viol, s.best_viol)
            since_best = jnp.where(big_gain, 0, s.since_best + 1)

            inner_ok = r.status != Status.MAX_STEPS
            rho = jnp.where((viol > 0.25 * s.prev_viol) & (viol > tol) & inner_ok,
                            jnp.minimum(s.rho * rho_growth, rho_max), s.rho)
            k = s.k + 1
            converged = (viol <= phase_tol) & (dt <= phase_tol) & inner_ok & (r.grad_norm <= kkt_tol)
            stalled = since_best >= patience
            # a stall converged if the returned best is at least as good as a consistent AL iterate: itself, or
            # the last one (a polish that wanders off a non-isolated optimum must not demote the best it found)
            consistent = jnp.minimum(viol, best_viol) <= jnp.sqrt(tol)
            status = jnp.where(
                ~finite, Status.NONFINITE,
                jnp.where(converged, Status.CONVERGED,
                          jnp.where(stalled, jnp.where(consistent, Status.CONVERGED, Status.MIN_STEP),
                                    jnp.where(k >= k_max, Status.MAX_STEPS, Status.RUNNING)))).astype(jnp.int32)
            keep = lambda a, b: jnp.where(finite, a, b)
            hist = s.history
            if history:
                row = jnp.stack([value, viol, t_new, s.rho, r.steps.astype(dtype)])
                hist = hist.at[s.k].set(row)
            return _Outer(
                x=tree_where(finite, x_new, s.x), lam=keep(lam_new, s.lam), rho=rho,
                prev_viol=keep(viol, s.prev_viol), best_x=best_x, best_value=best_value, best_viol=best_viol,
                since_best=since_best, k=k, inner_steps=s.inner_steps + r.steps, viol=keep(viol, s.viol),
                status=status, history=hist)

        return body

    running = lambda s: s.status == Status.RUNNING
    s = state
    if use_lbfgs:
        # Phase 1: cheap L-BFGS inner solves find the active set and the multipliers.
        phase_tol = max(tol, switch_tol) if use_newton else tol
        s = jax.lax.while_loop(running, make_body(lbfgs, phase_tol, max_outer), s)
    if use_newton:
        # Phase 2: semismooth Newton inner solves polish to the roundoff floor.
        restart = (s.status != Status.NONFINITE) & has_constraints
        s = s._replace(status=jnp.where(restart, Status.RUNNING, s.status).astype(jnp.int32), since_best=zero,
                       prev_viol=jnp.asarray(jnp.inf, dtype))
        s = jax.lax.while_loop(running, make_body(newton, tol, s.k + polish_outer), s)
    return MaxMinResult(s.best_x, s.best_value, v0, s.lam, s.viol, s.status, s.k, s.inner_steps, s.history)


# ----------------------------------------------------------------------------------------------
# Tammes and softmax codes
# ----------------------------------------------------------------------------------------------
# Options for a fast refinement: the augmented Lagrangian with L-BFGS inner solves only (no dense
# Newton polish). From the same start it ends within ~1e-9 deg of the full refinement at 2-8x less
# time (Tammes, d = 3, N = 13..90, CPU; benchmarks/RESULTS.md): enough to rank candidates; polish
# the one kept with the defaults.
FAST_KW = dict(inner="lbfgs")


class RefineResult(NamedTuple):
    """Refined codes (float64; leading axes are the batch axes of the input).

    W: (..., N, d) the refined code (rows unit, padded rows exactly zero).
    H: (..., N, d) refined features (softmax code only; None for Tammes).
    value: (...,) the exact figure maximized: -max_cos (Tammes) or the margin (softmax code).
    initial_value: (...,) the same figure at the (normalized) input.
    max_cos, min_angle_deg: (...,) Tammes figures of W (for the softmax code: of W as well).
    margin: (...,) min_{k, j != k} <w_k - w_j, h_k> (softmax code only; None for Tammes).
    multipliers: (..., N, N) multiplier (contact stress) estimate; sums to ~1 at an optimum.
    status: (...,) int32 ``Status``; iterations: (...,) outer iterations; inner_steps: (...,) total
    inner L-BFGS iterations.
    """

    W: Array
    H: Array | None
    value: Array
    initial_value: Array
    max_cos: Array
    min_angle_deg: Array
    margin: Array | None
    multipliers: Array
    status: Array
    iterations: Array
    inner_steps: Array

    def status_names(self):
        codes = np.asarray(self.status)
        return np.vectorize(lambda c: Status(int(c)).name)(codes).tolist()


def _tammes_parts(w: Array, cm: Array):
    pm = pair_mask(cm)
    return -gram(w), pm


def _max_cos(w: Array, cm: Array) -> Array:
    g, pm = _tammes_parts(w, cm)
    return -_masked_min(g, pm)


def _angle_deg(max_cos: Array) -> Array:
    return jnp.degrees(jnp.arccos(jnp.clip(max_cos, -1.0, 1.0)))


def _softmax_terms(w: Array, h: Array) -> Array:
    hw = gram(h, w)  # <h_k, w_j>
    return jnp.diagonal(hw)[:, None] - hw  # <w_k - w_j, h_k>


def _default_rho0(n: int) -> float:
    return 10.0 * max(n, 10)


@functools.partial(jax.jit, static_argnames=("opts",))
def _tammes_batch(W, cm, opts):
    o = dict(opts)

    def one(w, m):
        man = Product({"W": Oblique(row_mask=m)})
        pm = pair_mask(m)
        res = refine_maxmin(lambda p: -gram(p["W"]), {"W": w}, man, pm, **o)
        wb = res.x["W"]
        mc = _max_cos(wb, m)
        return RefineResult(wb, None, res.value, res.initial_value, mc, _angle_deg(mc), None,
                            res.multipliers, res.status, res.iterations, res.inner_steps)

    return jax.vmap(one)(W, cm)


@functools.partial(jax.jit, static_argnames=("opts",))
def _softmax_batch(W, H, cm, opts):
    o = dict(opts)

    def one(w, h, m):
        man = Product({"W": Oblique(row_mask=m), "H": Oblique(row_mask=m)})
        pm = pair_mask(m, strict_upper=False)
        res = refine_maxmin(lambda p: _softmax_terms(p["W"], p["H"]), {"W": w, "H": h}, man, pm, **o)
        wb, hb = res.x["W"], res.x["H"]
        mc = _max_cos(wb, m)
        return RefineResult(wb, hb, res.value, res.initial_value, mc, _angle_deg(mc), res.value,
                            res.multipliers, res.status, res.iterations, res.inner_steps)

    return jax.vmap(one)(W, H, cm)


def _prepare(W, class_mask):
    W = jnp.asarray(W, jnp.float64)
    if W.ndim < 2:
        raise ValueError(f"W must have shape (..., N, d), got {W.shape}")
    n, d = W.shape[-2:]
    batch = W.shape[:-2]
    if class_mask is None:
        cm = jnp.ones(batch + (n,), jnp.float64)
    else:
        cm = jnp.asarray(class_mask).astype(jnp.float64)
        if cm.shape[-1] != n:
            raise ValueError(f"class_mask must have shape (..., {n}), got {cm.shape}")
        cm = jnp.broadcast_to(cm, batch + (n,))
    W = W * cm[..., None]
    nb = int(np.prod(batch)) if batch else 1
    return W.reshape((nb, n, d)), cm.reshape((nb, n)), batch


def _opts(n, max_outer, tol, rho0, inner_steps, memory, patience, rho_growth, **extra):
    rho0 = _default_rho0(n) if rho0 is None else float(rho0)
    return (("max_outer", int(max_outer)), ("tol", float(tol)), ("rho0", rho0), ("inner_steps", int(inner_steps)),
            ("memory", int(memory)), ("patience", int(patience)), ("rho_growth", float(rho_growth))) + tuple(sorted(extra.items()))


def _unbatch(res: RefineResult, batch) -> RefineResult:
    return jax.tree_util.tree_map(lambda a: a.reshape(batch + a.shape[1:]), res)


def _check_chunk_size(chunk_size) -> int | None:
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    return int(chunk_size)


def _in_chunks(batch_fn, arrays: tuple, chunk_size: int | None, opts) -> RefineResult:
    """``batch_fn(*arrays, opts)`` over the leading axis in chunks of ``chunk_size`` problems, one after the other.

    A vmapped while_loop runs until its slowest problem stops, so a large batch pays the slowest problem's
    iterations on every lane (and the dense Newton polish's (n, n) matrices on all of them at once). The last
    chunk is padded with copies of the batch's last problem, so every chunk has one shape and compiles once;
    the copies are dropped from the result.
    """
    nb = arrays[0].shape[0]
    if chunk_size is None or nb <= chunk_size:
        return batch_fn(*arrays, opts)
    pad = -nb % chunk_size
    full = tuple(jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]) if pad else a for a in arrays)
    parts = [batch_fn(*(a[s:s + chunk_size] for a in full), opts) for s in range(0, nb + pad, chunk_size)]
    return jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs)[:nb], *parts)


def refine_tammes(
    W,
    class_mask=None,
    *,
    max_outer: int = 60,
    tol: float = 1e-12,
    rho0: float | None = None,
    inner_steps: int = 2000,
    memory: int = 20,
    patience: int = 6,
    rho_growth: float = 4.0,
    chunk_size: int | None = None,
    **kwargs,
) -> RefineResult:
    """Refine Tammes codes W (..., N, d) to an exact local minimum of max_{i<j} <w_i, w_j>.

    Runs in float64 (inputs are cast and rows normalized; padded rows, ``class_mask == 0``, are
    exactly zero). ``tol`` is in cosine units. ``rho0`` defaults to 10·max(N, 10). Returns the better
    of the input and the refined code, by the exact max cosine. ``chunk_size``: refine at most this
    many problems at once (the batch in chunks, one compiled shape; None: all at once). Large batches
    of slow problems run faster in chunks, as each vmapped loop waits for its slowest problem. The
    problems are independent, but another batch shape can round differently, and a nonconvex solve
    can carry a last-bit difference to a slightly different end point (measured in
    benchmarks/RESULTS.md, "refine_chunking.py": up to 6e-7 in margin at K ~ 100).
    """
    chunk_size = _check_chunk_size(chunk_size)
    with jax.enable_x64(True):
        Wb, cm, batch = _prepare(W, class_mask)
        opts = _opts(Wb.shape[-2], max_outer, tol, rho0, inner_steps, memory, patience, rho_growth, **kwargs)
        return _unbatch(_in_chunks(_tammes_batch, (Wb, cm), chunk_size, opts), batch)


def default_features(W, class_mask=None):
    """Start features h_k = normalize(w_k - mean_{j != k, real} w_j) for a classifier W (..., K, d)."""
    W = jnp.asarray(W)
    cm = jnp.ones(W.shape[:-1], W.dtype) if class_mask is None else jnp.broadcast_to(
        jnp.asarray(class_mask, W.dtype), W.shape[:-1])
    Wm = W * cm[..., None]
    count = jnp.maximum(jnp.sum(cm, axis=-1, keepdims=True) - 1.0, 1.0)
    others = (jnp.sum(Wm, axis=-2, keepdims=True) - Wm) / count[..., None]
    h = (Wm - others) * cm[..., None]
    nrm = jnp.sqrt(jnp.sum(h * h, axis=-1, keepdims=True))
    h = jnp.where(nrm > 0, h / jnp.where(nrm > 0, nrm, 1.0), Wm)  # fall back to w_k itself
    return h


def refine_softmax_code(
    W,
    H=None,
    class_mask=None,
    *,
    max_outer: int = 60,
    tol: float = 1e-12,
    rho0: float | None = None,
    inner_steps: int = 2000,
    memory: int = 20,
    patience: int = 6,
    rho_growth: float = 4.0,
    chunk_size: int | None = None,
    **kwargs,
) -> RefineResult:
    """Refine a softmax code (W, H) in OB(d, K) x OB(d, K) to an exact local max of the margin
    min_{k, j != k} <w_k - w_j, h_k> (= -min L_HM, SPEC §2).

    ``H`` defaults to ``default_features(W)``. Float64, masks as in ``refine_tammes``; returns the
    better of the input pair and the refined pair, by the exact margin; ``chunk_size`` as in
    ``refine_tammes``.
    """
    chunk_size = _check_chunk_size(chunk_size)
    with jax.enable_x64(True):
        Wb, cm, batch = _prepare(W, class_mask)
        if H is None:
            Hb = default_features(Wb, cm)
        else:
            Hb, _, hbatch = _prepare(H, class_mask)
            if hbatch != batch or Hb.shape != Wb.shape:
                raise ValueError(f"H must have the shape of W {tuple(batch) + Wb.shape[1:]}")
        opts = _opts(Wb.shape[-2], max_outer, tol, rho0, inner_steps, memory, patience, rho_growth, **kwargs)
        return _unbatch(_in_chunks(_softmax_batch, (Wb, Hb, cm), chunk_size, opts), batch)


def refine_problem(problem: str, point: dict, class_mask=None, **kwargs) -> RefineResult:
    """`refine_tammes` (problem "tammes": point {"W"}) or `refine_softmax_code` ("softmax-code":
    {"W", "H"}) of a point dict of (..., N, d) arrays; ``kwargs`` go to the refinement."""
    if problem == "tammes":
        return refine_tammes(point["W"], class_mask, **kwargs)
    if problem == "softmax-code":
        return refine_softmax_code(point["W"], point["H"], class_mask, **kwargs)
    raise ValueError(f"problem: only 'tammes' and 'softmax-code' have an exact refinement, not {problem!r}")


def refine_best_of(problem: str, point: dict, class_mask=None, group: int | None = None) -> tuple[dict, np.ndarray]:
    """Refine many restarts, polish the best: every problem of ``point`` (dict of (B, N, d) arrays) gets the fast
    refinement (``FAST_KW``: L-BFGS inner solves), then the best of each run of ``group`` consecutive problems (by
    the exact figure; default: all B) the full one (Newton polish to the roundoff floor). class_mask: (B, N) or None.
    Returns the refined points (float64 numpy arrays, same keys) and the (B,) status names."""
    keys = ("W",) if problem == "tammes" else ("W", "H")
    B = int(np.shape(point["W"])[0])
    group = B if group is None else int(group)
    if group < 1 or B % group:
        raise ValueError(f"group must divide the batch size {B}, got {group}")
    fast = refine_problem(problem, {k: point[k] for k in keys}, class_mask, **FAST_KW)
    value = np.nan_to_num(np.asarray(fast.value, np.float64), nan=-np.inf).reshape(B // group, group)
    best = np.arange(B // group) * group + np.argmax(value, axis=1)
    mask = None if class_mask is None else np.asarray(class_mask)[best]
    full = refine_problem(problem, {k: np.asarray(getattr(fast, k))[best] for k in keys}, mask)
    out = {}
    for k in keys:
        out[k] = np.array(getattr(fast, k), np.float64)
        out[k][best] = np.asarray(getattr(full, k))
    status = np.asarray(fast.status_names(), dtype=object).reshape(-1)
    status[best] = np.asarray(full.status_names(), dtype=object).reshape(-1)
    return out, status.astype(str)


__all__ = ["FAST_KW", "MaxMinResult", "RefineResult", "default_features", "refine_best_of", "refine_maxmin",
           "refine_problem", "refine_softmax_code", "refine_tammes"]
