"""Tests for gnc_jax.codes: reference tables, exact constructions, proven bounds, comparison."""
from __future__ import annotations

import csv
import hashlib
import json
import math
import zlib
from importlib import resources

import chex
import numpy as np
import pytest

import gnc_jax.codes as codes
from gnc_jax.codes import bounds, tables

COS_TOL = 1e-9
DATA = resources.files("gnc_jax.codes").joinpath("data")


def _deg(cos: float) -> float:
    return math.degrees(math.acos(cos))


def _random_rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def _max_cos_raw(x: np.ndarray) -> float:
    g = x @ x.T
    return float(g[np.triu_indices(len(x), 1)].max())


# ----------------------------------------------------------------------------- tables
def test_table_has_480_pairs_with_valid_rows():
    table = codes.best_known_table()
    pairs = [(r.d, r.N) for r in table]
    assert len(pairs) == len(set(pairs)) == 480
    assert pairs == codes.tabulated_pairs()
    for r in table:
        assert 0.0 < r.min_angle_deg <= 180.0
        assert r.status in codes.STATUSES and r.status != "unverified"
        assert abs(math.cos(math.radians(r.min_angle_deg)) - r.max_cos) < COS_TOL
        assert r.tabulated and r.source
    by_d = {}
    for d, n in pairs:
        by_d.setdefault(d, []).append(n)
    assert by_d[3] == list(range(2, 131))
    assert by_d[4] == [2, 3, 4, 5, 6, 7, 8, 10, 24, 120]
    assert by_d[5] == list(range(2, 11)) + [16, 41, 42, 43, 44]
    assert by_d[24] == [196560]
    assert sum(r.status == "proven optimal" for r in table) == 268


def test_best_rows_reproduce_summary_csv():
    text = DATA.joinpath("best_known_angles.csv").read_text(encoding="utf-8")
    summary = {(int(r["d"]), int(r["N"])): r for r in csv.DictReader(text.splitlines())}
    assert len(summary) == 480
    for rec in codes.best_known_table():
        row = summary[(rec.d, rec.N)]
        assert float(row["min_angle_deg"]) == rec.min_angle_deg
        assert row["source"] == f"{rec.source} [{rec.status_detail}]"


def test_every_detailed_row_parses_and_ranks_best_first():
    text = DATA.joinpath("best_known_angles_detailed.csv").read_text(encoding="utf-8")
    raw = list(csv.DictReader(text.splitlines()))
    assert len(raw) == 497
    assert sum(len(codes.candidates(int(r["d"]), int(r["N"]))) for r in raw) >= 497
    for d, n in codes.tabulated_pairs():
        rows = codes.candidates(d, n)
        assert rows[0] == codes.best_known(d, n)
        assert all(rows[0].min_angle_deg >= r.min_angle_deg - 1e-9 for r in rows)


def test_status_normalisation_and_special_rows():
    assert codes.normalize_status("proven optimal (sharp configuration)") == "proven optimal"
    assert codes.normalize_status("best known (value only, Cohn table)") == "value only"
    with pytest.raises(ValueError, match="raw"):
        codes.normalize_status("rumoured")
    # 6/86: the claimed improvement beats Cohn's table value, which is kept as a candidate
    rows = codes.candidates(6, 86)
    assert [r.status for r in rows] == ["claimed", "value only"]
    assert rows[0].min_angle_deg > rows[1].min_angle_deg
    # 3/124: value-only record; the staged file falls short of it
    rec = codes.best_known(3, 124)
    assert rec.status == "value only" and not rec.has_coordinates
    assert codes.coordinate_sources(3, 124) == ("sloane_dim3/pack.3.124.txt",)
    # 3/5: the exact 90 deg wins over Sloane's 89.99999996 deg; both coordinate sources attain it
    rec = codes.best_known(3, 5)
    assert rec.min_angle_deg == 90.0 and rec.max_cos == 0.0
    assert rec.coordinate_sources == ("construction:cross-polytope", "sloane_dim3/pack.3.5.txt")
    # 5/40 (D5 kissing configuration): unverified, so not a record
    assert codes.best_known(5, 40) is None
    assert codes.candidates(5, 40)[0].status == "unverified"
    assert codes.best_known(4, 24).status == "best known"
    assert codes.best_known(3, 15).status == "best known"


