"""Proven upper bounds on the minimal angle of N points on S^{d-1} (host-side float64).

* Rankin (1955) / simplex bound: N <= d+1 gives arccos(-1/(N-1)) (attained by the regular
  simplex); N > d+1 gives 90 deg, attained for N <= 2d by the cross-polytope (for N > 2d Rankin
  shows the angle is strictly below 90 deg).
* Fejes Toth (1943), d = 3 only: cos(theta) >= (cot^2 w - 1)/2, w = N pi / (6 (N-2)); attained
  for N = 3, 4, 6, 12.
* Levenshtein (1979) linear-programming bound, in closed form. With P_k the Gegenbauer
  polynomials of S^{d-1} normalised by P_k(1) = 1 and t^{a,b}_k the largest zero of the Jacobi
  polynomial P_k^{(alpha+a, alpha+b)}, alpha = (d-3)/2 (t^{1,1}_0 = -1), a code with maximal
  inner product s has at most L(d, s) points, where for
    s in [t^{1,1}_{k-1}, t^{1,0}_k]:  L = C(k+d-3, k-1) [ (2k+d-3)/(d-1) - (P_{k-1}(s) - P_k(s)) / ((1-s) P_k(s)) ],
    s in [t^{1,0}_k, t^{1,1}_k]:      L = C(k+d-2, k) [ (2k+d-1)/(d-1) - (1+s)(P_k(s) - P_{k+1}(s)) / ((1-s)(P_k(s) + P_{k+1}(s))) ].
  L is continuous and increasing in s, so N points force max cos >= s*(N) with L(d, s*) = N;
  s* is found by bisection. Attained by the sharp configurations: regular polygons (d = 2),
  simplices, the cross-polytope (N = 2d), icosahedron (3,12), (5,16), (6,27), (7,56), E8 (8,240),
  Leech (24,196560) and others; not by the 600-cell (L(4, cos 36 deg) = 121.67 > 120).
"""
from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from ._validate import check_count, check_dim, check_int

BOUND_NAMES = ("rankin", "fejes-toth", "levenshtein", "trivial")


@dataclasses.dataclass(frozen=True)
class AngleBound:
    """Best proven upper bound on the minimal angle of N points on S^{d-1}.

    angle_deg: the bound (deg); max_cos: the matching lower bound on the maximal cosine;
    bound: name of the bound that won (smallest angle; ties go to the first in BOUND_NAMES);
    candidates: name -> angle (deg) for every bound that applies.
    """

    d: int
    N: int
    angle_deg: float
    max_cos: float
    bound: str
    candidates: dict = dataclasses.field(hash=False)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------- Rankin / simplex
def rankin_bound_deg(d: int, N: int) -> float:
    """Rankin / simplex bound (deg): arccos(-1/(N-1)) if N <= d+1, else 90."""
    d, N = check_dim(d), check_count(N)
    if N <= d + 1:
        return 180.0 if N == 2 else math.degrees(math.acos(-1.0 / (N - 1)))
    return 90.0


# ----------------------------------------------------------------------------- Fejes Toth (d = 3)
def fejes_toth_bound_deg(N: int) -> float:
    """Fejes Toth's bound for N >= 3 points on S^2 (deg); tight for N = 3, 4, 6, 12."""
    N = check_int(N, "N", 3)
    w = N * math.pi / (6.0 * (N - 2))
    cos_lower = (1.0 / math.tan(w) ** 2 - 1.0) / 2.0
    return math.degrees(math.acos(min(1.0, max(-1.0, cos_lower))))


# ----------------------------------------------------------------------------- Levenshtein
def gegenbauer_normalized(d: int, k_max: int, s: float) -> np.ndarray:
    """[P_0(s), ..., P_{k_max}(s)]: Gegenbauer polynomials of S^{d-1} with P_k(1) = 1."""
    p = np.empty(k_max + 1)
    p[0] = 1.0
    if k_max >= 1:
        p[1] = s
    for k in range(1, k_max):
        p[k + 1] = ((2 * k + d - 2) * s * p[k] - k * p[k - 1]) / (k + d - 2)
    return p


@functools.lru_cache(maxsize=None)
def jacobi_largest_zero(k: int, a: float, b: float) -> float:
    """Largest zero of the Jacobi polynomial P_k^{(a, b)} (Golub-Welsch); -1 for k = 0."""
    if k == 0:
        return -1.0
    ab = a + b
    diag = np.empty(k)
    diag[0] = (b - a) / (ab + 2.0)
    j = np.arange(1, k, dtype=np.float64)
    diag[1:] = (b * b - a * a) / ((2 * j + ab) * (2 * j + ab + 2))
    off = np.sqrt(4 * j * (j + a) * (j + b) * (j + ab)
                  / ((2 * j + ab) ** 2 * (2 * j + ab + 1) * (2 * j + ab - 1)))
    jac = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
    return float(np.linalg.eigvalsh(jac)[-1])


