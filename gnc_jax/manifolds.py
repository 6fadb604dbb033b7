"""Manifolds as pytrees: oblique (rows on the unit sphere), Euclidean, and products of them.

A manifold object carries its masks as array leaves, so a batch of problems with different
padded sizes is a batch of manifolds that ``jax.vmap`` maps over like any other pytree.

Shapes. A factor acts on arrays whose trailing ``ndim`` axes are the "core" of one point; any
leading axes are batch axes (inner products reduce over the core only).

* ``Oblique(ndim=2)``: points of shape (..., m, d), each row a unit vector of R^d.
  ``ndim=3`` gives (..., k, n, d) blocks of rows (e.g. n features per class).
* ``Euclidean(ndim)``: points of shape (..., *core).
* ``Product({"W": Oblique(), "H": Oblique(ndim=3), ...})``: a dict (or tuple) of factors whose
  points are dicts (tuples) of arrays with the same keys.

Masks. ``row_mask`` has the point's shape without its last axis (1 = real row, 0 = padding);
``col_mask`` has shape (..., d) (1 = real coordinate). Padded rows and coordinates are kept at
exactly zero by every operation (projection, retraction, random points), so they never enter a
reduction. A mask of ``None`` means "all real".
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import jax
import jax.numpy as jnp

Array = jax.Array
PyTree = Any

_TINY = 1e-30


def _safe_row_norm(x: Array) -> Array:
    """(..., m, d) -> (..., m, 1) Euclidean row norms, 1 where a row is exactly zero."""
    sq = jnp.sum(x * x, axis=-1, keepdims=True)
    safe = jnp.where(sq > 0, sq, 1.0)
    return jnp.where(sq > 0, jnp.sqrt(safe), 1.0)


def _reduce_core(x: Array, ndim: int) -> Array:
    return jnp.sum(x, axis=tuple(range(-ndim, 0))) if ndim else x


def _pytree_dataclass(cls):
    """Register a frozen dataclass as a pytree: fields named in ``_static`` are aux data."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    static = tuple(getattr(cls, "_static", ()))
    fields = tuple(f.name for f in dataclasses.fields(cls))
    dynamic = tuple(n for n in fields if n not in static)

    def flatten(obj):
        return tuple(getattr(obj, n) for n in dynamic), tuple(getattr(obj, n) for n in static)

    def unflatten(aux, children):
        return cls(**dict(zip(dynamic, children)), **dict(zip(static, aux)))

    jax.tree_util.register_pytree_node(cls, flatten, unflatten)
    return cls


