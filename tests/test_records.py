"""Records pipeline, refinement under vmap with masks, softmax-code closed forms, codes CLI.

Shapes are shared where possible (Tammes buckets of 8 and 16 rows in d = 3) to keep compiles few.
"""
import json

import numpy as np
import pytest
from conftest import cross_polytope, icosahedron, polygon, random_rotation

import gnc_jax
from gnc_jax.cli import main
from gnc_jax.codes import cell24, e7_roots, min_angle_deg
from gnc_jax.codes.records import (HOP_MOVES, RecordRow, deepest_hole, distinct_holes, grown_codes, hop_move_table,
                                   neighbor_starts, parse_cells, parse_range, perturb, pick_distinct, polish_holes,
                                   relocate_points, run_records, search_code, search_codes, solve_record,
                                   start_temperatures, thinned_codes)
from gnc_jax.solvers.base import Status
from gnc_jax.solvers.refine import FAST_KW, refine_problem, refine_softmax_code, refine_tammes


def _jitter(x, scale, seed):
    y = x + scale * np.random.default_rng(seed).standard_normal(x.shape)
    return y / np.linalg.norm(y, axis=1, keepdims=True)


def _pad(x, rows):
    out = np.zeros((rows, x.shape[1]))
    out[: len(x)] = x
    return out


# ------------------------------------------------------------------------------------- refinement
def test_refine_tammes_under_vmap_with_masks_keeps_padding_zero_and_never_worsens():
    rng = np.random.default_rng(3)
    counts = (5, 6, 8)
    W = np.zeros((3, 8, 3))
    for b, n in enumerate(counts):
        x = rng.standard_normal((n, 3))
        W[b, :n] = x / np.linalg.norm(x, axis=1, keepdims=True)
    mask = (np.arange(8)[None] < np.asarray(counts)[:, None]).astype(float)
    res = refine_tammes(W, mask)
    out = np.asarray(res.W)
    for b, n in enumerate(counts):
        assert np.all(out[b, n:] == 0.0)
        np.testing.assert_allclose(np.linalg.norm(out[b, :n], axis=1), 1.0, atol=1e-12)
        assert min_angle_deg(out[b, :n]) >= min_angle_deg(W[b, :n]) - 1e-12
    # closed forms: 5 and 6 points -> 90 deg, 8 points -> the square antiprism 74.8584922 deg
    np.testing.assert_allclose(np.asarray(res.min_angle_deg), [90.0, 90.0, 74.8584922], atol=1e-6)


def test_refinement_in_chunks_matches_the_unchunked_one_with_one_compiled_shape(monkeypatch):
    """chunk_size splits the batch (last chunk padded with copies, every chunk one shape): the same results."""
    from gnc_jax.solvers import refine as R

    rng = np.random.default_rng(5)
    counts = (5, 7, 8, 6, 8)
    W = np.zeros((5, 8, 3))
    for b, n in enumerate(counts):
        W[b, :n] = rng.standard_normal((n, 3))
    mask = (np.arange(8)[None] < np.asarray(counts)[:, None]).astype(float)
    H = np.asarray(R.default_features(W / np.maximum(np.linalg.norm(W, axis=-1, keepdims=True), 1e-300), mask))
    shapes = []
    for name in ("_tammes_batch", "_softmax_batch"):
        orig = getattr(R, name)
        monkeypatch.setattr(R, name, lambda *a, _f=orig: shapes.append(a[0].shape) or _f(*a))
    for problem, point, kw in (("tammes", {"W": W}, {}), ("softmax-code", {"W": W, "H": H}, FAST_KW)):
        whole = R.refine_problem(problem, point, mask, **kw)
        shapes.clear()
        parts = R.refine_problem(problem, point, mask, chunk_size=2, **kw)
        assert shapes == [(2, 8, 3)] * 3
        assert np.asarray(parts.W).shape == (5, 8, 3)
        # the Newton polish rounds differently per batch shape; at the 5 points' non-isolated 90 deg optimum it can
        # wander off after its best iterate (measured on one CPU), which must still end CONVERGED like the other shape
        np.testing.assert_array_equal(np.asarray(parts.status), np.asarray(whole.status))
        np.testing.assert_allclose(np.asarray(parts.value), np.asarray(whole.value), rtol=0, atol=1e-10)
        np.testing.assert_allclose(np.asarray(parts.W), np.asarray(whole.W), rtol=0, atol=1e-6)
        if kw:  # here the L-BFGS-only refinement is bitwise the same; the Newton polish rounds differently
            for a, b in zip(whole, parts):
                if a is not None:
                    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        # closed forms of W for both problems: 5 points -> 90 deg, 8 points -> the square antiprism
        np.testing.assert_allclose(np.asarray(parts.min_angle_deg)[[0, 2]], [90.0, 74.8584922], atol=1e-6)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="^chunk_size"):
            R.refine_tammes(W, mask, chunk_size=bad)


