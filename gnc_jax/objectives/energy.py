"""Hyperspherical energies and HUG (SPEC §3): Riesz s-energy (MHE, Thomson), log energy, MGD, HUG."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .common import gram, masked_mean, pair_mask, row_mask_or_ones, safe_sqrt

Array = jax.Array


def _sq_dists(w: Array) -> Array:
    """(K, d) unit rows -> (K, K) squared distances 2 − 2<w_i, w_j>, clipped at 0."""
    return jnp.maximum(2.0 - 2.0 * gram(w), 0.0)


def riesz_energy(point: dict, hp: dict) -> Array:
    """Riesz s-energy E_s = Σ_{i≠j} ||w_i − w_j||^{−s} (s > 0); s = 0 gives the log energy
    E_0 = Σ_{i≠j} log(1/||w_i − w_j||). point: {"W": (K, d)}; hp: {"s", "class_mask"}."""
    w = point["W"]
    pm = pair_mask(row_mask_or_ones(hp, "class_mask", w.shape[0], w.dtype), strict_upper=False)
    r2 = jnp.where(pm, _sq_dists(w), 1.0)
    s = hp["s"]
    log_r2 = jnp.log(r2)
    per_pair = jnp.where(s > 0, jnp.exp(-0.5 * s * log_r2), -0.5 * log_r2)
    return jnp.sum(jnp.where(pm, per_pair, 0.0))


def mgd_neg_logdet(point: dict, hp: dict) -> Array:
    """MGD objective −log det(G + 1e-6 I), G_ij = exp(−||w_i − w_j||²); padded rows act as identity."""
    w = point["W"]
    cm = row_mask_or_ones(hp, "class_mask", w.shape[0], w.dtype) > 0
    valid = cm[:, None] & cm[None, :]
    g = jnp.where(valid, jnp.exp(-_sq_dists(w)), 0.0)
    eye = jnp.eye(w.shape[0], dtype=w.dtype)
    g = g + eye * jnp.where(cm, 1e-6, 1.0)[:, None]
    chol = jnp.linalg.cholesky(g)
    return -2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))


def hug_inter(w: Array, class_mask: Array | None = None) -> Array:
    """Proxy MHE inter-class term mean_{i<j} ||w_i − w_j||^{−2}."""
    cm = jnp.ones(w.shape[:1], w.dtype) if class_mask is None else class_mask
    pm = pair_mask(cm)
    r2 = jnp.where(pm, _sq_dists(w), 1.0)
    return masked_mean(1.0 / r2, pm)


def _hug(point: dict, hp: dict, stop_proxy_grad: bool, squared: bool) -> Array:
    w, x = point["W"], point["X"]
    k, n, _ = x.shape
    cm = row_mask_or_ones(hp, "class_mask", k, w.dtype)
    sm = row_mask_or_ones(hp, "sample_mask", n, w.dtype)
    proxies = jax.lax.stop_gradient(w) if stop_proxy_grad else w
    sq = jnp.sum((x - proxies[:, None, :]) ** 2, axis=-1)
    dist = sq if squared else safe_sqrt(sq)
    intra = masked_mean(dist, cm[:, None] * sm[None, :])
    return hp["beta"] * intra + hp["alpha"] * hug_inter(w, cm)


def hug(point: dict, hp: dict) -> Array:
    """HUG (proxy MHE form) as a smooth true objective: β·mean ||x_ki − w_k||² + α·mean_{i<j} ||w_i − w_j||^{−2}.

    point: {"W": (K, d) proxies, "X": (K, n, d) features}, all unit rows; hp: {"alpha", "beta", masks}.
    The official loss (``hug_official_loss``) uses the unsquared distance and a stop-gradient into
    the proxies; both only change the dynamics, not the global minimizers (features exactly on
    their proxies, proxies minimizing the Riesz-2 energy), and this form is smooth at collapse,
    so line-search solvers converge on it instead of stalling at the kink.
    """
    return _hug(point, hp, stop_proxy_grad=False, squared=True)


def hug_official_loss(point: dict, hp: dict) -> Array:
    """The official training loss: the attraction term stops the gradient into the proxies."""
    return _hug(point, hp, stop_proxy_grad=True, squared=False)