def test_family_records_outside_table():
    rec = codes.best_known(2, 7)
    assert not rec.tabulated and rec.status == "proven optimal"
    assert rec.min_angle_deg == pytest.approx(360 / 7, abs=1e-12)
    rec = codes.best_known(30, 31)
    assert rec.max_cos == pytest.approx(-1 / 30, abs=1e-15)
    assert codes.best_known(40, 70).min_angle_deg == 90.0
    assert codes.best_known(9, 100) is None
    assert codes.best_known(1, 2).min_angle_deg == 180.0
    assert codes.best_known(1, 3) is None


def test_columns_and_record_dicts_are_json_safe():
    cols = codes.best_known_columns()
    assert len(cols["d"]) == 480 and set(cols) >= {"d", "N", "min_angle_deg", "status", "has_coordinates"}
    json.dumps(cols)
    assert sum(cols["has_coordinates"]) == 385


def test_shipped_data_checksums():
    lines = DATA.joinpath("SHA256SUMS").read_text().split("\n")
    entries = [line.split(None, 1) for line in lines if line.strip()]
    assert len(entries) == 133
    for digest, path in entries:
        blob = DATA.joinpath(*path.strip().split("/")).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == digest, path
    assert "Sloane" in DATA.joinpath("NOTICE.md").read_text(encoding="utf-8")
    assert DATA.joinpath("MANIFEST.md").is_file()


def _staged_rows():
    out = []
    for d, n in codes.tabulated_pairs() + [(5, 40)]:
        out += [r for r in codes.candidates(d, n)
                if r.file and not r.file.startswith(tables.CONSTRUCTION_PREFIX)]
    return out


STAGED = _staged_rows()


def test_staged_files_reproduce_their_table_rows():
    assert len(STAGED) == 131  # 127 Sloane d=3, 600-cell, Cohn 5/41, two claimed 6/86 6/98
    for row in STAGED:
        x = codes.load_coordinates(row.d, row.N, row.file)
        chex.assert_shape(x, (row.N, row.d))
        assert x.dtype == np.float64
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-14)
        assert abs(_max_cos_raw(x) - row.max_cos) < COS_TOL, row.file


def test_record_coordinate_sources_attain_the_record():
    for rec in codes.best_known_table():
        assert set(rec.coordinate_sources) <= set(codes.coordinate_sources(rec.d, rec.N))
        for source in rec.coordinate_sources:
            x = codes.load_coordinates(rec.d, rec.N, source)
            assert codes.min_angle_deg(x) >= rec.min_angle_deg - 1e-7, (rec.d, rec.N, source)


def test_parser_handles_sloane_layouts():
    pts = codes.icosahedron()[:4]
    one_per_line = "\n".join(f"{v:.15e}" for v in pts.ravel())
    trailer = "\n".join(" ".join(f"{v: .12E}" for v in row) for row in pts) + \
        "\n  min angle = 1.0E+1 between 1, 2\ndate: Apr 3 1990\n"
    header_int = "3 4 1\n" + "\n".join(str(int(round(v * 2**30))) for v in pts.ravel())
    comma = "\n".join(",".join(repr(float(v)) for v in row) for row in pts)
    for text in (one_per_line, trailer, header_int, comma):
        chex.assert_trees_all_close(codes.parse_points_text(text, 3, 4), pts, atol=1e-9)
    with pytest.raises(ValueError, match="text"):
        codes.parse_points_text(one_per_line, 3, 5)


# ----------------------------------------------------------------------------- constructions
FIXED = {  # name: (d, N, exact max cosine)
    "icosahedron": (3, 12, 1 / math.sqrt(5)),
    "24-cell": (4, 24, 0.5),
    "600-cell": (4, 120, (1 + math.sqrt(5)) / 4),
    "petersen": (4, 10, 1 / 6),
    "hemicube": (5, 16, 1 / 5),
    "schlafli": (6, 27, 1 / 4),
    "e7": (7, 56, 1 / 3),
    "e8": (8, 240, 0.5),
}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_constructions_exact_and_match_table(name):
    d, n, cos = FIXED[name]
    x = codes.known_code(name)
    chex.assert_shape(x, (n, d))
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-15)
    assert abs(_max_cos_raw(x) - cos) < 1e-14
    assert len(np.unique(np.round(x, 9), axis=0)) == n
    rec = codes.best_known(d, n)
    assert abs(_max_cos_raw(x) - rec.max_cos) < COS_TOL
    assert codes.construction_name(d, n) == name


