"""Any optax gradient transformation made Riemannian: project, transform, project, retract.

``riemannian(tx, manifold)`` is the step rule; ``OptaxSolver`` runs it in the same jitted,
vmappable while_loop as the line-search solvers, with the same status codes. There is no line
search: a non-finite trial is rejected (the last finite iterate is kept) and reported.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ..manifolds import tree_all_finite, tree_where
from .base import History, Loop, Status, check_budget, gradient_converged, record, start
from .minimize import _value_and_rgrad

PyTree = Any


class OptaxState(NamedTuple):
    x: PyTree
    value: jax.Array
    grad: PyTree
    grad_norm: jax.Array
    opt_state: PyTree
    steps: jax.Array
    accepted: jax.Array
    status: jax.Array
    history: History | None


def riemannian_step(tx: optax.GradientTransformation, manifold, x, rgrad, opt_state):
    """One Riemannian optax step: returns (x_new, opt_state_new).

    The optimizer sees the Riemannian gradient; its update is projected to T_x and retracted.
    (Adam's moment estimates live in the ambient space, as in Riemannian Adam without transport.)
    """
    updates, opt_state = tx.update(rgrad, opt_state, x)
    return manifold.retract(x, manifold.proj(x, updates)), opt_state


@dataclasses.dataclass(frozen=True)
class OptaxSolver(Loop):
    """Fixed-budget Riemannian optax loop. ``tx`` must be hashable (optax's are)."""

    tx: optax.GradientTransformation = optax.adam(1e-2)
    max_steps: int = 1000
    gtol: float = 1e-6
    gtol_scaled: bool = False  # converged when |grad| <= gtol * min(1, |f|)
    history: bool = False

    def __post_init__(self):
        check_budget(self)
        if not (callable(getattr(self.tx, "init", None)) and callable(getattr(self.tx, "update", None))):
            raise ValueError(f"tx: expected an optax GradientTransformation, got {self.tx!r}")

    def init(self, fun: Callable, manifold, x0, args) -> OptaxState:
        x0 = manifold.project_point(x0)
        value, grad = _value_and_rgrad(fun, manifold, x0, args)
        gnorm = manifold.norm(x0, grad)
        _, status, history = start(value, grad, gnorm, self.gtol, self.gtol_scaled, self.max_steps, self.history)
        zero = jnp.zeros((), jnp.int32)
        return OptaxState(x0, value, grad, gnorm, self.tx.init(x0), zero, zero, status, history)

    def update(self, fun: Callable, manifold, state: OptaxState, args) -> OptaxState:
        x_new, opt_state = riemannian_step(self.tx, manifold, state.x, state.grad, state.opt_state)
        f_new, g_new = _value_and_rgrad(fun, manifold, x_new, args)
        finite = jnp.isfinite(f_new) & tree_all_finite(g_new)
        gnorm = manifold.norm(x_new, g_new)
        steps = state.steps + 1
        status = jnp.where(~finite, Status.NONFINITE,
                           jnp.where(gradient_converged(gnorm, f_new, self.gtol, self.gtol_scaled), Status.CONVERGED,
                                     jnp.where(steps >= self.max_steps, Status.MAX_STEPS, Status.RUNNING)))
        new = OptaxState(
            tree_where(finite, x_new, state.x), jnp.where(finite, f_new, state.value),
            tree_where(finite, g_new, state.grad), jnp.where(finite, gnorm, state.grad_norm),
            opt_state, steps, state.accepted + finite.astype(jnp.int32), status.astype(jnp.int32),
            state.history)
        if self.history:
            new = new._replace(history=record(state.history, state.steps, new.value, new.grad_norm, jnp.nan, finite))
        return tree_where(state.status == Status.RUNNING, new, state)

