"""Status codes, solver state and result types shared by every solver."""
from __future__ import annotations

import enum
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import check_bool, check_int, check_nonneg, check_positive
from ..manifolds import tree_all_finite

Array = jax.Array
PyTree = Any


class Status(enum.IntEnum):
    """Why a solve stopped (one int32 per problem)."""

    CONVERGED = 0  # Riemannian gradient norm <= gtol (times min(1, |f|) for a scaled gtol)
    MAX_STEPS = 1  # iteration budget spent
    MIN_STEP = 2  # line search could not decrease f any more (step below min_step): roundoff floor
    NONFINITE = 3  # objective or gradient became non-finite; the last finite iterate is returned
    RUNNING = 4  # internal: never returned by a finished solve

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def ok(self) -> bool:
        """True for the stops that leave a usable point (everything but NONFINITE)."""
        return self is not Status.NONFINITE


def gradient_converged(grad_norm, value, gtol: float, scaled: bool = False):
    """The stop test: ``grad_norm <= gtol``, or with ``scaled`` ``grad_norm <= gtol * min(1, |value|)``: absolute
    while |f| >= 1, relative below. Scaling serves objectives that vanish at their optimum (the spherical CE at small
    tau: loss and gradient ~ exp(-margin / tau), so any absolute ``gtol`` would stop at the start)."""
    if not scaled:
        return grad_norm <= gtol
    return grad_norm <= gtol * jax.numpy.minimum(1.0, jax.numpy.abs(value))


_MESSAGES = {
    Status.CONVERGED: "converged: Riemannian gradient norm below gtol (times min(1, |f|) if scaled)",
    Status.MAX_STEPS: "stopped: maximum number of iterations reached",
    Status.MIN_STEP: "stopped: step size below min_step (no further decrease at this precision)",
    Status.NONFINITE: "failed: objective or gradient not finite; last finite iterate returned",
    Status.RUNNING: "running",
}


class History(NamedTuple):
    """Per-iteration log, arrays of shape (max_steps,) (a continuation: (stages * max_steps,), every stage's
    iterations in order); entries past the last iteration are NaN (``accepted`` False, ``stage`` -1,
    ``inner_steps`` 0)."""

    value: Array  # objective at the accepted iterate after this iteration
    grad_norm: Array  # Riemannian gradient norm at that iterate
    step: Array  # step size tried in this iteration
    accepted: Array  # bool: was the trial accepted
    stage: Array | None = None  # int32 continuation stage of the iteration (None: a single solve)
    inner_steps: Array | None = None  # int32 Hessian-vector products (truncated-CG iterations) of the iteration
    #                                   (trust regions only; None for the first-order solvers)


def check_budget(solver) -> None:
    """Shared by every solver's ``__post_init__``: ``max_steps`` an integer >= 1, ``gtol`` a finite number >= 0,
    ``gtol_scaled`` and ``history`` bools (ValueError naming the field, before anything compiles)."""
    check_int("max_steps", solver.max_steps, 1)
    check_nonneg("gtol", solver.gtol)
    for name in ("gtol_scaled", "history"):
        check_bool(name, getattr(solver, name))


def check_optional_positive(name: str, value) -> None:
    """None, or a positive finite number."""
    if value is not None:
        check_positive(name, value)


def start(value, grad, grad_norm, gtol: float, scaled: bool, max_steps: int, history: bool):
    """Shared by every solver's ``init``: (finite, status, log) at the starting point: NONFINITE if f or its gradient is
    not finite, CONVERGED if the gradient already passes the stop test, else RUNNING; an empty (max_steps,) log (NaN,
    accepted False) when ``history``, else None."""
    finite = jnp.isfinite(value) & tree_all_finite(grad)
    status = jnp.where(~finite, Status.NONFINITE,
                       jnp.where(gradient_converged(grad_norm, value, gtol, scaled), Status.CONVERGED, Status.RUNNING))
    log = None
    if history:
        nan = jnp.full((max_steps,), jnp.nan, value.dtype)
        log = History(nan, nan, nan, jnp.zeros((max_steps,), bool))
    return finite, status.astype(jnp.int32), log


def record(history: History, i, value, grad_norm, step, accepted, inner_steps=None) -> History:
    """The log with iteration ``i``'s entries set (``inner_steps`` only in a log that has that column)."""
    inner = history.inner_steps
    if inner is not None:
        inner = inner.at[i].set(inner_steps)
    return history._replace(value=history.value.at[i].set(value), grad_norm=history.grad_norm.at[i].set(grad_norm),
                            step=history.step.at[i].set(step), accepted=history.accepted.at[i].set(accepted),
                            inner_steps=inner)


class Loop:
    """The whole solve from a solver's pure pieces, shared by every solver: it needs ``init(fun, manifold, x0, args)``,
    ``update(fun, manifold, state, args)`` (a finished state returned unchanged) and a state with x, value,
    grad_norm, steps, accepted, status and history; ``result`` may be overridden to report more."""

    def run_from_state(self, fun, manifold, state, args, budget=None):
        """``update`` in one ``lax.while_loop`` until the status leaves RUNNING; ``budget`` (a traced int32, or
        None): also stop, MAX_STEPS, after that many iterations (`stop_at_budget`)."""
        def step(s):
            s = self.update(fun, manifold, s, args)
            return s if budget is None else stop_at_budget(s, budget)

        return jax.lax.while_loop(lambda s: s.status == Status.RUNNING, step, state)

    def result(self, manifold, state) -> "Result":
        """The ``Result`` of a (finished) state."""
        return Result(state.x, state.value, state.grad_norm, state.steps, state.accepted, state.status,
                      manifold.constraint_violation(state.x), state.history)

    def run(self, fun, manifold, x0, args, budget=None) -> "Result":
        """Minimize ``fun(., args)`` on ``manifold`` from ``x0``: one jittable while_loop."""
        state = self.run_from_state(fun, manifold, self.init(fun, manifold, x0, args), args, budget)
        return self.result(manifold, state)


def stop_at_budget(state, budget):
    """``state`` with a still-running problem marked MAX_STEPS once it has taken ``budget`` iterations."""
    over = (state.status == Status.RUNNING) & (state.steps >= budget)
    return state._replace(status=jnp.where(over, Status.MAX_STEPS, state.status).astype(jnp.int32))


class SolverState(NamedTuple):
    """State of one problem (add leading axes to batch). All fields are arrays."""

    x: PyTree  # current accepted point
    value: Array  # f(x)
    grad: PyTree  # Riemannian gradient at x
    grad_norm: Array
    direction: PyTree  # search direction in T_x
    slope: Array  # <grad, direction> (< 0 for a descent direction)
    step: Array  # step size for the next trial
    descent_state: PyTree  # descent-specific memory (CG previous direction, L-BFGS pairs)
    steps: Array  # iterations taken (accepted + rejected trials), int32
    accepted: Array  # accepted iterations, int32
    last_trial_finite: Array  # bool
    status: Array  # int32 Status
    history: History | None


class Result(NamedTuple):
    """Outcome of one solve (add leading axes to batch)."""

    x: PyTree
    value: Array
    grad_norm: Array
    steps: Array
    accepted: Array
    status: Array
    constraint_violation: Array  # max_i | ||x_i|| - 1 | over spherical factors
    history: History | None
    inner_steps: Array | None = None  # Hessian-vector products over the solve (trust regions; None otherwise)

    def status_names(self):
        """Status names as a nested list (host side)."""
        import numpy as np

        codes = np.asarray(self.status)
        return np.vectorize(lambda c: Status(int(c)).name)(codes).tolist()
