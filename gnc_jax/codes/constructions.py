"""Exact classical spherical codes, as host-side float64 arrays of unit rows, shape (N, d).

These configurations exist only to *compare* solver output against known optima (see
`gnc_jax.codes.compare`). They are not used to initialise or seed any solve.

Every function returns a fresh array. Values (cosine of the minimal angle):
simplex -1/(N-1); cross-polytope 0; regular N-gon cos(2 pi/N); icosahedron 1/sqrt(5);
24-cell 1/2; 600-cell (1+sqrt(5))/4 (36 deg); Petersen code (4,10) 1/6; hemicube (5,16) 1/5;
Schlaefli code (6,27) 1/4; E7 code (7,56) 1/3; E8 roots (8,240) 1/2.
"""
from __future__ import annotations

import itertools
import math
from typing import Callable

import numpy as np

from ._validate import check_count, check_dim

GOLDEN_RATIO = (1.0 + math.sqrt(5.0)) / 2.0


# ----------------------------------------------------------------------------- helpers
def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def embed(points: np.ndarray, d: int) -> np.ndarray:
    """Pad (N, k) points with zero columns to (N, d); d >= k."""
    points = np.asarray(points, dtype=np.float64)
    d = check_dim(d)
    if d < points.shape[1]:
        raise ValueError(f"d must be >= {points.shape[1]} to embed these points, got {d}")
    out = np.zeros((points.shape[0], d))
    out[:, : points.shape[1]] = points
    return out


def _helmert_basis(m: int) -> np.ndarray:
    """(m-1, m) orthonormal rows spanning the sum-zero hyperplane of R^m (Helmert contrasts)."""
    basis = np.zeros((m - 1, m))
    for k in range(1, m):
        basis[k - 1, :k] = 1.0
        basis[k - 1, k] = -float(k)
        basis[k - 1] /= math.sqrt(k * (k + 1))
    return basis


def _orthogonal_complement(anchors: np.ndarray) -> np.ndarray:
    """(d, d - r) orthonormal columns spanning the complement of the rows of `anchors` (r, d)."""
    d = anchors.shape[1]
    q, _ = np.linalg.qr(np.concatenate([anchors.T, np.eye(d)], axis=1), mode="complete")
    return q[:, anchors.shape[0]:]


def _even_permutations(m: int):
    for perm in itertools.permutations(range(m)):
        inversions = sum(perm[a] > perm[b] for a, b in itertools.combinations(range(m), 2))
        if inversions % 2 == 0:
            yield perm


def _pairs_with_signs(d: int) -> np.ndarray:
    """All vectors of R^d with two entries +-1 and the rest 0 (the D_d roots), shape (2d(d-1), d)."""
    rows = []
    for i, j in itertools.combinations(range(d), 2):
        for si, sj in itertools.product((1.0, -1.0), repeat=2):
            v = np.zeros(d)
            v[i], v[j] = si, sj
            rows.append(v)
    return np.array(rows).reshape(-1, d)


# ----------------------------------------------------------------------------- families
def regular_simplex(N: int, d: int | None = None) -> np.ndarray:
    """Regular simplex: (N, d) unit vectors with all pairwise cosines -1/(N-1).

    Lives in R^(N-1) (Helmert coordinates); pass d >= N-1 to embed it with zero columns.
    """
    N = check_count(N)
    d = N - 1 if d is None else check_dim(d)
    if d < N - 1:
        raise ValueError(f"d must be >= N-1 = {N - 1} for a regular simplex of N = {N} points, got {d}")
    return embed(math.sqrt(N / (N - 1.0)) * _helmert_basis(N).T, d)


def cross_polytope(d: int) -> np.ndarray:
    """The 2d points +-e_i of R^d, ordered e_1..e_d then -e_1..-e_d; shape (2d, d)."""
    d = check_dim(d)
    eye = np.eye(d)
    return np.concatenate([eye, -eye], axis=0)


def cross_polytope_subset(d: int, N: int) -> np.ndarray:
    """First N rows of `cross_polytope(d)`, d+2 <= N <= 2d: optimal (90 deg, Rankin 1955)."""
    d = check_dim(d)
    N = check_count(N)
    if not d + 2 <= N <= 2 * d:
        raise ValueError(f"N must satisfy d+2 <= N <= 2d (= {d + 2}..{2 * d}), got {N}")
    return cross_polytope(d)[:N]


def regular_polygon(N: int) -> np.ndarray:
    """Regular N-gon on the unit circle, shape (N, 2); minimal angle 360/N deg."""
    N = check_count(N)
    t = 2.0 * np.pi * np.arange(N) / N
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def dn_roots(d: int) -> np.ndarray:
    """Normalised D_d root system (+-e_i +- e_j), shape (2d(d-1), d), cosine 1/2 (d >= 3).

    d = 4 is the 24-cell and d = 5 the 40-point kissing configuration (its Tammes record status
    for N = 40 is not verified here, so it is not registered as a best-known code).
    """
    d = check_dim(d)
    if d < 3:
        raise ValueError(f"d must be >= 3 for the D_d roots, got {d}")
    return _unit_rows(_pairs_with_signs(d))


