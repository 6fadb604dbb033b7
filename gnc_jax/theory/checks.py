"""Numerical reproduction of the seed papers' theorem conditions (issue P4).

Each checker takes (K, d) (plus the model's hyperparameters), says which regime of ``regime(K, d)`` applies and what
theory predicts, solves with :func:`gnc_jax.api.solve` in float64 and reports whether the numerics agree, as a
:class:`CheckReport` of :class:`Finding` rows.  Every finding carries the SPEC status tag of the statement it tests:
"(derived)" statements are asserted by the tests; "(unconfirmed)" readings of a paper are only reported.

Contents
  * :func:`riemannian_hessian_eigs` -- eigenvalues of the Riemannian Hessian on products of spheres / R^n.
  * :func:`riemannian_hessian_smallest` -- its k smallest, by Lanczos on Hessian-vector products (any dimension).
  * :func:`ufm_check`        -- [NC21] regularized CE-UFM: closed-form minimizer, NC1-NC3, duality, strict saddle.
  * :func:`tau_sweep`        -- [GNC] rho(W_tau) of the collapsed spherical CE optimum along a tau-continuation.
  * :func:`tau_log_ce`       -- tau log L(W, H; tau), which tends to L_HM(W, H) as tau -> 0.
  * :func:`softmax_tammes_check` -- [GNC] softmax code vs Tammes, closed forms, self-duality.
  * :func:`spherical_ce_check`   -- [GNC] within-class collapse, self-duality, local minimality at finite tau.
  * :func:`uniformity_check` -- [HUG] MHE / MGD / HUG optima against the simplex closed forms (K <= d + 1).
  * :func:`consistency_check` -- SPEC §5: every model returns the simplex Gram for K <= d + 1.
  * :func:`check`            -- all of the above that apply to (K, d).

All arithmetic on the checked figures is numpy float64; solves run inside ``jax.enable_x64``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, Optional, Sequence, Union

import numpy as np

from gnc_jax.theory.closed_forms import (
    hug_inter_optimum,
    simplex_log_energy,
    simplex_mgd_logdet,
    simplex_riesz_energy,
    softmax_code_rho_star,
    ufm_global_optimum,
)
from gnc_jax.theory.nc_metrics import gnc1, gnc3, nc1, nc2, nc3, rattlers
from gnc_jax.theory.regimes import regime

__all__ = [
    "Finding",
    "CheckReport",
    "tangent_basis",
    "riemannian_hessian_eigs",
    "riemannian_hessian_smallest",
    "etf_gram",
    "gram_gap",
    "ufm_saddle_eigs",
    "ufm_check",
    "tau_sweep",
    "tau_log_ce",
    "hardmax_loss",
    "softmax_tammes_check",
    "spherical_ce_check",
    "uniformity_check",
    "consistency_check",
    "check",
]

Manifold = Union[str, dict]


# ---------------------------------------------------------------------------------------------------------------
# report types
# ---------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Finding:
    """One prediction compared with one measurement.

    name: what is checked; predicted / measured: numbers (or None when theory has no value); tol: the tolerance of
    the comparison; agrees: True / False, or None when nothing is asserted (no prediction or an unconfirmed
    statement); tag: "(derived)" or "(unconfirmed)"; note: one line of context.
    """

    name: str
    predicted: Optional[float]
    measured: Optional[float]
    tol: Optional[float]
    agrees: Optional[bool]
    tag: str = "(derived)"
    note: str = ""

    def line(self) -> str:
        fmt = lambda v: "-" if v is None else f"{v:.10g}"  # noqa: E731
        verdict = {True: "agrees", False: "DISAGREES", None: "reported"}[self.agrees]
        tol = "" if self.tol is None else f" (tol {self.tol:.0e})"
        note = f"  [{self.note}]" if self.note else ""
        return f"{self.name}: predicted {fmt(self.predicted)}, measured {fmt(self.measured)}{tol} -> {verdict} {self.tag}{note}"


@dataclasses.dataclass
class CheckReport:
    """What theory predicts for (K, d) and what the numerics gave.

    regime: name from :func:`gnc_jax.theory.regime`; prediction: its one-line prediction; findings: the comparisons;
    seconds: wall time of the check (solves included).
    """

    K: int
    d: int
    regime: str
    prediction: str
    findings: list
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No finding disagrees (findings with ``agrees=None`` are not counted)."""
        return all(f.agrees is not False for f in self.findings)

    def failures(self) -> list:
        return [f for f in self.findings if f.agrees is False]

    def to_dict(self) -> dict:
        return {"K": self.K, "d": self.d, "regime": self.regime, "prediction": self.prediction, "ok": self.ok,
                "seconds": self.seconds, "findings": [dataclasses.asdict(f) for f in self.findings]}

    def summary(self) -> str:
        head = f"K={self.K} d={self.d}: regime {self.regime} -- {self.prediction}"
        body = "\n".join("  " + f.line() for f in self.findings)
        tail = f"  => {'all checks agree' if self.ok else str(len(self.failures())) + ' disagreement(s)'} ({self.seconds:.1f} s)"
        return "\n".join([head, body, tail])

    __str__ = summary


