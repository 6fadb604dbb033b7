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


_max_cos_jit = jax.jit(_max_cos)


def max_cos(W, mask=None):
    """Largest cosine between two distinct (real) rows. ``W``: (..., K, d), ``mask``: (..., K) -> (...).

    The Tammes figure of merit: ``max_{i != j, both real} <w_i, w_j> / (|w_i||w_j|)``.  Returns ``-inf`` when fewer
    than two real rows exist.
    """
    W = _check_W(W)
    mask = _check_mask(mask, W)
    return _max_cos_jit(W, mask)


def min_angle_deg(W, mask=None):
    """Minimum pairwise angle in degrees: ``degrees(arccos(clip(max_cos(W, mask), -1, 1)))``.

    ``W``: (..., K, d), ``mask``: (..., K) -> (...).  (Regular K-gon: 360/K.)
    """
    W = _check_W(W)
    mask = _check_mask(mask, W)
    return jnp.degrees(jnp.arccos(jnp.clip(_max_cos_jit(W, mask), -1.0, 1.0)))


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
    features:  (..., K, d) :func:`optimal_features`.
    margin:    (..., K) :func:`one_vs_rest_margin`.
    rho:       (...) ``min_k dist_k`` over the real rows.
    """

    dist: jax.Array
    lower: jax.Array
    gap: jax.Array
    proj: jax.Array
    coef: jax.Array
    converged: jax.Array
    features: jax.Array
    margin: jax.Array
    rho: jax.Array


def _spd_solve(A, b):
    """Solve A z = b for a batch of symmetric positive definite A (Cholesky; NaN when A is not PD)."""
    L = jax.lax.linalg.cholesky(A, symmetrize_input=False)
    y = jax.lax.linalg.triangular_solve(L, b[..., None], left_side=True, lower=True)
    return jax.lax.linalg.triangular_solve(L, y, left_side=True, lower=True, transpose_a=True)[..., 0]


def _wolfe_chunk(W, G, valid_rows, kk, s: int, max_iter: int):
    """Wolfe's min-norm-point for the problems ``kk`` (shape (c,)) of one configuration.

    W: (K, d); G = W W^T: (K, K); valid_rows: (K,) bool (real rows); kk: (c,) int32 problem indices.
    Returns lam_dense (c, K) simplex coefficients and converged (c,) bool (the major cycle found no improving
    vertex; False when the loop stopped on max_iter or on a numerical safeguard — the point is then still a
    feasible hull point, and the dual gap of the caller shows how far from optimal).

    Problem k works in coordinates shifted so that w_k is the origin (points x_j = w_j - w_k).  The corral lives in
    ``s`` padded slots; ``A = 11^T + [<x_i, x_j>]`` is the augmented corral matrix on the active slots (identity on
    the free ones; positive definite iff the corral is affinely independent, Wolfe's invariant) and ``Ainv`` its
    inverse.  The entries of A are formed from explicit shifted coordinates when a point enters (the Gram route
    ``G_ij - G_ik - G_jk + G_kk`` cancels catastrophically for nearby points, fatal in float32); ``Ainv`` is
    updated in O(s^2) (bordering when a point enters, the principal-submatrix formula when one leaves) and every
    solve takes one step of iterative refinement against A, so a step costs O(s^2 + s d + K d) per problem instead
    of an O(s^3) factorization.
    """
    K, d = W.shape
    c = kk.shape[0]
    dt = W.dtype
    eps = jnp.finfo(dt).eps
    ar_s = jnp.arange(s)
    ar_K = jnp.arange(K)
    rows_c = jnp.arange(c)
    eye_s = jnp.eye(s, dtype=dt)

    valid = valid_rows[None, :] & (ar_K[None, :] != kk[:, None])  # (c, K)
    Gkk = G[kk, kk]  # (c,)
    Gk = G[kk, :]  # (c, K)  <w_k, w_j>
    diagG = jnp.diagonal(G)
    sqn = diagG[None, :] - 2.0 * Gk + Gkk[:, None]  # |w_j - w_k|^2 (c, K)
    sqn_valid = jnp.where(valid, sqn, jnp.inf)
    scale = jnp.max(jnp.where(valid, sqn, 0.0), axis=1)  # (c,)
    scale = jnp.where(scale > 0, scale, 1.0)
    # Wolfe's test |x|^2 - <x, x_j> <= tol: the rounding error of <x, x_j> is about eps |x| |x_j| (x is formed
    # explicitly in R^d), so the tolerance scales with |x| (a tolerance ~ eps max|x_j|^2 stops far too early in
    # float32 when the distances are small).
    tol_scale = 32.0 * eps * jnp.sqrt(scale)
    # |x| below the rounding level of x itself (~ eps * max|x_j|): the origin (w_k) is in the hull of the corral
    tol_zero = 16.0 * eps * jnp.sqrt(scale)
    Wk = W[kk]  # (c, d)

    j0 = jnp.argmin(sqn_valid, axis=1).astype(jnp.int32)
    has_any = jnp.any(valid, axis=1)
    idx = jnp.zeros((c, s), jnp.int32).at[:, 0].set(j0)
    act = jnp.zeros((c, s), bool).at[:, 0].set(has_any)
    lam = jnp.zeros((c, s), dt).at[:, 0].set(jnp.where(has_any, 1.0, 0.0))
    x0 = W[j0] - Wk
    a00 = jnp.where(has_any, jnp.sum(x0 * x0, axis=1) + 1.0, 1.0)
    A = jnp.broadcast_to(eye_s, (c, s, s)).at[:, 0, 0].set(a00)
    Ainv = jnp.broadcast_to(eye_s, (c, s, s)).at[:, 0, 0].set(1.0 / a00)
    done = ~has_any
    minor = jnp.zeros((c,), bool)

    def mv(M, v):
        return jnp.einsum("cij,cj->ci", M, v, precision=_HI)

    def cond(state):
        done, it = state[5], state[8]
        return (it < max_iter) & ~jnp.all(done)

    def body(state):
        idx, act, lam, A, Ainv, done, conv, minor, it = state
        # ---- major cycle: Wolfe's optimality test and the entering point -----------------------------------------
        P = W[idx] - Wk[:, None, :]  # corral points, shifted (c, s, d)
        X = jnp.einsum("cs,csd->cd", jnp.where(act, lam, 0.0), P, precision=_HI)  # x = proj - w_k
        S = jnp.matmul(X, W.T, precision=_HI)  # <x, w_j>
        xk = jnp.sum(X * Wk, axis=1)
        score = jnp.where(valid, S - xk[:, None], jnp.inf)  # <x, x_j>
        jstar = jnp.argmin(score, axis=1).astype(jnp.int32)
        smin = score[rows_c, jstar]
        xx = jnp.sum(X * X, axis=1)
        in_corral = jnp.any(act & (idx == jstar[:, None]), axis=1)
        full = jnp.all(act, axis=1)
        nx = jnp.sqrt(xx)
        optimal = (xx - smin <= tol_scale * nx) | (nx <= tol_zero)
        # in_corral / full: the best vertex is already in the corral (x optimal up to rounding)
        stop = optimal | in_corral | full
        do_major = ~minor & ~done
        conv = conv | (do_major & stop)
        done = done | (do_major & stop)
        add = do_major & ~stop
        slot = jnp.argmin(act, axis=1)  # first free slot
        e_p = (ar_s[None, :] == slot[:, None]).astype(dt)
        new_slot = add[:, None] & (e_p > 0)
        idx_n = jnp.where(new_slot, jstar[:, None], idx)
        act_n = act | new_slot
        # new row of A (explicit coordinates) and bordering update of Ainv for the entering point
        xs = W[jstar] - Wk  # (c, d)
        a = jnp.where(act, jnp.einsum("csd,cd->cs", P, xs, precision=_HI) + 1.0, 0.0)  # (c, s)
        alpha = jnp.sum(xs * xs, axis=1) + 1.0
        row = a + e_p * alpha[:, None]
        A_add = A * (1.0 - e_p)[:, :, None] * (1.0 - e_p)[:, None, :] + e_p[:, :, None] * row[:, None, :]
        A_add = A_add + row[:, :, None] * e_p[:, None, :] - (e_p * alpha[:, None])[:, :, None] * e_p[:, None, :]
        A_n = jnp.where(add[:, None, None], A_add, A)
        u = mv(Ainv, a)
        u = u + mv(Ainv, a - mv(A, u))  # one refinement step (Ainv drifts over many updates)
        sigma = alpha - jnp.sum(a * u, axis=1)
        sig_ok = sigma > 16.0 * eps * alpha
        v = u - e_p
        Ainv_add = Ainv - e_p[:, :, None] * e_p[:, None, :] + v[:, :, None] * v[:, None, :] / jnp.where(
            sig_ok, sigma, 1.0
        )[:, None, None]
        Ainv_n = jnp.where(add[:, None, None], Ainv_add, Ainv)
        # ---- affine minimum-norm point of the corral (one refinement step) ---------------------------------------
        rhs = act_n.astype(dt)
        z = mv(Ainv_n, rhs)
        z = z + mv(Ainv_n, rhs - mv(A_n, z))
        mu = jnp.where(act_n, z / jnp.sum(z, axis=1, keepdims=True), 0.0)
        finite = jnp.all(jnp.isfinite(mu), axis=1)
        new_ok = ~add | (sig_ok & jnp.any(new_slot & (mu > 0), axis=1))  # the entering point must get mu > 0
        # descent: the affine min-norm point y of the corral is never longer than x (its corral contains x's)
        # (explicit coordinates: mu^T A mu - 1 would cancel catastrophically when |y| is small)
        mu_new = jnp.sum(mu * e_p, axis=1, keepdims=True) * add[:, None]
        Y = jnp.einsum("cs,csd->cd", jnp.where(act & ~new_slot, mu, 0.0), P, precision=_HI) + mu_new * xs
        ny = jnp.sqrt(jnp.sum(Y * Y, axis=1))
        descent = ny <= nx + 32.0 * eps * jnp.sqrt(scale) * jnp.sum(jnp.abs(mu), axis=1)
        bad = ~finite | ~new_ok | ~descent
        work = ~done & ~bad
        done = done | bad  # numerical breakdown: keep the last (feasible) corral
        accept = jnp.all(~act_n | (mu > 0), axis=1)
        # ---- minor cycle: step back towards mu until the first weight hits zero; that slot leaves -----------------
        neg = act_n & (mu <= 0)
        ratio = jnp.where(neg, lam / jnp.where(neg, lam - mu, 1.0), jnp.inf)
        r = jnp.argmin(ratio, axis=1)
        theta = jnp.min(ratio, axis=1, keepdims=True)
        theta = jnp.where(jnp.isfinite(theta), theta, 0.0)
        e_r = (ar_s[None, :] == r[:, None]).astype(dt)
        act_sb = act_n & (e_r == 0)
        lam_sb = jnp.where(act_sb, jnp.maximum(lam + theta * (mu - lam), 0.0), 0.0)
        b = jnp.einsum("cij,cj->ci", Ainv_n, e_r)  # column r of Ainv
        b_r = jnp.sum(b * e_r, axis=1)
        Ainv_rm = Ainv_n - b[:, :, None] * b[:, None, :] / jnp.where(b_r != 0, b_r, 1.0)[:, None, None]
        keep = (1.0 - e_r)[:, :, None] * (1.0 - e_r)[:, None, :]
        Ainv_rm = Ainv_rm * keep + e_r[:, :, None] * e_r[:, None, :]
        A_rm = A_n * keep + e_r[:, :, None] * e_r[:, None, :]
        upd_acc = work & accept
        upd_sb = work & ~accept
        lam = jnp.where(upd_acc[:, None], mu, jnp.where(upd_sb[:, None], lam_sb, lam))
        act = jnp.where(upd_acc[:, None], act_n, jnp.where(upd_sb[:, None], act_sb, act))
        Ainv = jnp.where(upd_acc[:, None, None], Ainv_n, jnp.where(upd_sb[:, None, None], Ainv_rm, Ainv))
        A = jnp.where(upd_acc[:, None, None], A_n, jnp.where(upd_sb[:, None, None], A_rm, A))
        idx = jnp.where(work[:, None], idx_n, idx)
        minor = upd_sb
        return idx, act, lam, A, Ainv, done, conv, minor, it + 1

    state = (idx, act, lam, A, Ainv, done, done, minor, jnp.asarray(0, jnp.int32))
    idx, act, lam, A, Ainv, done, conv, minor, it = jax.lax.while_loop(cond, body, state)
    # final polish: the affine min-norm weights of the final corral from explicit shifted coordinates and a fresh
    # Cholesky factorization (the Gram route loses relative accuracy when the corral points are close to w_k);
    # kept only if still a strict convex combination.
    P = W[idx] - Wk[:, None, :]  # (c, s, d)
    Gs = jnp.einsum("csd,ctd->cst", P, P, precision=_HI)
    both = act[:, :, None] & act[:, None, :]
    A = jnp.where(both, Gs + 1.0, eye_s[None])
    z = _spd_solve(A, act.astype(dt))
    mu = jnp.where(act, z / jnp.sum(z, axis=1, keepdims=True), 0.0)
    ok = jnp.all(jnp.isfinite(mu), axis=1) & jnp.all(~act | (mu > 0), axis=1)
    lam = jnp.where(ok[:, None], mu, lam)
    lam_dense = jnp.zeros((c, K), dt).at[rows_c[:, None], idx].add(jnp.where(act, lam, 0.0))
    return lam_dense, conv


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
    # optimal features and the margin form (see one_vs_rest_margin for the exact semantics)
    pos = real & (dist > 0)
    H = jnp.where(pos[:, None], U / jnp.where(pos, dist, 1.0)[:, None], _inside_direction(Wm))
    H = jnp.where(mask[:, None], H, 0.0)
    margin = jnp.where(pos, dist, _per_class_margin(Wm, H, mask))
    margin = jnp.where(mask, margin, 0.0)
    r = jnp.min(jnp.where(mask, dist, jnp.inf))
    return OneVsRestInfo(dist, lower, gap, proj, coef, conv, H, margin, r)


def _default_chunk(K: int, s: int, d: int, budget: int = 1 << 25) -> int:
    per_problem = max(s * s + s * d + 4 * K, 1)
    return int(max(1, min(K, budget // per_problem)))


@partial(jax.jit, static_argnames=("s", "max_iter", "chunk"))
def _ovr_flat(W, mask, s: int, max_iter: int, chunk: int):
    """W (B, K, d), mask (B, K): one compiled program per (B, K, d, dtype, s, max_iter, chunk)."""
    return jax.vmap(lambda w, m: _ovr_single(w, m, s, max_iter, chunk))(W, mask)


def _ovr_batched(W, mask, s: int, max_iter: int, chunk: int) -> "OneVsRestInfo":
    # leading axes are flattened outside jit so that e.g. (2, 3, K, d) and (6, K, d) share one compilation
    batch = W.shape[:-2]
    K, d = W.shape[-2:]
    out = _ovr_flat(W.reshape((-1, K, d)), mask.reshape((-1, K)), s=s, max_iter=max_iter, chunk=chunk)
    return jax.tree_util.tree_map(lambda x: x.reshape(batch + x.shape[1:]), out)


def one_vs_rest_distance_info(W, mask=None, *, max_iter: Optional[int] = None, chunk: Optional[int] = None):
    """One-vs-rest distances with the projection, the simplex coefficients and a dual certificate.

    Args:
      W: (..., K, d) configuration (any real rows; unit rows in the softmax-code setting).
      mask: optional (..., K) real-row mask; padded rows are excluded from every hull and get 0 outputs.
      max_iter: cap on Wolfe iterations (major + minor cycles); default ``100 + 20 * min(K - 1, d + 1)``.
      chunk: number of the K problems solved together per ``lax.map`` step (memory control); default chooses
        a chunk so that the per-chunk working set stays near 2^25 elements.

    Returns:
      :class:`OneVsRestInfo` (dist, lower, gap, proj, coef, converged, features, margin, rho); all the
      one-vs-rest functions of this module read their output from this one compiled program.  ``lower <= true distance <= dist``
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
    return one_vs_rest_distance_info(W, mask, **kwargs).rho


def _inside_direction(W):
    """Fallback unit direction for rows inside the hull: normalized w_k (e_1 for a zero row). (K, d) -> (K, d)"""
    n = jnp.linalg.norm(W, axis=-1, keepdims=True)
    e1 = jnp.zeros_like(W).at[..., 0].set(1.0)
    return jnp.where(n > 0, W / jnp.where(n > 0, n, 1.0), e1)


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
    return one_vs_rest_distance_info(W, mask, **kwargs).margin


def optimal_features(W, mask=None, **kwargs):
    """Optimal feature of each class for fixed classifiers. (..., K, d) -> (..., K, d).

    ``h_k = (w_k - P_k w_k) / ||w_k - P_k w_k||`` with ``P_k`` the projection onto the hull of the other rows
    (maximizes ``min_{j != k} <w_k - w_j, h>`` over unit h).  Where ``w_k`` lies in the hull, ``h_k = w_k/|w_k|``
    (see :func:`one_vs_rest_margin`).  Padded rows give 0.
    """
    return one_vs_rest_distance_info(W, mask, **kwargs).features


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
    return _hardmax_margin_jit(W, H, _full_mask(W, mask))


@jax.jit
def _hardmax_margin_jit(W, H, m):
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