# ----------------------------------------------------------------------------- fixed codes
def icosahedron() -> np.ndarray:
    """Vertices of the icosahedron, (12, 3); cosine 1/sqrt(5) (63.43 deg)."""
    rows = []
    for a, b in itertools.product((1.0, -1.0), repeat=2):
        base = (0.0, a, b * GOLDEN_RATIO)
        for shift in range(3):  # the three cyclic shifts of (0, +-1, +-phi)
            rows.append(base[-shift:] + base[:-shift] if shift else base)
    return _unit_rows(np.array(rows))


def cell24() -> np.ndarray:
    """Vertices of the 24-cell (D4 roots / sqrt 2), (24, 4); cosine 1/2 (60 deg)."""
    return _unit_rows(_pairs_with_signs(4))


def cell600() -> np.ndarray:
    """Vertices of the 600-cell (the 120 unit icosians), (120, 4); cosine (1+sqrt 5)/4 (36 deg).

    8 points +-e_i, 16 points (+-1/2)^4, and 96 even permutations of (+-phi, +-1, +-1/phi, 0)/2.
    """
    rows = [s * e for e in np.eye(4) for s in (1.0, -1.0)]
    rows += [np.array(signs) / 2.0 for signs in itertools.product((1.0, -1.0), repeat=4)]
    magnitudes = (GOLDEN_RATIO / 2.0, 0.5, 0.5 / GOLDEN_RATIO, 0.0)
    for perm in _even_permutations(4):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            v = np.zeros(4)
            for slot, value, sign in zip(perm[:3], magnitudes[:3], signs):
                v[slot] = sign * value
            rows.append(v)
    return _unit_rows(np.array(rows))


def petersen_4_10() -> np.ndarray:
    """The (4, 10) Petersen code: midpoints of the 10 edges of a regular 4-simplex, (10, 4).

    Cosines 1/6 (edges sharing a vertex) and -2/3; optimal and unique (Bachoc-Vallentin 2009).
    """
    mids = np.array([np.eye(5)[i] + np.eye(5)[j] for i, j in itertools.combinations(range(5), 2)])
    return _unit_rows(mids @ _helmert_basis(5).T)  # the all-ones part is dropped by the basis


def hemicube_5_16() -> np.ndarray:
    """(+-1)^5 / sqrt 5 with an even number of minus signs (Clebsch code), (16, 5); cosine 1/5."""
    rows = [s for s in itertools.product((1.0, -1.0), repeat=5) if s.count(-1.0) % 2 == 0]
    return _unit_rows(np.array(rows))


def _e8_roots_unnormalised() -> np.ndarray:
    halves = [s for s in itertools.product((0.5, -0.5), repeat=8) if s.count(-0.5) % 2 == 0]
    return np.concatenate([_pairs_with_signs(8), np.array(halves)], axis=0)


def e8_roots() -> np.ndarray:
    """The 240 roots of E8 normalised to unit length, (240, 8); cosine 1/2 (60 deg)."""
    return _unit_rows(_e8_roots_unnormalised())


def _e8_slice(anchors: np.ndarray) -> np.ndarray:
    """E8 roots with inner product 1 with every anchor root, projected onto the anchors' complement."""
    roots = _e8_roots_unnormalised()
    keep = np.all(np.abs(roots @ anchors.T - 1.0) < 1e-9, axis=1)
    return _unit_rows(roots[keep] @ _orthogonal_complement(anchors))


def e7_7_56() -> np.ndarray:
    """The (7, 56) code: E8 roots r with <r, a> = 1 for a = (1/2)^8, projected to a-perp; cosine 1/3."""
    a = np.full((1, 8), 0.5)
    roots = _e8_roots_unnormalised()
    keep = np.abs(roots @ a[0] - 1.0) < 1e-9
    return _unit_rows(roots[keep] @ _helmert_basis(8).T)  # a-perp = sum-zero hyperplane


def e7_roots() -> np.ndarray:
    """The 126 roots of E7 normalised, (126, 7): the E8 roots orthogonal to the root e1 + e2, written in its
    complement; cosines in {0, +-1/2, -1}, minimal angle 60 deg (the kissing configuration of E7). Not a
    best-known-table row; `known_floor` uses it as a lower bound for every N <= 126 in d >= 7."""
    anchor = (np.eye(8)[0] + np.eye(8)[1])[None, :]
    roots = _e8_roots_unnormalised()
    keep = np.abs(roots @ anchor[0]) < 1e-9
    return _unit_rows(roots[keep] @ _orthogonal_complement(anchor))


def schlafli_6_27() -> np.ndarray:
    """The (6, 27) Schlaefli code (E6 minuscule weights), (27, 6); cosine 1/4.

    E8 roots r with <r, a> = <r, c> = 1 for roots a = (1/2)^8, c = e1 + e2 (<a, c> = 1),
    projected onto the complement of span(a, c).
    """
    anchors = np.stack([np.full(8, 0.5), np.eye(8)[0] + np.eye(8)[1]])
    return _e8_slice(anchors)


