"""Known spherical codes for comparison: best-known tables, exact constructions, proven bounds.

Host-side numpy float64 throughout. Nothing here initialises or seeds a solver: the tables and
constructions exist to judge solver output (`compare`). Data provenance: `data/NOTICE.md`.
"""
from .bounds import (
    BOUND_NAMES,
    AngleBound,
    fejes_toth_bound_deg,
    levenshtein_bound_deg,
    levenshtein_bound_size,
    levenshtein_max_cos,
    rankin_bound_deg,
    upper_bound,
    upper_bound_angle_deg,
)
from .compare import (
    Comparison,
    compare,
    compare_many,
    congruent,
    congruent_known_code,
    max_cos,
    min_angle_deg,
    record_gap_deg,
)
from .constructions import (
    KNOWN_CODE_NAMES,
    canonical_code_name,
    cell24,
    cell600,
    construction_name,
    cross_polytope,
    cross_polytope_subset,
    dn_roots,
    e7_7_56,
    e7_roots,
    e8_roots,
    hemicube_5_16,
    icosahedron,
    known_code,
    petersen_4_10,
    regular_polygon,
    regular_simplex,
    schlafli_6_27,
)
from .tables import (
    STATUSES,
    Floor,
    Record,
    best_known,
    best_known_columns,
    best_known_table,
    known_floor,
    candidates,
    coordinate_sources,
    load_coordinates,
    normalize_status,
    parse_points_text,
    tabulated_pairs,
)

__all__ = [
    # tables
    "STATUSES", "Record", "Floor", "best_known", "known_floor", "best_known_table", "best_known_columns", "candidates",
    "tabulated_pairs", "coordinate_sources", "load_coordinates", "normalize_status",
    "parse_points_text",
    # constructions
    "KNOWN_CODE_NAMES", "known_code", "canonical_code_name", "construction_name",
    "regular_simplex", "cross_polytope", "cross_polytope_subset", "regular_polygon", "dn_roots",
    "icosahedron", "cell24", "cell600", "petersen_4_10", "hemicube_5_16", "schlafli_6_27",
    "e7_7_56", "e7_roots", "e8_roots",
    # bounds
    "BOUND_NAMES", "AngleBound", "upper_bound", "upper_bound_angle_deg", "rankin_bound_deg",
    "fejes_toth_bound_deg", "levenshtein_bound_deg", "levenshtein_bound_size", "levenshtein_max_cos",
    # comparison
    "Comparison", "compare", "compare_many", "congruent", "congruent_known_code", "max_cos",
    "min_angle_deg", "record_gap_deg",
]
