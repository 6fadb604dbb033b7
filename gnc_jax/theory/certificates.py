"""Margin certificates: explicit unit ``W`` and ``H`` with ``min_k min_{j != k} <w_k - w_j, h_k> >= value``.

A certificate proves ``rho*(d, K) >= value`` (SPEC §2): for unit rows, ``min_{j!=k} <w_k - w_j, h_k> <= m_k(W) =
dist_k(W)`` for every unit h_k, so ``value <= rho(W) <= rho*(d, K)``.  Anyone can re-verify a certificate with
:func:`recheck`, which uses numpy only (no JAX, no solver): it renormalizes nothing, checks that the rows are unit
to a stated tolerance and recomputes the margin in float64.

Save / load as ``.npz`` with :func:`save_certificate` / :func:`load_certificate` (or the methods of
:class:`MarginCertificate`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

__all__ = ["MarginCertificate", "certify_margin", "margin_value", "recheck", "save_certificate", "load_certificate"]


def _normalize_rows(X: np.ndarray, name: str) -> np.ndarray:
    n = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(~np.isfinite(X)):
        raise ValueError(f"{name} has non-finite entries")
    if np.any(n == 0):
        raise ValueError(f"{name} has a zero row; cannot normalize")
    return X / n


def margin_value(W: np.ndarray, H: np.ndarray) -> float:
    """``min_k min_{j != k} <w_k - w_j, h_k>`` in numpy float64 (no normalization). W, H: (K, d) -> float.

    Computed as ``min_k (<h_k, w_k> - max_{j != k} <h_k, w_j>)``.
    """
    W = np.asarray(W, dtype=np.float64)
    H = np.asarray(H, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] < 2:
        raise ValueError(f"W must have shape (K, d) with K >= 2; got {W.shape}")
    if H.shape != W.shape:
        raise ValueError(f"H must have the shape of W {W.shape}; got {H.shape}")
    S = H @ W.T  # S[k, j] = <h_k, w_j>
    K = W.shape[0]
    diag = np.diagonal(S).copy()
    S[np.arange(K), np.arange(K)] = -np.inf
    return float(np.min(diag - S.max(axis=1)))


@dataclass
class MarginCertificate:
    """Explicit unit classifiers ``W`` (K, d) and features ``H`` (K, d) with margin ``value`` (float64).

    ``value = min_k min_{j != k} <w_k - w_j, h_k>`` (recomputed in numpy float64 from the stored arrays), a lower
    bound on rho(W) and hence on rho*(d, K).  ``meta`` holds free-form strings (source, solver, date, ...).
    """

    W: np.ndarray
    H: np.ndarray
    value: float
    meta: dict = field(default_factory=dict)

    @property
    def K(self) -> int:
        return int(self.W.shape[0])

    @property
    def d(self) -> int:
        return int(self.W.shape[1])

    def recheck(self, unit_tol: float = 1e-12) -> float:
        return recheck(self, unit_tol=unit_tol)

    def save(self, path) -> str:
        return save_certificate(self, path)


def certify_margin(W, H=None, meta: Optional[dict] = None) -> MarginCertificate:
    """Build a margin certificate from ``W`` (K, d) and optional features ``H`` (K, d).

    Rows of W (and of H, when given) are normalized in numpy float64.  ``H`` defaults to
    :func:`gnc_jax.metrics.optimal_features` of the normalized W, computed in float64 (inside
    ``jax.enable_x64``) and then renormalized; with that choice ``value`` equals ``rho(W)`` to ~1e-14.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] < 2 or W.shape[1] < 1:
        raise ValueError(f"W must have shape (K, d) with K >= 2; got {W.shape}")
    W = _normalize_rows(W, "W")
    if H is None:
        import jax

        from gnc_jax.metrics import optimal_features

        with jax.enable_x64(True):
            H = np.asarray(optimal_features(jax.numpy.asarray(W, dtype=jax.numpy.float64)), dtype=np.float64)
    else:
        H = np.asarray(H, dtype=np.float64)
        if H.shape != W.shape:
            raise ValueError(f"H must have the shape of W {W.shape}; got {H.shape}")
    H = _normalize_rows(H, "H")
    return MarginCertificate(W=W, H=H, value=margin_value(W, H), meta=dict(meta or {}))


def recheck(cert: MarginCertificate, unit_tol: float = 1e-12) -> float:
    """Re-verify a certificate with numpy only.  Returns the recomputed margin (float64).

    Raises ``ValueError`` if a row of W or H is not unit to ``unit_tol``, if shapes disagree, or if the recomputed
    margin is below the stated ``cert.value`` by more than ``1e-12`` (rounding of the float64 dot products).
    """
    W = np.asarray(cert.W, dtype=np.float64)
    H = np.asarray(cert.H, dtype=np.float64)
    if W.ndim != 2 or H.shape != W.shape:
        raise ValueError(f"cert.W and cert.H must have the same shape (K, d); got {W.shape}, {H.shape}")
    for name, X in (("W", W), ("H", H)):
        err = np.max(np.abs(np.linalg.norm(X, axis=1) - 1.0))
        if not err <= unit_tol:
            raise ValueError(f"cert.{name} rows are not unit: max | ||row|| - 1 | = {err:.3e} > {unit_tol:.1e}")
    v = margin_value(W, H)
    if v < float(cert.value) - 1e-12:
        raise ValueError(f"certificate fails: recomputed margin {v!r} < stated value {cert.value!r}")
    return v


def save_certificate(cert: MarginCertificate, path) -> str:
    """Write ``W``, ``H``, ``value`` and ``meta`` (as string arrays) to ``path`` (.npz). Returns the path."""
    path = os.fspath(path)
    keys = np.array(sorted(cert.meta), dtype=str)
    vals = np.array([str(cert.meta[k]) for k in sorted(cert.meta)], dtype=str)
    np.savez(path, W=cert.W, H=cert.H, value=np.float64(cert.value), meta_keys=keys, meta_values=vals)
    return path if path.endswith(".npz") else path + ".npz"


def load_certificate(path) -> MarginCertificate:
    """Read a certificate written by :func:`save_certificate` (no pickles)."""
    with np.load(os.fspath(path), allow_pickle=False) as z:
        meta = {str(k): str(v) for k, v in zip(z["meta_keys"], z["meta_values"])}
        return MarginCertificate(W=z["W"].copy(), H=z["H"].copy(), value=float(z["value"]), meta=meta)