@_pytree_dataclass
class Oblique:
    """Rows on the unit sphere S^{d-1}; the metric is the one induced by R^{...×d}."""

    row_mask: Array | None = None
    col_mask: Array | None = None
    ndim: int = 2
    _static = ("ndim",)

    def _apply_masks(self, v: Array) -> Array:
        if self.col_mask is not None:
            idx = (Ellipsis,) + (None,) * (self.ndim - 1) + (slice(None),)
            v = v * self.col_mask[idx].astype(v.dtype)
        if self.row_mask is not None:
            v = v * self.row_mask[..., None].astype(v.dtype)
        return v

    def proj(self, x: Array, v: Array) -> Array:
        """Project ambient v onto the tangent space at x: v - <x_i, v_i> x_i per row."""
        v = self._apply_masks(v)
        return v - jnp.sum(x * v, axis=-1, keepdims=True) * x

    egrad_to_rgrad = proj

    def ehess_to_rhess(self, x: Array, egrad: Array, ehess_v: Array, v: Array) -> Array:
        """Riemannian Hessian applied to a tangent v, from the Euclidean gradient and Hessian-vector product:
        P_x(ehess_v) - <x_i, egrad_i> v_i per row (the Weingarten term of the sphere)."""
        return self.proj(x, ehess_v) - jnp.sum(x * egrad, axis=-1, keepdims=True) * v

    def dim(self, shape: tuple[int, ...]) -> int:
        """Dimension of the manifold of points of (core) ``shape``, padding included: rows * (d - 1)."""
        return math.prod(shape[:-1]) * (shape[-1] - 1)

    def typical_distance(self, shape: tuple[int, ...]) -> float:
        """A length scale for trust radii: pi * sqrt(rows) (the diameter of one sphere is pi)."""
        return math.pi * math.sqrt(math.prod(shape[:-1]))

    def retract(self, x: Array, v: Array) -> Array:
        """Metric-projection retraction: normalize each row of x + v (zero rows stay zero)."""
        y = x + v
        return self._apply_masks(y / _safe_row_norm(y))

    def exp(self, x: Array, v: Array) -> Array:
        """Exponential map, row-wise: cos(|v|) x + sin(|v|) v/|v|."""
        nv = _safe_row_norm(v)
        sq = jnp.sum(v * v, axis=-1, keepdims=True)
        y = jnp.where(sq > 0, jnp.cos(nv) * x + jnp.sin(nv) * v / nv, x)
        return self._apply_masks(y)

    def transport(self, x: Array, y: Array, v: Array) -> Array:
        """Vector transport from T_x to T_y by projection."""
        del x
        return self.proj(y, v)

    def inner(self, x: Array, u: Array, v: Array) -> Array:
        del x
        return _reduce_core(u * v, self.ndim)

    def random(self, key: Array, shape: tuple[int, ...], dtype=jnp.float32) -> Array:
        """Uniform random point (independent rows uniform on the sphere), masked."""
        g = self._apply_masks(jax.random.normal(key, shape, dtype))
        return self._apply_masks(g / _safe_row_norm(g))

    def project_point(self, x: Array) -> Array:
        """Nearest point of the manifold (row normalization)."""
        return self._apply_masks(x / _safe_row_norm(x))

    def constraint_violation(self, x: Array) -> Array:
        """max_i | ||x_i|| - 1 | over real rows."""
        dev = jnp.abs(jnp.sqrt(jnp.sum(x * x, axis=-1)) - 1.0)
        if self.row_mask is not None:
            dev = jnp.where(self.row_mask > 0, dev, 0.0)
        return jnp.max(dev, axis=tuple(range(-(self.ndim - 1), 0)))


@_pytree_dataclass
class Euclidean:
    """R^{core}; ``mask`` (broadcastable to a point) marks the real entries."""

    mask: Array | None = None
    ndim: int = 2
    _static = ("ndim",)

    def _apply_masks(self, v: Array) -> Array:
        return v if self.mask is None else v * self.mask.astype(v.dtype)

    def proj(self, x: Array, v: Array) -> Array:
        del x
        return self._apply_masks(v)

    egrad_to_rgrad = proj

    def ehess_to_rhess(self, x: Array, egrad: Array, ehess_v: Array, v: Array) -> Array:
        del x, egrad, v
        return self._apply_masks(ehess_v)

    def dim(self, shape: tuple[int, ...]) -> int:
        return math.prod(shape)

    def typical_distance(self, shape: tuple[int, ...]) -> float:
        return math.sqrt(self.dim(shape))

    def retract(self, x: Array, v: Array) -> Array:
        return self._apply_masks(x + v)

    exp = retract

    def transport(self, x: Array, y: Array, v: Array) -> Array:
        del x, y
        return v

    def inner(self, x: Array, u: Array, v: Array) -> Array:
        del x
        return _reduce_core(u * v, self.ndim)

    def random(self, key: Array, shape: tuple[int, ...], dtype=jnp.float32) -> Array:
        return self._apply_masks(jax.random.normal(key, shape, dtype))

    def project_point(self, x: Array) -> Array:
        return self._apply_masks(x)

    def constraint_violation(self, x: Array) -> Array:
        return jnp.zeros(x.shape[: x.ndim - self.ndim], x.dtype)


_FACTORS = (Oblique, Euclidean)