def test_refine_of_an_optimum_is_not_worse_than_its_input():
    x = icosahedron() @ random_rotation(3, 2)
    res = refine_tammes(_pad(x, 16)[None], (np.arange(16) < 12)[None])
    assert float(res.min_angle_deg[0]) >= min_angle_deg(x) - 1e-12


def test_fast_refinement_matches_the_full_one_on_the_icosahedron():
    """FAST_KW (L-BFGS inner solves, no Newton polish) ends at the same optimum to 1e-9 deg."""
    W = np.stack([_pad(_jitter(icosahedron(), s, seed), 16) for seed, s in ((0, 0.03), (1, 0.08))])
    mask = np.broadcast_to(np.arange(16) < 12, (2, 16))
    fast, full = refine_tammes(W, mask, **FAST_KW), refine_tammes(W, mask)
    ico = np.degrees(np.arctan(2.0))  # 63.4349488 deg
    np.testing.assert_allclose(np.asarray(full.min_angle_deg), ico, atol=1e-10)
    np.testing.assert_allclose(np.asarray(fast.min_angle_deg), ico, atol=1e-9)
    assert np.all(np.asarray(fast.status) == Status.CONVERGED)


def test_softmax_code_margins_closed_forms_d3():
    """rho*(3,12) = 1 - 1/sqrt(5) (icosahedron), rho*(3,6) = 1 (octahedron), SPEC section 2."""
    W = np.stack([_jitter(icosahedron(), 0.03, 0), _pad(_jitter(cross_polytope(3), 0.03, 1), 12)])
    mask = np.stack([np.ones(12), (np.arange(12) < 6).astype(float)])
    res = refine_softmax_code(W, class_mask=mask)
    np.testing.assert_allclose(np.asarray(res.margin), [1 - 1 / np.sqrt(5), 1.0], atol=1e-8)
    assert np.all(np.asarray(res.W)[1, 6:] == 0.0) and np.all(np.asarray(res.H)[1, 6:] == 0.0)
    assert np.all(np.asarray(res.value) >= np.asarray(res.initial_value) - 1e-12)


def test_api_refine_softmax_code_d2_polygon_margin():
    r = gnc_jax.solve("softmax-code", C=5, d=2, restarts=2, refine=True)
    np.testing.assert_allclose(r.min_margin, 1 - np.cos(2 * np.pi / 5), atol=1e-9)
    assert r.restarts["refine_status"].shape == (2,)
    assert set(r.restarts["refine_status"]) <= {s.name for s in Status}
    # The best restart's refinement status is reported beside the surrogate solve's own.
    best = int(np.argmax(r.restarts["min_margin"]))
    assert r.refine_status == r.restarts["refine_status"][best] == "CONVERGED"
    assert f"(refinement {r.refine_status})" in str(r) and r.to_dict()["refine_status"] == "CONVERGED"
    assert gnc_jax.solve("softmax-code", C=5, d=2, restarts=1).refine_status is None


def test_api_refine_rejects_problems_without_a_refinement():
    with pytest.raises(ValueError, match="^refine"):
        gnc_jax.solve("ce-ufm", C=4, d=3, tau=0.5, refine=True)
    with pytest.raises(ValueError, match="^problem"):
        refine_problem("hug", {"W": np.eye(3)})


# ------------------------------------------------------------------------------------- records
FAST = dict(restarts=8, hops=16, patience=1, max_rounds=2)  # shapes shared with the CLI test


def test_parse_range_and_pick_distinct():
    assert parse_range("4:7,10") == [4, 5, 6, 7, 10]
    with pytest.raises(ValueError, match="^N"):
        parse_range("9:4")
    assert list(pick_distinct(np.array([1.0, 3.0, 3.0, 2.0]), 3)) == [1, 3, 0]
    assert parse_cells("8:86, 6:84-86,8:86,") == [(8, 86), (6, 84), (6, 85), (6, 86)]
    for bad in ("8", "8:86-80", "1:5", "3:1", "x:4", ","):
        with pytest.raises(ValueError, match="^--cells: "):
            parse_cells(bad)


def test_regional_perturbation_moves_only_the_points_nearest_to_one_of_them():
    x = _pad(icosahedron() @ random_rotation(3, 5), 16)
    out = perturb(x, 12, 6, 63.4, np.random.default_rng(0), scales=(0.5,), regions=(0.25, 1.0))
    np.testing.assert_allclose(np.linalg.norm(out[:, :12], axis=-1), 1.0, atol=1e-12)
    assert np.all(out[:, 12:] == 0.0)
    for i, o in enumerate(out):
        moved = np.flatnonzero(np.linalg.norm(o[:12] - x[:12], axis=1) > 1e-12)
        if i % 2:  # region 1.0: every point moves
            assert len(moved) == 12
        else:  # region 0.25: ceil(3) points, a vertex and two of its five neighbours (all at 63.4 deg)
            assert len(moved) == 3
            cos = x[moved] @ x[moved].T
            assert np.sum(np.isclose(cos, 1 / np.sqrt(5))) >= 4  # >= two neighbour pairs among the three


