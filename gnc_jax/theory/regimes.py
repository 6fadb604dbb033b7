"""Which proven (or derived) regime applies to a (K, d) pair, and what theory predicts there (SPEC §2, §4, §5)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

from gnc_jax._checks import check_int
from gnc_jax.theory.closed_forms import (
    SHARP_SOFTMAX_CODES,
    hug_inter_optimum,
    softmax_code_gamma_bounds,
    softmax_code_rho_star,
)

__all__ = ["Regime", "regime"]


@dataclass(frozen=True)
class Regime:
    """What theory says about K classes in dimension d.

    name:        "trivial" | "simplex" | "polygon" | "cross-polytope" | "sharp-code" | "open".
    rho_star:    closed-form softmax-code optimum rho*(d, K), or None.
    hug_inter:   closed-form optimum of the HUG proxy inter term, or None.
    bounds:      (lower, upper) interval known for rho*: the exact value twice when known, else the
                 (unconfirmed) Gamma-function bounds of [GNC].
    prediction:  one line: what the optimal configuration is.
    explanation: a few sentences with the reasons and the caveats.
    tag:         "(derived)" or "(unconfirmed)" (the weakest tag of the statements used).
    """

    K: int
    d: int
    name: str
    rho_star: Optional[float]
    hug_inter: Optional[float]
    bounds: Tuple[float, float]
    prediction: str
    explanation: str
    tag: str


def regime(K: int, d: int) -> Regime:
    """Classify (K classes, dimension d) into the regimes of the SPEC.  Note the argument order (K, d).

    * K <= d + 1 ("simplex"): the simplex ETF, rho* = K/(K-1); every objective of the toolkit (normalized
      regularized UFM, spherical CE at any tau, HardMax/softmax code, Tammes, MHE, MHS, MGD, HUG) has the same
      normalized Gram (K/(K-1))(I - 11^T/K) (derived; SPEC §5).  Self-dual (GNC3 = 0), no rattlers.
    * d = 2 ("polygon"): the regular K-gon, rho* = 1 - cos(2 pi/K); CE optimum is the polygon already at tau = 1
      (derived).
    * d + 2 <= K <= 2d ("cross-polytope"): rho* = 1, attained by any K vertices of {+-e_i}; Tammes angle 90 deg
      (proven for Tammes).  The optimum is not unique for K < 2d.
    * sharp codes (3,12), (4,120), (5,16), (6,27), (7,56), (8,240) ("sharp-code"): the universally optimal code;
      closed-form rho* (reproduced numerically).
    * otherwise ("open"): no closed form; rho* lies between delta_T^2/2 and delta_T (delta_T the Tammes distance)
      and, as attributed to [GNC] (unconfirmed), in the Gamma-function interval; for K > d + 1 the finite-tau CE
      optimum is not the softmax code and converges to it as tau -> 0 (derived).
    """
    K = check_int("K", K, 2)
    d = check_int("d", d, 1)
    rs = softmax_code_rho_star(d, K)
    hug = hug_inter_optimum(d, K)
    finite_tau = (
        "For K > d + 1 the spherical CE optimum at finite tau is not the softmax code; it converges to one as "
        "tau -> 0 (derived; use tau-continuation and float64)."
    )
    if K <= d + 1:
        return Regime(
            K, d, "simplex", rs, hug, (rs, rs),
            f"simplex ETF: pairwise cosine -1/(K-1) = {-1.0 / (K - 1):.6g}, rho* = K/(K-1) = {rs:.12g}",
            "K <= d + 1: the simplex ETF solves the regularized UFM (normalized), the spherical CE-UFM at every tau, "
            "the HardMax/softmax-code problem, Tammes, MHE, MHS, MGD and HUG; all return the Gram "
            "(K/(K-1))(I - 11^T/K). Softmax code = Tammes solution (self-dual, GNC3 -> 0), every class binding "
            "(no rattlers). The theorem is attributed to [GNC] (wording unconfirmed); the closed forms are derived.",
            "(derived)",
        )
    if d == 1:
        return Regime(
            K, d, "trivial", 0.0, None, (0.0, 0.0),
            "d = 1 and K >= 3: two of the K unit vectors coincide; rho* = 0",
            "There are only two unit vectors in R^1, so some class duplicates another and its one-vs-rest distance "
            "is 0.",
            "(derived)",
        )
    if d == 2:
        return Regime(
            K, d, "polygon", rs, hug, (rs, rs),
            f"regular {K}-gon: min angle {360.0 / K:.6g} deg, rho* = 1 - cos(2 pi/K) = {rs:.12g}",
            "d = 2: the regular K-gon is the softmax code, the Tammes solution (self-dual) and the Riesz energy "
            "minimizer (HUG inter term (K+1)/12); the spherical CE optimum is already the polygon at tau = 1 "
            "(derived). The theorem is attributed to [GNC] (wording unconfirmed).",
            "(derived)",
        )
    if K <= 2 * d:
        return Regime(
            K, d, "cross-polytope", rs, hug, (rs, rs),
            "any K vertices of the cross-polytope {+-e_i}: rho* = 1, Tammes angle 90 deg",
            "d + 2 <= K <= 2d: every softmax code has rho* = 1, attained by any K of the 2d vertices +-e_i (not unique "
            "when K < 2d); the Tammes optimum is 90 deg (proven), and the subset is self-dual. A cross-polytope "
            "statement is attributed to [GNC] (exact wording unconfirmed). " + finite_tau,
            "(derived)",
        )
    if (d, K) in SHARP_SOFTMAX_CODES:
        name = SHARP_SOFTMAX_CODES[(d, K)][1]
        return Regime(
            K, d, "sharp-code", rs, hug, (rs, rs),
            f"{name}: rho* = {rs:.12g} (min angle {math.degrees(math.acos(1.0 - rs)):.6g} deg)",
            f"(d, K) = ({d}, {K}) carries the universally optimal code '{name}' (Cohn-Kumar): it minimizes every "
            "completely monotone energy and is the Tammes optimum; the softmax-code optimum equals 1 - max cos of "
            "it (derived, reproduced numerically; self-dual). " + finite_tau,
            "(derived)",
        )
    lo, up = softmax_code_gamma_bounds(d, K)
    return Regime(
        K, d, "open", None, hug, (lo, up),
        "no closed form: search numerically (softmax code vs Tammes)",
        "No closed form is known. For every W, 1 - max cos <= rho(W) <= min distance, so delta_T^2/2 <= rho* <= "
        "delta_T with delta_T the Tammes distance (derived); equality on the left means a self-dual softmax code, and "
        "no (d, K) where the softmax code and the Tammes solution differ is known. The bounds interval "
        f"[{lo:.4g}, {up:.4g}] is the Gamma-function pair attributed to [GNC] (unconfirmed). Rattlers (non-binding "
        "classes) may exist. " + finite_tau,
        "(unconfirmed)",
    )
