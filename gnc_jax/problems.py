"""Problem registry: what each named problem optimizes, on which manifold, and how it is scored.

A ``ProblemDef`` is static metadata (hashable). ``hparams`` is a dict of per-problem arrays
(masks, temperatures, weights) that a batch of problems stacks along a leading axis.
"""
from __future__ import annotations

import dataclasses
import functools
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
      masked: the objective honours ``hp["class_mask"]`` and ``hp["sample_mask"]``, so a grid may pad its cells to
        shared shapes; otherwise each grid cell compiles at its own (C, d, n).
      custom: registered by the user (`register_problem`), not built in.
      sample_rows: ``(hp, K, n, dtype) -> (K, n)`` mask of the real sample rows where classes have different
        numbers of samples (None: every real class has all n).
      validate: ``(C, d, n, hparams dict) -> None``, raising ValueError naming the argument, for checks that tie
        hyperparameters to the shape (run by ``make_spec`` before anything compiles).
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
    masked: bool = True
    custom: bool = False
    sample_rows: Callable | None = None
    validate: Callable | None = None

    def manifold(self, class_mask, dim_mask, sample_mask, sample_rows=None):
        """Product manifold with the masks of one problem (or of a batch: leading axes); ``sample_rows`` (K, n)
        replaces class_mask x sample_mask as the mask of the per-sample factors."""
        cm, dm, sm = class_mask, dim_mask, sample_mask
        cn = cm[..., :, None] * sm[..., None, :] if sample_rows is None else sample_rows  # (K, n) per-sample rows
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


def _validate_imbalance(C: int, d: int, n: int, hp: dict) -> None:
    m, n_minor = hp["minority"], hp["n_minor"]
    if m != int(m) or not 0 <= m <= C - 1:
        raise ValueError(f"minority: the number of minority classes must be an integer in [0, C - 1 = {C - 1}], "
                         f"got {m:g}")
    if n_minor != int(n_minor) or not 1 <= n_minor <= n:
        raise ValueError(f"n_minor: samples per minority class must be an integer in [1, n = {n}], got {n_minor:g}")


_register(ProblemDef(
    "ce-ufm-imbalanced", obj.ce_ufm_imbalanced, (("W", "sphere"), ("H", "sphere_n")), uses_tau=True,
    default_tau=None, surrogate=False, score="objective", uses_n=True, vanishing=True,
    hparams=(("minority", 1.0), ("n_minor", 1.0)), sample_rows=obj.minority_rows, validate=_validate_imbalance,
    doc="Spherical CE-UFM with class imbalance: the last `minority` classes have n_minor of the n samples."))
_register(ProblemDef(
    "ce-ufm-regularized-imbalanced", obj.ce_ufm_regularized_imbalanced,
    (("W", "euclid"), ("H", "euclid_n"), ("b", "vector")), uses_tau=False, default_tau=None, surrogate=False,
    score="objective", uses_n=True,
    hparams=(("lambda_W", 5e-4), ("lambda_H", 5e-4), ("lambda_b", 5e-4), ("minority", 1.0), ("n_minor", 1.0)),
    sample_rows=obj.minority_rows, validate=_validate_imbalance,
    doc="Regularized CE-UFM with class imbalance: the last `minority` classes have n_minor of the n samples "
        "(minority collapse)."))
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


#: solver names (``api.make_solver``).
SOLVERS = ("lbfgs", "cg", "gd", "adam", "tr")
FACTOR_KINDS = ("sphere", "sphere_n", "euclid", "euclid_n", "vector")
SCORES = ("objective", "max_cos", "rho")


