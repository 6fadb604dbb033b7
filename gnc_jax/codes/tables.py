"""Best-known and proven-optimal minimal angles of N points on S^{d-1}, with staged coordinates.

Data: `data/best_known_angles_detailed.csv` (every candidate row: 497 rows) and the coordinate
files next to it; provenance and terms in `data/NOTICE.md` and `data/MANIFEST.md` (cite Sloane et
al. and Cohn when using the values). The best-known table has one record per tabulated (d, N)
(480 pairs): the candidate with the largest angle, ties (within 1e-9 deg) going to a row that
has coordinates; the D5 kissing configuration (5, 40) is excluded (status "unverified").

Statuses are normalised to STATUSES; the raw wording is kept in `Record.status_detail`.
Everything is host-side float64; nothing here is used to initialise a solve.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import json
import math
from importlib import resources

import numpy as np

from ._validate import check_count, check_dim
from .constructions import construction_name, known_code

STATUSES = ("proven optimal", "best known", "value only", "claimed", "unverified")
ANGLE_TIE_DEG = 1e-9          # rows closer than this are ties (table angles carry 10 decimals)
ATTAIN_TOL_DEG = 1e-7         # coordinates attain a record within this (Sloane files: <= 4e-8 deg)
CONSTRUCTION_PREFIX = "construction:"

# constructed/<file> in the table -> registry name in gnc_jax.codes.constructions
_CONSTRUCTED_FILES = {
    "icosahedron.3.12.txt": "icosahedron", "24cell.4.24.txt": "24-cell",
    "600cell_exact.4.120.txt": "600-cell", "petersen.4.10.txt": "petersen",
    "hemicube.5.16.txt": "hemicube", "D5roots.5.40.txt": "dn-roots",
    "schlafli.6.27.txt": "schlafli", "E7_56.7.56.txt": "e7", "E8roots.8.240.txt": "e8",
}


@dataclasses.dataclass(frozen=True)
class Record:
    """One (d, N) value: minimal angle (deg) and max cosine of N points on S^{d-1}.

    status: one of STATUSES; status_detail: the table's wording. source, exact: references.
    contact_pairs: pairs at the minimal angle in the file the value came from (None: value only).
    file: the coordinates this row was computed from ("construction:<name>" for the package's
    own constructions), or None. coordinate_sources: every source of coordinates for (d, N) that
    attains this record (within ATTAIN_TOL_DEG). tabulated: False for closed-form family records
    (d = 2, or N <= 2d outside the table).
    """

    d: int
    N: int
    min_angle_deg: float
    max_cos: float
    status: str
    status_detail: str
    source: str
    exact: str = ""
    contact_pairs: int | None = None
    file: str | None = None
    coordinate_sources: tuple[str, ...] = ()
    tabulated: bool = True

    @property
    def has_coordinates(self) -> bool:
        """True when coordinates attaining this record are available (`load_coordinates`)."""
        return bool(self.coordinate_sources)

    @property
    def proven_optimal(self) -> bool:
        return self.status == "proven optimal"

    def to_dict(self) -> dict:
        """JSON-safe dict of the fields, plus has_coordinates."""
        out = dataclasses.asdict(self)
        out["coordinate_sources"] = list(self.coordinate_sources)
        out["has_coordinates"] = self.has_coordinates
        return out


# ----------------------------------------------------------------------------- parsing
def normalize_status(raw: str) -> str:
    """Map the table's status wording onto STATUSES; ValueError on unknown wording."""
    s = raw.strip().lower()
    if s.startswith("proven optimal"):
        return "proven optimal"
    if s.startswith("claimed improvement"):
        return "claimed"
    if "value only" in s:
        return "value only"
    if s.startswith("best known"):
        return "best known"
    if s.startswith("kissing configuration"):
        return "unverified"
    raise ValueError(f"raw status {raw!r} is not a recognised table status")


def _data_dir():
    return resources.files(__package__).joinpath("data")


def _read_text(relpath: str) -> str:
    return _data_dir().joinpath(*relpath.split("/")).read_text(encoding="utf-8")


def _row_file(raw_file: str) -> str | None:
    raw_file = raw_file.strip()
    if not raw_file:
        return None
    if raw_file.startswith("constructed/"):
        return CONSTRUCTION_PREFIX + _CONSTRUCTED_FILES[raw_file.split("/", 1)[1]]
    return raw_file


def _parse_row(row: dict) -> Record:
    contacts = row["contact_pairs"].strip()
    return Record(
        d=int(row["d"]), N=int(row["N"]),
        min_angle_deg=float(row["min_angle_deg"]), max_cos=float(row["max_cos"]),
        status=normalize_status(row["status"]), status_detail=row["status"].strip(),
        source=row["source"].strip(), exact=row["exact"].strip(),
        contact_pairs=int(contacts) if contacts else None, file=_row_file(row["file"]),
    )


