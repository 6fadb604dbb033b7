"""Compare a configuration of N unit vectors in R^d with the best-known code and proven bounds.

`compare(points)` normalises the rows (float64), measures the minimal angle, and reports the gap
to the best-known record (`tables.best_known`), the best proven upper bound (`bounds.upper_bound`)
and whether the configuration is congruent to a known construction or a staged code of the same
(d, N). Congruence is judged by rotation/permutation invariants only (sorted Gram entries and the
multiset of per-point sorted Gram rows), never by raw coordinates; equal invariants are
necessary for congruence and, for the highly symmetric codes here, in practice sufficient.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Iterable

import numpy as np

from ._validate import check_points
from .bounds import AngleBound, upper_bound
from .constructions import FIXED_CODES, construction_name, known_code
from .symmetry import symmetry_label
from .tables import CONSTRUCTION_PREFIX, Floor, Record, best_known, coordinate_sources, known_floor, load_coordinates


# ----------------------------------------------------------------------------- measurements
def max_cos(points) -> np.ndarray | float:
    """Largest pairwise cosine of each configuration; points (..., N, d) -> (...) (rows normalised)."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim < 2 or x.shape[-2] < 2 or x.shape[-1] < 1:
        raise ValueError(f"points must have shape (..., N, d) with N >= 2, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("points contains NaN or infinite entries")
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(norms == 0.0):
        raise ValueError("points contains a zero row, which cannot be normalised")
    x = x / norms
    gram = x @ np.swapaxes(x, -1, -2)
    n = x.shape[-2]
    gram = np.where(np.eye(n, dtype=bool), -np.inf, gram)
    out = gram.max(axis=(-1, -2))
    return float(out) if out.ndim == 0 else out


def min_angle_deg(points) -> np.ndarray | float:
    """Minimal pairwise angle in degrees; points (..., N, d) -> (...) (rows normalised).

    Uses the chord of the closest pair (2 asin(|x - y|/2)), accurate also for small angles.
    """
    x = np.asarray(points, dtype=np.float64)
    c = np.asarray(max_cos(x))
    chord = np.sqrt(np.maximum(2.0 - 2.0 * c, 0.0))
    out = np.degrees(2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0)))
    return float(out) if out.ndim == 0 else out


def record_gap_deg(d: int, N: int, angle_deg: float) -> float:
    """Best-known minus the given min angle of N points on S^{d-1}, in degrees (> 0: short of the record,
    < 0: beyond it); NaN where no record is tabulated (``best_known``)."""
    rec = best_known(int(d), int(N)) if int(N) >= 2 else None
    return float("nan") if rec is None else float(rec.min_angle_deg) - float(angle_deg)


def _gram_upper(x: np.ndarray) -> np.ndarray:
    return (x @ x.T)[np.triu_indices(x.shape[0], 1)]


def _closest_pair_angle_deg(x: np.ndarray, i: int, j: int) -> float:
    chord = float(np.linalg.norm(x[i] - x[j]))
    return math.degrees(2.0 * math.asin(min(1.0, chord / 2.0)))


# ----------------------------------------------------------------------------- congruence
def congruent(a, b, atol: float = 1e-6) -> bool:
    """Whether two configurations have the same rotation/permutation invariants within atol.

    a: (N, d1), b: (N, d2) (rows normalised; d1 and d2 may differ). Checks the sorted Gram
    entries, then greedily matches the per-point sorted Gram rows (cost O(N^3)).
    """
    x, y = check_points(a, "a"), check_points(b, "b")
    if x.shape[0] != y.shape[0]:
        return False
    if np.max(np.abs(np.sort(_gram_upper(x)) - np.sort(_gram_upper(y)))) > atol:
        return False
    rows_x = np.sort(x @ x.T, axis=1)
    rows_y = np.sort(y @ y.T, axis=1)
    unused = np.ones(len(rows_y), dtype=bool)
    for row in rows_x[np.lexsort(rows_x.T[::-1])]:
        err = np.where(unused, np.max(np.abs(rows_y - row), axis=1), np.inf)
        k = int(np.argmin(err))
        if err[k] > atol:
            return False
        unused[k] = False
    return True


