"""Exact figures of merit for configurations of classifiers (JAX, jittable, vmappable).

Conventions
-----------
* A configuration ``W`` has shape ``(..., K, d)``: row ``w_k`` is the classifier of class ``k``; every leading
  axis is a batch axis.  Rows are meant to be unit vectors (a point of the oblique manifold OB(d, K)), but every
  function here is defined for arbitrary rows unless its docstring says otherwise.
* ``mask`` (optional) has shape ``(..., K)`` (bool or 0/1 float) and marks the real rows.  Padded rows (mask
  False) are ignored by every reduction; per-row outputs hold ``0`` at padded rows.
* Matmuls use ``precision=jax.lax.Precision.HIGHEST``: on GPU the default float32 matmul is TF32 (about 10 bits
  of mantissa), which is far too coarse for cosines close to each other.
* Accuracy: every function computes in the dtype of its input.  For the last digits (the one-vs-rest QP is exact
  to ~1e-13 in float64) pass float64 arrays inside ``with jax.enable_x64(True):``.  x64 is never enabled
  globally by this module; :func:`figures` does it locally.
* Bad input (wrong rank, K < 2, mismatched mask) raises ``ValueError`` naming the argument, before any tracing.

The softmax-code convention (SPEC §2, [GNC])
--------------------------------------------
``dist_k(W) = min { ||w_k - sum_{j!=k} a_j w_j|| : a >= 0, sum_j a_j = 1 }`` is the plain (not squared) Euclidean
distance from ``w_k`` to the convex hull of the other rows and ``rho(W) = min_k dist_k(W)``.  With this
convention the SPEC's numbers hold exactly (derived): regular K-gon ``1 - cos(2 pi / K)``, simplex ETF
``K / (K - 1)``, cross-polytope ``1``, icosahedron ``1 - 1/sqrt(5)``.

The one-vs-rest distance is computed with Wolfe's minimum-norm-point algorithm (Wolfe 1976), run for all K
problems (and every batch element) at once inside a single ``lax.while_loop``: each problem keeps a "corral" of at
most ``min(K - 1, d + 1)`` affinely independent points in padded slots, the affine minimum-norm point of the
corral comes from a small dense solve (padding masked to the identity), and a problem stops when the Wolfe
optimality test ``|x|^2 - min_j <x, x_j> <= tol`` holds (``x`` the current hull point, shifted so that ``w_k`` is
the origin).  The returned distance is the norm of an explicit point of the hull (an upper bound, exact at
termination); :func:`one_vs_rest_distance_info` also returns the matching dual lower bound
``min_j <w_k - w_j, h>`` (h the unit direction from the hull point to ``w_k``) and their gap, which certifies the
value (typically gap < 1e-14 in float64).
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "pairwise_cos",
    "max_cos",
    "min_angle_deg",
    "one_vs_rest_distance",
    "one_vs_rest_distance_info",
    "OneVsRestInfo",
    "rho",
    "one_vs_rest_margin",
    "optimal_features",
    "hardmax_margin",
    "figures",
    "Figures",
]

_HI = jax.lax.Precision.HIGHEST


# ---------------------------------------------------------------------------------------------------------------
# validation helpers (Python side, before tracing)
# ---------------------------------------------------------------------------------------------------------------
def _check_W(W, name: str = "W", min_rows: int = 2):
    shape = getattr(W, "shape", None)
    if shape is None:
        W = np.asarray(W)
        shape = W.shape
    if len(shape) < 2:
        raise ValueError(f"{name} must have shape (..., K, d) with at least 2 axes; got shape {tuple(shape)}")
    if shape[-2] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows (K >= {min_rows}); got K = {shape[-2]}")
    if shape[-1] < 1:
        raise ValueError(f"{name} must have d >= 1 columns; got shape {tuple(shape)}")
    dtype = getattr(W, "dtype", None)
    if dtype is not None and not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
        raise ValueError(f"{name} must be a real floating array; got dtype {dtype}")
    W = jnp.asarray(W)
    if not jnp.issubdtype(W.dtype, jnp.floating):
        W = W.astype(jnp.result_type(float))
    return W


def _check_mask(mask, W, name: str = "mask"):
    """Returns a bool mask of shape W.shape[:-1] (broadcast from a (K,) mask if needed), or None."""
    if mask is None:
        return None
    shape = getattr(mask, "shape", None)
    if shape is None:
        mask = np.asarray(mask)
        shape = mask.shape
    if len(shape) < 1 or shape[-1] != W.shape[-2]:
        raise ValueError(f"{name} must have shape (..., K) with K = {W.shape[-2]}; got shape {tuple(shape)}")
    try:
        np.broadcast_shapes(tuple(shape), tuple(W.shape[:-1]))
    except ValueError:
        raise ValueError(f"{name} of shape {tuple(shape)} does not broadcast to W.shape[:-1] = {W.shape[:-1]}")
    mask = jnp.asarray(mask)
    if mask.dtype != jnp.bool_:
        mask = mask != 0
    return jnp.broadcast_to(mask, W.shape[:-1])


def _full_mask(W, mask):
    return jnp.ones(W.shape[:-1], dtype=bool) if mask is None else mask


def _gram(A, B=None):
    """A B^T over the last two axes, full precision. (..., K, d), (..., M, d) -> (..., K, M)."""
    B = A if B is None else B
    return jnp.einsum("...kd,...md->...km", A, B, precision=_HI)


# ---------------------------------------------------------------------------------------------------------------
# cosines and angles
# ---------------------------------------------------------------------------------------------------------------
def _pairwise_cos(W):
    G = _gram(W)
    n = jnp.sqrt(jnp.clip(jnp.diagonal(G, axis1=-2, axis2=-1), 0.0, None))
    safe = jnp.where(n > 0, n, 1.0)
    C = G / (safe[..., :, None] * safe[..., None, :])
    return jnp.where((n[..., :, None] > 0) & (n[..., None, :] > 0), C, 0.0)


def pairwise_cos(W):
    """Cosine matrix of the rows. ``W``: (..., K, d) -> (..., K, K).

    ``C[..., i, j] = <w_i, w_j> / (|w_i| |w_j|)``; rows of zero norm (padding) give 0.  The diagonal is 1 for
    non-zero rows.  Full-precision matmul (no TF32).
    """
    W = _check_W(W, "W", min_rows=1)
    return _pairwise_cos(W)


def _max_cos(W, mask):
    C = _pairwise_cos(W)
    K = W.shape[-2]
    m = _full_mask(W, mask)
    pair = m[..., :, None] & m[..., None, :] & ~jnp.eye(K, dtype=bool)
    return jnp.max(jnp.where(pair, C, -jnp.inf), axis=(-2, -1))


def max_cos(W, mask=None):
    """Largest cosine between two distinct (real) rows. ``W``: (..., K, d), ``mask``: (..., K) -> (...).

    The Tammes figure of merit: ``max_{i != j, both real} <w_i, w_j> / (|w_i||w_j|)``.  Returns ``-inf`` when fewer
    than two real rows exist.
    """
    W = _check_W(W)
    mask = _check_mask(mask, W)
    return _max_cos(W, mask)


def min_angle_deg(W, mask=None):
    """Minimum pairwise angle in degrees: ``degrees(arccos(clip(max_cos(W, mask), -1, 1)))``.

    ``W``: (..., K, d), ``mask``: (..., K) -> (...).  (Regular K-gon: 360/K.)
    """
    W = _check_W(W)
    mask = _check_mask(mask, W)
    return jnp.degrees(jnp.arccos(jnp.clip(_max_cos(W, mask), -1.0, 1.0)))


# ---------------------------------------------------------------------------------------------------------------
# one-vs-rest distance: batched Wolfe minimum-norm-point algorithm
# ---------------------------------------------------------------------------------------------------------------
class OneVsRestInfo(NamedTuple):
    """Result of :func:`one_vs_rest_distance_info` (all arrays with leading shape ``(...)`` of ``W``).

    dist:      (..., K) distance from w_k to the hull of the other real rows (norm of ``w_k - proj``); 0 at padded
               rows, +inf for a real row with no other real row.
    lower:     (..., K) dual lower bound ``min_{j != k real} <w_k - w_j, h_k>`` with ``h_k = (w_k - proj)/dist``
               (equal to ``dist`` at the optimum; set to ``dist`` where dist == 0).
    gap:       (..., K) ``dist - lower`` (>= 0 up to rounding): certifies the value.
    proj:      (..., K, d) the projection ``P_k w_k`` (an explicit point of the hull of the others).
    coef:      (..., K, K) the simplex coefficients ``a`` with ``proj_k = sum_j coef[k, j] w_j`` (coef[k, k] = 0).
    converged: (..., K) bool: Wolfe's optimality test passed before ``max_iter``.
    """

    dist: jax.Array
    lower: jax.Array
    gap: jax.Array
    proj: jax.Array
    coef: jax.Array
    converged: jax.Array


def _spd_solve(A, b):
    """Solve A z = b for a batch of symmetric positive definite A (Cholesky; NaN when A is not PD)."""
    L = jax.lax.linalg.cholesky(A, symmetrize_input=False)
    y = jax.lax.linalg.triangular_solve(L, b[..., None], left_side=True, lower=True)
    return jax.lax.linalg.triangular_solve(L, y, left_side=True, lower=True, transpose_a=True)[..., 0]


def _wolfe_chunk(W, G, valid_rows, kk, s: int, max_iter: int):
    """Wolfe's min-norm-point for the problems ``kk`` (shape (c,)) of one configuration.

    W: (K, d); G = W W^T: (K, K); valid_rows: (K,) bool (real rows); kk: (c,) int32 problem indices.
    Returns lam_dense (c, K) simplex coefficients and done (c,) bool.
    """
    K, d = W.shape
    c = kk.shape[0]
    dt = W.dtype
    eps = jnp.finfo(dt).eps
    ar_s = jnp.arange(s)
    ar_K = jnp.arange(K)
    rows_c = jnp.arange(c)

    valid = valid_rows[None, :] & (ar_K[None, :] != kk[:, None])  # (c, K)
    Gkk = G[kk, kk]  # (c,)
    Gk = G[kk, :]  # (c, K)  <w_k, w_j>
    diagG = jnp.diagonal(G)
    sqn = diagG[None, :] - 2.0 * Gk + Gkk[:, None]  # |w_j - w_k|^2 (c, K)
    sqn_valid = jnp.where(valid, sqn, jnp.inf)
    scale = jnp.max(jnp.where(valid, sqn, 0.0), axis=1)  # (c,)
    scale = jnp.where(scale > 0, scale, 1.0)
    tol = 64.0 * eps * scale

    j0 = jnp.argmin(sqn_valid, axis=1)
    has_any = jnp.any(valid, axis=1)
    idx = jnp.zeros((c, s), jnp.int32).at[:, 0].set(j0.astype(jnp.int32))
    act = jnp.zeros((c, s), bool).at[:, 0].set(has_any)
    lam = jnp.zeros((c, s), dt).at[:, 0].set(jnp.where(has_any, 1.0, 0.0))
    done = ~has_any
    minor = jnp.zeros((c,), bool)

    def dense(idx, act, lam):
        return jnp.zeros((c, K), dt).at[rows_c[:, None], idx].add(jnp.where(act, lam, 0.0))

    def corral_system(idx, act):
        # shifted Gram  <w_i - w_k, w_j - w_k>  for corral slots i, j; the augmented
        # matrix 11^T + Gs is positive definite iff the corral is affinely independent (Wolfe's invariant).
        Gii = G[idx[:, :, None], idx[:, None, :]]  # (c, s, s)
        Gik = Gk[rows_c[:, None], idx]  # (c, s)
        Gs = Gii - Gik[:, :, None] - Gik[:, None, :] + Gkk[:, None, None]
        both = act[:, :, None] & act[:, None, :]
        A = jnp.where(both, Gs + 1.0, jnp.eye(s, dtype=dt)[None])
        rhs = act.astype(dt)
        z = _spd_solve(A, rhs)
        tot = jnp.sum(z, axis=1, keepdims=True)
        mu = jnp.where(act, z / tot, 0.0)
        return mu

    def cond(state):
        idx, act, lam, done, minor, it = state
        return (it < max_iter) & ~jnp.all(done)

    def body(state):
        idx, act, lam, done, minor, it = state
        # ---- major cycle: Wolfe's optimality test and the new point -------------------------------------------
        lam_d = dense(idx, act, lam)
        X = jnp.matmul(lam_d, W, precision=_HI) - W[kk]  # x = proj - w_k  (c, d)
        S = jnp.matmul(X, W.T, precision=_HI)  # <x, w_j>
        xk = jnp.sum(X * W[kk], axis=1)
        score = jnp.where(valid, S - xk[:, None], jnp.inf)  # <x, w_j - w_k>
        jstar = jnp.argmin(score, axis=1).astype(jnp.int32)
        smin = score[rows_c, jstar]
        xx = jnp.sum(X * X, axis=1)
        in_corral = jnp.any(act & (idx == jstar[:, None]), axis=1)
        full = jnp.all(act, axis=1)
        stop = (xx - smin <= tol) | in_corral | full
        do_major = ~minor & ~done
        done = done | (do_major & stop)
        add = do_major & ~stop
        slot = jnp.argmin(act, axis=1)  # first free slot
        new_slot = add[:, None] & (ar_s[None, :] == slot[:, None])
        idx_n = jnp.where(new_slot, jstar[:, None], idx)
        act_n = act | new_slot
        # ---- affine minimum-norm point of the corral ------------------------------------------------------------
        mu = corral_system(idx_n, act_n)
        finite = jnp.all(jnp.isfinite(mu), axis=1)
        new_ok = ~add | jnp.any(new_slot & (mu > 0), axis=1)  # the added point must enter with mu > 0
        bad = ~finite | ~new_ok
        work = ~done & ~bad
        done = done | bad  # numerical breakdown: keep the last (feasible) corral
        accept = jnp.all(~act_n | (mu > 0), axis=1)
        # step back towards mu until the first weight hits zero; drop it (and any other zero weight)
        neg = act_n & (mu <= 0)
        ratio = jnp.where(neg, lam / jnp.where(neg, lam - mu, 1.0), jnp.inf)
        theta = jnp.min(ratio, axis=1, keepdims=True)
        theta = jnp.where(jnp.isfinite(theta), theta, 0.0)
        lam_sb = lam + theta * (mu - lam)
        first = ar_s[None, :] == jnp.argmin(ratio, axis=1)[:, None]
        drop = act_n & ((lam_sb <= 0) | first)
        act_sb = act_n & ~drop
        lam_sb = jnp.where(act_sb, lam_sb, 0.0)
        upd_acc = work & accept
        upd_sb = work & ~accept
        lam = jnp.where(upd_acc[:, None], mu, jnp.where(upd_sb[:, None], lam_sb, lam))
        act = jnp.where(upd_acc[:, None], act_n, jnp.where(upd_sb[:, None], act_sb, act))
        idx = jnp.where(work[:, None], idx_n, idx)
        minor = upd_sb
        return idx, act, lam, done, minor, it + 1

    state = (idx, act, lam, done, minor, jnp.asarray(0, jnp.int32))
    idx, act, lam, done, minor, it = jax.lax.while_loop(cond, body, state)
    # final polish: the affine min-norm weights of the final corral from explicit shifted coordinates (the Gram
    # route loses relative accuracy when the corral points are close to w_k); kept only if still a strict
    # convex combination.
    P = W[idx] - W[kk][:, None, :]  # (c, s, d)
    Gs = jnp.einsum("csd,ctd->cst", P, P, precision=_HI)
    both = act[:, :, None] & act[:, None, :]
    A = jnp.where(both, Gs + 1.0, jnp.eye(s, dtype=dt)[None])
    z = _spd_solve(A, act.astype(dt))
    mu = jnp.where(act, z / jnp.sum(z, axis=1, keepdims=True), 0.0)
    ok = jnp.all(jnp.isfinite(mu), axis=1) & jnp.all(~act | (mu > 0), axis=1)
    lam = jnp.where(ok[:, None], mu, lam)
    return dense(idx, act, lam), done


def _ovr_single(W, mask, s: int, max_iter: int, chunk: int):
    """One configuration: W (K, d), mask (K,) bool -> OneVsRestInfo fields without batch axes."""
    K, d = W.shape
    dt = W.dtype
    Wm = jnp.where(mask[:, None], W, 0.0)
    G = _gram(Wm)
    n_chunks = -(-K // chunk)
    pad = n_chunks * chunk - K
    kk_all = jnp.concatenate([jnp.arange(K, dtype=jnp.int32), jnp.zeros((pad,), jnp.int32)])
    if n_chunks == 1:
        coef, conv = _wolfe_chunk(Wm, G, mask, kk_all, s, max_iter)
    else:
        coef, conv = jax.lax.map(
            lambda kk: _wolfe_chunk(Wm, G, mask, kk, s, max_iter), kk_all.reshape(n_chunks, chunk)
        )
        coef = coef.reshape(n_chunks * chunk, K)
        conv = conv.reshape(n_chunks * chunk)
    coef = coef[:K]
    conv = conv[:K]
    # explicit hull point, distance and dual certificate
    proj = jnp.matmul(coef, Wm, precision=_HI)
    U = Wm - proj  # w_k - proj  (K, d)
    dist = jnp.sqrt(jnp.sum(U * U, axis=1))
    valid = mask[None, :] & ~jnp.eye(K, dtype=bool)
    has_any = jnp.any(valid, axis=1)
    # <w_k - w_j, u_k> = <u_k, w_k> - <u_k, w_j>
    UW = jnp.matmul(U, Wm.T, precision=_HI)
    uk = jnp.sum(U * Wm, axis=1)
    marg = jnp.min(jnp.where(valid, uk[:, None] - UW, jnp.inf), axis=1)
    safe = jnp.where(dist > 0, dist, 1.0)
    # the distance is >= 0, so max(., 0) keeps a valid lower bound (and a small gap when w_k is in the hull)
    lower = jnp.where(dist > 0, jnp.maximum(marg / safe, 0.0), dist)
    real = mask & has_any
    dist = jnp.where(real, dist, jnp.where(mask, jnp.inf, 0.0))
    lower = jnp.where(real, lower, jnp.where(mask, jnp.inf, 0.0))
    gap = jnp.where(real, dist - lower, 0.0)
    proj = jnp.where(real[:, None], proj, 0.0)
    coef = jnp.where(real[:, None], coef, 0.0)
    conv = jnp.where(real, conv, True)
    return dist, lower, gap, proj, coef, conv


def _default_chunk(K: int, s: int, d: int, budget: int = 1 << 25) -> int:
    per_problem = max(s * s + s * d + 4 * K, 1)
    return int(max(1, min(K, budget // per_problem)))


@partial(jax.jit, static_argnames=("s", "max_iter", "chunk"))
def _ovr_batched(W, mask, s: int, max_iter: int, chunk: int):
    batch = W.shape[:-2]
    K, d = W.shape[-2:]
    Wf = W.reshape((-1, K, d))
    mf = mask.reshape((-1, K))
    out = jax.vmap(lambda w, m: _ovr_single(w, m, s, max_iter, chunk))(Wf, mf)
    dist, lower, gap, proj, coef, conv = out
    return OneVsRestInfo(
        dist.reshape(batch + (K,)),
        lower.reshape(batch + (K,)),
        gap.reshape(batch + (K,)),
        proj.reshape(batch + (K, d)),
        coef.reshape(batch + (K, K)),
        conv.reshape(batch + (K,)),
    )


def one_vs_rest_distance_info(W, mask=None, *, max_iter: Optional[int] = None, chunk: Optional[int] = None):
    """One-vs-rest distances with the projection, the simplex coefficients and a dual certificate.

    Args:
      W: (..., K, d) configuration (any real rows; unit rows in the softmax-code setting).
      mask: optional (..., K) real-row mask; padded rows are excluded from every hull and get 0 outputs.
      max_iter: cap on Wolfe iterations (major + minor cycles); default ``100 + 20 * min(K - 1, d + 1)``.
      chunk: number of the K problems solved together per ``lax.map`` step (memory control); default chooses
        a chunk so that the per-chunk working set stays near 2^25 elements.

    Returns:
      :class:`OneVsRestInfo` (dist, lower, gap, proj, coef, converged).  ``lower <= true distance <= dist``
      always holds up to rounding (``dist`` is the norm of an explicit hull point, ``lower`` a dual bound).
    """
    W = _check_W(W)
    mask = _check_mask(mask, W)
    K, d = W.shape[-2:]
    s = int(min(K - 1, d + 1))
    if max_iter is None:
        max_iter = 100 + 20 * s
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be >= 1; got {max_iter}")
    if chunk is None:
        chunk = _default_chunk(K, s, d)
    if int(chunk) < 1:
        raise ValueError(f"chunk must be >= 1; got {chunk}")
    chunk = int(min(int(chunk), K))
    return _ovr_batched(W, _full_mask(W, mask), s=s, max_iter=int(max_iter), chunk=chunk)


def one_vs_rest_distance(W, mask=None, **kwargs):
    """``dist_k(W)``: distance from ``w_k`` to the convex hull of the other (real) rows. (..., K, d) -> (..., K).

    ``dist_k = min { ||w_k - sum_{j != k} a_j w_j|| : a >= 0, sum a = 1 }`` (SPEC §2; plain Euclidean distance,
    not squared).  0 when ``w_k`` lies in the hull (for unit rows: only when ``w_k`` duplicates another row).
    Exact QP solution (Wolfe's min-norm-point method, batched); in float64 the value is certified to ~1e-13 by the
    dual bound (see :func:`one_vs_rest_distance_info`).  Padded rows give 0.
    """
    return one_vs_rest_distance_info(W, mask, **kwargs).dist


def rho(W, mask=None, **kwargs):
    """``rho(W) = min_k dist_k(W)`` over the real rows (SPEC §2, the softmax-code objective). (..., K, d) -> (...).

    Examples (derived, exact): regular K-gon ``1 - cos(2 pi/K)``; simplex ETF ``K/(K-1)``; cross-polytope ``1``;
    icosahedron ``1 - 1/sqrt(5)``.
    """
    W = _check_W(W)
    mask = _check_mask(mask, W)
    dist = one_vs_rest_distance(W, mask, **kwargs)
    m = _full_mask(W, mask)
    return jnp.min(jnp.where(m, dist, jnp.inf), axis=-1)


def _inside_direction(W, mask):
    """Fallback unit direction for rows inside the hull: normalized w_k (e_1 for a zero row)."""
    n = jnp.linalg.norm(W, axis=-1, keepdims=True)
    e1 = jnp.zeros_like(W).at[..., 0].set(1.0)
    return jnp.where(n > 0, W / jnp.where(n > 0, n, 1.0), e1)


def _features_and_margin(W, mask, **kwargs):
    info = one_vs_rest_distance_info(W, mask, **kwargs)
    m = _full_mask(W, mask)
    U = W - info.proj
    dist = info.dist
    pos = jnp.isfinite(dist) & (dist > 0)
    H_out = U / jnp.where(pos, dist, 1.0)[..., None]
    H = jnp.where(pos[..., None], H_out, _inside_direction(W, mask))
    H = jnp.where(m[..., None], H, 0.0)
    margin = _per_class_margin(W, H, m)
    # outside the hull the exact margin equals the distance (strong duality); keep the exact primal value
    margin = jnp.where(pos, dist, margin)
    margin = jnp.where(m, margin, 0.0)
    return H, margin, info


def one_vs_rest_margin(W, mask=None, **kwargs):
    """Dual (margin) form ``m_k(W) = max_{||h||=1} min_{j != k} <w_k - w_j, h>``. (..., K, d) -> (..., K).

    What is returned, exactly:
      * if ``dist_k > 0`` (w_k outside the hull of the others): ``m_k = dist_k`` (strong duality; the maximizing
        h is ``optimal_features(W)[k]``), exact.
      * if ``dist_k = 0`` (w_k in the hull; then ``m_k <= 0``): the value ``min_{j != k} <w_k - w_j, h>`` at the
        explicit unit direction ``h = w_k / |w_k|`` — a certified lower bound on ``m_k``.  For unit-norm rows this
        is exact: a unit vector lies in the hull of other unit vectors only if it duplicates one of them, and
        then ``m_k = 0`` (attained at ``h = w_k``).  For arbitrary (non-unit) rows strictly inside the hull the
        exact value is minus the depth of ``w_k`` in the hull (a polytope-facet problem, NP-hard in general),
        which is not computed.
    Padded rows give 0.
    """
    W = _check_W(W)
    mask = _check_mask(mask, W)
    return _features_and_margin(W, mask, **kwargs)[1]


def optimal_features(W, mask=None, **kwargs):
    """Optimal feature of each class for fixed classifiers. (..., K, d) -> (..., K, d).

    ``h_k = (w_k - P_k w_k) / ||w_k - P_k w_k||`` with ``P_k`` the projection onto the hull of the other rows
    (maximizes ``min_{j != k} <w_k - w_j, h>`` over unit h).  Where ``w_k`` lies in the hull, ``h_k = w_k/|w_k|``
    (see :func:`one_vs_rest_margin`).  Padded rows give 0.
    """
    W = _check_W(W)
    mask = _check_mask(mask, W)
    return _features_and_margin(W, mask, **kwargs)[0]


# ---------------------------------------------------------------------------------------------------------------
# hard-max margin for given features
# ---------------------------------------------------------------------------------------------------------------
def _per_class_margin(W, H, m):
    K = W.shape[-2]
    S = _gram(H, W)  # S[k, j] = <h_k, w_j>
    diag = jnp.diagonal(S, axis1=-2, axis2=-1)
    pair = m[..., None, :] & ~jnp.eye(K, dtype=bool)
    other = jnp.max(jnp.where(pair, S, -jnp.inf), axis=-1)
    return diag - other


def hardmax_margin(W, H, mask=None):
    """``min_k min_{j != k} <w_k - w_j, h_k>`` over real rows. ``W``, ``H``: (..., K, d) -> (...).

    One feature ``h_k`` per class, so this equals ``-L_HM(W, H)`` of SPEC §2 (the HardMax loss with n = 1).
    With ``H = optimal_features(W)`` and unit rows it equals ``rho(W)``; with ``H = W`` it equals
    ``1 - max_cos(W)`` for unit rows (the Tammes lower bound).  No normalization is applied to H.
    """
    W = _check_W(W)
    H = _check_W(H, "H")
    if H.shape[-2:] != W.shape[-2:]:
        raise ValueError(f"H must have the same (K, d) as W = {W.shape[-2:]}; got {H.shape[-2:]}")
    mask = _check_mask(mask, W)
    m = _full_mask(W, mask)
    per = _per_class_margin(W, H, m)
    return jnp.min(jnp.where(m, per, jnp.inf), axis=-1)


# ---------------------------------------------------------------------------------------------------------------
# figures of merit in float64
# ---------------------------------------------------------------------------------------------------------------
class Figures(NamedTuple):
    """Figures of merit (numpy float64 arrays of shape ``(...)``)."""

    min_angle_deg: np.ndarray
    max_cos: np.ndarray
    rho: np.ndarray


def figures(W, mask=None) -> Figures:
    """``{min_angle_deg, max_cos, rho}`` of ``W`` (..., K, d), computed in float64.

    The input is copied to float64 inside ``with jax.enable_x64(True):`` (x64 is enabled only for this call) and
    the results come back as numpy float64 arrays of shape ``(...)``.
    """
    Wn = np.asarray(W)
    if Wn.ndim < 2:
        raise ValueError(f"W must have shape (..., K, d); got shape {Wn.shape}")
    if Wn.shape[-2] < 2:
        raise ValueError(f"W must have at least 2 rows (K >= 2); got K = {Wn.shape[-2]}")
    Wn = Wn.astype(np.float64)
    mn = None if mask is None else np.asarray(mask)
    with jax.enable_x64(True):
        W64 = jnp.asarray(Wn, dtype=jnp.float64)
        mk = None if mn is None else jnp.asarray(mn)
        mc = np.asarray(max_cos(W64, mk), dtype=np.float64)
        r = np.asarray(rho(W64, mk), dtype=np.float64)
    ang = np.degrees(np.arccos(np.clip(mc, -1.0, 1.0)))
    return Figures(min_angle_deg=ang, max_cos=mc, rho=r)