def register_problem(name: str, objective: Callable, factors, *, tau: str | float | None = None,
                     surrogate: bool = False, score: str = "objective", hparams: dict | None = None,
                     vanishing: bool = False, masked: bool = False, solver: str = "lbfgs", doc: str = "",
                     replace: bool = False) -> ProblemDef:
    """Add your own objective to the registry: ``solve``, ``solve_batch``, grids and the CLI (``--import``) then
    run it like a built-in problem, batched over restarts and cells, with status codes and exact figures of W.

    Args:
      name: the problem's name (not a built-in one).
      objective: ``f(point, hp) -> scalar``, traceable by JAX. ``point`` is a dict of arrays, one per factor;
        ``hp`` holds ``class_mask`` (C,), ``dim_mask`` (d,), ``sample_mask`` (n,), ``tau`` (if any) and your
        hyperparameters (0-d arrays).
      factors: {key: kind} (or (key, kind) pairs), kind one of "sphere" (C, d) unit rows, "sphere_n" (C, n, d) unit
        rows, "euclid" (C, d), "euclid_n" (C, n, d), "vector" (C,). "W", "sphere" or "euclid", is required: the
        figures (min angle, max cos, rho) are those of its rows.
      tau: None (no temperature), "required" (``tau`` must be given) or a default temperature.
      surrogate: tau is a smoothing temperature reached by continuation from 0.03 (a max-min surrogate), not a
        model temperature (continuation from 16 tau).
      score: how restarts are ranked: "objective" (min), "max_cos" (min) or "rho" (max).
      hparams: {name: default} of scalar hyperparameters (any finite float; pass them to ``solve`` by name).
      vanishing: the objective tends to 0 at its optimum; the stop test is then relative (``gtol * min(1, |f|)``).
      masked: the objective honours ``class_mask``/``sample_mask`` (padded classes and samples are zero rows that
        must not count), so grids may pad cells to shared shapes. False (default): every grid cell compiles at its
        own shape and the masks are all ones.
      solver: default solver name.
      replace: allow replacing an earlier custom problem of this name.

    Raises ValueError naming the argument on bad input. Returns the ``ProblemDef``.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a non-empty string, got {name!r}")
    old = REGISTRY.get(name)
    if old is not None and (not old.custom or not replace):
        what = "a built-in problem" if not old.custom else "registered already (pass replace=True)"
        raise ValueError(f"name: {name!r} is {what}")
    if not callable(objective):
        raise ValueError(f"objective: expected a callable f(point, hp) -> scalar, got {type(objective).__name__}")
    pairs = tuple(factors.items()) if isinstance(factors, dict) else tuple(tuple(f) for f in factors)
    for key, kind in pairs:
        if not isinstance(key, str) or kind not in FACTOR_KINDS:
            raise ValueError(f"factors: {key!r}: {kind!r} is not one of {list(FACTOR_KINDS)}")
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"factors: repeated keys in {keys}")
    if dict(pairs).get("W") not in ("sphere", "euclid"):
        raise ValueError('factors: a "W" factor of kind "sphere" or "euclid" is required (the classifier rows)')
    if tau is None or tau == "required":
        default_tau = None
    elif is_finite_positive(tau) and not isinstance(tau, str):
        default_tau = float(tau)
    else:
        raise ValueError(f'tau: expected None, "required" or a positive default temperature, got {tau!r}')
    if surrogate and tau is None:
        raise ValueError("surrogate: a surrogate needs a temperature (tau)")
    if score not in SCORES:
        raise ValueError(f"score: expected one of {list(SCORES)}, got {score!r}")
    import inspect

    from . import api

    reserved = set(RESERVED_HPARAMS) | set(inspect.signature(api.solve).parameters) - {"hparams"}
    hp = {}
    for k, v in (hparams or {}).items():
        if not isinstance(k, str) or not k.isidentifier() or k in reserved:
            raise ValueError(f"hparams: {k!r} is not a valid name or is taken (masks, tau, solve's arguments)")
        try:
            hp[k] = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"hparams: {k!r}: default must be a number, got {v!r}") from None
        if not math.isfinite(hp[k]):
            raise ValueError(f"hparams: {k!r}: default must be finite, got {v!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver: unknown solver {solver!r}; choose one of {list(SOLVERS)}")
    p = ProblemDef(name, objective, pairs, uses_tau=tau is not None, default_tau=default_tau,
                   surrogate=bool(surrogate), score=score, hparams=tuple(sorted(hp.items())),
                   uses_n=any(kind.endswith("_n") for _, kind in pairs), default_solver=solver,
                   vanishing=bool(vanishing), doc=doc or f"custom problem {name!r}", masked=bool(masked), custom=True)
    REGISTRY[name] = p
    return p


def unregister_problem(name: str) -> None:
    """Remove a custom problem (built-in ones stay)."""
    p = REGISTRY.get(name)
    if p is None or not p.custom:
        raise ValueError(f"name: {name!r} is not a registered custom problem")
    del REGISTRY[name]


@functools.lru_cache(maxsize=256)
def check_objective(p: ProblemDef, C: int, d: int, n: int) -> None:
    """Trace a custom objective abstractly (``jax.eval_shape``, nothing compiles) at (C, d, n) and raise a
    ValueError naming it unless it returns a real scalar."""
    import jax

    f32 = jnp.float32
    point = {k: jax.ShapeDtypeStruct(shape, f32) for k, shape in p.shapes(C, d, n).items()}
    hp = {"class_mask": jax.ShapeDtypeStruct((C,), f32), "dim_mask": jax.ShapeDtypeStruct((d,), f32),
          "sample_mask": jax.ShapeDtypeStruct((n,), f32)}
    for k in (["tau"] if p.uses_tau else []) + [k for k, _ in p.hparams]:
        hp[k] = jax.ShapeDtypeStruct((), f32)
    try:
        out = jax.eval_shape(p.objective, point, hp)
    except Exception as e:  # the user's code: report any failure against the argument
        raise ValueError(f"objective: problem {p.name!r} failed on a point of shapes "
                         f"{ {k: v.shape for k, v in point.items()} }: {type(e).__name__}: {e}") from e
    if not isinstance(out, jax.ShapeDtypeStruct) or out.shape != () or not jnp.issubdtype(out.dtype, jnp.floating):
        got = getattr(out, "shape", None), getattr(out, "dtype", type(out).__name__)
        raise ValueError(f"objective: problem {p.name!r} must return a real scalar, got shape/dtype {got}")


#: hp keys the library fills itself.
RESERVED_HPARAMS = ("class_mask", "dim_mask", "sample_mask", "tau", "taus")


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
