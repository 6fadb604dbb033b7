"""A small MLP whose last layer is the feature-model's pair (features h, classifier W)."""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ..objectives.common import PRECISION


class CollapseMLP(nn.Module):
    """x -> ReLU hidden layers -> linear features h (d,) -> logits (K,).

    ``head="linear"``: logits = W h + b (the regularized feature model's setting). ``head="spherical"``: logits =
    <w_k / |w_k|, h / |h|> / tau, no bias (the GNC setting: unit features and classifiers, temperature tau). The
    feature layer is linear, as in the GNC experiments' projection to d dimensions, so features can take any sign.
    Returns (logits (..., K), h (..., d)); the classifier is the ``"classifier"`` parameter W (K, d).
    """

    num_classes: int
    features: int
    hidden: Sequence[int] = (64, 64)
    head: str = "linear"
    tau: float = 1.0

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        h = nn.Dense(self.features, name="features")(x)
        W = self.param("classifier", nn.initializers.normal(1.0 / jnp.sqrt(self.features)),
                       (self.num_classes, self.features))
        if self.head == "spherical":
            wn = W / jnp.linalg.norm(W, axis=-1, keepdims=True)
            hn = h / jnp.maximum(jnp.linalg.norm(h, axis=-1, keepdims=True), 1e-12)
            return jnp.einsum("...d,kd->...k", hn, wn, precision=PRECISION) / self.tau, h
        b = self.param("bias", nn.initializers.zeros, (self.num_classes,))
        return jnp.einsum("...d,kd->...k", h, W, precision=PRECISION) + b, h


def classifier_of(params) -> tuple[jax.Array, jax.Array | None]:
    """(W (K, d), b (K,) or None) of a ``CollapseMLP``'s parameters."""
    p = params["params"]
    return p["classifier"], p.get("bias")