def _reference_codes(d: int, N: int):
    """(name, points) for constructions and staged codes with N points fitting in R^d."""
    seen = set()
    name = construction_name(d, N)
    if name is not None:
        seen.add(name)
        yield name, known_code((d, N))
    for fixed, (fd, fn, make) in FIXED_CODES.items():
        if fn == N and fd <= d and fixed not in seen:
            yield fixed, make()
    for source in coordinate_sources(d, N):
        if not source.startswith(CONSTRUCTION_PREFIX):
            yield source, load_coordinates(d, N, source)


def congruent_known_code(points, atol: float = 1e-6) -> str | None:
    """Name of a known construction (or staged data file) congruent to `points`, else None."""
    x = check_points(points)
    n, d = x.shape
    for name, ref in _reference_codes(d, n):
        if congruent(x, ref, atol):
            return name
    return None


# ----------------------------------------------------------------------------- comparison
@dataclasses.dataclass(frozen=True)
class Comparison:
    """A configuration measured against the best-known record and the best proven bound.

    Angles in degrees. gap_deg = record - found (negative: better than the record);
    gap_cos = found max_cos - record max_cos (same sign convention). matched: |gap_deg| <= tol_deg.
    contacts: number of pairs within contact_tol_deg of the minimal angle (contact_pairs lists
    them as (i, j), i < j). exceeds_bound: found angle above the proven bound by more than tol_deg
    (impossible for a valid configuration). record_meets_bound: the record equals the bound
    within tol_deg, i.e. the bound proves the record optimal. congruent_to: see `congruent`.
    floor: `tables.known_floor(d, N)`, the best known code with at least N points in dimension <= d (a lower
    bound on the optimum, also where no record is tabulated); below_floor: found angle below it by more than tol_deg
    (the search fell short). symmetry: for d = 3, the name of the code's rotation group, rattlers left out
    (`symmetry.symmetry_group`: 'C1', 'Cn', 'Dn', 'T', 'O', 'I'), with '+refl' when a reflection maps it onto itself
    too; None for other d or when not computed.
    """

    d: int
    N: int
    min_angle_deg: float
    max_cos: float
    contacts: int
    contact_pairs: tuple
    tol_deg: float
    contact_tol_deg: float
    record: Record | None
    gap_deg: float | None
    gap_cos: float | None
    matched: bool | None
    better_than_record: bool | None
    upper_bound: AngleBound
    upper_bound_deg: float
    bound: str
    bound_gap_deg: float
    exceeds_bound: bool
    record_meets_bound: bool | None
    congruent_to: str | None
    floor: Floor
    below_floor: bool
    symmetry: str | None = None

    def to_dict(self) -> dict:
        """JSON-safe dict (record and bound nested as dicts, contact pairs as lists)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["record"] = None if self.record is None else self.record.to_dict()
        out["upper_bound"] = self.upper_bound.to_dict()
        out["floor"] = dataclasses.asdict(self.floor)
        out["contact_pairs"] = [list(p) for p in self.contact_pairs]
        return out

    def summary(self) -> str:
        """Readable multi-line report."""
        lines = [f"N = {self.N} points on S^{self.d - 1} (d = {self.d})",
                 f"  min angle  {self.min_angle_deg:.10f} deg   max cos {self.max_cos:.12f}   "
                 f"contacts {self.contacts} (within {self.contact_tol_deg:g} deg)"]
        if self.record is None:
            lines.append("  record     none known for this (d, N)")
        else:
            verdict = ("matches" if self.matched else
                       "BETTER than" if self.better_than_record else "below")
            lines.append(f"  record     {self.record.min_angle_deg:.10f} deg [{self.record.status}]  "
                         f"gap {self.gap_deg:+.3e} deg ({verdict} record, tol {self.tol_deg:g})")
        lines.append(f"  bound      {self.upper_bound_deg:.10f} deg ({self.bound})  "
                     f"slack {self.bound_gap_deg:.3e} deg"
                     + ("  record is bound-tight" if self.record_meets_bound else "")
                     + ("  EXCEEDS BOUND" if self.exceeds_bound else ""))
        lines.append(f"  floor      {self.floor.angle_deg:.10f} deg ({self.floor.source})"
                     + ("  BELOW: a known code with at least N points does better" if self.below_floor else ""))
        lines.append(f"  congruent  {self.congruent_to or 'no known code'}")
        if self.symmetry is not None:
            lines.append(f"  symmetry   {self.symmetry} (rotation group of the code less its rattlers; "
                         "+refl: a reflection maps it onto itself too)")
        return "\n".join(lines)

    __str__ = summary


def compare(points, tol_deg: float = 1e-6, contact_tol_deg: float | None = None,
            congruence_atol: float = 1e-6, check_congruence: bool = True, check_symmetry: bool = True) -> Comparison:
    """Compare an (N, d) configuration (rows normalised here, float64) with the known results.

    tol_deg: tolerance for `matched` / `better_than_record` / bound checks (the staged Sloane
    coordinates fall short of exact optima by up to 4e-8 deg, so keep tol_deg >= 1e-7).
    contact_tol_deg: pairs with angle <= min angle + contact_tol_deg are contacts (default tol_deg).
    congruence_atol: tolerance on Gram entries (cosines) for `congruent_to`.
    check_symmetry: name the rotation group of a d = 3 code (`symmetry`; chord tolerance 1e-6).
    """
    x = check_points(points)
    tol_deg = _check_tol(tol_deg, "tol_deg")
    contact_tol_deg = tol_deg if contact_tol_deg is None else _check_tol(contact_tol_deg, "contact_tol_deg")
    congruence_atol = _check_tol(congruence_atol, "congruence_atol")
    n, d = x.shape

    gram = x @ x.T
    iu, ju = np.triu_indices(n, 1)
    upper = gram[iu, ju]
    k = int(np.argmax(upper))
    found_cos = float(upper[k])
    found_deg = _closest_pair_angle_deg(x, int(iu[k]), int(ju[k]))
    cos_cut = math.cos(math.radians(min(180.0, found_deg + contact_tol_deg)))
    hits = np.nonzero(upper >= min(cos_cut, found_cos))[0]
    pairs = tuple((int(iu[h]), int(ju[h])) for h in hits)

    rec = best_known(d, n)
    ub = upper_bound(d, n)
    floor = known_floor(d, n)
    gap_deg = gap_cos = matched = better = meets = None
    if rec is not None:
        gap_deg = rec.min_angle_deg - found_deg
        gap_cos = found_cos - rec.max_cos
        matched = abs(gap_deg) <= tol_deg
        better = gap_deg < -tol_deg
        meets = abs(ub.angle_deg - rec.min_angle_deg) <= tol_deg
    return Comparison(
        d=d, N=n, min_angle_deg=found_deg, max_cos=found_cos, contacts=len(pairs),
        contact_pairs=pairs, tol_deg=tol_deg, contact_tol_deg=contact_tol_deg, record=rec,
        gap_deg=gap_deg, gap_cos=gap_cos, matched=matched, better_than_record=better,
        upper_bound=ub, upper_bound_deg=ub.angle_deg, bound=ub.bound,
        bound_gap_deg=ub.angle_deg - found_deg, exceeds_bound=found_deg > ub.angle_deg + tol_deg,
        record_meets_bound=meets,
        congruent_to=congruent_known_code(x, congruence_atol) if check_congruence else None,
        floor=floor, below_floor=found_deg < floor.angle_deg - tol_deg,
        symmetry=symmetry_label(x, max(contact_tol_deg, 1e-9)) if check_symmetry and d == 3 else None,
    )


def compare_many(configurations: Iterable, **kwargs) -> list[Comparison]:
    """`compare` over a list of (N, d) arrays or a stacked (B, N, d) array; kwargs as `compare`."""
    if isinstance(configurations, np.ndarray) and configurations.ndim == 2:
        raise ValueError("configurations must be a sequence of (N, d) arrays or a (B, N, d) array")
    return [compare(c, **kwargs) for c in configurations]


def _check_tol(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}") from None
    if not (v >= 0.0 and math.isfinite(v)):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return v