def _finding(name, predicted, measured, tol, tag="(derived)", note="", relative=False) -> Finding:
    """Compare |measured - predicted| (relative to |predicted| if asked) with tol; no verdict without a prediction."""
    if predicted is None or measured is None or tol is None:
        return Finding(name, predicted, measured, tol, None, tag, note)
    err = abs(measured - predicted)
    if relative:
        err /= max(abs(predicted), 1e-300)
    ok = bool(np.isfinite(err) and err <= tol)
    return Finding(name, float(predicted), float(measured), tol, ok if tag == "(derived)" else None, tag, note)


def _bound(name, measured, bound, kind, tol=0.0, tag="(derived)", note="") -> Finding:
    """measured <= bound + tol ("le"), measured >= bound - tol ("ge") or measured < bound - tol ("lt")."""
    ok = {"le": measured <= bound + tol, "ge": measured >= bound - tol, "lt": measured < bound - tol}[kind]
    sign = {"le": "<=", "ge": ">=", "lt": "<"}[kind]
    return Finding(name, float(bound), float(measured), tol, bool(ok) if tag == "(derived)" else None, tag,
                   note or f"expect {sign} {bound:.6g}")


# ---------------------------------------------------------------------------------------------------------------
# Riemannian Hessian on products of spheres and Euclidean factors
# ---------------------------------------------------------------------------------------------------------------
def tangent_basis(x) -> np.ndarray:
    """Orthonormal basis of the tangent space x^perp of S^{d-1} at a unit x (d,): columns of a (d, d-1) array."""
    x = np.asarray(x, np.float64).reshape(1, -1)
    _, _, vt = np.linalg.svd(x)
    return vt[1:].T


def _factor_kinds(point, manifold) -> dict:
    keys = list(point) if isinstance(point, dict) else [None]
    if isinstance(manifold, str):
        return {k: manifold for k in keys}
    if set(manifold) != set(keys):
        raise ValueError(f"manifold must name every key of the point {sorted(keys)}; got {sorted(manifold)}")
    return dict(manifold)


def _kind(name: str) -> str:
    name = name.lower()
    if name in ("sphere", "oblique", "spheres"):
        return "sphere"
    if name in ("euclidean", "euclid", "r", "rn"):
        return "euclidean"
    raise ValueError(f"manifold factor must be 'sphere'/'oblique' or 'euclidean'; got {name!r}")


def _check_unit_rows(x: np.ndarray, key) -> None:
    """ValueError unless every row (last axis) of the sphere factor ``key`` is unit to 1e-8."""
    dev = float(np.max(np.abs(np.linalg.norm(x, axis=-1) - 1.0)))
    if dev > 1e-8:
        raise ValueError(f"rows of the sphere factor {key!r} must be unit (max | |x| - 1 | = {dev:.2e})")


def riemannian_hessian_eigs(f: Callable, point, manifold: Manifold = "sphere", return_basis: bool = False):
    """Eigenvalues (ascending, float64) of the Riemannian Hessian of ``f`` at ``point``.

    point: an array, or a dict of arrays (then ``f`` takes the dict).  manifold: "sphere" (alias "oblique"): every
    row along the last axis is a unit vector, the factor is a product of spheres S^{d-1}; "euclidean": no
    constraint; or a dict giving one of these per key.  For a sphere row x with Euclidean gradient g and Hessian
    ∇²f, Hess f[x][v] = P_x(∇²f v) − (x·g) v on v ⟂ x (the Weingarten term); it is expressed in an orthonormal
    tangent basis B (one (d, d−1) block per row), Hess = Bᵀ(∇²f − S)B with S = diag((x_r·g_r) I_d).  Euclidean
    factors keep ∇²f.  The Hessian is dense: keep the dimension small (a few thousand at most).

    Returns eigs (m,) where m = dimension of the manifold; with ``return_basis`` also B (D, m).  At a critical
    point every eigenvalue is meaningful; rotations of sphere configurations give zero modes.
    """
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    kinds = {k: _kind(v) for k, v in _factor_kinds(point, manifold).items()}
    with jax.enable_x64(True):
        tree = {k: jnp.asarray(v, jnp.float64) for k, v in point.items()} if isinstance(point, dict) else \
            jnp.asarray(point, jnp.float64)
        flat, unravel = ravel_pytree(tree)
        fun = lambda z: f(unravel(z))  # noqa: E731
        g = np.asarray(jax.grad(fun)(flat), np.float64)
        hess = np.asarray(jax.hessian(fun)(flat), np.float64)
    D = flat.shape[0]
    blocks, shift = [], np.zeros(D)
    offset = 0
    keys = list(point) if isinstance(point, dict) else [None]
    for k in (sorted(keys) if isinstance(point, dict) else keys):  # ravel_pytree orders dict keys sorted
        arr = np.asarray(point[k] if k is not None else point, np.float64)
        size = arr.size
        if kinds[k] == "euclidean":
            B = np.zeros((D, size))
            B[offset:offset + size] = np.eye(size)
            blocks.append(B)
        else:
            d = arr.shape[-1]
            rows = arr.reshape(-1, d)
            gr = g[offset:offset + size].reshape(-1, d)
            _check_unit_rows(rows, k)
            for r, x in enumerate(rows):
                B = np.zeros((D, d - 1))
                B[offset + r * d: offset + (r + 1) * d] = tangent_basis(x)
                blocks.append(B)
                shift[offset + r * d: offset + (r + 1) * d] = float(x @ gr[r])
        offset += size
    B = np.concatenate(blocks, axis=1) if blocks else np.zeros((D, 0))
    R = B.T @ (hess - np.diag(shift)) @ B
    eigs = np.linalg.eigvalsh(0.5 * (R + R.T))
    return (eigs, B) if return_basis else eigs


