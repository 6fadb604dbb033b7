"""Max-min packing objectives: Tammes and the softmax code (HardMax), exact and smooth (SPEC §2, §4).

Smooth surrogates replace a max by tau·logsumexp(·/tau) (an upper bound within tau·log(#terms));
solve them with temperature continuation (tau decreasing) and read the exact figures afterwards.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .common import gram, masked_logsumexp, pair_mask, row_mask_or_ones

Array = jax.Array


def tammes_max_cos(point: dict, hp: dict) -> Array:
    """Exact Tammes figure: max_{i<j} <w_i, w_j> over real rows. point: {"W": (K, d)}."""
    w = point["W"]
    pm = pair_mask(row_mask_or_ones(hp, "class_mask", w.shape[0], w.dtype))
    return jnp.max(jnp.where(pm, gram(w), -jnp.inf))


def tammes_smooth(point: dict, hp: dict) -> Array:
    """Smooth Tammes surrogate tau·logsumexp_{i<j} <w_i, w_j>/tau (>= max cos). hp: {"tau", "class_mask"}."""
    w = point["W"]
    pm = pair_mask(row_mask_or_ones(hp, "class_mask", w.shape[0], w.dtype))
    tau = hp["tau"]
    return tau * masked_logsumexp((gram(w) / tau).ravel(), pm.ravel())


def _hardmax_terms(point: dict, hp: dict):
    w, h = point["W"], point["H"]
    k = w.shape[0]
    cm = row_mask_or_ones(hp, "class_mask", k, w.dtype)
    hw = gram(h, w)  # (K, K): <h_k, w_j>
    terms = hw - jnp.diagonal(hw)[:, None]  # <w_j - w_k, h_k>
    return terms, pair_mask(cm, strict_upper=False)


def hardmax_loss(point: dict, hp: dict) -> Array:
    """Exact HardMax loss L_HM = max_k max_{j≠k} <w_j − w_k, h_k> (one feature per class).

    point: {"W": (K, d), "H": (K, d)}; min over OB×OB equals −ρ*(d, K).
    """
    terms, pm = _hardmax_terms(point, hp)
    return jnp.max(jnp.where(pm, terms, -jnp.inf))


def hardmax_smooth(point: dict, hp: dict) -> Array:
    """Smooth HardMax surrogate tau·logsumexp_{k, j≠k} <w_j − w_k, h_k>/tau. hp: {"tau", "class_mask"}."""
    terms, pm = _hardmax_terms(point, hp)
    tau = hp["tau"]
    return tau * masked_logsumexp((terms / tau).ravel(), pm.ravel())
