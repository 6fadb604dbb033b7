"""Closed forms of the SPEC (pure numpy, float64; nothing is solved here).

Tags follow SPEC.md: **(derived)** derived from the definitions and reproduced numerically (safe to test against);
**(unconfirmed)** a plausible reading of a paper that is not confirmed in its text (implemented, never asserted as
the paper's theorem).

Contents
--------
* Regularized CE-UFM [NC21] (SPEC §1): :func:`ufm_global_optimum` (alpha, beta, rho* = ||W*||_F^2, ||w*||^2, f*,
  zero regime), :func:`ufm_minimizer` (an explicit global minimizer), :func:`ufm_objective`, :func:`ufm_gradient`.
* Softmax codes [GNC] (SPEC §2): :func:`softmax_code_rho_star`, :func:`tammes_softmax_bounds`,
  :func:`softmax_code_gamma_bounds` (unconfirmed).
* Simplex energies and HUG [HUG] (SPEC §3): :func:`simplex_riesz_energy`, :func:`simplex_log_energy`,
  :func:`simplex_min_distance`, :func:`simplex_mgd_logdet`, :func:`hug_inter_optimum`.
* :func:`simplex_etf` (explicit simplex ETF, used to build minimizers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Optional, Tuple

import numpy as np

from .._checks import check_int

__all__ = [
    "simplex_etf",
    "UFMOptimum",
    "UFMPoint",
    "ufm_global_optimum",
    "ufm_minimizer",
    "ufm_objective",
    "ufm_gradient",
    "softmax_code_rho_star",
    "SHARP_SOFTMAX_CODES",
    "tammes_softmax_bounds",
    "softmax_code_gamma_bounds",
    "simplex_riesz_energy",
    "simplex_log_energy",
    "simplex_min_distance",
    "simplex_mgd_logdet",
    "hug_inter_optimum",
]


# ---------------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------------
def _pos_arg(name, value, allow_zero=False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number; got {value!r}")
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite; got {value!r}")
    return v


# ---------------------------------------------------------------------------------------------------------------
# simplex ETF
# ---------------------------------------------------------------------------------------------------------------
def simplex_etf(K: int, d: Optional[int] = None) -> np.ndarray:
    """Explicit simplex ETF: K unit rows in R^d with Gram ``(K/(K-1)) (I - 11^T/K)``. -> (K, d) float64.

    Built from the Helmert basis of the sum-zero subspace (deterministic); needs ``d >= K - 1`` (default
    ``d = K - 1``); the extra coordinates are zero.
    """
    K = check_int("K", K, 2)
    d = K - 1 if d is None else check_int("d", d, 1)
    if d < K - 1:
        raise ValueError(f"d must be >= K - 1 = {K - 1} for a simplex ETF; got d = {d}")
    # Helmert rows: orthonormal, orthogonal to the all-ones vector
    Hm = np.zeros((K - 1, K))
    for i in range(1, K):
        Hm[i - 1, :i] = 1.0
        Hm[i - 1, i] = -float(i)
        Hm[i - 1] /= math.sqrt(i * (i + 1))
    X = math.sqrt(K / (K - 1)) * Hm.T  # (K, K-1)
    W = np.zeros((K, d))
    W[:, : K - 1] = X
    return W


# ---------------------------------------------------------------------------------------------------------------
# regularized CE-UFM [NC21], SPEC §1
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UFMOptimum:
    """Global optimum of the regularized CE-UFM (SPEC §1, (derived)).

    Attributes:
      alpha: ``sqrt(lambda_W / (n lambda_H))`` (h*_ki = alpha w*^k).
      beta: ``alpha / (K - 1)``.
      zero_regime: ``K sqrt(n lambda_W lambda_H) >= 1`` (then W* = 0, H* = 0, f* = log K).
      rho: ``||W*||_F^2`` (0 in the zero regime).  (This is the SPEC's rho* of §1, not the softmax-code rho.)
      w_sqnorm: ``||w*^k||^2 = rho / K`` (every row has the same norm).
      h_sqnorm: ``||h*_ki||^2 = alpha^2 w_sqnorm``.
      f_star: the optimal value ``log(1 + (K-1) e^{-beta rho}) + lambda_W rho`` (``log K`` in the zero regime).
      tag: "(derived)".
    """

    K: int
    d: int
    n: int
    lambda_W: float
    lambda_H: float
    lambda_b: float
    alpha: float
    beta: float
    zero_regime: bool
    rho: float
    w_sqnorm: float
    h_sqnorm: float
    f_star: float
    tag: str = "(derived)"


def ufm_global_optimum(K: int, d: int, n: int, lambda_W: float, lambda_H: float, lambda_b: float = 0.0) -> UFMOptimum:
    """Closed-form global optimum of ``f(W, H, b)`` (SPEC §1) for ``d >= K - 1``.  (derived)

    ``f = (1/N) sum CE(W h_ki + b, k) + lambda_W/2 ||W||_F^2 + lambda_H/2 ||H||_F^2 + lambda_b/2 ||b||^2`` with
    ``N = nK``.  With ``alpha = sqrt(lambda_W/(n lambda_H))`` and ``beta = alpha/(K-1)``: if
    ``K sqrt(n lambda_W lambda_H) < 1`` then ``rho* = ||W*||_F^2 = (1/beta) log((K-1)(beta - lambda_W)/lambda_W)``,
    ``||w*||^2 = ((K-1)/K) sqrt(n lambda_H/lambda_W) log(1/sqrt(n lambda_W lambda_H) - (K-1))`` and
    ``f* = log(1 + (K-1) e^{-beta rho*}) + lambda_W rho*``; otherwise ``W* = 0, H* = 0, f* = log K``.
    ``b* = 0`` (unique when lambda_b > 0; for lambda_b = 0 any constant vector b also attains f*).

    SPEC checks: (4,5,3,5e-3,1e-2,1e-2) -> f* = 0.19781481, ||w||^2 = 8.019023;
    (10,12,5,5e-4,5e-4,5e-4) -> ||w||^2 = 13.656703.
    """
    K = check_int("K", K, 2)
    d = check_int("d", d, 1)
    n = check_int("n", n, 1)
    lW = _pos_arg("lambda_W", lambda_W)
    lH = _pos_arg("lambda_H", lambda_H)
    lb = _pos_arg("lambda_b", lambda_b, allow_zero=True)
    if d < K - 1:
        raise ValueError(
            f"d must be >= K - 1 = {K - 1} for the closed-form (simplex ETF) minimizer; got d = {d}"
        )
    alpha = math.sqrt(lW / (n * lH))
    beta = alpha / (K - 1)
    c = K * math.sqrt(n * lW * lH)
    if c >= 1.0:
        return UFMOptimum(K, d, n, lW, lH, lb, alpha, beta, True, 0.0, 0.0, 0.0, math.log(K))
    rho = math.log((K - 1) * (beta - lW) / lW) / beta
    w2 = rho / K
    f = math.log1p((K - 1) * math.exp(-beta * rho)) + lW * rho
    return UFMOptimum(K, d, n, lW, lH, lb, alpha, beta, False, rho, w2, alpha * alpha * w2, f)


class UFMPoint(NamedTuple):
    """A point of the UFM: W (K, d), H (d, N) with column ``k*n + i`` = h_ki, b (K,), labels y (N,)."""

    W: np.ndarray
    H: np.ndarray
    b: np.ndarray
    y: np.ndarray


def ufm_minimizer(K: int, d: int, n: int, lambda_W: float, lambda_H: float, lambda_b: float = 0.0) -> UFMPoint:
    """An explicit global minimizer ``(W*, H*, b*)`` of the regularized CE-UFM.  (derived)

    ``W*`` = simplex ETF rows scaled to norm ``sqrt(||w*||^2)``, ``h*_ki = alpha w*^k`` for every sample i of class
    k (columns ordered class-major), ``b* = 0``.  In the zero regime W* = 0, H* = 0.  Needs ``d >= K - 1``.
    """
    opt = ufm_global_optimum(K, d, n, lambda_W, lambda_H, lambda_b)
    W = math.sqrt(opt.w_sqnorm) * simplex_etf(opt.K, opt.d)
    H = np.repeat(opt.alpha * W, opt.n, axis=0).T  # (d, N)
    y = np.repeat(np.arange(opt.K), opt.n)
    return UFMPoint(W, H, np.zeros(opt.K), y)


def _check_ufm_point(W, H, b, y):
    W = np.asarray(W, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    y = np.asarray(y)
    if W.ndim != 2:
        raise ValueError(f"W must have shape (K, d); got {W.shape}")
    K, d = W.shape
    if H.ndim != 2 or H.shape[0] != d:
        raise ValueError(f"H must have shape (d, N) with d = {d}; got {H.shape}")
    if b.shape != (K,):
        raise ValueError(f"b must have shape (K,) = ({K},); got {b.shape}")
    if y.shape != (H.shape[1],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be an integer array of shape (N,) = ({H.shape[1]},); got {y.shape}, {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= K):
        raise ValueError(f"y must hold labels in [0, {K}); got range [{y.min()}, {y.max()}]")
    return W, H, b, y


def _logits_softmax(W, H, b):
    Z = W @ H + b[:, None]  # (K, N)
    zmax = Z.max(axis=0, keepdims=True)
    E = np.exp(Z - zmax)
    lse = zmax[0] + np.log(E.sum(axis=0))
    P = E / E.sum(axis=0, keepdims=True)
    return Z, lse, P


def ufm_objective(W, H, b, y, lambda_W: float, lambda_H: float, lambda_b: float = 0.0) -> float:
    """Regularized CE-UFM value in numpy float64 (SPEC §1); for checks only (the JAX objective is elsewhere).

    W (K, d), H (d, N), b (K,), y (N,) integer labels:
    ``(1/N) sum_i CE(W h_i + b, y_i) + lambda_W/2 ||W||_F^2 + lambda_H/2 ||H||_F^2 + lambda_b/2 ||b||^2``.
    """
    W, H, b, y = _check_ufm_point(W, H, b, y)
    N = H.shape[1]
    Z, lse, _ = _logits_softmax(W, H, b)
    ce = np.mean(lse - Z[y, np.arange(N)])
    return float(ce + 0.5 * lambda_W * np.sum(W * W) + 0.5 * lambda_H * np.sum(H * H) + 0.5 * lambda_b * b @ b)


def ufm_gradient(W, H, b, y, lambda_W: float, lambda_H: float, lambda_b: float = 0.0):
    """Analytic gradient ``(dW, dH, db)`` of :func:`ufm_objective` (numpy float64)."""
    W, H, b, y = _check_ufm_point(W, H, b, y)
    K = W.shape[0]
    N = H.shape[1]
    _, _, P = _logits_softmax(W, H, b)
    Gz = P.copy()
    Gz[y, np.arange(N)] -= 1.0
    Gz /= N
    return Gz @ H.T + lambda_W * W, W.T @ Gz + lambda_H * H, Gz.sum(axis=1) + lambda_b * b


# ---------------------------------------------------------------------------------------------------------------
# softmax codes [GNC], SPEC §2
# ---------------------------------------------------------------------------------------------------------------
#: Sharp codes with a closed-form rho* (SPEC §2 "(derived, reproduced numerically)"): (d, K) -> (rho*, name).
SHARP_SOFTMAX_CODES = {
    (3, 12): (1.0 - 1.0 / math.sqrt(5.0), "icosahedron"),
    (4, 120): ((3.0 - math.sqrt(5.0)) / 4.0, "600-cell"),
    (5, 16): (0.8, "hemicube / Clebsch (5,16)"),
    (6, 27): (0.75, "Schlaefli (6,27)"),
    (7, 56): (2.0 / 3.0, "Gosset (7,56)"),
    (8, 240): (0.5, "E8 roots"),
}


def softmax_code_rho_star(d: int, K: int) -> Optional[float]:
    """Optimal softmax-code value ``rho*(d, K) = max_{W in OB(d,K)} rho(W)`` where a closed form is known.

    (derived; SPEC §2) ``d = 2``: ``1 - cos(2 pi/K)`` (regular K-gon); ``K <= d + 1``: ``K/(K-1)`` (simplex ETF);
    ``d + 2 <= K <= 2d``: ``1`` (any K vertices of the cross-polytope); the sharp codes of
    :data:`SHARP_SOFTMAX_CODES` ((3,12) 1 - 1/sqrt 5, (4,120) (3 - sqrt 5)/4, (5,16) 0.8, (6,27) 0.75, (7,56) 2/3,
    (8,240) 0.5; their optimality is reproduced numerically, see the SPEC).  ``d = 1, K >= 3``: 0 (two rows must
    coincide).  Returns ``None`` otherwise.  Note the argument order (d, K), as in the SPEC.
    """
    d = check_int("d", d, 1)
    K = check_int("K", K, 2)
    if K <= d + 1:
        return K / (K - 1)
    if d == 1:
        return 0.0
    if d == 2:
        return 1.0 - math.cos(2.0 * math.pi / K)
    if K <= 2 * d:
        return 1.0
    if (d, K) in SHARP_SOFTMAX_CODES:
        return SHARP_SOFTMAX_CODES[(d, K)][0]
    return None


def tammes_softmax_bounds(delta_T: float) -> Tuple[float, float]:
    """``(delta_T^2 / 2, delta_T)``: the interval that contains rho*(d, K) given the Tammes distance delta_T.

    (derived; SPEC §2) For every unit W, ``1 - max_{j!=k} <w_j, w_k> <= rho(W) <= min_{j!=k} ||w_j - w_k||``;
    ``1 - max cos = delta^2/2`` for the minimum distance delta, hence ``delta_T^2/2 <= rho* <= delta_T``.  Equality on
    the left holds iff the softmax code is self-dual.
    """
    dT = _pos_arg("delta_T", delta_T, allow_zero=True)
    if dT > 2.0:
        raise ValueError(f"delta_T must be a distance between unit vectors (<= 2); got {delta_T}")
    return 0.5 * dT * dT, dT


def softmax_code_gamma_bounds(d: int, K: int) -> Tuple[float, float]:
    """Gamma-function bounds on rho*(d, K) attributed to [GNC].  (unconfirmed)

    ``(1/2) (sqrt(pi) Gamma((d+1)/2) / (K Gamma(d/2 + 1)))^{2/(d-1)} <= rho* <=
    2 (2 sqrt(pi) Gamma((d+1)/2) / (K Gamma(d/2)))^{1/(d-1)}``; e.g. (10, 100) -> [0.1697, 1.5049].  Needs d >= 2.
    Computed with log-Gamma (no overflow for large d).
    """
    d = check_int("d", d, 2)
    K = check_int("K", K, 2)
    lg = math.lgamma
    lp = 0.5 * math.log(math.pi)
    lower = 0.5 * math.exp((2.0 / (d - 1)) * (lp + lg((d + 1) / 2) - math.log(K) - lg(d / 2 + 1)))
    upper = 2.0 * math.exp((1.0 / (d - 1)) * (math.log(2.0) + lp + lg((d + 1) / 2) - math.log(K) - lg(d / 2)))
    return lower, upper


# ---------------------------------------------------------------------------------------------------------------
# simplex energies and HUG [HUG], SPEC §3
# ---------------------------------------------------------------------------------------------------------------
def simplex_riesz_energy(K: int, s: float) -> float:
    """Riesz s-energy of the simplex ETF, ``E_s = sum_{i != j} ||w_i - w_j||^{-s} = K(K-1)(2K/(K-1))^{-s/2}``.
    (derived) (ordered pairs, as in SPEC §3)"""
    K = check_int("K", K, 2)
    s = _pos_arg("s", s)
    return K * (K - 1) * (2.0 * K / (K - 1)) ** (-s / 2.0)


def simplex_log_energy(K: int) -> float:
    """Log energy of the simplex ETF, ``E_0 = sum_{i != j} log(1/||w_i - w_j||) = -(K(K-1)/2) log(2K/(K-1))``.
    (derived)"""
    K = check_int("K", K, 2)
    return -(K * (K - 1) / 2.0) * math.log(2.0 * K / (K - 1))


def simplex_min_distance(K: int) -> float:
    """Max-min (Tammes) distance of K <= d+1 unit vectors: the simplex ETF's ``sqrt(2K/(K-1))``. (derived)"""
    K = check_int("K", K, 2)
    return math.sqrt(2.0 * K / (K - 1))


def simplex_mgd_logdet(K: int) -> float:
    """MGD value of the simplex ETF: ``log det G``, ``G_ij = exp(-||w_i - w_j||^2)`` (without the code's 1e-6 I).

    ``= log(1 + (K-1) e^{-c}) + (K-1) log(1 - e^{-c})``, ``c = 2K/(K-1)``; K=4 -> -0.026707, K=10 -> -0.351590.
    (derived)
    """
    K = check_int("K", K, 2)
    c = 2.0 * K / (K - 1)
    e = math.exp(-c)
    return math.log1p((K - 1) * e) + (K - 1) * math.log1p(-e)


def hug_inter_optimum(d: int, K: int) -> Optional[float]:
    """Optimal value of the HUG proxy inter-class term ``mean_{i<j} ||w_i - w_j||^{-2}`` where known.

    (derived; SPEC §3) The optimum is the Riesz-2 energy minimizer: ``K <= d + 1`` simplex ETF ``(K-1)/(2K)``;
    ``d = 2`` regular K-gon ``(K+1)/12``; cross-polytope ``K = 2d``: ``(d - 3/4)/(2d - 1)`` (0.45 for the
    octahedron (3, 6); universally optimal); icosahedron (3, 12): ``13/22``.  ``None`` otherwise.  Argument order
    (d, K).
    """
    d = check_int("d", d, 1)
    K = check_int("K", K, 2)
    if K <= d + 1:
        return (K - 1) / (2.0 * K)
    if d == 2:
        return (K + 1) / 12.0
    if K == 2 * d:
        return (d - 0.75) / (2.0 * d - 1.0)
    if (d, K) == (3, 12):
        return 13.0 / 22.0
    return None
