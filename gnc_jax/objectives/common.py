"""Shared numerics for objectives: exact Gram products, masked reductions, stable log-sum-exp."""
from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array

#: Every geometric matmul uses full float32 (or float64) precision: on GPUs JAX would otherwise
#: use TF32 (10-bit mantissa), which moves cosines in the 4th digit.
PRECISION = jax.lax.Precision.HIGHEST


def gram(a: Array, b: Array | None = None) -> Array:
    """(..., m, d), (..., p, d) -> (..., m, p) inner products a_i . b_j at HIGHEST precision."""
    b = a if b is None else b
    return jnp.einsum("...id,...jd->...ij", a, b, precision=PRECISION)


def row_mask_or_ones(hp: dict, key: str, size: int, dtype) -> Array:
    m = hp.get(key)
    return jnp.ones((size,), dtype) if m is None else m.astype(dtype)


def masked_logsumexp(z: Array, mask: Array, axis=-1) -> Array:
    """logsumexp of z over ``axis`` restricted to mask; 0-safe (finite, zero gradient) where a
    whole slice is masked out, so padded rows never produce NaN."""
    mask = mask.astype(bool)
    any_valid = jnp.any(mask, axis=axis, keepdims=True)
    zm = jnp.where(mask, z, jnp.where(any_valid, -jnp.inf, 0.0))
    return jax.nn.logsumexp(zm, axis=axis)


def masked_mean(x: Array, mask: Array) -> Array:
    mask = mask.astype(x.dtype)
    return jnp.sum(x * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def pair_mask(class_mask: Array, strict_upper: bool = True) -> Array:
    """(K,) -> (K, K) mask of valid pairs i != j (i < j if strict_upper)."""
    k = class_mask.shape[-1]
    valid = (class_mask[..., :, None] > 0) & (class_mask[..., None, :] > 0)
    tri = jnp.triu(jnp.ones((k, k), bool), 1) if strict_upper else ~jnp.eye(k, dtype=bool)
    return valid & tri


def safe_sqrt(x: Array) -> Array:
    """sqrt with a zero (not NaN) gradient at 0."""
    pos = x > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x, 1.0)), 0.0)