def test_deepest_hole_and_relocation_of_the_icosahedron():
    # The icosahedron's deepest holes are its 20 face centres, 37.377 deg from the nearest vertices.
    x = icosahedron() @ random_rotation(3, 2)
    rng = np.random.default_rng(0)
    face = np.degrees(np.arccos(np.sqrt((5 + 2 * np.sqrt(5)) / 15)))
    hole = deepest_hole(x, rng, samples=20000)
    assert face - 0.5 < np.degrees(np.arccos(np.max(x @ hole))) <= face + 1e-9
    for k in (1, 2):
        y = relocate_points(_pad(x, 16), 12, k, rng)
        moved = np.flatnonzero(np.linalg.norm(y[:12] - x, axis=1) > 1e-12)
        assert len(moved) == k and np.all(y[12:] == 0.0)
        np.testing.assert_allclose(np.linalg.norm(y[:12], axis=1), 1.0, atol=1e-12)
        # each moved point sits in a hole: > 30 deg from every other point (a vertex's neighbours are 63.4 deg away)
        for j in moved:
            assert np.degrees(np.arccos(np.max(np.delete(y[:12], j, axis=0) @ y[j]))) > 30.0
    out = perturb(_pad(x, 16), 12, 4, 63.4, rng, scales=(0.0,), relocate=(0, 1))
    changed = [int(np.sum(np.linalg.norm(o[:12] - x, axis=1) > 1e-12)) for o in out]
    assert changed == [0, 1, 0, 1]


def test_distinct_holes_grown_and_thinned_codes_of_the_icosahedron():
    # The 20 face centres (a dodecahedron, 41.8 deg apart) are the icosahedron's deepest holes, 37.377 deg deep.
    x = icosahedron() @ random_rotation(3, 4)
    rng = np.random.default_rng(1)
    face = np.degrees(np.arccos(np.sqrt((5 + 2 * np.sqrt(5)) / 15)))
    holes = distinct_holes(x, 20, rng, samples=20000)
    assert holes.shape == (20, 3)
    depth = np.degrees(np.arccos(np.max(holes @ x.T, axis=1)))
    assert np.all(depth > face - 1.5) and np.all(depth <= face + 1e-9) and np.all(np.diff(depth) <= 1e-12)
    assert min_angle_deg(holes) > 0.5 * min_angle_deg(x)  # the default separation: half the code's angle
    grown = grown_codes(x, 3, rng)
    assert grown.shape == (3, 13, 3)
    np.testing.assert_allclose(grown[:, :12], np.broadcast_to(x, (3, 12, 3)), atol=1e-12)
    assert all(min_angle_deg(g) > face - 3.0 for g in grown)  # the new point sits in a face's hole
    thin = thinned_codes(x)
    assert thin.shape == (12, 11, 3)
    for i, t in enumerate(thin):
        np.testing.assert_allclose(t, np.delete(x, i, axis=0), atol=1e-15)
    starts = neighbor_starts(12, smaller=thin[0], larger=grown[0], holes=2, rng=rng)
    assert starts.shape == (2 + 13, 12, 3)
    assert neighbor_starts(12).shape == (0, 12, 0)
    with pytest.raises(ValueError, match="neighbor_starts"):
        neighbor_starts(12, smaller=x)


def test_polished_holes_are_exact_where_a_random_net_falls_short():
    # E7's 126 roots (60 deg apart) less 14 of them, rotated: the kissing number of d = 7 is 126, so every hole as
    # deep as 60 deg is a removed root. The polished holes find them exactly; the random net alone stays far short.
    rng = np.random.default_rng(3)
    roots = np.asarray(e7_roots(), np.float64) @ random_rotation(7, 5)
    roots /= np.linalg.norm(roots, axis=1, keepdims=True)
    removed, kept = roots[:14], roots[14:]
    holes = distinct_holes(kept, 14, rng, samples=8192)
    depth = np.degrees(np.arccos(np.max(holes @ kept.T, axis=1)))
    at_root = np.max(holes @ removed.T, axis=1)
    assert np.sum(np.abs(depth - 60.0) < 1e-9) >= 10 and np.all(depth <= 60.0 + 1e-9), depth
    np.testing.assert_allclose(at_root[np.abs(depth - 60.0) < 1e-9], 1.0, atol=1e-12)  # each one a removed root
    raw = distinct_holes(kept, 1, np.random.default_rng(3), samples=8192, polish=0)
    assert np.degrees(np.arccos(np.max(raw @ kept.T))) < 58.0
    # d = 3: the icosahedron's face centres exactly (37.377 deg), and a polish never leaves a candidate shallower
    x = icosahedron() @ random_rotation(3, 6)
    face = np.degrees(np.arccos(np.sqrt((5 + 2 * np.sqrt(5)) / 15)))
    hole = deepest_hole(x, rng)
    assert abs(np.degrees(np.arccos(np.max(x @ hole))) - face) < 1e-9
    code = rng.standard_normal((30, 4))
    code /= np.linalg.norm(code, axis=1, keepdims=True)
    cand = rng.standard_normal((50, 4))
    cand /= np.linalg.norm(cand, axis=1, keepdims=True)
    out = polish_holes(code, cand)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-12)
    assert np.all(np.max(out @ code.T, axis=1) <= np.max(cand @ code.T, axis=1) + 1e-15)
    assert np.mean(np.max(out @ code.T, axis=1)) < np.mean(np.max(cand @ code.T, axis=1)) - 0.05