def riemannian_hessian_smallest(f: Callable, point, manifold: Manifold = "sphere", k: int = 6,
                                tol: float = 1e-10) -> np.ndarray:
    """The ``k`` smallest eigenvalues (ascending, float64) of the Riemannian Hessian of ``f`` at ``point``, without
    forming it: Lanczos (``scipy.sparse.linalg.eigsh``) on Hessian-vector products (`solvers.hessian_operator`:
    a linearization of the gradient plus the sphere's Weingarten term). Same conventions as
    `riemannian_hessian_eigs`, any dimension. The operator is P Hess P + c (I - P) on the ambient space, P the
    tangent projection and c above the spectral radius, so the normal directions stay out of the k smallest; a
    negative first eigenvalue marks a saddle, symmetries give zeros. ``tol``: eigsh's relative tolerance."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree
    from scipy.sparse.linalg import LinearOperator, eigsh

    from gnc_jax.manifolds import Euclidean, Oblique, Product
    from gnc_jax.solvers import hessian_operator

    kinds = {k_: _kind(v) for k_, v in _factor_kinds(point, manifold).items()}
    k = int(k)
    with jax.enable_x64(True):
        tree = {key: jnp.asarray(v, jnp.float64) for key, v in point.items()} if isinstance(point, dict) else \
            {None: jnp.asarray(point, jnp.float64)}
        if isinstance(point, dict):
            fun = lambda p, a: f(p)  # noqa: E731
        else:
            fun = lambda p, a: f(p[None])  # noqa: E731
        for key, arr in tree.items():
            if kinds[key] == "sphere":
                _check_unit_rows(np.asarray(arr), key)
        man = Product({key: Oblique(ndim=max(arr.ndim, 1)) if kinds[key] == "sphere" else Euclidean(ndim=arr.ndim)
                       for key, arr in tree.items()})
        tangent_dim = man.dim(tree)
        if not 1 <= k < tangent_dim:
            raise ValueError(f"k must be in [1, {tangent_dim - 1}] (the manifold's dimension is {tangent_dim}), got {k}")
        flat, unravel = ravel_pytree(tree)
        hess = hessian_operator(fun, man, tree, None)

        @jax.jit
        def shifted(v, c):
            vt = unravel(v)
            pv = man.proj(tree, vt)  # Hess of a tangent vector is tangent (`Oblique.ehess_to_rhess`)
            return ravel_pytree(hess(pv))[0] + c * (v - ravel_pytree(pv)[0])

        n = flat.shape[0]
        v0 = np.random.default_rng(0).standard_normal(n)

        def op(c):
            return LinearOperator((n, n), matvec=lambda v: np.asarray(shifted(jnp.asarray(v, jnp.float64).ravel(), c)),
                                  dtype=np.float64)

        radius = float(abs(eigsh(op(0.0), k=1, which="LM", tol=1e-3, v0=v0, return_eigenvectors=False)[0]))
        vals = eigsh(op(2.0 * radius + 1.0), k=k, which="SA", tol=tol, v0=v0, return_eigenvectors=False)
    return np.sort(np.asarray(vals, np.float64))


def riemannian_gradient_norm(f: Callable, point, manifold: Manifold = "sphere") -> float:
    """||grad f|| at ``point`` (tangent projection of the Euclidean gradient; same conventions as above)."""
    import jax
    import jax.numpy as jnp

    kinds = {k: _kind(v) for k, v in _factor_kinds(point, manifold).items()}
    with jax.enable_x64(True):
        tree = {k: jnp.asarray(v, jnp.float64) for k, v in point.items()} if isinstance(point, dict) else \
            jnp.asarray(point, jnp.float64)
        g = jax.grad(f)(tree)
    items = g.items() if isinstance(point, dict) else [(None, g)]
    total = 0.0
    for k, gk in items:
        gk = np.asarray(gk, np.float64)
        if kinds[k] == "sphere":
            x = np.asarray(point[k] if k is not None else point, np.float64)
            gk = gk - np.sum(gk * x, axis=-1, keepdims=True) * x
        total += float(np.sum(gk * gk))
    return math.sqrt(total)


# ---------------------------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------------------------
def etf_gram(K: int) -> np.ndarray:
    """(K, K) Gram of the unit simplex ETF: (K/(K-1))(I - 11^T/K)."""
    return (K / (K - 1.0)) * (np.eye(K) - np.ones((K, K)) / K)


def _unit_rows(W) -> np.ndarray:
    W = np.asarray(W, np.float64)
    n = np.linalg.norm(W, axis=-1, keepdims=True)
    return W / np.where(n > 0, n, 1.0)


def gram_gap(W, G=None) -> float:
    """max |Gram(normalized rows of W) - G| (G defaults to the simplex ETF Gram). Rotation invariant."""
    U = _unit_rows(W)
    G = etf_gram(U.shape[0]) if G is None else G
    return float(np.max(np.abs(U @ U.T - G)))


def _max_offdiag_cos(W) -> float:
    U = _unit_rows(W)
    C = U @ U.T
    np.fill_diagonal(C, -np.inf)
    return float(C.max())


def _solve(problem: str, C: int, d: int, **kw):
    """api.solve in float64 (x64 enabled for the call only)."""
    import jax
    import jax.numpy as jnp

    from gnc_jax import api

    with jax.enable_x64(True):
        return api.solve(problem, C, d, dtype=jnp.float64, **kw)


def _rho(W) -> float:
    import jax

    from gnc_jax.metrics import figures

    with jax.enable_x64(True):
        return float(figures(jax.numpy.asarray(_unit_rows(W), jax.numpy.float64)).rho)


def _optimal_features(W) -> np.ndarray:
    import jax

    from gnc_jax.metrics import optimal_features

    with jax.enable_x64(True):
        H = np.asarray(optimal_features(jax.numpy.asarray(_unit_rows(W), jax.numpy.float64)), np.float64)
    return _unit_rows(H)


# ---------------------------------------------------------------------------------------------------------------
# [NC21] regularized CE-UFM
# ---------------------------------------------------------------------------------------------------------------
def _ufm_fun(lambda_W, lambda_H, lambda_b):
    from gnc_jax.objectives.ce_ufm import ce_ufm_regularized

    hp = {"lambda_W": lambda_W, "lambda_H": lambda_H, "lambda_b": lambda_b}
    return lambda p: ce_ufm_regularized(p, hp)  # noqa: E731


def ufm_saddle_eigs(K: int, d: int, n: int, lambda_W: float, lambda_H: float, lambda_b: float = 0.0,
                    point: Optional[dict] = None) -> np.ndarray:
    """Euclidean Hessian eigenvalues of the regularized CE-UFM at ``point`` (default the origin W = 0, H = 0, b = 0).

    The origin is a critical point for balanced classes.  (derived) It is a strict saddle (a negative eigenvalue)
    when K sqrt(n lambda_W lambda_H) < 1 and the global minimizer otherwise.  Point layout as in the api:
    W (K, d), H (K, n, d), b (K,).
    """
    if point is None:
        point = {"W": np.zeros((K, d)), "H": np.zeros((K, n, d)), "b": np.zeros(K)}
    return riemannian_hessian_eigs(_ufm_fun(lambda_W, lambda_H, lambda_b), point, "euclidean")


def ufm_check(K: int, d: int, n: int, lambda_W: float, lambda_H: float, lambda_b: float, *, restarts: int = 4,
              seed: int = 0, max_steps: int = 3000, rtol: float = 1e-6, atol: float = 1e-6,
              hessian: bool = True) -> CheckReport:
    """[NC21] Solve the regularized CE-UFM from ``restarts`` random starts and compare with the closed form (SPEC §1).

    Findings: every restart's f vs f* (relative ``rtol``), row norms ||w_k||^2 vs the closed form (relative),
    ||b||, duality max ||h_ki - alpha w_k|| / ||w||, NC1, NC2, NC3 (-> 0, ``atol``), the balance
    lambda_W ||W||^2 = lambda_H ||H||^2, the smallest Hessian eigenvalue at the solution (>= -atol: a minimum up to
    rotation zero modes) and at the origin (< 0 exactly when K sqrt(n lambda_W lambda_H) < 1).  Needs d >= K - 1.
    """
    t0 = time.perf_counter()
    opt = ufm_global_optimum(K, d, n, lambda_W, lambda_H, lambda_b)
    reg = regime(K, d)
    res = _solve("ce-ufm-regularized", K, d, n=n, restarts=restarts, seed=seed, max_steps=max_steps,
                 lambda_W=lambda_W, lambda_H=lambda_H, lambda_b=lambda_b)
    W = np.asarray(res.point["W"], np.float64)
    H = np.asarray(res.point["H"], np.float64)
    b = np.asarray(res.point["b"], np.float64)
    fs = np.asarray(res.restarts["objective"], np.float64)
    worst = fs[np.argmax(np.abs(fs - opt.f_star))]
    F = [
        _finding("f (worst of %d random starts) vs closed-form f*" % restarts, opt.f_star, float(worst), rtol,
                 relative=True),
        _finding("f (best restart) vs f*", opt.f_star, res.objective, rtol, relative=True),
    ]
    w2 = np.sum(W * W, axis=1)
    if opt.zero_regime:
        F.append(_finding("||W||_F (zero regime: W* = 0)", 0.0, float(np.sqrt(np.sum(W * W))), atol))
    else:
        F.append(_finding("max_k ||w_k||^2 vs closed form", opt.w_sqnorm, float(w2[np.argmax(np.abs(w2 - opt.w_sqnorm))]),
                          rtol, relative=True))
        wn = math.sqrt(opt.w_sqnorm)
        dual = float(np.max(np.linalg.norm(H - opt.alpha * W[:, None, :], axis=-1)) / (opt.alpha * wn))
        F.append(_finding("duality max ||h_ki - alpha w_k|| / ||h*||", 0.0, dual, atol,
                          note=f"alpha = sqrt(lambda_W/(n lambda_H)) = {opt.alpha:.6g}"))
        F.append(_finding("NC1 = tr(Sigma_W Sigma_B^+)/K", 0.0, nc1(H), atol))
        F.append(_finding("NC2 (simplex ETF)", 0.0, nc2(W), atol))
        F.append(_finding("NC3 (self-duality of W and class means)", 0.0, nc3(W, H), atol))
        F.append(_finding("Gram gap of normalized W to the simplex ETF", 0.0, gram_gap(W), atol))
    F.append(_finding("||b|| (b* = 0 when lambda_b > 0)", 0.0 if lambda_b > 0 else None,
                      float(np.linalg.norm(b)), atol))
    F.append(_finding("lambda_W ||W||^2 - lambda_H ||H||^2 (critical-point balance)", 0.0,
                      float(lambda_W * np.sum(W * W) - lambda_H * np.sum(H * H)), atol))
    if hessian:
        e_min = ufm_saddle_eigs(K, d, n, lambda_W, lambda_H, lambda_b, point=res.point)
        F.append(_bound("min Hessian eigenvalue at the solution (local min)", float(e_min[0]), 0.0, "ge", tol=atol))
        e0 = ufm_saddle_eigs(K, d, n, lambda_W, lambda_H, lambda_b)
        if opt.zero_regime:
            F.append(_bound("min Hessian eigenvalue at the origin (global min here)", float(e0[0]), 0.0, "ge", atol))
        else:
            F.append(_bound("min Hessian eigenvalue at the origin (strict saddle)", float(e0[0]), 0.0, "lt",
                            tol=1e-12, note="negative: the critical point W = H = 0 is a strict saddle"))
    pred = f"simplex ETF scaled to ||w||^2 = {opt.w_sqnorm:.8g}, f* = {opt.f_star:.8g}" if not opt.zero_regime else \
        f"W* = 0, H* = 0, f* = log K = {opt.f_star:.8g}"
    return CheckReport(K, d, "ufm-" + ("zero" if opt.zero_regime else reg.name), pred, F, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------------------------
# [GNC] spherical CE-UFM, tau limits, softmax codes vs Tammes
# ---------------------------------------------------------------------------------------------------------------
def hardmax_loss(W, H) -> float:
    """L_HM(W, H) = max_k max_{j != k} <w_j - w_k, h_k>, W, H (K, d), float64."""
    W = np.asarray(W, np.float64)
    H = np.asarray(H, np.float64)
    S = H @ W.T - np.sum(H * W, axis=1)[:, None]
    np.fill_diagonal(S, -np.inf)
    return float(S.max())


def tau_log_ce(W, H, tau: float) -> float:
    """tau · log L(W, H; tau), L = (1/K) sum_k CE(W h_k / tau, k) with one feature per class (W, H (K, d)).

    Evaluated in log space (no underflow for tiny tau): log CE_k = log softplus(lse_{j != k} (z_kj - z_kk)/tau).
    Tends to L_HM(W, H) as tau -> 0 (SPEC §2); |tau log L - L_HM| <= tau log((K-1)K) roughly.
    """
    W = np.asarray(W, np.float64)
    H = np.asarray(H, np.float64)
    K = W.shape[0]
    S = (H @ W.T - np.sum(H * W, axis=1)[:, None]) / tau
    np.fill_diagonal(S, -np.inf)
    m = S.max(axis=1)
    lse = m + np.log(np.sum(np.exp(S - m[:, None]), axis=1))
    lo, hi = np.minimum(lse, 30.0), np.maximum(lse, 30.0)
    softplus = np.where(lse > 30.0, hi + np.log1p(np.exp(-hi)), np.log1p(np.exp(lo)))
    log_ce = np.where(lse < -30.0, lse, np.log(np.maximum(softplus, 1e-300)))
    mm = log_ce.max()
    return float(tau * (mm + np.log(np.sum(np.exp(log_ce - mm))) - math.log(K)))


def tau_sweep(K: int, d: int, taus: Sequence[float] = (1.0, 0.5, 0.2, 0.1, 0.05, 0.03, 0.02), *, restarts: int = 4,
              seed: int = 0, max_steps: int = 2000) -> list:
    """rho(W_tau) of the collapsed spherical CE-UFM optimum along a warm-started tau-continuation (float64).

    The first tau uses ``restarts`` random starts; each later tau starts from the previous optimum (the SPEC's
    advice: cold starts at tau <= 0.05 stall).  ``gtol = 0`` so the solver runs to its line-search floor: at small
    tau the gradient is ~exp(-rho/tau) and any absolute tolerance would stop it at once.
    Returns a list of dicts {tau, rho, max_cos, objective, steps, W}.
    """
    out, init = [], None
    for i, tau in enumerate(taus):
        r = _solve("ce-ufm-collapsed", K, d, tau=float(tau), restarts=restarts if init is None else 1, seed=seed,
                   max_steps=max_steps, stages=1, gtol=0.0, init=init)
        init = {"W": np.asarray(r.point["W"], np.float64)}
        out.append({"tau": float(tau), "rho": r.min_margin, "max_cos": r.max_cos, "objective": r.objective,
                    "steps": r.steps, "W": _unit_rows(r.W)})
    return out


def solve_softmax_code(K: int, d: int, *, restarts: int = 8, seed: int = 0, refine: bool = True):
    """Best softmax code (W, H) from ``api.solve("softmax-code", refine=refine)`` (float64 max-min
    refinement when ``refine``). Returns (W (K, d), H (K, d), rho(W))."""
    r = _solve("softmax-code", K, d, restarts=restarts, seed=seed, refine=refine)
    W = _unit_rows(np.asarray(r.point["W"], np.float64))
    return W, _unit_rows(np.asarray(r.point["H"], np.float64)), _rho(W)


def solve_tammes(K: int, d: int, *, restarts: int = 8, seed: int = 0, refine: bool = True):
    """Best Tammes code W (K, d) from ``api.solve("tammes", refine=refine)``. Returns (W, max_cos)."""
    r = _solve("tammes", K, d, restarts=restarts, seed=seed, refine=refine)
    W = _unit_rows(np.asarray(r.point["W"], np.float64))
    return W, _max_offdiag_cos(W)


def softmax_tammes_check(K: int, d: int, *, restarts: int = 8, seed: int = 0, refine: bool = True,
                         tol: float = 1e-6) -> CheckReport:
    """[GNC] Softmax code vs Tammes at (K, d).

    Findings: rho(W_soft) vs the closed form rho*(d, K) where known (derived); the sandwich
    delta_T^2/2 <= rho* <= delta_T with the Tammes code (derived: reported as a bound check on the numerics);
    the gap rho(W_soft) - delta_T^2/2 (0 when softmax code = Tammes); self-duality of the softmax code,
    rho(W) - (1 - max cos W) (0 iff the optimal features are W itself); rattler count; the (unconfirmed) Gamma
    bounds.  Numbers come from local searches: a disagreement outside the closed-form regimes means the search did
    not reach the optimum or a real difference -- the report says which comparisons are asserted.
    """
    t0 = time.perf_counter()
    reg = regime(K, d)
    Ws, Hs, rho_s = solve_softmax_code(K, d, restarts=restarts, seed=seed, refine=refine)
    Wt, mc_t = solve_tammes(K, d, restarts=restarts, seed=seed, refine=refine)
    lower = 1.0 - mc_t
    delta_T = math.sqrt(max(2.0 - 2.0 * mc_t, 0.0))
    rs = softmax_code_rho_star(d, K)
    F = [_finding("rho(W_softmax) vs closed-form rho*", rs, rho_s, tol)]
    if rs is not None:
        F.append(_finding("Tammes delta_T^2/2 vs closed-form rho* (self-dual optimum)", rs, lower, tol))
    F.append(_bound("rho(W_softmax) >= delta_T^2/2 (found Tammes code)", rho_s, lower, "ge", tol,
                    note="fails only if the softmax search is worse than the Tammes one"))
    F.append(_bound("rho(W_softmax) <= delta_T (Tammes distance)", rho_s, delta_T, "le", tol,
                    note="holds for every W when delta_T is the optimum"))
    sd = rho_s - (1.0 - _max_offdiag_cos(Ws))
    F.append(_finding("self-duality rho(W) - (1 - max cos W) of the softmax code", 0.0, sd, tol,
                      tag="(derived)" if reg.name in ("simplex", "polygon") else "(unconfirmed)",
                      note="proven for d = 2 and K <= d+1; conjectured in general"))
    F.append(_finding("softmax - Tammes gap rho(W_soft) - delta_T^2/2", 0.0, rho_s - lower, tol,
                      tag="(derived)" if rs is not None else "(unconfirmed)",
                      note="no (d, K) with a positive gap is known"))
    F.append(Finding("rattlers of the softmax code", None, float(np.sum(rattlers(Ws, tol=1e-7))), None, None,
                     "(unconfirmed)", "classes whose one-vs-rest distance is not binding"))
    if d >= 2 and reg.name == "open":
        lo, up = reg.bounds
        ok = lo - tol <= rho_s <= up + tol
        F.append(Finding("Gamma-function bounds [lo, up] on rho*", lo, rho_s, tol, None, "(unconfirmed)",
                         f"interval [{lo:.4g}, {up:.4g}]: {'inside' if ok else 'outside'}"))
    return CheckReport(K, d, reg.name, reg.prediction, F, time.perf_counter() - t0)


def spherical_ce_check(K: int, d: int, tau: float = 1.0, n: int = 2, *, restarts: int = 4, seed: int = 0,
                       max_steps: int = 2000, tol: float = 1e-6, hessian: bool = True) -> CheckReport:
    """[GNC] Spherical CE-UFM at temperature tau with n features per class.

    Findings: GNC1 (within-class collapse), GNC3 (self-duality), rho(W) vs rho* where the CE optimum is the softmax
    code at every tau (K <= d+1, d = 2; derived), and the Riemannian Hessian of the collapsed problem at its solved
    optimum: smallest eigenvalue >= -tol (a local minimum), with the number of near-zero modes reported
    (rotations give d(d-1)/2 when the code spans R^d).
    """
    t0 = time.perf_counter()
    reg = regime(K, d)
    r = _solve("ce-ufm", K, d, tau=tau, n=n, restarts=restarts, seed=seed, max_steps=max_steps)
    W, H = np.asarray(r.point["W"], np.float64), np.asarray(r.point["H"], np.float64)
    exact = reg.name in ("simplex", "polygon")
    F = [
        _finding("GNC1 (within-class collapse)", 0.0, gnc1(H), tol),
        _finding("GNC3 (self-duality)", 0.0 if exact else None, gnc3(W, H), tol,
                 note="" if exact else "K > d+1: self-duality at finite tau is not asserted"),
        _finding("rho(W_tau) vs rho* (CE optimum = softmax code at every tau)", reg.rho_star if exact else None,
                 _rho(W), tol, note="" if exact else f"rho* = {reg.rho_star}; the finite-tau optimum differs"),
    ]
    if exact:
        F.append(_finding("Gram gap of W to the predicted code", 0.0, _polygon_or_etf_gap(W, reg.name), tol))
    if hessian:
        from gnc_jax.objectives.ce_ufm import ce_ufm_collapsed

        rc = _solve("ce-ufm-collapsed", K, d, tau=tau, restarts=restarts, seed=seed, max_steps=max_steps)
        Wc = _unit_rows(rc.point["W"])
        fun = lambda w: ce_ufm_collapsed({"W": w}, {"tau": tau})  # noqa: E731
        eigs = riemannian_hessian_eigs(fun, Wc, "sphere")
        scale = max(1.0, float(np.max(np.abs(eigs))))
        zero = int(np.sum(np.abs(eigs) <= 1e-6 * scale))
        F.append(_bound("min Riemannian Hessian eigenvalue (collapsed CE optimum)", float(eigs[0]), 0.0, "ge",
                        tol=1e-6 * scale, note=f"{zero} zero modes; rotations give {d * (d - 1) // 2} if W spans R^d"))
    return CheckReport(K, d, reg.name, reg.prediction, F, time.perf_counter() - t0)


def _polygon_or_etf_gap(W, name: str) -> float:
    K = W.shape[0]
    if name == "simplex":
        return gram_gap(W)
    # regular polygon: sorted Gram rows are invariant under rotations, reflections and relabelling
    U = _unit_rows(W)
    G = np.sort(U @ U.T, axis=1)
    ang = 2.0 * math.pi * np.arange(K) / K
    G0 = np.sort(np.cos(ang))
    return float(np.max(np.abs(G - G0[None, :])))


# ---------------------------------------------------------------------------------------------------------------
# [HUG] uniformity measures and SPEC §5 consistency
# ---------------------------------------------------------------------------------------------------------------
def uniformity_check(K: int, d: int, *, n: int = 2, restarts: int = 4, seed: int = 0, max_steps: int = 2000,
                     tol: float = 1e-6) -> CheckReport:
    """[HUG] MHE (Riesz s = 1, 2 and log energy), MGD and proxy HUG optima vs closed forms.

    For K <= d + 1 every optimum is the simplex ETF (derived): the optimal values are compared with
    ``simplex_riesz_energy``, ``simplex_log_energy``, ``simplex_mgd_logdet`` (the solver's MGD adds 1e-6 I, so
    the value tolerance there is 1e-5) and the HUG optimum with beta·0 + alpha·(K-1)/(2K); the Gram gaps to the ETF
    are reported too.  Elsewhere only the HUG inter term is compared, where ``hug_inter_optimum`` knows it.
    """
    t0 = time.perf_counter()
    reg = regime(K, d)
    simplex = K <= d + 1
    F = []
    for s in (0.0, 1.0, 2.0):
        r = _solve("riesz", K, d, s=s, restarts=restarts, seed=seed, max_steps=max_steps)
        pred = (simplex_log_energy(K) if s == 0 else simplex_riesz_energy(K, s)) if simplex else None
        F.append(_finding(f"MHE Riesz s={s:g} energy", pred, r.objective, tol, relative=True))
        if simplex:
            F.append(_finding(f"MHE s={s:g}: Gram gap to the simplex", 0.0, gram_gap(r.W), 1e-5))
    r = _solve("mgd", K, d, restarts=restarts, seed=seed, max_steps=max_steps)
    F.append(_finding("MGD log det (solver adds 1e-6 I)", simplex_mgd_logdet(K) if simplex else None, -r.objective,
                      1e-5))
    if simplex:
        F.append(_finding("MGD: Gram gap to the simplex", 0.0, gram_gap(r.W), 1e-4))
    r = _solve("hug", K, d, n=n, restarts=restarts, seed=seed, max_steps=max_steps)
    inter = hug_inter_optimum(d, K)
    F.append(_finding("HUG objective (features on proxies + inter term)", inter, r.objective, tol, relative=True))
    X = np.asarray(r.point["X"], np.float64)
    F.append(_finding("HUG feature-proxy distance max ||x_ki - w_k||", 0.0,
                      float(np.max(np.linalg.norm(X - r.W[:, None, :], axis=-1))), 1e-4))
    if simplex:
        F.append(_finding("HUG proxies: Gram gap to the simplex", 0.0, gram_gap(r.W), 1e-5))
    return CheckReport(K, d, reg.name, reg.prediction, F, time.perf_counter() - t0)


def consistency_check(K: int, d: int, *, tau: float = 1.0, n: int = 2, restarts: int = 4, seed: int = 0,
                      lambdas=(5e-3, 1e-2, 1e-2), tol: float = 1e-5, refine: bool = False) -> CheckReport:
    """SPEC §5: for K <= d + 1 every model returns the normalized Gram (K/(K-1))(I - 11^T/K).

    Models: regularized UFM (normalized W), spherical CE-UFM at ``tau``, softmax code (HardMax), Tammes, MHE (Riesz
    s = 1), MGD, HUG proxies.  One finding per model: max |Gram - ETF Gram|.
    """
    t0 = time.perf_counter()
    reg = regime(K, d)
    if K > d + 1:
        raise ValueError(f"the cross-paper consistency statement needs K <= d + 1; got K = {K}, d = {d}")
    lW, lH, lb = lambdas
    Ws = {
        "regularized UFM (normalized)": _solve("ce-ufm-regularized", K, d, n=n, restarts=restarts, seed=seed,
                                               lambda_W=lW, lambda_H=lH, lambda_b=lb).W,
        f"spherical CE-UFM tau={tau:g}": _solve("ce-ufm", K, d, tau=tau, n=n, restarts=restarts, seed=seed).W,
        "softmax code": solve_softmax_code(K, d, restarts=restarts, seed=seed, refine=refine)[0],
        "Tammes": solve_tammes(K, d, restarts=restarts, seed=seed, refine=refine)[0],
        "MHE (Riesz s=1)": _solve("riesz", K, d, s=1.0, restarts=restarts, seed=seed).W,
        "MGD": _solve("mgd", K, d, restarts=restarts, seed=seed).W,
        "HUG proxies": _solve("hug", K, d, n=n, restarts=restarts, seed=seed).W,
    }
    F = [_finding(f"{name}: Gram gap to the simplex ETF", 0.0, gram_gap(W), tol) for name, W in Ws.items()]
    return CheckReport(K, d, reg.name, "all models return the simplex ETF Gram", F, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------------------------
# everything that applies
# ---------------------------------------------------------------------------------------------------------------
def check(K: int, d: int, *, tau: float = 1.0, n: int = 2, lambdas=(5e-3, 1e-2, 1e-2), restarts: int = 4,
          seed: int = 0, parts: Optional[Sequence[str]] = None) -> CheckReport:
    """Run every checker that applies to (K, d) and merge the findings into one report.

    parts: subset of ("ufm", "ce", "softmax", "uniformity"); default all that apply ("ufm" needs d >= K - 1).
    """
    t0 = time.perf_counter()
    reg = regime(K, d)
    parts = list(parts) if parts is not None else ["ufm", "ce", "softmax", "uniformity"]
    unknown = set(parts) - {"ufm", "ce", "softmax", "uniformity"}
    if unknown:
        raise ValueError(f"parts: unknown {sorted(unknown)}; choose from ufm, ce, softmax, uniformity")
    F = []
    if "ufm" in parts and d >= K - 1:
        F += [dataclasses.replace(f, name="[NC21] " + f.name) for f in
              ufm_check(K, d, n, *lambdas, restarts=restarts, seed=seed).findings]
    if "ce" in parts:
        F += [dataclasses.replace(f, name="[GNC] " + f.name) for f in
              spherical_ce_check(K, d, tau, n, restarts=restarts, seed=seed).findings]
    if "softmax" in parts:
        F += [dataclasses.replace(f, name="[GNC] " + f.name) for f in
              softmax_tammes_check(K, d, restarts=restarts, seed=seed).findings]
    if "uniformity" in parts:
        F += [dataclasses.replace(f, name="[HUG] " + f.name) for f in
              uniformity_check(K, d, n=n, restarts=restarts, seed=seed).findings]
    return CheckReport(K, d, reg.name, reg.prediction, F, time.perf_counter() - t0)