@functools.lru_cache(maxsize=1)
def _candidates_by_pair() -> dict[tuple[int, int], tuple[Record, ...]]:
    reader = csv.DictReader(_read_text("best_known_angles_detailed.csv").splitlines())
    grouped: dict[tuple[int, int], list[Record]] = {}
    for row in reader:
        rec = _parse_row(row)
        grouped.setdefault((rec.d, rec.N), []).append(rec)
    return {key: tuple(_with_sources(r, rows) for r in _rank(rows)) for key, rows in grouped.items()}


def _rank(rows: list[Record]) -> list[Record]:
    """Best first. The best is the largest angle, a tie (ANGLE_TIE_DEG) going to a row with
    coordinates; the rest follow by decreasing angle, unverified rows last."""
    verified = [r for r in rows if r.status != "unverified"] or rows
    top = max(r.min_angle_deg for r in verified)
    ties = [r for r in verified if r.min_angle_deg >= top - ANGLE_TIE_DEG]
    best = next((r for r in ties if r.file), ties[0])
    rest = sorted((r for r in rows if r is not best), key=lambda r: (r.status == "unverified", -r.min_angle_deg))
    return [best, *rest]


def _construction_source(d: int, N: int) -> str | None:
    name = construction_name(d, N)
    return None if name is None else CONSTRUCTION_PREFIX + name


def _with_sources(rec: Record, rows: list[Record]) -> Record:
    """Attach the coordinate sources (construction first, then files) that attain `rec`."""
    sources = []
    cons = _construction_source(rec.d, rec.N)
    if cons is not None:
        sources.append(cons)  # every registered construction attains the best-known value
    for r in sorted(rows, key=lambda r: -r.min_angle_deg):
        loadable = r.file and not r.file.startswith(CONSTRUCTION_PREFIX) and r.status != "unverified"
        if loadable and r.min_angle_deg >= rec.min_angle_deg - ATTAIN_TOL_DEG and r.file not in sources:
            sources.append(r.file)
    return dataclasses.replace(rec, coordinate_sources=tuple(sources))


def _family_record(d: int, N: int) -> Record | None:
    """Closed-form proven optimum for pairs outside the table (d = 2 polygons, N <= 2d), else None."""
    if N <= d + 1:
        cos, what = -1.0 / (N - 1), f"regular simplex, cos = -1/{N - 1}"
    elif N <= 2 * d:
        cos, what = 0.0, "subset of the cross-polytope, 90 deg (Rankin 1955)"
    elif d == 2:
        cos, what = math.cos(2.0 * math.pi / N), f"regular {N}-gon, 360/{N} deg"
    else:
        return None
    angle = 360.0 / N if d == 2 and N > 3 else math.degrees(math.acos(cos))
    return Record(d=d, N=N, min_angle_deg=angle, max_cos=cos, status="proven optimal",
                  status_detail="proven optimal (closed-form family)", source=f"closed form: {what}",
                  exact=what, file=_construction_source(d, N),
                  coordinate_sources=(_construction_source(d, N),), tabulated=False)


@functools.lru_cache(maxsize=1)
def _best_by_pair() -> dict[tuple[int, int], Record]:
    """The best verified row per pair; pairs with only unverified rows (5/40) are left out."""
    return {key: rows[0] for key, rows in sorted(_candidates_by_pair().items())
            if rows[0].status != "unverified"}


# ----------------------------------------------------------------------------- public API
def tabulated_pairs() -> list[tuple[int, int]]:
    """Sorted list of the (d, N) pairs in the best-known table (480 pairs)."""
    return list(_best_by_pair())


def candidates(d: int, N: int) -> tuple[Record, ...]:
    """Every table row for (d, N), best first (superseded and unverified rows included); () if none."""
    return _candidates_by_pair().get((check_dim(d), check_count(N)), ())


def best_known(d: int, N: int) -> Record | None:
    """Best-known (largest) minimal angle for N points on S^{d-1}.

    Returns the table record when (d, N) is tabulated; otherwise the closed-form proven optimum
    when one applies to every d (regular simplex for N <= d+1, 90 deg for d+2 <= N <= 2d, the
    regular N-gon for d = 2), with `tabulated=False`; otherwise None (nothing known here).
    """
    d, N = check_dim(d), check_count(N)
    record = _best_by_pair().get((d, N))
    return record if record is not None else _family_record(d, N)


@dataclasses.dataclass(frozen=True)
class Floor:
    """A lower bound on the optimal minimal angle of N points on S^{d-1}: a known code in dimension d' <= d with N'
    >= N points has minimal angle ``angle_deg`` (dropping points and embedding keep it). ``source`` names the code."""

    d: int
    N: int
    angle_deg: float
    source: str


# root systems beyond the table's rows: (native d, points, minimal angle, name); D_d for every d >= 3 is added below
_ROOT_CODES = ((7, 126, 60.0, "E7 roots (126 points, construction e7_roots)"),)