def test_named_angles():
    assert codes.min_angle_deg(codes.icosahedron()) == pytest.approx(63.4349488229, abs=1e-9)
    assert codes.min_angle_deg(codes.cell600()) == pytest.approx(36.0, abs=1e-10)
    assert codes.min_angle_deg(codes.e8_roots()) == pytest.approx(60.0, abs=1e-10)
    assert codes.min_angle_deg(codes.cross_polytope(7)) == pytest.approx(90.0, abs=1e-12)
    assert codes.min_angle_deg(codes.regular_polygon(9)) == pytest.approx(40.0, abs=1e-10)
    assert codes.min_angle_deg(codes.regular_simplex(6)) == pytest.approx(_deg(-1 / 5), abs=1e-10)
    assert codes.min_angle_deg(codes.hemicube_5_16()) == pytest.approx(_deg(1 / 5), abs=1e-10)
    assert codes.min_angle_deg(codes.petersen_4_10()) == pytest.approx(80.4059317731, abs=1e-9)


def test_every_constructible_table_pair_matches():
    count = 0
    for rec in codes.best_known_table():
        if codes.construction_name(rec.d, rec.N) is None:
            continue
        x = codes.known_code((rec.d, rec.N))
        chex.assert_shape(x, (rec.N, rec.d))
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-14)
        assert abs(_max_cos_raw(x) - rec.max_cos) < COS_TOL, (rec.d, rec.N)
        np.testing.assert_array_equal(codes.load_coordinates(rec.d, rec.N), x)
        count += 1
    assert count == 247 + 6 + 7  # d>=4 families; d=3 N=2..6 and 12; (4,10) (4,24) (4,120) (5,16) (6,27) (7,56) (8,240)


def test_e7_roots_are_the_126_point_kissing_configuration():
    x = codes.e7_roots()
    assert x.shape == (126, 7) and np.linalg.matrix_rank(x) == 7
    G = x @ x.T
    np.testing.assert_allclose(np.diag(G), 1.0, atol=1e-14)
    off = G[~np.eye(126, dtype=bool)]
    np.testing.assert_allclose(off, np.round(off * 2) / 2, atol=1e-12)  # cosines in {0, +-1/2, -1}
    assert np.sum(np.isclose(off, 0.5)) == 126 * 32  # each root meets 32 others at 60 deg (E7's kissing graph)
    assert codes.min_angle_deg(x) == pytest.approx(60.0, abs=1e-9)
    np.testing.assert_allclose(x.sum(axis=0), 0.0, atol=1e-12)  # centrally symmetric


def test_known_floor_is_the_best_code_with_at_least_N_points():
    f = codes.known_floor(7, 113)  # no table row: the E7 roots (126 points, 60 deg) bound it
    assert (f.angle_deg, f.source.startswith("E7 roots")) == (60.0, True)
    assert codes.known_floor(7, 127).angle_deg < 60.0  # beyond 126 the E7 roots do not help
    assert codes.known_floor(8, 200).angle_deg == pytest.approx(60.0, abs=1e-9)  # E8 roots, a table row
    assert codes.known_floor(8, 241).angle_deg == pytest.approx(codes.best_known(8, 283).min_angle_deg)
    assert codes.known_floor(5, 33).angle_deg == 60.0 and "D5" in codes.known_floor(5, 33).source
    assert codes.known_floor(3, 5).angle_deg == pytest.approx(90.0)  # the family record at (d, N) itself
    assert codes.known_floor(3, 100).angle_deg == pytest.approx(codes.best_known(3, 100).min_angle_deg)
    assert codes.known_floor(2, 7).angle_deg == pytest.approx(360 / 7)
    assert codes.known_floor(1, 2).angle_deg == 180.0
    # compare() reports it: 113 of the E7 roots sit on it, 113 random points in d = 7 lie below it
    on = codes.compare(codes.e7_roots()[:113], check_congruence=False)
    assert on.record is None and on.floor.angle_deg == 60.0 and not on.below_floor and "floor" in on.summary()
    x = np.random.default_rng(0).normal(size=(113, 7))
    off = codes.compare(x, check_congruence=False)
    assert off.below_floor and "BELOW" in off.summary() and json.loads(json.dumps(off.to_dict()))["floor"]["N"] == 113
    for d, N in [(3, 20), (4, 24), (5, 16), (7, 56), (8, 51)]:  # never below the record at (d, N) itself; non-increasing in N
        assert codes.known_floor(d, N).angle_deg >= codes.best_known(d, N).min_angle_deg - 1e-9
        assert codes.known_floor(d, N + 1).angle_deg <= codes.known_floor(d, N).angle_deg


