"""Train ``CollapseMLP`` on ``gaussian_mixture`` data for several seeds in one compiled program, log snapshots of the
last layer, and measure neural collapse on them against the feature model's prediction."""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import check_int
from .data import gaussian_mixture
from .model import CollapseMLP, classifier_of

HEADS = ("linear", "spherical")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Full-batch SGD with momentum on the mean cross-entropy, weight decay on every parameter.

    ``steps`` must be a multiple of ``log_every``: the last layer (features of every sample, W, b), the loss and the
    training accuracy are recorded every ``log_every`` steps.
    """

    steps: int = 4000
    log_every: int = 200
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-3
    hidden: tuple = (64, 64)
    head: str = "linear"
    tau: float = 1.0

    def validate(self) -> None:
        for name in ("steps", "log_every"):
            check_int(name, getattr(self, name), 1)
        if self.steps % self.log_every:
            raise ValueError(f"log_every must divide steps ({self.steps}), got {self.log_every}")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {list(HEADS)}, got {self.head!r}")
        for name, lo_open in (("learning_rate", True), ("tau", True), ("weight_decay", False)):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (lo_open and v == 0):
                raise ValueError(f"{name} must be a {'positive' if lo_open else 'non-negative'} number, got {v!r}")
        if not isinstance(self.momentum, (int, float)) or not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not self.hidden:
            raise ValueError(f"hidden must be a non-empty sequence of positive widths, got {self.hidden!r}")
        for w in self.hidden:
            check_int("hidden", w, 1)


@dataclasses.dataclass
class NetRun:
    """Training runs of one (K, d, config) for several seeds.

    ``history``: columns (numpy arrays, one row per seed and logged step): seed, step, loss, accuracy, NC1, GNC1,
    NC2, NC3, GNC2 (rho of the normalized classifier), GNC3, NC4 (linear head), min_angle_deg (of the classifier
    rows). ``status``: per seed "FIT" (training accuracy 1 at the end), "NOT_FIT" or "NONFINITE".
    ``params``: the final parameters, stacked over seeds. ``prediction``: what the feature model says for this
    (K, d) and head (`predict`).
    """

    K: int
    d: int
    config: TrainConfig
    seeds: list
    history: dict
    status: list
    params: dict
    X: np.ndarray
    y: np.ndarray
    seconds: float
    prediction: dict

    def history_frame(self):
        """``history`` as a tidy pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.history)

    def final(self) -> list[dict]:
        """The last logged row of each seed."""
        last = np.flatnonzero(self.history["step"] == self.config.steps)
        return [{k: v[i].item() for k, v in self.history.items()} for i in last]

    def report(self) -> str:
        c, p = self.config, self.prediction
        head = f"{c.head} head" + (f", tau {c.tau:g}" if c.head == "spherical" else "")
        lines = [f"CollapseMLP K={self.K} d={self.d} ({head}), {c.steps} steps, lr {c.learning_rate:g}, "
                 f"wd {c.weight_decay:g}, {len(self.seeds)} seeds, {self.seconds:.1f} s",
                 f"prediction: {p['statement']}"]
        keys = ["NC1", "NC2", "NC3"] + (["NC4"] if c.head == "linear" else []) + ["GNC2", "min_angle_deg"]
        lines.append("seed  status    loss       acc    " + "  ".join(f"{k:>13}" for k in keys))
        for row, status in zip(self.final(), self.status):
            lines.append(f"{row['seed']:<5} {status:<9} {row['loss']:.3e}  {row['accuracy']:.3f}  "
                         + "  ".join(f"{row[k]:13.6g}" for k in keys))
        if p.get("rho") is not None:
            best = max(row["GNC2"] for row in self.final())
            lines.append(f"rho(W_hat): best seed {best:.6f} against the model's {p['rho']:.6f} "
                         f"({p['rho_source']}); gap {p['rho'] - best:+.3e}")
        return "\n".join(lines)


