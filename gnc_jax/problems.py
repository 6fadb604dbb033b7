"""Problem registry: what each named problem optimizes, on which manifold, and how it is scored.

A ``ProblemDef`` is static metadata (hashable). ``hparams`` is a dict of per-problem arrays
(masks, temperatures, weights) that a batch of problems stacks along a leading axis.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import jax.numpy as jnp

from . import objectives as obj
from .manifolds import Euclidean, Oblique, Product


@dataclasses.dataclass(frozen=True)
class ProblemDef:
    """Static description of a named problem.

    Attributes:
      name: registry name.
      objective: ``f(point, hp) -> scalar`` minimized by the solver (the smooth surrogate for
        max-min problems, solved at a decreasing temperature schedule).
      factors: point keys and their kind: "sphere" (K, d), "sphere_n" (K, n, d), "euclid" (K, d),
        "euclid_n" (K, n, d), "vector" (K,).
      uses_tau: the user's ``tau`` is a model temperature (CE) or a surrogate temperature (max-min).
      default_tau: tau when the user gives none (None: tau is required).
      surrogate: the objective is a smooth surrogate of a max-min problem (tau is its final temperature).
      score: how restarts are ranked: "max_cos" (min), "rho" (max) or "objective" (min).
      hparams: extra hyperparameters and their defaults.
      uses_n: n (samples per class) enters the point shape.
      default_solver: solver name when the user gives none.
      vanishing: the objective tends to 0 at its optimum (spherical CE: ~exp(-margin / tau)), so the default
        stop test scales gtol by min(1, |f|) (``Solver.gtol_scaled``).
    """

    name: str
    objective: Callable
    factors: tuple[tuple[str, str], ...]
    uses_tau: bool
    default_tau: float | None
    surrogate: bool
    score: str
    hparams: tuple[tuple[str, float], ...] = ()
    uses_n: bool = False
    default_solver: str = "lbfgs"
    vanishing: bool = False
    doc: str = ""

    def manifold(self, class_mask, dim_mask, sample_mask):
        """Product manifold with the masks of one problem (or of a batch: leading axes)."""
        cm, dm, sm = class_mask, dim_mask, sample_mask
        cn = cm[..., :, None] * sm[..., None, :]  # (K, n) rows of sphere_n factors
        factors = {}
        for key, kind in self.factors:
            if kind == "sphere":
                factors[key] = Oblique(cm, dm, ndim=2)
            elif kind == "sphere_n":
                factors[key] = Oblique(cn, dm, ndim=3)
            elif kind == "euclid":
                factors[key] = Euclidean(cm[..., :, None] * dm[..., None, :], ndim=2)
            elif kind == "euclid_n":
                factors[key] = Euclidean(cn[..., None] * dm[..., None, None, :], ndim=3)
            elif kind == "vector":
                factors[key] = Euclidean(cm, ndim=1)
        return Product(factors)

    def shapes(self, C: int, d: int, n: int) -> dict:
        table = {"sphere": (C, d), "sphere_n": (C, n, d), "euclid": (C, d), "euclid_n": (C, n, d), "vector": (C,)}
        return {key: table[kind] for key, kind in self.factors}

    @property
    def spherical_classifier(self) -> bool:
        return dict(self.factors)["W"] == "sphere"


REGISTRY: dict[str, ProblemDef] = {}


def _register(p: ProblemDef) -> ProblemDef:
    REGISTRY[p.name] = p
    return p


_register(ProblemDef(
    "tammes", obj.tammes_smooth, (("W", "sphere"),), uses_tau=True, default_tau=1e-4, surrogate=True,
    score="max_cos", doc="Tammes: maximize the minimum angle of C points on S^{d-1}."))
_register(ProblemDef(
    "softmax-code", obj.hardmax_smooth, (("W", "sphere"), ("H", "sphere")), uses_tau=True, default_tau=1e-4,
    surrogate=True, score="rho",
    doc="Softmax code: maximize the min one-vs-rest margin (HardMax over W, H on OB(d,C) x OB(d,C))."))
_register(ProblemDef(
    "ce-ufm", obj.ce_ufm, (("W", "sphere"), ("H", "sphere_n")), uses_tau=True, default_tau=None, surrogate=False,
    score="objective", uses_n=True, vanishing=True,
    doc="Spherical CE-UFM: unit classifiers and n unit features per class."))
_register(ProblemDef(
    "ce-ufm-collapsed", obj.ce_ufm_collapsed, (("W", "sphere"),), uses_tau=True, default_tau=None, surrogate=False,
    score="objective", vanishing=True, doc="Collapsed spherical CE-UFM (H = W, n = 1)."))
_register(ProblemDef(
    "ce-ufm-regularized", obj.ce_ufm_regularized, (("W", "euclid"), ("H", "euclid_n"), ("b", "vector")),
    uses_tau=False, default_tau=None, surrogate=False, score="objective", uses_n=True,
    hparams=(("lambda_W", 5e-4), ("lambda_H", 5e-4), ("lambda_b", 5e-4)),
    doc="Regularized CE-UFM [NC21]: weight decay, no sphere."))
_register(ProblemDef(
    "riesz", obj.riesz_energy, (("W", "sphere"),), uses_tau=False, default_tau=None, surrogate=False,
    score="objective", hparams=(("s", 1.0),),
    doc="Riesz s-energy (s=1 in d=3: Thomson; s=0: log energy; MHE)."))
_register(ProblemDef(
    "mgd", obj.mgd_neg_logdet, (("W", "sphere"),), uses_tau=False, default_tau=None, surrogate=False,
    score="objective", doc="MGD: maximize log det of the Gaussian Gram matrix."))
_register(ProblemDef(
    "hug", obj.hug, (("W", "sphere"), ("X", "sphere_n")), uses_tau=False, default_tau=None, surrogate=False,
    score="objective", uses_n=True, hparams=(("alpha", 1.0), ("beta", 1.0)),
    doc="HUG, proxy MHE form: feature-to-proxy attraction plus proxy Riesz-2 repulsion."))


def get_problem(name: str) -> ProblemDef:
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"problem: unknown problem {name!r}; choose one of {sorted(REGISTRY)}")
    return REGISTRY[name]


def tau_schedule(p: ProblemDef, tau: float, stages: int, start: float | None = None) -> list[float]:
    """Temperatures of the continuation stages ending at ``tau`` (geometric from the start).

    Max-min surrogates start at 0.03 (or tau if larger); CE models start at 16·tau capped at
    max(tau, 1); ``start`` overrides the first temperature (kept >= tau); models without a
    temperature use a single stage.
    """
    if not p.uses_tau or stages == 1:
        return [tau] * stages
    if start is not None:
        start = max(tau, float(start))
    elif p.surrogate:
        start = max(tau, 3e-2)
    else:
        start = max(tau, min(16 * tau, 1.0))
    if start == tau:
        return [tau] * stages
    ratio = (tau / start) ** (1.0 / (stages - 1))
    return [start * ratio**i for i in range(stages)]


def default_stages(p: ProblemDef, tau: float | None) -> int:
    if not p.uses_tau:
        return 1
    if p.surrogate:
        return 6
    return 4 if tau is not None and tau < 0.5 else 1


def is_finite_positive(x) -> bool:
    try:
        return math.isfinite(float(x)) and float(x) > 0
    except (TypeError, ValueError):
        return False


def dtype_of(name) -> jnp.dtype:
    return jnp.dtype(name)