# ----------------------------------------------------------------------------- registry
# name -> (d, N, constructor) for codes of fixed size; each attains the best-known table value.
FIXED_CODES: dict[str, tuple[int, int, Callable[[], np.ndarray]]] = {
    "icosahedron": (3, 12, icosahedron),
    "24-cell": (4, 24, cell24),
    "600-cell": (4, 120, cell600),
    "petersen": (4, 10, petersen_4_10),
    "hemicube": (5, 16, hemicube_5_16),
    "schlafli": (6, 27, schlafli_6_27),
    "e7": (7, 56, e7_7_56),
    "e8": (8, 240, e8_roots),
}
PARAMETRIC_CODES = ("simplex", "cross-polytope", "polygon", "dn-roots")
KNOWN_CODE_NAMES = tuple(FIXED_CODES) + PARAMETRIC_CODES

_ALIASES = {
    "regular-simplex": "simplex", "etf": "simplex", "simplex-etf": "simplex",
    "orthoplex": "cross-polytope", "crosspolytope": "cross-polytope",
    "regular-polygon": "polygon", "ngon": "polygon", "n-gon": "polygon",
    "cell24": "24-cell", "24cell": "24-cell", "d4": "24-cell",
    "cell600": "600-cell", "600cell": "600-cell", "icosians": "600-cell",
    "petersen-4-10": "petersen",
    "hemicube-5-16": "hemicube", "clebsch": "hemicube",
    "schlafli-6-27": "schlafli", "schläfli": "schlafli", "e6": "schlafli",
    "e7-7-56": "e7", "gosset": "e7",
    "e8-roots": "e8", "e8roots": "e8",
    "d-roots": "dn-roots", "dn": "dn-roots",
}


def canonical_code_name(name: str) -> str:
    """Registry name for `name` (case, spaces and underscores ignored); ValueError if unknown."""
    if not isinstance(name, str):
        raise ValueError(f"name must be a string, got {name!r}")
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    key = _ALIASES.get(key, key)
    if key not in KNOWN_CODE_NAMES:
        raise ValueError(f"name {name!r} is not a known code; choose from {', '.join(KNOWN_CODE_NAMES)}")
    return key


def construction_name(d: int, N: int) -> str | None:
    """Name of a construction attaining the best-known minimal angle for (d, N), or None.

    N <= d+1: "simplex"; d+2 <= N <= 2d: "cross-polytope" (subset); d = 2: "polygon";
    otherwise one of the fixed codes, when its (d, N) matches.
    """
    d, N = check_dim(d), check_count(N)
    if N <= d + 1:
        return "simplex"
    if N <= 2 * d:
        return "cross-polytope"
    if d == 2:
        return "polygon"
    for name, (dd, nn, _) in FIXED_CODES.items():
        if (dd, nn) == (d, N):
            return name
    return None


def _build(name: str, d: int | None, N: int | None) -> np.ndarray:
    if name in FIXED_CODES:
        native_d, native_n, make = FIXED_CODES[name]
        if N is not None and check_count(N) != native_n:
            raise ValueError(f"N must be {native_n} for {name!r}, got {N}")
        x = make()
        return x if d is None else embed(x, d)
    if name == "simplex":
        if N is None:
            raise ValueError("N is required for 'simplex'")
        return regular_simplex(N, d)
    if name == "cross-polytope":
        if d is None:
            raise ValueError("d is required for 'cross-polytope'")
        if N is None or check_count(N) == 2 * check_dim(d):
            return cross_polytope(d)
        return cross_polytope_subset(d, N)
    if name == "polygon":
        if N is None:
            raise ValueError("N is required for 'polygon'")
        x = regular_polygon(N)
        return x if d is None else embed(x, d)
    # dn-roots
    if d is None:
        raise ValueError("d is required for 'dn-roots'")
    x = dn_roots(d)
    if N is not None and check_count(N) != x.shape[0]:
        raise ValueError(f"N must be {x.shape[0]} for 'dn-roots' in d = {d}, got {N}")
    return x


def known_code(key, *, d: int | None = None, N: int | None = None) -> np.ndarray:
    """A known code as a float64 (N, d) array of unit rows.

    key: a registry name (see KNOWN_CODE_NAMES; aliases such as "orthoplex", "e6", "cell600"
    accepted) or a pair (d, N), which returns the construction attaining the best-known value for
    that pair (see `construction_name`). Parametric names need N ("simplex", "polygon") or d
    ("cross-polytope", "dn-roots"); `d` larger than a code's own dimension embeds it with zeros.
    """
    if isinstance(key, tuple):
        if len(key) != 2:
            raise ValueError(f"key must be a name or a pair (d, N), got {key!r}")
        kd, kn = check_dim(key[0], "key[0] (d)"), check_count(key[1], "key[1] (N)")
        name = construction_name(kd, kn)
        if name is None:
            raise ValueError(f"key (d, N) = ({kd}, {kn}) has no known exact construction")
        x = _build(name, kd, kn)
        return embed(x, kd) if x.shape[1] < kd else x
    return _build(canonical_code_name(key), d, N)