def test_start_codes_join_round_zero_and_are_validated():
    # The 13-point record, rotated and permuted, given as a start: one restart, one round, no hops. One
    # random restart alone stops elsewhere (56.48 deg against 57.14 on the CPU, jax 0.10.2).
    from gnc_jax.codes.tables import best_known, load_coordinates

    rec = load_coordinates(3, 13)[np.random.default_rng(2).permutation(13)] @ random_rotation(3, 6)
    one = dict(restarts=1, max_rounds=1, hops=0)
    pts, angle, _ = search_code(3, 13, start_codes={13: rec}, **one)
    assert abs(angle - best_known(3, 13).min_angle_deg) <= 1e-6 and pts.shape == (13, 3)
    assert search_code(3, 13, **one)[1] <= angle + 1e-9  # one restart alone: a pool smaller than refine_top
    # lockstep: only one of the two N has start codes
    (_, a13, _), (_, a14, _) = search_codes(3, [13, 14], start_codes={13: rec[None]}, **one)
    assert abs(a13 - angle) <= 1e-6 and a14 > 50.0
    for bad, match in (({15: rec}, "N = 15"), ({13: rec[:12]}, r"start_codes\[13\]"), ([rec], "start_codes"),
                       ({13: np.full((13, 3), np.nan)}, "finite")):
        with pytest.raises(ValueError, match=match):
            search_code(3, 13, start_codes=bad, **one)


def test_hop_moves_are_validated_by_name():
    table = hop_move_table(HOP_MOVES + ((0.1, 0.0, 1.0, 2),))
    assert table.shape == (len(HOP_MOVES) + 1, 4) and table[0, 3] == 0 and table[-1, 3] == 2
    for bad in ((), ((0.1, 0.0),), ((0.1, 0.0, 0.0),), ((0.1, 0.0, 1.0, 0.5),), ((-0.1, 0.0, 1.0),), (("a", 0, 1),)):
        with pytest.raises(ValueError, match="hop_moves"):
            hop_move_table(bad)
    with pytest.raises(ValueError, match="hop_moves"):
        search_code(3, 6, hop_moves=((0.1, 0.0, 2.0),))


def test_small_records_run_matches_the_table():
    rows = list(run_records(3, [6, 9, 13], progress=False, **FAST))
    for r in rows:
        assert r.matched and abs(r.gap_deg) <= 1e-6, (r.N, r.gap_deg)
        assert r.points.shape == (r.N, 3) and r.rounds >= 1
    assert rows[-1].congruent is not None and rows[-1].contacts >= 1


def test_lockstep_search_is_the_single_search_batched():
    # N = 5 (90 deg, padded rows would tie with real ones), 7 and 13 in one batch per stage. Without
    # hops the lanes reproduce the single searches; with them (or with direct hops), batch-shape rounding
    # can pick another candidate (N = 13: 56.95 vs 57.14 deg with FAST), so that part checks rows only.
    fresh_only = FAST | dict(hops=0, direct_hops=0)
    together = search_codes(3, [5, 7, 13], **fresh_only)
    for N, (pts, angle, rounds) in zip([5, 7, 13], together):
        alone_pts, alone_angle, alone_rounds = search_code(3, N, **fresh_only)
        assert pts.shape == alone_pts.shape == (N, 3)
        assert abs(angle - alone_angle) < 1e-7 and rounds >= 1, (N, angle, alone_angle)
        assert abs(min_angle_deg(pts) - angle) < 1e-9
    rows = list(run_records(3, [5, 7, 13], progress=False, lockstep=2, **FAST))
    assert [r.N for r in rows] == [5, 7, 13] and all(r.matched for r in rows)
    with pytest.raises(ValueError, match="lockstep"):
        next(run_records(3, [5], lockstep=0))


