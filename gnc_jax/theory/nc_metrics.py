"""Neural-collapse metrics with the official codes' conventions (numpy float64; rho via gnc_jax.metrics).

Features are given either as ``H`` of shape (N, d) with integer labels ``y`` (N,), or as ``H`` of shape (K, n, d)
(n samples per class, labels implicit).  Classifiers ``W`` have shape (K, d) (rows w_k), bias ``b`` (K,).

[NC21] (tding1/Neural-Collapse, validate_NC.py / plot.py) — SPEC §1:
  Sigma_W = (1/N) sum_{k,i} (h_ki - hbar_k)(h_ki - hbar_k)^T,  Sigma_B = (1/K) sum_k (hbar_k - h_G)(hbar_k - h_G)^T,
  NC1 = tr(Sigma_W Sigma_B^+) / K   (pseudo-inverse with scipy.linalg.pinv's default cut-off max(d,d)*eps),
  NC2 = || W W^T / ||W W^T||_F - (I - 11^T/K)/sqrt(K-1) ||_F,
  NC3 = || W Hbar / ||W Hbar||_F - (I - 11^T/K)/sqrt(K-1) ||_F,  Hbar = [hbar_k - h_G] (d, K),
  NC4 (their plotted residual) = || W h_G + b ||.
[GNC] (kongwanbianjinyu/Neural-Collapse-For-Large-Number-of-Classes, GNC1/2/3.py) — SPEC §2:
  GNC1 = NC1 on L2-normalized features,
  GNC2 = rho(W_hat) (exact one-vs-rest distance; the official script runs a subgradient ascent for H instead,
         which gives a lower bound that can be negative),
  GNC3 = mean_k (1 - <w_hat_k, normalize(hbar_k - h_G)>) with the means of the L2-normalized features.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = [
    "class_statistics",
    "nc1",
    "nc2",
    "nc3",
    "nc4",
    "gnc1",
    "gnc2",
    "gnc3",
    "rattlers",
    "neural_collapse_metrics",
]


def _features(H, y=None, num_classes: Optional[int] = None):
    """-> (H (N, d) float64, y (N,) int, K)."""
    H = np.asarray(H, dtype=np.float64)
    if y is None:
        if H.ndim != 3:
            raise ValueError(f"H must have shape (K, n, d) when y is None; got shape {H.shape}")
        K, n, d = H.shape
        if K < 2 or n < 1:
            raise ValueError(f"H must have K >= 2 classes and n >= 1 samples; got shape {H.shape}")
        return H.reshape(K * n, d), np.repeat(np.arange(K), n), K
    if H.ndim != 2:
        raise ValueError(f"H must have shape (N, d) when labels y are given; got shape {H.shape}")
    y = np.asarray(y)
    if y.shape != (H.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be an integer array of shape (N,) = ({H.shape[0]},); got {y.shape}, {y.dtype}")
    K = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if K < 2:
        raise ValueError(f"need at least 2 classes; got K = {K}")
    if y.min() < 0 or y.max() >= K:
        raise ValueError(f"y must hold labels in [0, {K}); got range [{y.min()}, {y.max()}]")
    counts = np.bincount(y, minlength=K)
    if np.any(counts == 0):
        raise ValueError(f"every class needs at least one sample; empty classes: {np.flatnonzero(counts == 0)[:10]}")
    return H, y, K


def _normalize(X, axis=-1):
    n = np.linalg.norm(X, axis=axis, keepdims=True)
    return X / np.where(n > 0, n, 1.0)


def class_statistics(H, y=None, num_classes: Optional[int] = None, normalize: bool = False):
    """Class means, global mean and scatter matrices.

    Returns ``(M (K, d) class means, h_G (d,) global mean over all samples, Sigma_W (d, d), Sigma_B (d, d))`` with
    the official normalizations (Sigma_W divided by N, Sigma_B by K).  ``normalize=True`` first L2-normalizes each
    feature (the GNC convention).
    """
    H, y, K = _features(H, y, num_classes)
    if normalize:
        H = _normalize(H)
    N, d = H.shape
    counts = np.bincount(y, minlength=K).astype(np.float64)
    M = np.zeros((K, d))
    np.add.at(M, y, H)
    M /= counts[:, None]
    hG = H.mean(axis=0)
    D = H - M[y]
    Sw = D.T @ D / N
    C = M - hG
    Sb = C.T @ C / K
    return M, hG, Sw, Sb


def _nc1_from(Sw, Sb, K):
    d = Sb.shape[0]
    Sb_pinv = np.linalg.pinv(Sb, rtol=max(d, d) * np.finfo(np.float64).eps)
    return float(np.trace(Sw @ Sb_pinv) / K)


def nc1(H, y=None, num_classes: Optional[int] = None) -> float:
    """NC1 = tr(Sigma_W Sigma_B^+)/K (within-class variability collapse) [NC21]."""
    M, hG, Sw, Sb = class_statistics(H, y, num_classes)
    return _nc1_from(Sw, Sb, M.shape[0])


def _etf_target(K):
    return (np.eye(K) - np.ones((K, K)) / K) / np.sqrt(K - 1)


def _check_W(W, K=None):
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] < 2:
        raise ValueError(f"W must have shape (K, d) with K >= 2; got {W.shape}")
    if K is not None and W.shape[0] != K:
        raise ValueError(f"W must have K = {K} rows (one per class); got {W.shape[0]}")
    return W


def nc2(W) -> float:
    """NC2 = || W W^T/||W W^T||_F - (I - 11^T/K)/sqrt(K-1) ||_F (classifier -> simplex ETF) [NC21]."""
    W = _check_W(W)
    G = W @ W.T
    return float(np.linalg.norm(G / np.linalg.norm(G) - _etf_target(W.shape[0])))


def nc3(W, H, y=None, num_classes: Optional[int] = None) -> float:
    """NC3 = || W Hbar/||W Hbar||_F - (I - 11^T/K)/sqrt(K-1) ||_F, Hbar = [hbar_k - h_G] (self-duality) [NC21]."""
    M, hG, _, _ = class_statistics(H, y, num_classes)
    W = _check_W(W, M.shape[0])
    WH = W @ (M - hG).T
    return float(np.linalg.norm(WH / np.linalg.norm(WH) - _etf_target(M.shape[0])))


def nc4(W, b, H, y=None, num_classes: Optional[int] = None) -> float:
    """The plotted "NC4" of [NC21]: || W h_G + b || (bias absorbs the global mean)."""
    M, hG, _, _ = class_statistics(H, y, num_classes)
    W = _check_W(W, M.shape[0])
    b = np.asarray(b, dtype=np.float64)
    if b.shape != (W.shape[0],):
        raise ValueError(f"b must have shape (K,) = ({W.shape[0]},); got {b.shape}")
    return float(np.linalg.norm(W @ hG + b))


def gnc1(H, y=None, num_classes: Optional[int] = None) -> float:
    """GNC1 = NC1 of the L2-normalized features [GNC]."""
    M, hG, Sw, Sb = class_statistics(H, y, num_classes, normalize=True)
    return _nc1_from(Sw, Sb, M.shape[0])


def gnc2(W, mask=None) -> float:
    """GNC2 = rho(W_hat): min one-vs-rest distance of the normalized classifiers (exact, float64) [GNC]."""
    from gnc_jax.metrics import figures

    W = _normalize(_check_W(W))
    return float(figures(W, mask).rho)


def gnc3(W, H, y=None, num_classes: Optional[int] = None) -> float:
    """GNC3 = mean_k (1 - <w_hat_k, normalize(hbar_k - h_G)>) with normalized features (self-duality) [GNC]."""
    M, hG, _, _ = class_statistics(H, y, num_classes, normalize=True)
    W = _check_W(W, M.shape[0])
    C = _normalize(M - hG)
    return float(np.mean(1.0 - np.sum(_normalize(W) * C, axis=1)))


def rattlers(W, tol: float = 1e-9, mask=None) -> np.ndarray:
    """Classes whose one-vs-rest distance is not binding: ``dist_k(W) > rho(W) + tol``. (K, d) -> bool (K,).

    [GNC] (wording unconfirmed): within-class collapse is guaranteed only for non-rattlers.  Computed in float64
    (inside ``jax.enable_x64``).  Padded rows (mask False) are reported False.
    """
    import jax
    import jax.numpy as jnp

    from gnc_jax.metrics import one_vs_rest_distance

    W = _check_W(W)
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0; got {tol!r}")
    m = np.ones(W.shape[0], bool) if mask is None else np.asarray(mask).astype(bool)
    if m.shape != (W.shape[0],):
        raise ValueError(f"mask must have shape (K,) = ({W.shape[0]},); got {m.shape}")
    with jax.enable_x64(True):
        dist = np.asarray(one_vs_rest_distance(jnp.asarray(W), jnp.asarray(m)), dtype=np.float64)
    r = np.min(dist[m])
    return (dist > r + tol) & m


def neural_collapse_metrics(H, y=None, W=None, b=None, num_classes: Optional[int] = None) -> dict:
    """All metrics at once: NC1, GNC1, and (with W) NC2, NC3, GNC2, GNC3, and (with W and b) NC4."""
    out = {"NC1": nc1(H, y, num_classes), "GNC1": gnc1(H, y, num_classes)}
    if W is not None:
        out.update(NC2=nc2(W), NC3=nc3(W, H, y, num_classes), GNC2=gnc2(W), GNC3=gnc3(W, H, y, num_classes))
        if b is not None:
            out["NC4"] = nc4(W, b, H, y, num_classes)
    return out