def levenshtein_interval(d: int, m: int) -> tuple[float, float]:
    """The s-interval [lo, hi] on which L_m(d, s) is Levenshtein's bound (d >= 2, m >= 1)."""
    alpha = (d - 3) / 2.0
    k = (m + 1) // 2
    t10 = jacobi_largest_zero(k, alpha + 1, alpha)
    if m % 2:
        return jacobi_largest_zero(k - 1, alpha + 1, alpha + 1), t10
    return t10, jacobi_largest_zero(k, alpha + 1, alpha + 1)


def _levenshtein_m(d: int, m: int, s: float) -> float:
    k = (m + 1) // 2
    p = gegenbauer_normalized(d, k + 1, s)
    if m % 2:
        return math.comb(k + d - 3, k - 1) * (
            (2 * k + d - 3) / (d - 1) - (p[k - 1] - p[k]) / ((1 - s) * p[k]))
    return math.comb(k + d - 2, k) * (
        (2 * k + d - 1) / (d - 1) - (1 + s) * (p[k] - p[k + 1]) / ((1 - s) * (p[k] + p[k + 1])))


def levenshtein_degree(d: int, s: float) -> int:
    """The index m with s in the m-th Levenshtein interval."""
    m = 1
    while s > levenshtein_interval(d, m)[1]:
        m += 1
    return m


def levenshtein_bound_size(d: int, s: float) -> float:
    """Levenshtein's bound L(d, s) on the size of a code on S^{d-1} with max inner product s."""
    d = check_int(d, "d", 2)
    s = float(s)
    if not -1.0 <= s < 1.0:
        raise ValueError(f"s must lie in [-1, 1), got {s}")
    return _levenshtein_m(d, levenshtein_degree(d, s), s)


def _reaches(d: int, m: int, N: int) -> bool:
    """True when L_m at the right end of its interval is >= N (increasing in m)."""
    return _levenshtein_m(d, m, levenshtein_interval(d, m)[1]) >= N


def _smallest_degree_reaching(d: int, N: int) -> int:
    hi = 1
    while not _reaches(d, hi, N):  # exponential search, then bisection on m
        hi *= 2
    lo = hi // 2  # lo does not reach N (or is 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _reaches(d, mid, N):
            hi = mid
        else:
            lo = mid
    return hi


def levenshtein_max_cos(d: int, N: int) -> float:
    """Smallest s with L(d, s) >= N: every N-point code on S^{d-1} has max cosine >= s."""
    d = check_int(d, "d", 2)
    N = check_count(N)
    if N == 2:
        return -1.0
    m = _smallest_degree_reaching(d, N)
    lo, hi = levenshtein_interval(d, m)
    for _ in range(200):  # bisection on the increasing branch L_m; invariant L_m(lo) < N <= L_m(hi)
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if _levenshtein_m(d, m, mid) < N:
            lo = mid
        else:
            hi = mid
    return lo  # s* lies in [lo, hi] (adjacent floats); lo keeps the bound on the safe side


def levenshtein_bound_deg(d: int, N: int) -> float:
    """Levenshtein's upper bound on the minimal angle (deg) of N points on S^{d-1}, d >= 2."""
    return math.degrees(math.acos(levenshtein_max_cos(d, N)))


# ----------------------------------------------------------------------------- combined
def _all_bounds(d: int, N: int) -> dict:
    if d == 1:  # S^0 = {+1, -1}
        return {"trivial": 180.0 if N == 2 else 0.0}
    out = {"rankin": rankin_bound_deg(d, N)}
    if d == 3 and N >= 3:
        out["fejes-toth"] = fejes_toth_bound_deg(N)
    out["levenshtein"] = levenshtein_bound_deg(d, N)
    return out


def upper_bound(d: int, N: int) -> AngleBound:
    """Smallest available proven upper bound on the minimal angle of N points on S^{d-1}."""
    d, N = check_dim(d), check_count(N)
    cands = _all_bounds(d, N)
    best = min(cands.values())
    name = next(n for n in BOUND_NAMES if n in cands and cands[n] <= best + 1e-12)
    return AngleBound(d=d, N=N, angle_deg=best, max_cos=math.cos(math.radians(best)),
                      bound=name, candidates=cands)


def upper_bound_angle_deg(d: int, N: int) -> tuple[float, str]:
    """(bound in degrees, name of the bound that won); see `upper_bound`."""
    b = upper_bound(d, N)
    return b.angle_deg, b.bound