def test_simplex_gram_and_embedding():
    for n in (2, 3, 5, 11):
        x = codes.regular_simplex(n, d=n + 2)
        chex.assert_shape(x, (n, n + 2))
        expected = (n / (n - 1)) * (np.eye(n) - np.ones((n, n)) / n)
        chex.assert_trees_all_close(x @ x.T, expected, atol=1e-14)
    chex.assert_shape(codes.cross_polytope_subset(5, 8), (8, 5))
    chex.assert_shape(codes.dn_roots(5), (40, 5))


def test_registry_aliases_and_pairs():
    assert set(codes.KNOWN_CODE_NAMES) >= {"simplex", "cross-polytope", "polygon", "icosahedron",
                                            "24-cell", "600-cell", "petersen", "hemicube",
                                            "schlafli", "e7", "e8"}
    np.testing.assert_array_equal(codes.known_code("Cell600"), codes.cell600())
    np.testing.assert_array_equal(codes.known_code("orthoplex", d=3), codes.cross_polytope(3))
    chex.assert_shape(codes.known_code("simplex", N=4, d=6), (4, 6))
    chex.assert_shape(codes.known_code("polygon", N=5), (5, 2))
    chex.assert_shape(codes.known_code("e8", d=10), (240, 10))
    chex.assert_shape(codes.known_code((9, 14)), (14, 9))
    assert codes.construction_name(3, 13) is None
    assert codes.construction_name(2, 9) == "polygon"


# ----------------------------------------------------------------------------- bounds
def test_bounds_dominate_every_table_row():
    for rec in codes.best_known_table():
        ub = codes.upper_bound(rec.d, rec.N)
        assert ub.angle_deg - rec.min_angle_deg >= -1e-9, (rec.d, rec.N)
        assert rec.max_cos - ub.max_cos >= -COS_TOL, (rec.d, rec.N)
        for name, angle in ub.candidates.items():
            assert angle - rec.min_angle_deg >= -1e-9, (rec.d, rec.N, name)


TIGHT = [(3, 12), (5, 16), (6, 27), (7, 56), (8, 240), (24, 196560)]
NOT_TIGHT = [(3, 13), (3, 24), (4, 10), (4, 24), (4, 120), (5, 41)]


def test_bounds_tight_where_theory_says():
    for d, n in TIGHT:
        rec, ub = codes.best_known(d, n), codes.upper_bound(d, n)
        assert abs(ub.angle_deg - rec.min_angle_deg) < 1e-9, (d, n)
        assert abs(ub.candidates["levenshtein"] - rec.min_angle_deg) < 1e-9, (d, n)
    assert codes.upper_bound_angle_deg(8, 240) == (pytest.approx(60.0, abs=1e-12), "levenshtein")
    for d, n in NOT_TIGHT:
        assert codes.upper_bound(d, n).angle_deg - codes.best_known(d, n).min_angle_deg > 1e-3
    # N <= 2d: Rankin (simplex / 90 deg) is attained; d = 2: Levenshtein gives the polygon
    for d in (3, 4, 9, 16):
        for n in range(2, 2 * d + 1):
            angle, name = codes.upper_bound_angle_deg(d, n)
            assert name == "rankin" and abs(angle - codes.best_known(d, n).min_angle_deg) < 1e-9
    for n in range(3, 40):
        assert codes.upper_bound(2, n).angle_deg == pytest.approx(360 / n, abs=1e-9)
    # a record that meets a bound must be a proven optimum
    for rec in codes.best_known_table():
        if codes.upper_bound(rec.d, rec.N).angle_deg - rec.min_angle_deg < 1e-9:
            assert rec.status == "proven optimal", (rec.d, rec.N)


