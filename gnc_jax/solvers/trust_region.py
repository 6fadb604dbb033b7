"""Riemannian trust regions with a truncated conjugate-gradient inner solve (Steihaug–Toint), compiled and batched.

Each outer iteration builds the second-order model m(eta) = f(x) + <grad, eta> + 1/2 <eta, Hess f(x)[eta]> on
T_x, minimizes it approximately inside the ball |eta| <= radius by truncated CG (Hessian-vector products through
``jax.linearize`` of the Euclidean gradient, the sphere's Weingarten term added by ``manifold.ehess_to_rhess``),
and accepts the retracted trial R_x(eta) when the actual decrease is at least ``rho_prime`` times the model's.
The radius shrinks fourfold after a poor model and doubles, up to ``max_radius``, after a good one that reached
the boundary. Near a nondegenerate minimizer the inner solve becomes a Newton step (tolerance
|r| <= |grad| min(|grad|^theta, kappa), floored at sqrt(eps) |grad|): superlinear convergence, where the line-search
solvers are linear.

The solve is one ``lax.while_loop`` of outer iterations, each holding one inner ``while_loop``; under ``jax.vmap``
every problem keeps its own radius, inner iteration count, stop test and status code. Usage::

    solver = TrustRegion(max_steps=200, gtol=1e-10)
    result = solver.run(fun, manifold, x0, args)       # or init / update, pure, over a TRState

``steps`` counts outer iterations (accepted + rejected trials); ``TRState.inner`` and ``Result.inner_steps`` the
Hessian-vector products (truncated-CG iterations), ``History.inner_steps`` those of each outer iteration.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from ..manifolds import tree_all_finite, tree_axpy, tree_scale, tree_where
from .._checks import check_int, check_nonneg, check_open_unit
from .base import (History, Loop, Result, Status, check_budget, check_optional_positive, gradient_converged, record,
                   start)
from .minimize import _value_and_rgrad

PyTree = Any


class TRState(NamedTuple):
    """State of one problem (add leading axes to batch)."""

    x: PyTree  # current accepted point
    value: jax.Array  # f(x)
    grad: PyTree  # Riemannian gradient at x
    grad_norm: jax.Array
    radius: jax.Array  # trust-region radius for the next trial
    step_norm: jax.Array  # |eta| of the last trial
    steps: jax.Array  # outer iterations (accepted + rejected), int32
    accepted: jax.Array  # accepted iterations, int32
    inner: jax.Array  # Hessian-vector products (truncated-CG iterations) so far, int32
    last_trial_finite: jax.Array  # bool
    status: jax.Array  # int32 Status
    history: History | None


class _CGState(NamedTuple):
    j: jax.Array
    eta: PyTree
    h_eta: PyTree
    r: PyTree
    d: PyTree
    rr: jax.Array  # <r, r>
    e_e: jax.Array  # <eta, eta>
    e_d: jax.Array  # <eta, d>
    d_d: jax.Array  # <d, d>
    model: jax.Array  # <g, eta> + 1/2 <eta, H eta>
    done: jax.Array
    boundary: jax.Array  # stopped on the trust-region boundary (or on negative curvature)


def hessian_operator(fun: Callable, manifold, x: PyTree, args: PyTree):
    """v -> Hess f(x)[v] for tangent v at x (one linearization of the Euclidean gradient, reused for every v)."""
    egrad, lin = jax.linearize(lambda z: jax.grad(fun)(z, args), x)
    return lambda v: manifold.ehess_to_rhess(x, egrad, lin(v), v)


def truncated_cg(hess: Callable, manifold, x, grad, grad_norm, radius, max_inner: int, theta: float, kappa: float,
                 active=True):
    """Approximately minimize <grad, eta> + 1/2 <eta, hess(eta)> over |eta| <= radius in T_x (Steihaug–Toint).

    Stops on negative curvature or at the boundary (then ``boundary`` is True), when the residual falls below
    |grad| max(min(|grad|^theta, kappa), sqrt(eps)), after ``max_inner`` iterations, or when an iteration would
    raise the model (roundoff; that iteration is dropped). ``active`` False returns eta = 0 at once (a finished
    problem in a batch). Returns (eta, hess(eta), boundary, iterations)."""
    zero = tree_scale(0.0, grad)
    dtype = grad_norm.dtype
    rr0 = grad_norm * grad_norm
    floor = jnp.sqrt(jnp.finfo(dtype).eps)  # CG's residual recursion cannot resolve much less; relative
    tol = grad_norm * jnp.maximum(jnp.minimum(grad_norm ** theta, kappa), floor)
    state = _CGState(jnp.zeros((), jnp.int32), zero, zero, grad, tree_scale(-1.0, grad), rr0,
                     jnp.zeros((), dtype), jnp.zeros((), dtype), rr0, jnp.zeros((), dtype),
                     ~(active & (rr0 > 0)), jnp.zeros((), bool))
    r2 = radius * radius

    def body(s: _CGState) -> _CGState:
        hd = hess(s.d)
        dhd = manifold.inner(x, s.d, hd)
        alpha = s.rr / jnp.where(dhd != 0, dhd, 1.0)
        e_e_full = s.e_e + 2 * alpha * s.e_d + alpha * alpha * s.d_d
        boundary = (dhd <= 0) | (e_e_full >= r2)
        disc = jnp.maximum(s.e_d * s.e_d + s.d_d * (r2 - s.e_e), 0.0)
        to_edge = (-s.e_d + jnp.sqrt(disc)) / jnp.where(s.d_d > 0, s.d_d, 1.0)
        t = jnp.where(boundary, to_edge, alpha)
        eta = tree_axpy(t, s.d, s.eta)
        h_eta = tree_axpy(t, hd, s.h_eta)
        g_eta = manifold.inner(x, grad, eta)
        model = g_eta + 0.5 * manifold.inner(x, eta, h_eta)
        worse = ~boundary & (model > s.model)  # roundoff: keep the previous eta
        r = manifold.proj(x, tree_axpy(alpha, hd, s.r))
        rr = manifold.inner(x, r, r)
        beta = rr / jnp.where(s.rr > 0, s.rr, 1.0)
        d = tree_axpy(beta, s.d, tree_scale(-1.0, r))
        new = _CGState(s.j + 1, eta, h_eta, r, d, rr, e_e_full, beta * (s.e_d + alpha * s.d_d),
                       rr + beta * beta * s.d_d, model,
                       boundary | (jnp.sqrt(rr) <= tol) | (s.j + 1 >= max_inner), boundary)
        return tree_where(worse, s._replace(j=s.j + 1, done=jnp.ones((), bool)), new)

    out = jax.lax.while_loop(lambda s: ~s.done, body, state)
    return out.eta, out.h_eta, out.boundary, out.j


@dataclasses.dataclass(frozen=True)
class TrustRegion(Loop):
    """Riemannian trust-region minimizer with truncated CG (frozen and hashable: a static jit argument).

    Attributes:
      max_steps: outer iteration budget (accepted + rejected trials).
      gtol, gtol_scaled: the stop test on the Riemannian gradient norm (``gradient_converged``).
      max_inner: truncated-CG iterations per outer one (None: the manifold's dimension, at most 1000).
      theta, kappa: inner stop |r| <= |grad| max(min(|grad|^theta, kappa), sqrt(eps)) (theta = 1: quadratic local
        rate until the relative residual reaches sqrt(eps), linear at that rate after).
      rho_prime: accept a trial when actual / predicted decrease > rho_prime.
      radius, max_radius: first and largest radius (None: max_radius / 8, and the manifold's typical distance,
        pi sqrt(rows) for the spheres, sqrt(n) for Euclidean factors).
      roundoff: f's precision floor, roundoff * eps * |f| (relative, as in the line search's flat test, so that
        objectives that vanish at the optimum, the CE at small tau, keep their digits). When the predicted decrease
        is below it and f did not rise above it, f's values cannot judge the trial (float32 near an optimum): it is
        accepted when it lowers the gradient norm instead, so Newton steps keep converging the gradient down to its
        own floor.
      min_step: stop (MIN_STEP) when the radius, or an accepted step's length, falls below this (None: 4 eps).
      history: per-outer-iteration log (value, grad norm, trial step length |eta|, accepted, inner_steps).
    """

    max_steps: int = 1000
    gtol: float = 1e-6
    gtol_scaled: bool = False
    max_inner: int | None = None
    theta: float = 1.0
    kappa: float = 0.1
    rho_prime: float = 0.1
    radius: float | None = None
    max_radius: float | None = None
    roundoff: float = 16.0
    min_step: float | None = None
    history: bool = False

    def __post_init__(self):
        check_budget(self)
        if self.max_inner is not None:
            check_int("max_inner", self.max_inner, 1)
        check_nonneg("theta", self.theta)
        check_open_unit("kappa", self.kappa)
        rho_prime = check_nonneg("rho_prime", self.rho_prime)
        if rho_prime >= 0.25:  # a trial with rho < 1/4 shrinks the radius; accepting it must stay possible
            raise ValueError(f"rho_prime must lie in [0, 0.25), got {self.rho_prime!r}")
        for name in ("radius", "max_radius", "min_step"):
            check_optional_positive(name, getattr(self, name))
        if self.radius is not None and self.max_radius is not None and self.radius > self.max_radius:
            raise ValueError(f"radius ({self.radius!r}) must not exceed max_radius ({self.max_radius!r})")
        check_nonneg("roundoff", self.roundoff)

    def _radii(self, manifold, x):
        big = self.max_radius if self.max_radius is not None else manifold.typical_distance(x)
        return big, (self.radius if self.radius is not None else big / 8)

    def init(self, fun: Callable, manifold, x0: PyTree, args: PyTree) -> TRState:
        x0 = manifold.project_point(x0)
        value, grad = _value_and_rgrad(fun, manifold, x0, args)
        gnorm = manifold.norm(x0, grad)
        finite, status, history = start(value, grad, gnorm, self.gtol, self.gtol_scaled, self.max_steps, self.history)
        if history is not None:
            history = history._replace(inner_steps=jnp.zeros((self.max_steps,), jnp.int32))
        zero = jnp.zeros((), jnp.int32)
        _, radius = self._radii(manifold, x0)
        return TRState(x0, value, grad, gnorm, jnp.asarray(radius, value.dtype), jnp.zeros((), value.dtype),
                       zero, zero, zero, finite, status, history)

    def update(self, fun: Callable, manifold, state: TRState, args: PyTree) -> TRState:
        """One outer iteration (one trial). A finished state (status != RUNNING) is returned unchanged."""
        x, f, g = state.x, state.value, state.grad
        running = state.status == Status.RUNNING
        max_radius, _ = self._radii(manifold, x)
        max_inner = self.max_inner if self.max_inner is not None else min(manifold.dim(x), 1000)
        hess = hessian_operator(fun, manifold, x, args)
        eta, h_eta, boundary, inner = truncated_cg(hess, manifold, x, g, state.grad_norm, state.radius,
                                                   max(int(max_inner), 1), self.theta, self.kappa, running)
        x_trial = manifold.retract(x, eta)
        f_trial, g_trial = _value_and_rgrad(fun, manifold, x_trial, args)
        finite = jnp.isfinite(f_trial) & tree_all_finite(g_trial)

        predicted = -(manifold.inner(x, g, eta) + 0.5 * manifold.inner(x, eta, h_eta))
        eps = jnp.finfo(f.dtype).eps
        floor = self.roundoff * eps * jnp.abs(f)  # roundoff level of f
        gnorm_trial = manifold.norm(x_trial, g_trial)
        at_floor = (predicted <= floor) & (f_trial <= f + floor)
        rho = jnp.where(at_floor, jnp.where(gnorm_trial < state.grad_norm, 1.0, 0.0),
                        (f - f_trial) / jnp.where(predicted > 0, predicted, 1.0))
        good_model = finite & (predicted >= 0) & jnp.isfinite(rho)
        accept = good_model & (rho > self.rho_prime)
        radius = jnp.where(~good_model | (rho < 0.25), state.radius / 4,
                           jnp.where((rho > 0.75) & boundary, jnp.minimum(2 * state.radius, max_radius), state.radius))
        step_norm = manifold.norm(x, eta)

        new = state._replace(
            x=tree_where(accept, x_trial, x),
            value=jnp.where(accept, f_trial, f),
            grad=tree_where(accept, g_trial, g),
            grad_norm=jnp.where(accept, gnorm_trial, state.grad_norm),
            radius=radius.astype(state.radius.dtype),
            step_norm=step_norm,
            steps=state.steps + 1,
            accepted=state.accepted + accept.astype(jnp.int32),
            inner=state.inner + inner,
            last_trial_finite=finite,
        )
        dtype = f.dtype
        min_step = self.min_step if self.min_step is not None else 4 * float(jnp.finfo(dtype).eps)
        tiny = (new.radius < min_step) | (accept & (step_norm < min_step))
        status = jnp.where(
            gradient_converged(new.grad_norm, new.value, self.gtol, self.gtol_scaled), Status.CONVERGED,
            jnp.where(tiny & ~finite, Status.NONFINITE,
                      jnp.where(tiny, Status.MIN_STEP,
                                jnp.where(new.steps >= self.max_steps, Status.MAX_STEPS, Status.RUNNING))))
        new = new._replace(status=status.astype(jnp.int32))
        if self.history:
            new = new._replace(history=record(state.history, state.steps, new.value, new.grad_norm, step_norm, accept,
                                                 inner))
        return tree_where(running, new, state)

    def result(self, manifold, s: TRState) -> Result:
        """The ``Result`` of a (finished) state, with its Hessian-vector product count."""
        return Result(s.x, s.value, s.grad_norm, s.steps, s.accepted, s.status, manifold.constraint_violation(s.x),
                      s.history, s.inner)



def RTR(**kw) -> TrustRegion:
    """Riemannian trust regions with truncated CG (``TrustRegion``)."""
    return TrustRegion(**kw)
