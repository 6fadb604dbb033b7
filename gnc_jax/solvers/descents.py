"""Descent directions on a manifold: gradient, nonlinear conjugate gradient, L-BFGS.

A descent is a frozen (hashable) dataclass with three pure methods:

* ``init(manifold, x, grad) -> dstate``
* ``direction(manifold, dstate, x, grad) -> d`` (a tangent vector at x)
* ``update(manifold, dstate, x, grad, direction, x_new, grad_new, step) -> dstate``
  after an accepted step x_new = R_x(step * direction).

``first_step(manifold, x, grad)`` and ``next_step(...)`` give the line search its first trial
step. Vector transport is projection onto the new tangent space throughout.
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import check_int
from ..manifolds import tree_axpy, tree_scale

PyTree = Any


def _neg(t):
    return tree_scale(-1.0, t)


@dataclasses.dataclass(frozen=True)
class Gradient:
    """Steepest descent with a Barzilai–Borwein first trial step (clipped to [1e-8, 1e8])."""

    def init(self, manifold, x, grad):
        return ()

    def direction(self, manifold, dstate, x, grad):
        return _neg(grad)

    def update(self, manifold, dstate, x, grad, direction, x_new, grad_new, step):
        return ()

    def next_step(self, manifold, dstate, x, grad, direction, x_new, grad_new, step, slope_new):
        s = manifold.transport(x, x_new, tree_scale(step, direction))
        y = tree_axpy(-1.0, manifold.transport(x, x_new, grad), grad_new)
        sy = jnp.abs(manifold.inner(x_new, s, y))
        ss = manifold.inner(x_new, s, s)
        bb = jnp.where(sy > 0, ss / jnp.where(sy > 0, sy, 1.0), 2.0 * step)
        return jnp.clip(bb, 1e-8, 1e8)


class CGState(NamedTuple):
    prev_direction: PyTree


@dataclasses.dataclass(frozen=True)
class ConjugateGradient:
    """Riemannian nonlinear CG; ``beta`` in {"hz" (Hager–Zhang), "pr+" (Polak–Ribière+),
    "fr" (Fletcher–Reeves)}. Falls back to -grad whenever the direction is not a descent one."""

    beta: str = "hz"

    def __post_init__(self):
        if self.beta not in ("hz", "pr+", "fr"):
            raise ValueError(f"beta: expected 'hz', 'pr+' or 'fr', got {self.beta!r}")

    def init(self, manifold, x, grad):
        return CGState(_neg(grad))

    def direction(self, manifold, dstate, x, grad):
        return dstate.prev_direction

    def update(self, manifold, dstate, x, grad, direction, x_new, grad_new, step):
        d_old = manifold.transport(x, x_new, direction)
        g_old = manifold.transport(x, x_new, grad)
        y = tree_axpy(-1.0, g_old, grad_new)
        gg_new = manifold.inner(x_new, grad_new, grad_new)
        gg_old = manifold.inner(x, grad, grad)
        dy = manifold.inner(x_new, d_old, y)
        safe = lambda v: jnp.where(jnp.abs(v) > 0, v, 1.0)
        if self.beta == "fr":
            beta = gg_new / safe(gg_old)
        elif self.beta == "pr+":
            beta = jnp.maximum(manifold.inner(x_new, grad_new, y) / safe(gg_old), 0.0)
        else:  # Hager–Zhang with the usual lower truncation
            yy = manifold.inner(x_new, y, y)
            hz = (manifold.inner(x_new, y, grad_new) - 2.0 * yy * manifold.inner(x_new, d_old, grad_new) / safe(dy)) / safe(dy)
            dnorm = jnp.sqrt(manifold.inner(x_new, d_old, d_old))
            gnorm_old = jnp.sqrt(gg_old)
            eta = -1.0 / safe(dnorm * jnp.minimum(0.01, gnorm_old))
            beta = jnp.where(jnp.abs(dy) > 0, jnp.maximum(hz, eta), 0.0)
        d_new = tree_axpy(beta, d_old, _neg(grad_new))
        descent = manifold.inner(x_new, d_new, grad_new) < 0
        d_new = jax.tree_util.tree_map(lambda a, b: jnp.where(descent, a, b), d_new, _neg(grad_new))
        return CGState(d_new)

    def next_step(self, manifold, dstate, x, grad, direction, x_new, grad_new, step, slope_new):
        # Nocedal–Wright: keep the predicted first-order decrease of the last accepted step.
        slope_old = manifold.inner(x, grad, direction)
        ratio = jnp.where(slope_new < 0, slope_old / jnp.where(slope_new < 0, slope_new, 1.0), 1.0)
        return jnp.clip(1.5 * step * ratio, 1e-10, 1e8)


class LBFGSState(NamedTuple):
    s: PyTree  # (m, *point) step differences, newest first, in T_x
    y: PyTree  # (m, *point) gradient differences
    rho: jax.Array  # (m,) 1/<s, y>, 0 for empty slots
    gamma: jax.Array  # initial Hessian scaling <s,y>/<y,y> of the newest pair


@dataclasses.dataclass(frozen=True)
class LBFGS:
    """Riemannian L-BFGS (two-loop recursion, projection transport, curvature-checked pairs)."""

    memory: int = 10

    def __post_init__(self):
        check_int("memory", self.memory, 1)

    def init(self, manifold, x, grad):
        m = self.memory
        stack = jax.tree_util.tree_map(lambda g: jnp.zeros((m,) + g.shape, g.dtype), grad)
        dtype = jax.tree_util.tree_leaves(grad)[0].dtype
        return LBFGSState(stack, stack, jnp.zeros((m,), dtype), jnp.ones((), dtype))

    def direction(self, manifold, dstate, x, grad):
        def first_loop(q, i):
            s_i = jax.tree_util.tree_map(lambda a: a[i], dstate.s)
            y_i = jax.tree_util.tree_map(lambda a: a[i], dstate.y)
            alpha = dstate.rho[i] * manifold.inner(x, s_i, q)
            return tree_axpy(-alpha, y_i, q), alpha

        m = self.memory
        q, alphas = jax.lax.scan(first_loop, grad, jnp.arange(m))
        r = tree_scale(dstate.gamma, q)

        def second_loop(r, i):
            s_i = jax.tree_util.tree_map(lambda a: a[i], dstate.s)
            y_i = jax.tree_util.tree_map(lambda a: a[i], dstate.y)
            beta = dstate.rho[i] * manifold.inner(x, y_i, r)
            return tree_axpy(alphas[i] - beta, s_i, r), None

        r, _ = jax.lax.scan(second_loop, r, jnp.arange(m - 1, -1, -1))
        d = _neg(manifold.proj(x, r))
        descent = manifold.inner(x, d, grad) < 0
        return jax.tree_util.tree_map(lambda a, b: jnp.where(descent, a, b), d, _neg(grad))

    def update(self, manifold, dstate, x, grad, direction, x_new, grad_new, step):
        s = manifold.transport(x, x_new, tree_scale(step, direction))
        y = tree_axpy(-1.0, manifold.transport(x, x_new, grad), grad_new)
        sy = manifold.inner(x_new, s, y)
        yy = manifold.inner(x_new, y, y)
        ss = manifold.inner(x_new, s, s)
        dtype = sy.dtype
        ok = sy > jnp.sqrt(jnp.finfo(dtype).eps) * jnp.sqrt(ss * yy)

        transport_stack = jax.vmap(lambda v: manifold.transport(x, x_new, v))
        old_s, old_y = transport_stack(dstate.s), transport_stack(dstate.y)

        def push(stack, v):
            return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([b[None], a[:-1]], 0), stack, v)

        new = LBFGSState(
            push(old_s, s),
            push(old_y, y),
            jnp.concatenate([(1.0 / jnp.where(ok, sy, 1.0))[None], dstate.rho[:-1]]),
            sy / jnp.where(yy > 0, yy, 1.0),
        )
        kept = LBFGSState(old_s, old_y, dstate.rho, dstate.gamma)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, kept)

    def next_step(self, manifold, dstate, x, grad, direction, x_new, grad_new, step, slope_new):
        return jnp.ones_like(step)