def _records_bench(monkeypatch):
    """benchmarks/tammes_records.py as a module."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "tammes_records.py"
    monkeypatch.syspath_prepend(str(path.parent))  # the script imports benchmarks/_meta.py
    spec = importlib.util.spec_from_file_location("tammes_records_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_records_benchmark_rows_file_resumes_and_skips_a_torn_line(tmp_path, monkeypatch):
    bench = _records_bench(monkeypatch)
    rows_file = tmp_path / "rows.jsonl"
    row = solve_record(3, 4, **FAST)
    wide = {"restarts": 64, "seed": 1, "max_rounds": 16, "patience": 5, "hops": 448, "relocate": False,
            "neighbors": None, "symmetric": 0, "refine_top": 2}
    bench.append_row(str(rows_file), row.to_dict(points=True) | {"started_unix": 1.0, "finished_unix": 2.0,
                                                                 "search": wide})
    with open(rows_file, "a") as f:
        f.write('{"d": 3, "N": 5, "angle')  # a crash in the middle of a write
    back = bench.read_rows([str(rows_file)])
    assert [(r["d"], r["N"]) for r in back] == [(3, 4)]
    again = RecordRow.from_dict(back[0])
    assert again.angle_deg == row.angle_deg and np.array_equal(again.points, row.points)
    assert bench.lockstep_groups([(3, 4, None), (3, 5, None), (4, 10, "x"), (4, 24, "y")], 3) == [
        [(3, 4, None), (3, 5, None)], [(4, 10, "x"), (4, 24, "y")]]
    assert bench.parse_shard("1/4") == (1, 4)
    with pytest.raises(ValueError, match="--shard"):
        bench.parse_shard("4/4")
    out = tmp_path / "merged.json"
    assert bench.main(["--merge", str(rows_file), "--out", str(out)]) == 0
    merged = json.loads(out.read_text())
    assert merged["summary"]["matched"] == 1 and merged["summary"]["wall_seconds"] == 1.0
    # the merged meta names the rows' search settings, not the merging command's defaults
    assert merged["meta"]["search"] == [wide] and "restarts" not in merged["meta"]
    # JSON outputs merge too; --best keeps the largest angle per (d, N), the default the last file's row
    worse = {k: v for k, v in row.to_dict(points=True).items() if k != "symmetry"} | {"angle_deg": row.angle_deg - 1.0}
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"meta": {"search": [wide | {"seed": 2}]}, "rows": [worse]}))
    for flags, angle, source in (([], row.angle_deg - 1.0, "other.json"), (["--best"], row.angle_deg, "rows.jsonl")):
        assert bench.main(["--merge", f"{rows_file},{other}", *flags, "--out", str(out)]) == 0
        merged = json.loads(out.read_text())
        assert merged["rows"][0]["angle_deg"] == angle and merged["meta"]["row_files"] == [
            {"d": 3, "N": 4, "file": source}]
        # a JSON output's rows hold no clock times: no wall figure
        assert merged["summary"]["wall_seconds"] == (1.0 if flags else None)
        # a row written before RecordRow.symmetry gets its group named in the merge (the tetrahedron's)
        assert merged["rows"][0]["symmetry"] == "T+refl"
    with pytest.raises(SystemExit, match="--merge: no file"):
        bench.main(["--merge", str(tmp_path / "missing.jsonl"), "--out", str(out)])


def test_records_benchmark_seeds_each_N_with_its_neighbours_or_its_own_earlier_code(tmp_path, monkeypatch):
    bench = _records_bench(monkeypatch)
    fast = ["--restarts", "8", "--hops", "16", "--patience", "1", "--max-rounds", "2"]
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert bench.main(["--N", "12,14", "--rows-out", str(first), "--out", str(tmp_path / "a.json"), *fast]) == 0
    found = {r["N"]: r["angle_deg"] for r in bench.read_rows([str(first)])}
    # N = 13 from the rows of 12 and 14; N = 15 from 14 (file) and, in this run, nothing above it
    out = tmp_path / "b.json"
    assert bench.main(["--N", "13,15", "--neighbors", str(first), "--rows-out", str(second), "--out", str(out),
                       *fast]) == 0
    rows = {r["N"]: r for r in bench.read_rows([str(second)])}
    assert rows[13]["seeded_from"] == {"N-1": found[12], "N+1": found[14]}
    assert rows[15]["seeded_from"] == {"N-1": found[14], "N+1": None}
    assert all(r["search"]["neighbors"] == str(first) and r["matched"] for r in rows.values())
    assert json.loads(out.read_text())["meta"]["search"][0]["neighbors"] == str(first)
    # --continue-from: each N's own earlier code joins its first round (15 from this run's row, 16 has none)
    third = tmp_path / "third.jsonl"
    assert bench.main(["--N", "15,16", "--continue-from", f"{first},{second}", "--direct-scales", "0.02",
                       "--rows-out", str(third), "--out", str(out), *fast]) == 0
    again = {r["N"]: r for r in bench.read_rows([str(third)])}
    assert again[15]["continued_from"] == rows[15]["angle_deg"] and again[16]["continued_from"] is None
    assert again[15]["angle_deg"] >= rows[15]["angle_deg"] - 1e-9
    assert again[15]["search"]["continue_from"] == f"{first},{second}" and "seeded_from" not in again[15]
    assert again[15]["search"]["direct_scales"] == [0.02] and rows[15]["search"]["direct_scales"] == [0.1, 0.05, 0.2]
    with pytest.raises(ValueError, match="--direct-scales"):
        bench.main(["--N", "13", "--direct-scales", "0", "--out", str(out), *fast])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"d": 3, "N": 12, "angle_deg": 63.4}) + "\n")  # not a row this script wrote
    for option in ("--neighbors", "--continue-from"):
        for files, match in ((str(bad), "did not write"), (str(tmp_path / "none.jsonl"), "no file")):
            with pytest.raises(SystemExit, match=f"^{option}: .*{match}"):
                bench.main(["--N", "13", option, files, "--out", str(out), *fast])


def test_records_benchmark_cells_of_any_dimension(tmp_path, monkeypatch, capsys):
    bench = _records_bench(monkeypatch)
    fast = ["--restarts", "8", "--hops", "16", "--patience", "1", "--max-rounds", "2"]
    out, rows_file = tmp_path / "cells.json", tmp_path / "cells.jsonl"
    assert bench.main(["--cells", "2:5,4:10", "--rows-out", str(rows_file), "--out", str(out), *fast]) == 0
    rows = {(r["d"], r["N"]): r for r in json.loads(out.read_text())["rows"]}
    assert sorted(rows) == [(2, 5), (4, 10)]
    assert abs(rows[(2, 5)]["angle_deg"] - 72.0) <= 1e-9  # the regular pentagon
    assert rows[(4, 10)]["matched"] and rows[(4, 10)]["congruent"] == "petersen"
    assert np.asarray(rows[(4, 10)]["points"]).shape == (10, 4)
    # the rows go on to softmax_vs_tammes.py --tammes-codes through own_codes
    assert sorted(bench.own_codes([str(rows_file)])) == [(2, 5), (4, 10)]
    # and softmax_vs_tammes.py's codes files join them (their Tammes sides): a heptagon for (2, 7) is taken, a
    # pentagon with one vertex turned for (2, 5) is not (the rows file's 72 deg is larger), (2, 6) has no Tammes side
    turned = polygon(5)
    turned[0] = [np.cos(0.1), np.sin(0.1)]

    from softmax_vs_tammes import write_codes  # benchmarks/ is on the path (_records_bench)

    npz = tmp_path / "svt.codes.npz"
    write_codes(str(npz), [(2, 5), (2, 6), (2, 7)], [None, {"W": polygon(6), "H": polygon(6)}, None],
                [{"W": turned}, None, {"W": polygon(7)}])
    found = bench.own_codes([str(npz), str(rows_file)], "--continue-from")
    assert sorted(found) == [(2, 5), (2, 7), (4, 10)]
    assert found[(2, 7)][0] == pytest.approx(360 / 7, abs=1e-9) and found[(2, 5)][0] == pytest.approx(72, abs=1e-9)
    np.savez(tmp_path / "other.codes.npz", tammes_W_2_7=polygon(7),
             meta=np.array(json.dumps({"writer": "elsewhere", "cells": [[2, 7]]})))
    with pytest.raises(SystemExit, match="--continue-from"):
        bench.own_codes([str(tmp_path / "other.codes.npz")], "--continue-from")
    for argv in (["--cells", "3:5", "--N", "6"], ["--cells", "3:5", "--exact-only"]):
        with pytest.raises(SystemExit):
            bench.main(argv + ["--out", str(out)])
        assert "--cells replaces the d = 3 --N range" in capsys.readouterr().err
    with pytest.raises(ValueError, match="^--cells"):
        bench.main(["--cells", "4:", "--out", str(out)])
    # the overlap search's target step: checked before any search, and only with the overlap search
    with pytest.raises(ValueError, match="eps_deg"):
        bench.main(["--N", "5", "--overlap-iterations", "1", "--overlap-eps-deg", "0", "--out", str(out)])
    with pytest.raises(SystemExit):
        bench.main(["--N", "5", "--overlap-eps-deg", "0.1", "--out", str(out)])
    assert "--overlap-eps-deg sets the overlap search's target" in capsys.readouterr().err


@pytest.mark.slow
def test_records_d3_4_to_14_match_the_table():
    for r in run_records(3, range(4, 15), progress=False):
        assert abs(r.gap_deg) <= 1e-6, (r.N, r.gap_deg)


@pytest.mark.slow
def test_records_d3_N49_reaches_the_record_with_continuation_hops():
    # 29.9214247 deg was the basin of every earlier search (local hops at the final tau); ~60 s on 2 cores
    r = solve_record(3, 49)
    assert abs(r.gap_deg) <= 1e-6, r.gap_deg


def test_solve_record_validates_before_compiling():
    with pytest.raises(ValueError, match="restarts"):
        solve_record(3, 6, restarts=0)
    with pytest.raises(ValueError, match="direct_hops"):
        solve_record(3, 6, direct_hops=-1)
    for bad in ([], [0.01, -1.0], [float("nan")], "cold"):
        with pytest.raises(ValueError, match="start_taus"):
            solve_record(3, 6, start_taus=bad)
        with pytest.raises(ValueError, match="direct_scales"):
            solve_record(3, 6, direct_scales=bad)


def test_start_temperatures_cycle_and_reach_the_continuation_schedule():
    from gnc_jax import api
    from gnc_jax.problems import tau_schedule

    assert list(start_temperatures(range(5, 10), (0.03, 0.001))) == [0.001, 0.03, 0.001, 0.03, 0.001]
    spec = api.make_spec("tammes", 6, 3)
    np.testing.assert_allclose(tau_schedule(spec.pdef, 1e-4, 3, start=1e-2), [1e-2, 1e-3, 1e-4], rtol=1e-12)
    assert tau_schedule(spec.pdef, 1e-4, 3, start=1e-6) == [1e-4] * 3  # a start colder than tau: no continuation
    hp = api.batch_hparams([spec] * 3, 8, 3, 1, 6, np.float64, tau_start=[0.03, 1e-3, 3e-3])
    np.testing.assert_allclose(hp["taus"][:, 0], [0.03, 1e-3, 3e-3], rtol=1e-12)
    np.testing.assert_allclose(hp["taus"][:, -1], 1e-4, rtol=1e-12)
    with pytest.raises(ValueError, match="tau_start"):
        api.batch_hparams([spec] * 3, 8, 3, 1, 6, np.float64, tau_start=[0.03, 1e-3])
    default = api.batch_hparams([spec], 8, 3, 1, 6, np.float64)
    np.testing.assert_allclose(default["taus"][0], tau_schedule(spec.pdef, 1e-4, 6), rtol=1e-12)
    assert default["taus"][0, 0] == pytest.approx(0.03)


# ------------------------------------------------------------------------------------- CLI
def test_cli_compare_rotated_permuted_known_code(tmp_path, capsys):
    x = cell24() @ random_rotation(4, 5)
    x = x[np.random.default_rng(5).permutation(len(x))]
    path = tmp_path / "c.npz"
    np.savez(path, W=x, summary=np.asarray("{}"))
    assert main(["compare", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["gap_deg"]) < 1e-9 and out["matched"] and out["congruent_to"] == "24-cell"
    plain = tmp_path / "p.npz"
    np.savez(plain, x)  # a plain array (arr_0)
    assert main(["compare", str(plain)]) == 0
    assert "24-cell" in capsys.readouterr().out


def test_cli_records_json_shape(tmp_path, capsys):
    out_file = tmp_path / "rows.json"
    assert main(["records", "--d", "3", "--N", "4,6", "--json", "--out", str(out_file),
                 "--restarts", "8", "--hops", "16", "--patience", "1", "--max-rounds", "2"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["N"] for r in rows] == [4, 6]
    for key in ("d", "N", "angle_deg", "record_deg", "gap_deg", "status", "congruent", "contacts", "seconds"):
        assert key in rows[0]
    # the tetrahedron and the octahedron, with their full point groups
    assert [(r["congruent"], r["symmetry"]) for r in rows] == [("simplex", "T+refl"), ("cross-polytope", "O+refl")]
    saved = json.loads(out_file.read_text())
    assert np.asarray(saved[1]["points"]).shape == (6, 3)


@pytest.mark.parametrize("argv, name", [
    (["records", "--d", "3", "--N", "10:2"], "--N"),
    (["records", "--d", "3", "--N", "4:x"], "--N"),
    (["records", "--d", "0", "--N", "4"], "--d"),
    (["records", "--d", "3", "--N", "4", "--restarts", "0"], "--restarts"),
    (["records", "--d", "3", "--N", "4", "--lockstep", "0"], "--lockstep"),
    (["records", "--d", "3", "--N", "4", "--symmetric", "-1"], "--symmetric"),
    (["records", "--d", "3", "--N", "4", "--direct-hops", "-1"], "--direct-hops"),
    (["records", "--d", "3", "--N", "4", "--overlap-iterations", "-1"], "--overlap-iterations"),
    (["records", "--d", "3", "--N", "4", "--direct-scales", "0.1,x"], "--direct-scales"),
    (["records", "--d", "3", "--N", "4", "--direct-scales", "0.1,-0.05"], "--direct-scales"),
    (["records", "--d", "3", "--N", "4", "--out", "/nonexistent/dir/x.json"], "--out"),
    (["compare", "/nonexistent/file.npz"], "FILE"),
])
def test_cli_errors_exit_2_naming_the_argument(argv, name, capsys):
    assert main(argv) == 2
    assert name in capsys.readouterr().err


def test_cli_compare_missing_key_exits_2(tmp_path, capsys):
    path = tmp_path / "c.npz"
    np.savez(path, a=np.eye(3), b=np.eye(3))
    assert main(["compare", str(path)]) == 2
    assert "--key" in capsys.readouterr().err
    assert main(["compare", str(path), "--key", "zz"]) == 2
    assert "--key" in capsys.readouterr().err


def test_symmetric_restarts_join_the_fresh_pool_and_are_validated():
    # N = 16: with one random D4-invariant start next to the Gaussian restart, one round reaches the record
    # (52.2443957 deg); the Gaussian restart alone stops at 51.9433095 (CPU, jax 0.10.2).
    from gnc_jax.codes.tables import best_known

    one = dict(restarts=1, max_rounds=1, hops=0)
    pts, angle, _ = search_code(3, 16, symmetric=1, symmetric_groups=("D4",), **one)
    assert abs(angle - best_known(3, 16).min_angle_deg) <= 1e-6 and pts.shape == (16, 3)
    assert search_code(3, 16, **one)[1] <= angle + 1e-9
    bad = ((dict(symmetric=-1), "symmetric"), (dict(symmetric=1, symmetric_groups=("X",)), "symmetric_groups"),
           (dict(symmetric=1, symmetric_groups=("I",)), "N = 16"), (dict(symmetric=1, symmetric_groups=()),
                                                                     "symmetric_groups"))
    for kw, match in bad:
        with pytest.raises(ValueError, match=match):
            search_code(3, 16, **kw, **one)
    with pytest.raises(ValueError, match="symmetric_groups"):  # rotation groups are built for d = 3 only
        search_code(4, 16, symmetric=1, symmetric_groups=("D4",), **one)


def test_antipodal_starts_reach_the_d5_kissing_code_from_random_points():
    # (d 5, N 40): the 40 roots of D5 (60 deg, every pair of antipodes in the code). Gaussian starts stop near
    # 59.50 deg (0 of 128 surrogate solves reached 60 here); random antipodal starts reach it in a few percent of
    # the surrogate solves (3-15 of 128 on this CPU, by seed and start temperature), so one round of 128 finds it.
    pts, angle, _ = search_code(5, 40, restarts=4, symmetric=128, max_rounds=1, hops=0)
    assert angle == pytest.approx(60.0, abs=1e-6) and pts.shape == (40, 5)
    G = pts @ pts.T
    assert int(np.sum(G < -1 + 1e-6)) == 40  # the code found is antipodal: each point's negative is in it


def test_hot_antipodal_starts_reach_the_e7_roots_from_random_points():
    # (d 7, N 126): the 126 roots of E7 (60 deg). Gaussian starts stop near 58.9 deg; antipodal starts first solved
    # at temperature 0.1 (half of them, `ANTIPODAL_START_TAUS`) reach 60 deg in a few of 32. The code found has
    # the E7 roots' sorted Gram entries (rotation-invariant), so it is that code up to an orthogonal map.
    pts, angle, _ = search_code(7, 126, restarts=1, symmetric=48, max_rounds=1, hops=0, refine_top=1)
    assert angle == pytest.approx(60.0, abs=1e-6)
    roots = np.asarray(e7_roots(), np.float64)
    roots /= np.linalg.norm(roots, axis=1, keepdims=True)
    iu = np.triu_indices(126, 1)
    np.testing.assert_allclose(np.sort((pts @ pts.T)[iu]), np.sort((roots @ roots.T)[iu]), atol=1e-6)


def test_symmetric_temperatures_cycle_per_group_kind():
    from gnc_jax.codes.records import ANTIPODAL_START_TAUS, START_TAUS, symmetric_temperatures
    from gnc_jax.codes.symmetry import start_groups

    # d = 3, rotation groups: the fresh restarts' cycle, unchanged
    np.testing.assert_array_equal(symmetric_temperatures(start_groups(24, 6, None, 3)),
                                  start_temperatures(range(6), START_TAUS))
    # any d, antipodal starts: their own cycle (hot first)
    np.testing.assert_array_equal(symmetric_temperatures(start_groups(126, 5, None, 7)),
                                  [ANTIPODAL_START_TAUS[i % len(ANTIPODAL_START_TAUS)] for i in range(5)])
    # mixed groups in d = 3: each kind cycles over its own starts
    assert start_groups(24, 4, ("O", "Ci"), 3) == ["O", "Ci", "O", "Ci"]
    out = symmetric_temperatures(start_groups(24, 4, ("O", "Ci"), 3))
    np.testing.assert_array_equal(out, [START_TAUS[0], ANTIPODAL_START_TAUS[0], START_TAUS[1], ANTIPODAL_START_TAUS[1]])


def test_direct_hops_climb_to_a_record_that_the_surrogate_leaves():
    # (d 3, N 71): the smooth surrogate is biased against codes with many contacts. Solved locally at its final
    # temperature from the record's own coordinates (used here only to build a start beside the record), it ends
    # in a neighbouring basin that refines to ~4e-4 deg below the record: no surrogate-based hop reaches it. Direct
    # hops (perturbations refined without the surrogate) climb back; with them off the search stays below.
    from gnc_jax.codes.records import refine_batch, surrogate_batch
    from gnc_jax.codes.tables import best_known, load_coordinates

    record = best_known(3, 71).min_angle_deg
    beside = refine_batch(surrogate_batch(3, 71, _pad(load_coordinates(3, 71), 72)[None], stages=1), 71, **FAST_KW)
    assert 1e-4 < record - min_angle_deg(beside[0, :71]) < 1e-3
    one = dict(restarts=1, hops=0, start_codes={71: beside[:, :71]}, max_rounds=4, patience=4)
    _, angle, _ = search_code(3, 71, direct_hops=64, **one)  # 32 (the default) reach it too, in 8 rounds at seed 0
    assert angle >= record - 1e-6, record - angle
    _, without, _ = search_code(3, 71, direct_hops=0, **one)
    assert without < record - 1e-4