def _is_factor(obj) -> bool:
    return isinstance(obj, _FACTORS)


@jax.tree_util.register_pytree_node_class
class Product:
    """Product of factors; points are pytrees with the structure of ``factors``."""

    def __init__(self, factors: Mapping[str, Any] | tuple):
        self.factors = factors

    def tree_flatten(self):
        return (self.factors,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        del aux
        return cls(children[0])

    def _map(self, fn, *trees):
        return jax.tree_util.tree_map(fn, self.factors, *trees, is_leaf=_is_factor)

    def proj(self, x, v):
        return self._map(lambda m, a, b: m.proj(a, b), x, v)

    egrad_to_rgrad = proj

    def ehess_to_rhess(self, x, egrad, ehess_v, v):
        """Riemannian Hessian-vector product, factor by factor (see the factors' ``ehess_to_rhess``)."""
        return self._map(lambda m, a, g, h, u: m.ehess_to_rhess(a, g, h, u), x, egrad, ehess_v, v)

    def _shape_leaves(self, x):
        leaves = jax.tree_util.tree_leaves(self.factors, is_leaf=_is_factor)
        return zip(leaves, (a.shape for a in jax.tree_util.tree_leaves(x)))

    def dim(self, x) -> int:
        """Dimension of the manifold at points shaped like ``x`` (unbatched; padding included)."""
        return sum(m.dim(s[len(s) - m.ndim:]) for m, s in self._shape_leaves(x))

    def typical_distance(self, x) -> float:
        """sqrt of the sum of the factors' squared length scales (trust-region radii start from it)."""
        return math.sqrt(sum(m.typical_distance(s[len(s) - m.ndim:]) ** 2 for m, s in self._shape_leaves(x)))

    def retract(self, x, v):
        return self._map(lambda m, a, b: m.retract(a, b), x, v)

    def exp(self, x, v):
        return self._map(lambda m, a, b: m.exp(a, b), x, v)

    def transport(self, x, y, v):
        return self._map(lambda m, a, b, c: m.transport(a, b, c), x, y, v)

    def inner(self, x, u, v) -> Array:
        parts = self._map(lambda m, a, b, c: m.inner(a, b, c), x, u, v)
        return sum(jax.tree_util.tree_leaves(parts))

    def norm(self, x, v) -> Array:
        return jnp.sqrt(jnp.maximum(self.inner(x, v, v), 0.0))

    def project_point(self, x):
        return self._map(lambda m, a: m.project_point(a), x)

    def random(self, key: Array, shapes, dtype=jnp.float32):
        """``shapes``: pytree (same structure as factors) of shape tuples."""
        leaves = jax.tree_util.tree_leaves(self.factors, is_leaf=_is_factor)
        keys = iter(jax.random.split(key, len(leaves)))
        shape_leaves = jax.tree_util.tree_leaves(shapes, is_leaf=lambda s: isinstance(s, tuple))
        pts = [m.random(next(keys), s, dtype) for m, s in zip(leaves, shape_leaves)]
        treedef = jax.tree_util.tree_structure(self.factors, is_leaf=_is_factor)
        return jax.tree_util.tree_unflatten(treedef, pts)

    def constraint_violation(self, x) -> Array:
        """Largest distance of any factor from its manifold (0 for Euclidean factors)."""
        parts = jax.tree_util.tree_leaves(self._map(lambda m, a: m.constraint_violation(a), x))
        return jnp.max(jnp.stack(parts), axis=0)


def tree_axpy(a, x, y):
    """a * x + y over pytrees."""
    return jax.tree_util.tree_map(lambda u, v: a * u + v, x, y)


def tree_scale(a, x):
    return jax.tree_util.tree_map(lambda u: a * u, x)


def tree_where(pred, x, y):
    return jax.tree_util.tree_map(lambda u, v: jnp.where(pred, u, v), x, y)


def tree_all_finite(x) -> Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(x)]))