def test_levenshtein_closed_form_values():
    sharp = [(8, 1 / 2, 240), (24, 1 / 2, 196560), (7, 1 / 3, 56), (6, 1 / 4, 27), (5, 1 / 5, 16),
             (3, 1 / math.sqrt(5), 12), (21, 1 / 9, 112), (22, 1 / 11, 100), (23, 1 / 5, 552),
             (23, 1 / 3, 4600), (22, 1 / 4, 891)]
    for d, s, n in sharp:
        assert codes.levenshtein_bound_size(d, s) == pytest.approx(n, rel=1e-12)
        assert codes.levenshtein_max_cos(d, n) == pytest.approx(s, abs=1e-12)
    for d in (2, 3, 7, 16):
        assert codes.levenshtein_bound_size(d, -1 / d) == pytest.approx(d + 1, rel=1e-12)
        assert codes.levenshtein_bound_size(d, 0.0) == pytest.approx(2 * d, rel=1e-12)
        assert codes.levenshtein_bound_size(d, -1.0) == pytest.approx(2.0, rel=1e-12)
        s = np.linspace(-1, 0.99, 300)
        assert np.all(np.diff([codes.levenshtein_bound_size(d, v) for v in s]) > 0)
    # the 600-cell is optimal, but not by Levenshtein's bound
    assert codes.levenshtein_bound_size(4, (1 + math.sqrt(5)) / 4) == pytest.approx(121.6737620787, abs=1e-6)


def test_fejes_toth_tight_cases():
    for n, cos in [(3, -0.5), (4, -1 / 3), (6, 0.0), (12, 1 / math.sqrt(5))]:
        assert codes.fejes_toth_bound_deg(n) == pytest.approx(_deg(cos), abs=1e-10)
    assert codes.upper_bound(3, 130).bound == "fejes-toth"


# ----------------------------------------------------------------------------- compare
CONGRUENCE_CASES = [("icosahedron", None), ("24-cell", None), ("petersen", None), ("schlafli", None),
                    ("e8", None), ("simplex", (7, 5)), ("cross-polytope", (4, 7)),
                    ("sloane_dim3/pack.3.13.txt", (3, 13)), ("cohn/5_41.csv", (5, 41))]


@pytest.mark.parametrize("name,pair", CONGRUENCE_CASES)
def test_compare_recognises_rotated_permuted_codes(name, pair):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if pair is None:
        x = codes.known_code(name)
    else:
        x = codes.load_coordinates(*pair, None if ":" in name or "/" not in name else name)
    n, d = x.shape
    y = (x @ _random_rotation(d, rng))[rng.permutation(n)] * rng.uniform(0.5, 2.0, size=(n, 1))
    res = codes.compare(y)
    rec = codes.best_known(d, n)
    assert (res.d, res.N) == (d, n)
    assert abs(res.gap_cos) < COS_TOL and abs(res.gap_deg) < 1e-7
    assert res.matched and not res.better_than_record and not res.exceeds_bound
    assert res.congruent_to == name
    if rec.contact_pairs is not None:
        assert res.contacts >= rec.contact_pairs
    json.dumps(res.to_dict())
    assert "congruent" in str(res) and name in res.summary()


def test_compare_perturbed_code_has_positive_gap():
    rng = np.random.default_rng(7)
    x = codes.icosahedron() + 1e-3 * rng.normal(size=(12, 3))
    res = codes.compare(x)
    assert res.gap_deg > 1e-3 and res.gap_cos > 0
    assert not res.matched and not res.better_than_record
    assert res.congruent_to is None
    assert res.record_meets_bound and res.bound_gap_deg > 0
    assert not codes.congruent(x, codes.icosahedron())


