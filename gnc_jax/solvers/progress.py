"""Batched solves that report their progress from inside the compiled loop.

`run_batch` computes what ``jax.vmap`` of ``solver.run`` (or of `run_continuation`) computes, written as one
``while_loop`` over the whole batch (``vmap`` of ``update`` inside), as ``vmap`` of a ``while_loop`` lowers anyway. Its
loop counter is then one number for the batch, so every ``every`` iterations, and at the end of every stage, one
unbatched ``jax.debug.callback`` sends the batch's values, gradient norms and status codes to the host: progress
without leaving the compiled program, at the cost of one host call per report.

The callback is the module's fixed `dispatch` (so the compiled program is cached across solves), which forwards
to the innermost reporter installed by `reporting_to`; `ProgressPrinter` prints one line per report.
"""
from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from .base import Result, Status, stop_at_budget
from .continuation import merge_stages, stage_args, stage_budgets

PyTree = Any

_REPORTERS: list[Callable] = []


def dispatch(stage, iteration, value, grad_norm, status, done) -> None:
    """The compiled programs' host callback: forwards to the reporter of the innermost `reporting_to`."""
    if _REPORTERS:
        _REPORTERS[-1](int(stage), int(iteration), np.asarray(value), np.asarray(grad_norm), np.asarray(status),
                       bool(done))


@contextlib.contextmanager
def reporting_to(reporter: Callable):
    """Send the reports of `run_batch` programs run inside this block to ``reporter(stage, iteration, value (B,),
    grad_norm (B,), status (B,), done)``; waits for every pending report before leaving."""
    _REPORTERS.append(reporter)
    try:
        yield reporter
    finally:
        jax.effects_barrier()
        _REPORTERS.pop()


def run_batch(solver, fun: Callable, setup: Callable, x0: PyTree, hp: PyTree, taus=None, *, every: int,
              warm_steps: int | None = None) -> Result:
    """Solve a batch, reporting every ``every`` iterations (and at each stage's end) through `dispatch`.

    ``setup(hp_one) -> (manifold, args)`` builds one problem's manifold and objective arguments from its slice of
    ``hp`` (leading (B,) axis, like ``x0``). ``taus``: None (one stage) or (B, S) continuation temperatures (``args``
    must then hold "tau"; ``warm_steps`` as in `run_continuation`). Returns the batched ``Result``, equal to ``vmap``
    of ``solver.run`` / `run_continuation`."""
    if taus is None:
        return _stage(solver, fun, setup, x0, hp, None, jnp.zeros((), jnp.int32), every, solver.max_steps)
    x0 = jax.vmap(lambda x, h: setup(h)[0].project_point(x))(x0, hp)

    def one_stage(x, stage_tau_budget):
        stage, tau, budget = stage_tau_budget
        res = _stage(solver, fun, setup, x, hp, tau, stage, every, budget)
        return res.x, res

    S = taus.shape[1]
    stages = jnp.arange(S, dtype=jnp.int32)
    budgets = stage_budgets(solver, S, warm_steps)
    _, results = jax.lax.scan(one_stage, x0, (stages, jnp.swapaxes(taus, 0, 1), budgets))
    return jax.vmap(merge_stages, in_axes=1)(results)


def _stage(solver, fun, setup, x, hp, tau, stage, every: int, budget) -> Result:
    def lane(h, t):
        manifold, args = setup(h)
        return manifold, (args if t is None else stage_args(args, t))

    def init(x_, h, t):
        manifold, args = lane(h, t)
        return solver.init(fun, manifold, x_, args)

    def update(s, h, t):
        manifold, args = lane(h, t)
        return stop_at_budget(solver.update(fun, manifold, s, args), budget)

    def result(s, h, t):
        return solver.result(lane(h, t)[0], s)

    axes = (0, 0, None if tau is None else 0)

    def report(s, i, done):
        jax.debug.callback(dispatch, stage, i, s.value, s.grad_norm, s.status, done)

    def body(carry):
        s, i = carry
        s = jax.vmap(update, axes)(s, hp, tau)
        i = i + 1
        due = (i % every == 0) & jnp.any(s.status == Status.RUNNING)  # the stage's end reports on its own
        jax.lax.cond(due, lambda: report(s, i, False), lambda: None)
        return s, i

    state = jax.vmap(init, axes)(x, hp, tau)
    state, i = jax.lax.while_loop(lambda c: jnp.any(c[0].status == Status.RUNNING), body,
                                  (state, jnp.zeros((), jnp.int32)))
    report(state, i, True)
    return jax.vmap(result, axes)(state, hp, tau)


class ProgressPrinter:
    """A reporter that prints one line per report: stage (and its temperature), iterations, problems still running,
    the best finite value, the largest gradient norm among the running problems, and the time since it was made.

    ``stages``: the number of continuation stages; ``taus``: their temperatures (S,) or None; ``label``: a prefix;
    ``stream``: where to print (default sys.stderr)."""

    def __init__(self, stages: int = 1, taus=None, label: str = "", stream=None):
        self.stages, self.label, self.stream = int(stages), label, stream
        self.taus = None if taus is None else np.asarray(taus, np.float64)
        self.t0 = time.perf_counter()
        self.lines: list[str] = []

    def __call__(self, stage, iteration, value, grad_norm, status, done) -> None:
        finite = np.isfinite(value)
        running = status == Status.RUNNING
        best = f"{np.min(value[finite]):.10g}" if finite.any() else "nan"
        pool = grad_norm[running] if running.any() else grad_norm
        pool = pool[np.isfinite(pool)]
        gmax = f"{np.max(pool):.2e}" if pool.size else "nan"
        tau = "" if self.taus is None else f" (tau {self.taus[stage]:.4g})"
        if done:
            counts = {Status(int(c)).name: int(n) for c, n in zip(*np.unique(status, return_counts=True))}
            state = "done: " + ", ".join(f"{k.lower()} {v}" for k, v in sorted(counts.items()))
        else:
            state = f"{int(running.sum())}/{len(status)} running"
        line = (f"{self.label}stage {stage + 1}/{self.stages}{tau}, iteration {iteration}: {state}; best f {best}, "
                f"max |grad| {gmax}; {time.perf_counter() - self.t0:.1f} s")
        self.lines.append(line)
        print(line, file=self.stream if self.stream is not None else sys.stderr, flush=True)
