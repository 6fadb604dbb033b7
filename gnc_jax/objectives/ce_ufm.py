"""Cross-entropy unconstrained feature models (SPEC §1, §2).

Points are dicts. Hyperparameters ``hp`` are dicts of arrays:
``class_mask`` (K,), ``sample_mask`` (n,) (optional, 1 = real), ``tau`` (spherical models),
``lambda_W``, ``lambda_H``, ``lambda_b`` (regularized model).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .common import PRECISION, gram, masked_logsumexp, masked_mean, row_mask_or_ones

Array = jax.Array


def _ce_per_sample(logits: Array, class_mask: Array) -> Array:
    """logits (K, n, K) of sample i of class k against class j -> (K, n) CE(z, k).

    Computed from the margins as CE(z, k) = log(1 + Σ_{j≠k} exp(z_j − z_k)) = softplus(logsumexp_{j≠k}(z_j − z_k)),
    not as logsumexp(z) − z_k: near collapse at small tau the loss falls far below the rounding of the logits
    (float32: ~1e-6 at |z| ~ 20), and the difference form would return rounding noise and its gradient.
    """
    k = logits.shape[0]
    true = jnp.take_along_axis(logits, jnp.arange(k)[:, None, None], axis=-1)[..., 0]
    others = (class_mask[None, :] > 0) & ~jnp.eye(k, dtype=bool)  # (K, K): classes j != k
    lse = masked_logsumexp(logits - true[..., None], jnp.broadcast_to(others[:, None, :], logits.shape))
    return jax.nn.softplus(lse)


def _sample_weights(hp: dict, k: int, n: int, dtype) -> Array:
    cm = row_mask_or_ones(hp, "class_mask", k, dtype)
    sm = row_mask_or_ones(hp, "sample_mask", n, dtype)
    return cm[:, None] * sm[None, :]


def ce_ufm(point: dict, hp: dict) -> Array:
    """Spherical CE-UFM: (1/(nK)) Σ_k Σ_i CE(W h_ki / tau, k).

    point: {"W": (K, d) unit rows, "H": (K, n, d) unit rows}; hp: {"tau", masks}.
    """
    k, n, _ = point["H"].shape
    return _spherical(point, hp, _sample_weights(hp, k, n, point["W"].dtype))


def _spherical(point: dict, hp: dict, weights: Array) -> Array:
    """Mean CE(W h / tau) over the samples marked by ``weights`` (K, n)."""
    w, h = point["W"], point["H"]
    logits = jnp.einsum("kid,jd->kij", h, w, precision=PRECISION) / hp["tau"]
    cm = row_mask_or_ones(hp, "class_mask", h.shape[0], w.dtype)
    return masked_mean(_ce_per_sample(logits, cm), weights)


def ce_ufm_collapsed(point: dict, hp: dict) -> Array:
    """Collapsed spherical CE-UFM (H = W, n = 1): (1/K) Σ_k CE(W w_k / tau, k).

    point: {"W": (K, d) unit rows}; hp: {"tau", "class_mask"}.
    """
    w = point["W"]
    k = w.shape[0]
    cm = row_mask_or_ones(hp, "class_mask", k, w.dtype)
    logits = (gram(w) / hp["tau"])[:, None, :]
    return masked_mean(_ce_per_sample(logits, cm)[:, 0], cm)


def _regularized(point: dict, hp: dict, weights: Array) -> Array:
    """Mean CE(W h + b) over the samples marked by ``weights`` (K, n), plus weight decay on W, those samples' H, b."""
    w, h, b = point["W"], point["H"], point["b"]
    k = h.shape[0]
    cm = row_mask_or_ones(hp, "class_mask", k, w.dtype)
    logits = jnp.einsum("kid,jd->kij", h, w, precision=PRECISION) + b[None, None, :]
    data = masked_mean(_ce_per_sample(logits, cm), weights)
    h_sq = jnp.sum(weights[..., None] * h * h)  # real samples only (padded/unused rows are zero anyway)
    reg = 0.5 * (hp["lambda_W"] * jnp.sum(w * w) + hp["lambda_H"] * h_sq + hp["lambda_b"] * jnp.sum(b * b))
    return data + reg


def ce_ufm_regularized(point: dict, hp: dict) -> Array:
    """Regularized CE-UFM [NC21]: (1/N) Σ CE(W h_ki + b, k) + λ_W/2 ||W||² + λ_H/2 ||H||² + λ_b/2 ||b||².

    point: {"W": (K, d), "H": (K, n, d), "b": (K,)} (Euclidean); hp: {"lambda_W", "lambda_H", "lambda_b", masks}.
    """
    k, n, _ = point["H"].shape
    return _regularized(point, hp, _sample_weights(hp, k, n, point["W"].dtype))


def minority_rows(hp: dict, k: int, n: int, dtype) -> Array:
    """(K, n) mask of the imbalanced model's real samples: of the C real classes (``class_mask``) the last
    ``hp["minority"]`` keep the first ``hp["n_minor"]`` of their n samples (``sample_mask``), the others all n."""
    cm = row_mask_or_ones(hp, "class_mask", k, dtype)
    sm = row_mask_or_ones(hp, "sample_mask", n, dtype)
    minor = jnp.arange(k) >= jnp.sum(cm) - hp["minority"]
    count = jnp.where(minor, jnp.minimum(hp["n_minor"], jnp.sum(sm)), jnp.sum(sm))
    return cm[:, None] * sm[None, :] * (jnp.arange(n)[None, :] < count[:, None]).astype(dtype)


def ce_ufm_imbalanced(point: dict, hp: dict) -> Array:
    """Spherical CE-UFM with class imbalance: `ce_ufm` over the real samples of `minority_rows` (the last
    ``hp["minority"]`` classes keep ``hp["n_minor"]`` of the n samples). Unit rows: classifiers cannot shrink.

    point: {"W": (K, d), "H": (K, n, d)} unit rows; hp: {"tau", "minority", "n_minor", masks}.
    """
    k, n, _ = point["H"].shape
    return _spherical(point, hp, minority_rows(hp, k, n, point["W"].dtype))


def ce_ufm_regularized_imbalanced(point: dict, hp: dict) -> Array:
    """Regularized CE-UFM with class imbalance (minority collapse): as `ce_ufm_regularized`, the mean CE over the
    N = (C − m) n + m n_minor real samples, where the last m = ``hp["minority"]`` classes have ``hp["n_minor"]``
    samples and the others n (imbalance ratio R = n / n_minor). The unused feature rows are zero (masked).

    point: {"W": (K, d), "H": (K, n, d), "b": (K,)}; hp: {"lambda_W", "lambda_H", "lambda_b", "minority", "n_minor",
    masks}.
    """
    k, n, _ = point["H"].shape
    return _regularized(point, hp, minority_rows(hp, k, n, point["W"].dtype))
