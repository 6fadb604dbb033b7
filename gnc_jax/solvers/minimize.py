"""The Riemannian line-search solver: descent + backtracking Armijo search, one trial per iteration.

Every iteration evaluates f and its gradient once, at the trial point R_x(t d). An accepted trial
moves the iterate and asks the descent for a new direction and first step; a rejected one
shrinks t. Because each iteration is a fixed amount of work, the whole solve is one
``lax.while_loop`` that ``jax.vmap`` batches over independent problems, each with its own step
size, stop test and status code.

Usage::

    solver = Solver(descent=LBFGS(), max_steps=2000, gtol=1e-6)
    state = solver.init(fun, manifold, x0, args)
    state = solver.update(fun, manifold, state, args)      # one iteration, pure
    result = solver.run(fun, manifold, x0, args)            # all iterations, jittable

``fun(x, args) -> scalar`` is the objective (Euclidean gradient by autodiff).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from ..manifolds import tree_all_finite, tree_scale, tree_where
from .._checks import check_nonneg, check_open_unit, check_positive
from .base import Loop, SolverState, Status, check_budget, check_optional_positive, gradient_converged, record, start
from .descents import LBFGS, ConjugateGradient, Gradient

PyTree = Any


def _value_and_rgrad(fun, manifold, x, args):
    value, egrad = jax.value_and_grad(fun)(x, args)
    return value, manifold.egrad_to_rgrad(x, egrad)


@dataclasses.dataclass(frozen=True)
class Armijo:
    """Backtracking Armijo test f(R_x(t d)) <= f(x) + c1 t <grad, d>, one trial per iteration.

    Near a minimizer the decrease c1 t <grad, d> falls below the roundoff of f (float32 sees
    ~1e-7 |f|) and the plain test rejects every step. ``approximate`` then also accepts a trial
    whose value rose by at most ``roundoff`` eps |f| and whose slope along the transported
    direction satisfies Hager–Zhang's approximate-Wolfe bound  phi'(t) <= (2 delta - 1) phi'(0).
    """

    c1: float = 1e-4
    shrink: float = 0.5
    approximate: bool = True
    delta: float = 0.1
    roundoff: float = 16.0

    def __post_init__(self):
        check_open_unit("c1", self.c1)
        check_open_unit("shrink", self.shrink)
        check_open_unit("delta", self.delta, 0.5)
        check_nonneg("roundoff", self.roundoff)

    def accept(self, value, slope, step, trial_value, trial_slope):
        armijo = trial_value <= value + self.c1 * step * slope
        if self.approximate:
            eps = jnp.finfo(jnp.asarray(value).dtype).eps
            flat = trial_value <= value + self.roundoff * eps * jnp.abs(value)
            armijo = armijo | (flat & (trial_slope <= (2 * self.delta - 1) * slope))
        return jnp.isfinite(trial_value) & armijo


@dataclasses.dataclass(frozen=True)
class Solver(Loop):
    """Riemannian line-search minimizer (frozen and hashable: a static jit argument).

    Attributes:
      descent: ``Gradient()``, ``ConjugateGradient()`` or ``LBFGS()``.
      search: the line search (``Armijo``).
      max_steps: iteration budget (accepted + rejected trials).
      gtol: stop when the Riemannian gradient norm is <= gtol, or with ``gtol_scaled`` <= gtol * min(1, |f|)
        (``gradient_converged``).
      min_step: stop when the trial step length t*|d| falls below this (None: 4 eps(dtype)).
      init_step: first trial step length, as a fraction of |grad| (t0 = init_step / |grad|).
      history: record a per-iteration log (value, grad norm, step, accepted) of length max_steps.
    """

    descent: Any = LBFGS()
    search: Armijo = Armijo()
    max_steps: int = 1000
    gtol: float = 1e-6
    gtol_scaled: bool = False
    min_step: float | None = None
    init_step: float = 0.1
    history: bool = False

    def __post_init__(self):
        check_budget(self)
        check_optional_positive("min_step", self.min_step)
        check_positive("init_step", self.init_step)
        for method in ("init", "direction", "update"):
            if not callable(getattr(self.descent, method, None)):
                raise ValueError(f"descent: expected a descent (Gradient(), ConjugateGradient(), LBFGS()) with "
                                 f"init, direction and update, got {self.descent!r}")
        if not isinstance(self.search, Armijo):
            raise ValueError(f"search: expected an Armijo line search, got {self.search!r}")

    # -- pure init / update --------------------------------------------------------------------
    def init(self, fun: Callable, manifold, x0: PyTree, args: PyTree) -> SolverState:
        x0 = manifold.project_point(x0)
        value, grad = _value_and_rgrad(fun, manifold, x0, args)
        gnorm = manifold.norm(x0, grad)
        dstate = self.descent.init(manifold, x0, grad)
        direction = self.descent.direction(manifold, dstate, x0, grad)
        slope = manifold.inner(x0, grad, direction)
        dnorm = manifold.norm(x0, direction)
        step = self.init_step / jnp.where(dnorm > 0, dnorm, 1.0)
        finite, status, history = start(value, grad, gnorm, self.gtol, self.gtol_scaled, self.max_steps, self.history)
        zero = jnp.zeros((), jnp.int32)
        return SolverState(x0, value, grad, gnorm, direction, slope, step, dstate, zero, zero,
                           finite, status, history)

    def update(self, fun: Callable, manifold, state: SolverState, args: PyTree) -> SolverState:
        """One iteration (one trial). A finished state (status != RUNNING) is returned unchanged."""
        x, t, d = state.x, state.step, state.direction
        x_trial = manifold.retract(x, tree_scale(t, d))
        f_trial, g_trial = _value_and_rgrad(fun, manifold, x_trial, args)
        finite = jnp.isfinite(f_trial) & tree_all_finite(g_trial)
        trial_slope = manifold.inner(x_trial, g_trial, manifold.transport(x, x_trial, d))
        accept = finite & self.search.accept(state.value, state.slope, t, f_trial, trial_slope)

        dstate_acc = self.descent.update(manifold, state.descent_state, x, state.grad, d, x_trial, g_trial, t)
        d_acc = self.descent.direction(manifold, dstate_acc, x_trial, g_trial)
        slope_acc = manifold.inner(x_trial, g_trial, d_acc)
        t_acc = self.descent.next_step(manifold, state.descent_state, x, state.grad, d, x_trial, g_trial, t, slope_acc)
        gnorm_acc = manifold.norm(x_trial, g_trial)

        new = state._replace(
            x=tree_where(accept, x_trial, x),
            value=jnp.where(accept, f_trial, state.value),
            grad=tree_where(accept, g_trial, state.grad),
            grad_norm=jnp.where(accept, gnorm_acc, state.grad_norm),
            direction=tree_where(accept, d_acc, d),
            slope=jnp.where(accept, slope_acc, state.slope),
            step=jnp.where(accept, t_acc, t * self.search.shrink).astype(t.dtype),
            descent_state=tree_where(accept, dstate_acc, state.descent_state),
            steps=state.steps + 1,
            accepted=state.accepted + accept.astype(jnp.int32),
            last_trial_finite=finite,
        )
        new = new._replace(status=self._status(new))
        if self.history:
            new = new._replace(history=record(state.history, state.steps, new.value, new.grad_norm, t, accept))
        running = state.status == Status.RUNNING
        return tree_where(running, new, state)

    def _status(self, s: SolverState):
        dtype = s.value.dtype
        min_step = self.min_step if self.min_step is not None else 4 * float(jnp.finfo(dtype).eps)
        step_len = s.step * manifold_free_norm(s.direction)
        tiny = step_len < min_step
        code = jnp.where(
            gradient_converged(s.grad_norm, s.value, self.gtol, self.gtol_scaled), Status.CONVERGED,
            jnp.where(tiny & ~s.last_trial_finite, Status.NONFINITE,
                      jnp.where(tiny, Status.MIN_STEP,
                                jnp.where(s.steps >= self.max_steps, Status.MAX_STEPS, Status.RUNNING))))
        return code.astype(jnp.int32)



def manifold_free_norm(tree) -> jax.Array:
    """Euclidean norm of a pytree of tangent vectors (equals the Riemannian one for embedded metrics)."""
    return jnp.sqrt(sum(jnp.sum(leaf * leaf) for leaf in jax.tree_util.tree_leaves(tree)))


def RGD(**kw) -> Solver:
    """Riemannian gradient descent with Armijo backtracking (BB first trial step)."""
    return Solver(descent=Gradient(), **kw)


def RCG(beta: str = "hz", **kw) -> Solver:
    """Riemannian nonlinear conjugate gradient with Armijo backtracking."""
    return Solver(descent=ConjugateGradient(beta), **kw)


def RLBFGS(memory: int = 10, **kw) -> Solver:
    """Riemannian L-BFGS with Armijo backtracking."""
    return Solver(descent=LBFGS(memory), **kw)