def _loss_fn(model, X, y):
    def loss(params):
        logits, h = model.apply(params, X)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return ce, (logits, h)

    return loss


@functools.lru_cache(maxsize=32)
def _train_program(model: CollapseMLP, cfg: TrainConfig):
    """Jitted ``(keys (S,), X (N, dim), y (N,)) -> (final params, logs)``, vmapped over the seeds' keys; logs hold
    (loss, accuracy, h, W, b) every ``cfg.log_every`` steps. Cached per (model, config): a later run of the same
    shapes does not compile again."""
    tx = optax.chain(optax.add_decayed_weights(cfg.weight_decay), optax.sgd(cfg.learning_rate, cfg.momentum))

    def one(key, X, y):
        loss = _loss_fn(model, X, y)
        params = model.init(key, X[:1])
        opt_state = tx.init(params)

        def step(carry, _):
            params, opt_state = carry
            grads = jax.grad(lambda p: loss(p)[0])(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        def chunk(carry, _):
            carry, _ = jax.lax.scan(step, carry, None, length=cfg.log_every)
            value, (logits, h) = loss(carry[0])
            W, b = classifier_of(carry[0])
            acc = jnp.mean(jnp.argmax(logits, axis=-1) == y)
            return carry, (value, acc, h, W, jnp.zeros(W.shape[0], W.dtype) if b is None else b)

        (params, _), logs = jax.lax.scan(chunk, (params, opt_state), None, length=cfg.steps // cfg.log_every)
        return params, logs

    return jax.jit(jax.vmap(one, in_axes=(0, None, None)))


def predict(K: int, d: int, head: str, tau: float) -> dict:
    """What the feature model predicts for the classifier of a net trained to the terminal phase.

    Linear head (regularized feature model, SPEC §1): for K <= d + 1 the simplex ETF (NC1, NC2, NC3, NC4 -> 0,
    rho(W_hat) = K/(K-1)); for K > d + 1 no closed form. Spherical head (GNC, SPEC §2): the spherical CE-UFM optimum at
    the same tau (solved here: ``solve("ce-ufm", n=1, ...)`` in float64, 16 restarts), which tends to the softmax
    code as tau -> 0.
    """
    if head == "linear":
        if K <= d + 1:
            return {"statement": f"simplex ETF (K <= d + 1): NC1..NC4 -> 0, rho(W_hat) = K/(K-1) = {K / (K - 1):.6f}",
                    "rho": K / (K - 1), "rho_source": "closed form, SPEC §1"}
        return {"statement": "K > d + 1: no closed form for the regularized model", "rho": None, "rho_source": None}
    from .. import solve

    with jax.enable_x64(True):
        r = solve("ce-ufm", C=K, d=d, tau=tau, n=1, restarts=16, dtype=jnp.float64)
    return {"statement": f"spherical CE-UFM optimum at tau = {tau:g}: rho(W) = {r.min_margin:.6f} "
                         f"(features collapse to their class means)", "rho": r.min_margin,
            "rho_source": f"gnc_jax.solve('ce-ufm', tau={tau:g}), {r.status}"}


def train_collapse(K: int, d: int, *, n: int = 50, dim: int = 32, separation: float = 6.0, data_seed: int = 0,
                   seeds: int | Sequence[int] = 4, steps: int = 4000, log_every: int = 200,
                   learning_rate: float = 0.05, momentum: float = 0.9, weight_decay: float | None = None,
                   hidden: Sequence[int] = (64, 64), head: str = "linear", tau: float | None = None,
                   predict_model: bool = True) -> NetRun:
    """Train ``CollapseMLP(K, d)`` on ``gaussian_mixture(K, n, dim)`` from several seeds at once (one compiled,
    vmapped program; full batch) and measure neural collapse along training.

    Args:
      K, d: classes and feature dimension. n, dim, separation, data_seed: the data (`gaussian_mixture`).
      seeds: a count (seeds 0..count-1) or a list of seeds for the parameter initialization.
      steps, log_every, learning_rate, momentum, weight_decay, hidden: see `TrainConfig`; weight_decay defaults to
        5e-3 for the linear head and 5e-4 for the spherical one (whose logits are bounded by 1/tau: with 5e-3 some
        seeds did not fit the data).
      head: "linear" (W h + b) or "spherical" (unit features and classifiers over tau; tau default 0.1).
      predict_model: also solve the feature model for the prediction (`predict`).

    Raises ValueError naming the argument on bad input, before anything compiles.
    """
    from ..codes.compare import min_angle_deg
    from ..theory.nc_metrics import neural_collapse_metrics

    for name, v, lo in (("K", K, 2), ("d", d, 1)):
        check_int(name, v, lo)
    if head == "linear" and tau is not None:
        raise ValueError("tau: only the spherical head has a temperature (head='spherical')")
    if head == "spherical" and tau is None:
        tau = 0.1
    if weight_decay is None:
        weight_decay = 5e-4 if head == "spherical" else 5e-3
    cfg = TrainConfig(steps=steps, log_every=log_every, learning_rate=learning_rate, momentum=momentum,
                      weight_decay=weight_decay, hidden=tuple(hidden), head=head, tau=1.0 if tau is None else tau)
    cfg.validate()
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a count >= 1 or a list of seeds, got {seeds!r}")
        seeds = list(range(int(seeds)))
    else:
        seeds = [int(s) for s in seeds]
        if not seeds or any(s < 0 for s in seeds):
            raise ValueError(f"seeds must be a count >= 1 or a list of non-negative seeds, got {seeds!r}")
    X, y = gaussian_mixture(K, n, dim, separation, data_seed)

    model = CollapseMLP(num_classes=K, features=d, hidden=cfg.hidden, head=cfg.head, tau=cfg.tau)
    program = _train_program(model, cfg)
    t0 = time.perf_counter()
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))
    params, logs = jax.device_get(jax.block_until_ready(program(keys, jnp.asarray(X), jnp.asarray(y))))
    seconds = time.perf_counter() - t0

    loss, acc, H, W, b = (np.asarray(a, np.float64) for a in logs)  # (S, L), (S, L), (S, L, N, d), (S, L, K, d), ...
    cols: dict[str, list] = {k: [] for k in ("seed", "step", "loss", "accuracy", "NC1", "GNC1", "NC2", "NC3", "GNC2",
                                             "GNC3", "NC4", "min_angle_deg")}
    status = []
    for i, s in enumerate(seeds):
        finite = bool(np.all(np.isfinite(loss[i])) and np.all(np.isfinite(W[i])) and np.all(np.isfinite(H[i])))
        status.append("NONFINITE" if not finite else ("FIT" if acc[i, -1] == 1.0 else "NOT_FIT"))
        for t in range(loss.shape[1]):
            cols["seed"].append(s)
            cols["step"].append((t + 1) * cfg.log_every)
            cols["loss"].append(loss[i, t])
            cols["accuracy"].append(acc[i, t])
            if finite:
                m = neural_collapse_metrics(H[i, t], y, W[i, t], b[i, t] if cfg.head == "linear" else None, K)
                zero_row = np.any(np.linalg.norm(W[i, t], axis=1) == 0)  # a vanished classifier has no direction
                m["min_angle_deg"] = math.nan if zero_row else min_angle_deg(W[i, t])  # rho is GNC2 already
            else:
                m = {}
            for k in ("NC1", "GNC1", "NC2", "NC3", "GNC2", "GNC3", "NC4", "min_angle_deg"):
                cols[k].append(m.get(k, math.nan))
    history = {k: np.asarray(v) for k, v in cols.items()}
    prediction = predict(K, d, cfg.head, cfg.tau) if predict_model else {"statement": "not computed", "rho": None,
                                                                           "rho_source": None}
    return NetRun(K=K, d=d, config=cfg, seeds=seeds, history=history, status=status, params=params, X=X, y=y,
                  seconds=seconds, prediction=prediction)