def test_compare_contacts_and_bound_flags():
    res = codes.compare(codes.e8_roots())
    assert res.contacts == 6720 and res.record_meets_bound and res.bound == "levenshtein"
    res = codes.compare(codes.cell600(), check_congruence=False)
    assert res.contacts == 720 and res.record_meets_bound is False and res.congruent_to is None
    res = codes.compare(codes.load_coordinates(3, 124))
    assert res.gap_deg == pytest.approx(18.9539116 - 18.9513993, abs=1e-6)
    res = codes.compare(np.random.default_rng(0).normal(size=(30, 9)))
    assert res.record is None and res.gap_deg is None and res.matched is None
    json.dumps(res.to_dict())


def test_congruence_distinguishes_same_size_codes():
    # 12 points in R^3: icosahedron vs cuboctahedron (D3 roots) differ
    assert not codes.congruent(codes.icosahedron(), codes.dn_roots(3))
    # the simplex embedded anywhere is congruent to itself
    assert codes.congruent(codes.regular_simplex(4), codes.regular_simplex(4, d=9))


def test_batched_measurements_and_compare_many():
    stack = np.stack([codes.icosahedron(), codes.load_coordinates(3, 12, "sloane_dim3/pack.3.12.txt")])
    chex.assert_shape(codes.max_cos(stack), (2,))
    chex.assert_trees_all_close(codes.min_angle_deg(stack), np.full(2, 63.4349488229), atol=1e-8)
    results = codes.compare_many(stack)
    assert [r.congruent_to for r in results] == ["icosahedron", "icosahedron"]


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,arg", [
    (lambda: codes.best_known(0, 5), "d"),
    (lambda: codes.best_known(3, 1), "N"),
    (lambda: codes.best_known(3.0, 4), "d"),
    (lambda: codes.best_known(True, 4), "d"),
    (lambda: codes.load_coordinates(9, 100), "no coordinates"),
    (lambda: codes.load_coordinates(3, 13, "cohn/5_41.csv"), "source"),
    (lambda: codes.regular_simplex(5, d=2), "d"),
    (lambda: codes.regular_simplex(1), "N"),
    (lambda: codes.cross_polytope(0), "d"),
    (lambda: codes.cross_polytope_subset(3, 4), "N"),
    (lambda: codes.regular_polygon(1), "N"),
    (lambda: codes.known_code("dodecahedron"), "name"),
    (lambda: codes.known_code("simplex"), "N"),
    (lambda: codes.known_code("e8", N=10), "N"),
    (lambda: codes.known_code((3, 13)), "key"),
    (lambda: codes.known_floor(0, 3), "d"),
    (lambda: codes.known_floor(3, 1), "N"),
    (lambda: codes.upper_bound(0, 3), "d"),
    (lambda: codes.upper_bound(3, 0), "N"),
    (lambda: codes.levenshtein_bound_size(3, 1.0), "s"),
    (lambda: codes.fejes_toth_bound_deg(2), "N"),
    (lambda: codes.compare(np.ones(3)), "points"),
    (lambda: codes.compare(np.ones((1, 3))), "points"),
    (lambda: codes.compare(np.full((4, 3), np.nan)), "points"),
    (lambda: codes.compare(np.zeros((4, 3))), "points"),
    (lambda: codes.compare(codes.icosahedron(), tol_deg=-1.0), "tol_deg"),
    (lambda: codes.max_cos(np.ones((1, 3))), "points"),
])
def test_bad_input_raises_value_error_naming_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


def test_record_gap_deg_signs_and_missing_records():
    from gnc_jax.codes import best_known, record_gap_deg

    rec = best_known(3, 24).min_angle_deg  # 43.6907671 deg, the snub cube
    assert record_gap_deg(3, 24, rec - 0.01) == pytest.approx(0.01, abs=1e-12)   # short of the record
    assert record_gap_deg(3, 24, rec + 1e-5) == pytest.approx(-1e-5, abs=1e-12)  # beyond it
    assert math.isnan(record_gap_deg(4, 9, 80.0))  # (4, 9): nothing tabulated