def known_floor(d: int, N: int) -> Floor:
    """The largest minimal angle of any code known here with at least N points in dimension <= d: the best-known
    table rows (d' <= d, N' >= N), the closed-form families at (d, N) itself (best_known), the D_d' roots (2d'(d'-1)
    points, 60 deg) and the E7 roots (126 points, 60 deg), and the regular N-gon (360/N deg). The optimum for (d, N)
    is at least this, so a solve below it fell short. For comparison only: nothing here starts a solve."""
    d, N = check_dim(d), check_count(N)
    if d == 1:  # S^0 holds two points
        return Floor(d, N, 180.0 if N == 2 else 0.0, "antipodal pair" if N == 2 else "none")
    best = Floor(d, N, 360.0 / N, f"regular {N}-gon")
    options = [(r.min_angle_deg, f"table ({r.d}, {r.N}), {r.status}") for (dd, nn), r in _best_by_pair().items()
               if dd <= d and nn >= N]
    own = best_known(d, N)
    if own is not None:
        options.append((own.min_angle_deg, f"({d}, {N}), {own.status}"))
    options += [(60.0, f"D{dd} roots ({2 * dd * (dd - 1)} points)") for dd in range(3, d + 1)
                if 2 * dd * (dd - 1) >= N]
    options += [(a, name) for dd, nn, a, name in _ROOT_CODES if dd <= d and nn >= N]
    for angle, source in options:
        if angle > best.angle_deg + ANGLE_TIE_DEG:
            best = Floor(d, N, angle, source)
    return best


def best_known_table() -> list[Record]:
    """All tabulated best-known records (one per (d, N), 480), sorted by (d, N)."""
    return list(_best_by_pair().values())


def best_known_columns() -> dict[str, list]:
    """The best-known table as a dict of equal-length lists (pandas-free; feed to DataFrame)."""
    dicts = [r.to_dict() for r in best_known_table()]
    return {key: [row[key] for row in dicts] for key in dicts[0]}


def coordinate_sources(d: int, N: int) -> tuple[str, ...]:
    """Every coordinate source for (d, N), best first: "construction:<name>" or a data-file path.

    Unlike `Record.coordinate_sources`, this includes sources that fall short of the record
    (e.g. (3, 124), whose staged file gives 18.9514 deg against the table's 18.9539 deg).
    """
    d, N = check_dim(d), check_count(N)
    sources = []
    cons = _construction_source(d, N)
    if cons is not None:
        sources.append(cons)
    for rec in _candidates_by_pair().get((d, N), ()):
        if rec.file and rec.file not in sources and rec.status != "unverified":
            sources.append(rec.file)
    return tuple(sources)


def load_coordinates(d: int, N: int, source: str | None = None) -> np.ndarray:
    """Coordinates of a code of N points on S^{d-1}: float64 (N, d), rows normalised.

    source: one of `coordinate_sources(d, N)`; default the first (an exact construction when one
    exists, else the staged file with the largest angle). ValueError if none is available.
    """
    d, N = check_dim(d), check_count(N)
    available = coordinate_sources(d, N)
    if not available:
        raise ValueError(f"(d, N) = ({d}, {N}): no coordinates available")
    if source is None:
        source = available[0]
    elif source not in available:
        raise ValueError(f"source {source!r} is not available for (d, N) = ({d}, {N}); choose from {available}")
    if source.startswith(CONSTRUCTION_PREFIX):
        return known_code((d, N))  # the only construction source is construction_name(d, N)
    return read_points_file(source, d, N)


# ----------------------------------------------------------------------------- file formats
def _numbers_from_text(text: str) -> list[float]:
    """All numbers of a whitespace/comma separated text, skipping lines that are not all numeric
    (Sloane's trailer lines such as 'min angle = ...' or 'date: ...')."""
    values: list[float] = []
    for line in text.splitlines():
        tokens = line.replace(",", " ").split()
        try:
            values.extend(float(t) for t in tokens)
        except ValueError:
            continue
    return values


def parse_points_text(text: str, d: int, N: int) -> np.ndarray:
    """Parse a Sloane / Cohn coordinate text into normalised float64 (N, d) rows.

    Accepts N*d numbers in any line layout (one per line, d per line, comma separated) and a
    leading header "d N k" (integer-scaled files such as Sloane's pack.3.124.txt).
    """
    d, N = check_dim(d), check_count(N)
    values = _numbers_from_text(text)
    if len(values) == N * d + 3 and (values[0], values[1]) == (d, N):
        values = values[3:]
    if len(values) != N * d:
        raise ValueError(f"text holds {len(values)} numbers, expected N*d = {N * d}")
    return _normalised(np.asarray(values, dtype=np.float64).reshape(N, d))


def _normalised(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def read_points_file(relpath: str, d: int, N: int) -> np.ndarray:
    """Read a shipped coordinate file (path relative to the data folder) as normalised (N, d)."""
    if relpath.endswith(".json"):
        blob = json.loads(_read_text(relpath))
        x = np.asarray(blob["vectors"], dtype=np.float64)
        if x.shape != (N, d) or (blob.get("N"), blob.get("n")) != (N, d):
            raise ValueError(f"relpath {relpath!r} holds shape {x.shape}, expected ({N}, {d})")
        return _normalised(x)
    return parse_points_text(_read_text(relpath), d, N)
