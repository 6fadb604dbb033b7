"""Temperature continuation: solve at a decreasing sequence of tau, warm-starting each stage.

The whole schedule is one ``lax.scan`` over stages (each a ``while_loop``), so it jits and
vmaps like a single solve. ``args`` must hold the temperature under the key ``"tau"``.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from .base import History, Result, Status

PyTree = Any


def geometric_schedule(tau_start: float, tau_end: float, stages: int):
    """(stages,) temperatures from tau_start down to tau_end, geometrically spaced."""
    if stages < 1:
        raise ValueError(f"stages must be >= 1, got {stages}")
    if stages == 1:
        return jnp.asarray([tau_end])
    return jnp.geomspace(tau_start, tau_end, stages)


def run_continuation(solver, fun: Callable, manifold, x0: PyTree, args: dict, taus: jax.Array,
                     warm_steps: int | None = None) -> Result:
    """Run ``solver`` at each tau in ``taus`` (shape (S,)), warm-starting from the previous stage.

    Returns the last stage's result; ``steps``, ``accepted`` (and ``inner_steps``) count all stages; ``status`` is
    the last stage's unless an earlier stage went non-finite (then NONFINITE, and the point is
    the last finite one). With ``solver.history`` the log holds every stage's iterations in order
    (``History.stage`` says which), length S * max_steps (`concat_stage_histories`). ``warm_steps``: iteration
    budget of every stage but the last (None: ``solver.max_steps``, like the last), one compiled loop either way.
    """

    def stage(x, tau_budget):
        tau, budget = tau_budget
        res = solver.run(fun, manifold, x, stage_args(args, tau), budget)
        return res.x, res

    budgets = stage_budgets(solver, taus.shape[0], warm_steps)
    _, results = jax.lax.scan(stage, manifold.project_point(x0), (taus, budgets))
    return merge_stages(results)


def stage_budgets(solver, stages: int, warm_steps: int | None):
    """(stages,) int32 iteration budgets: ``warm_steps`` for all but the last stage (None: ``solver.max_steps``),
    ``solver.max_steps`` for the last."""
    warm = solver.max_steps if warm_steps is None else min(int(warm_steps), solver.max_steps)
    return jnp.full((stages,), warm, jnp.int32).at[-1].set(solver.max_steps)


def stage_args(args: dict, tau) -> dict:
    """``args`` at the stage temperature ``tau`` (cast to the dtype of ``args["tau"]``)."""
    return dict(args, tau=tau.astype(jnp.asarray(args["tau"]).dtype))


def merge_stages(results: Result) -> Result:
    """Stage results stacked on a leading (S,) axis -> the continuation's one result (`run_continuation`)."""
    last = jax.tree_util.tree_map(lambda a: a[-1], results)
    bad = jnp.any(results.status == Status.NONFINITE)
    status = jnp.where(bad, Status.NONFINITE, last.status).astype(jnp.int32)
    history = None if results.history is None else concat_stage_histories(results.history, results.steps)

    def total(a):  # int32 kept (jnp.sum would widen to int64 under x64)
        return jnp.sum(a, axis=0, dtype=a.dtype)

    inner = None if results.inner_steps is None else total(results.inner_steps)
    return last._replace(steps=total(results.steps), accepted=total(results.accepted), status=status,
                         history=history, inner_steps=inner)


def concat_stage_histories(h: History, steps: jax.Array) -> History:
    """Stage logs (S, M) with steps (S,) -> one (S * M,) log: stage s's first steps[s] entries follow stage
    s - 1's, the rest is padding (NaN, accepted False, stage -1)."""
    S, M = h.value.shape
    i = jnp.arange(M)
    offsets = jnp.cumsum(steps) - steps
    target = jnp.where(i[None, :] < steps[:, None], offsets[:, None] + i[None, :], S * M).ravel()

    def put(a, fill):
        return jnp.full((S * M,), fill, a.dtype).at[target].set(a.ravel(), mode="drop")

    stage = jnp.broadcast_to(jnp.arange(S, dtype=jnp.int32)[:, None], (S, M))
    return History(put(h.value, jnp.nan), put(h.grad_norm, jnp.nan), put(h.step, jnp.nan), put(h.accepted, False),
                   put(stage, -1), None if h.inner_steps is None else put(h.inner_steps, 0))
