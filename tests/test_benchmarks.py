"""Benchmark scripts at toy sizes: they run, write what they say, and report closed forms."""
import csv
import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # a subprocess: softmax_vs_tammes enables float64 for its whole process
    return subprocess.run([sys.executable, str(BENCH / name), *args], cwd=BENCH, capture_output=True, text=True,
                          timeout=600, env=env)


def assert_refused(script: str, cases, out) -> None:
    """Each (extra arguments, flag) of ``cases`` makes ``script`` exit 2 with ``flag`` named on stderr."""
    for args, flag in cases:
        p = run_script(script, *args, "--out", str(out))
        assert p.returncode == 2 and flag in p.stderr, (script, args, p.stderr[-1000:])


def test_softmax_vs_tammes_buckets_cross_seeds_and_reports_closed_forms(tmp_path):
    out = tmp_path / "svt"
    p = run_script("softmax_vs_tammes.py", "--dmin", "2", "--dmax", "3", "--kmax", "6", "--restarts", "2",
                   "--max-steps", "200", "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "padded-shape buckets" in p.stderr and "cross-seeding" in p.stderr
    rows = list(csv.DictReader(open(str(out) + ".csv")))
    assert [(int(r["d"]), int(r["K"])) for r in rows] == [(2, 4), (2, 5), (2, 6), (3, 5), (3, 6)]
    for r in rows:
        assert float(r["rho_star"]) == pytest.approx(float(r["rho_soft"]), abs=1e-9), r  # closed forms
        assert abs(float(r["gap"])) <= 1e-9 and r["flag"] == ""
    meta = json.load(open(str(out) + ".json"))["meta"]
    assert meta["cross_seed"] is True and meta["refined"] is True
    assert (tmp_path / "svt.png").stat().st_size > 0


def test_softmax_vs_tammes_merge_keeps_each_sides_best_and_recomputes_the_gap(tmp_path):
    def row(d, K, rho_soft, lb, self_dual=0.0):
        return dict(d=d, K=K, regime="open", rho_star=None, rho_soft=rho_soft, tammes_lb=lb, rho_tammes=lb,
                    tammes_self_dual=0.0, tammes_angle_deg=math.degrees(math.acos(1 - lb)), gap=rho_soft - lb,
                    self_dual=self_dual, flag="")

    runs = {"a.json": [row(3, 9, 0.30, 0.31), row(4, 7, 0.5, 0.5)],  # (3, 9): a's softmax, b's Tammes code
            "b.json": [row(3, 9, 0.29, 0.32, 1e-3), row(3, 30, 0.2, 0.2), row(4, 8, 0.6, 0.55)]}
    for name, rows in runs.items():
        (tmp_path / name).write_text(json.dumps({"meta": {"date": "2026-11-26"}, "rows": rows}))
    out = tmp_path / "merged"
    p = run_script("softmax_vs_tammes.py", "--merge", f"{tmp_path / 'a.json'},{tmp_path / 'b.json'}",
                   "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "4 cells from 2 runs, 2 flagged" in p.stdout and "d=3: 2 K in 9..30; d=4: 2 K in 7..8" in p.stdout
    assert "search fell short): 4:7" in p.stdout  # (4, 8) holds more than (4, 7): dropping a point keeps both
    rows = {(r["d"], r["K"]): r for r in json.load(open(str(out) + ".json"))["rows"]}
    r = rows[(3, 9)]
    assert (r["rho_soft"], r["tammes_lb"], r["softmax_file"], r["tammes_file"]) == (0.30, 0.32, "a.json", "b.json")
    assert r["gap"] == pytest.approx(-0.02) and r["flag"] == "softmax short" and r["runs"] == 2
    assert r["soft_spread"] == pytest.approx(0.01) and r["tammes_spread"] == pytest.approx(0.01)
    assert rows[(4, 7)]["flag"] == "" and rows[(4, 7)]["runs"] == 1 and rows[(4, 7)]["tammes_spread"] == 0
    assert rows[(4, 7)]["soft_below_larger_K"] == pytest.approx(0.1)
    assert rows[(4, 7)]["tammes_below_larger_K"] == pytest.approx(0.05) and rows[(3, 9)]["tammes_below_larger_K"] == 0
    # the Tammes side against the best-known angle: 90 deg for d + 2 <= K <= 2d, 60 deg found at delta^2/2 = 0.5
    assert rows[(4, 7)]["tammes_record_deg"] == pytest.approx(90) and rows[(4, 7)]["tammes_gap_deg"] == pytest.approx(30)
    bad = run_script("softmax_vs_tammes.py", "--merge", str(tmp_path / "missing.json"), "--out", str(out))
    assert bad.returncode != 0 and "--merge" in bad.stderr


def test_softmax_vs_tammes_stores_codes_repairs_from_them_and_merges_them(tmp_path):
    import numpy as np

    def max_cos(W):
        G = W @ W.T
        np.fill_diagonal(G, -np.inf)
        return G.max()

    a = tmp_path / "a"
    p = run_script("softmax_vs_tammes.py", "--cells", "3:6-7", "--restarts", "2", "--max-steps", "200",
                   "--refine", "fast", "--out", str(a))
    assert p.returncode == 0, p.stderr[-2000:]
    rows_a = {r["K"]: r for r in json.load(open(str(a) + ".json"))["rows"]}
    with np.load(str(a) + ".codes.npz") as z:
        codes = {k: z[k] for k in z.files}
    assert json.loads(str(codes["meta"]))["cells"] == [[3, 6], [3, 7]]
    for K in (6, 7):  # the stored codes are the ones the figures came from
        for side in ("softmax_W", "softmax_H", "tammes_W"):
            assert codes[f"{side}_3_{K}"].shape == (K, 3)
            np.testing.assert_allclose(np.linalg.norm(codes[f"{side}_3_{K}"], axis=1), 1.0, atol=1e-12)
        assert 1 - max_cos(codes[f"tammes_W_3_{K}"]) == pytest.approx(rows_a[K]["tammes_lb"], abs=1e-13)
    # a later run that starts (--restarts 0) from these codes with (3, 6) spoiled: the repair lifts (3, 6) from
    # (3, 7)'s code minus a point, so it ends at least at (3, 7)'s value, and the source columns say so
    rng = np.random.default_rng(0)
    for side in ("softmax_W", "softmax_H", "tammes_W"):
        x = rng.normal(size=(6, 3))
        codes[f"{side}_3_6"] = x / np.linalg.norm(x, axis=1, keepdims=True)
    np.savez(tmp_path / "spoiled.codes.npz", **codes)
    b = tmp_path / "b"
    p = run_script("softmax_vs_tammes.py", "--cells", "3:6-7", "--restarts", "0", "--start-codes",
                   str(tmp_path / "spoiled.codes.npz"), "--refine", "fast", "--out", str(b))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "no batched solves" in p.stderr and "below a larger K, refined from that code" in p.stderr
    rows_b = {r["K"]: r for r in json.load(open(str(b) + ".json"))["rows"]}
    assert rows_b[7]["tammes_source"] == rows_b[7]["softmax_source"] == "from spoiled.codes.npz"
    assert rows_b[7]["tammes_lb"] == rows_a[7]["tammes_lb"] and rows_b[7]["rho_soft"] == rows_a[7]["rho_soft"]
    assert rows_b[6]["tammes_source"] == "from K=7" and rows_b[6]["tammes_lb"] >= rows_a[7]["tammes_lb"] - 1e-12
    assert rows_b[6]["rho_soft"] >= rows_a[7]["rho_soft"] - 1e-12 and abs(rows_b[6]["gap"]) <= 1e-6
    # merging the two runs keeps, per cell and side, the winning run's code
    m = tmp_path / "m"
    p = run_script("softmax_vs_tammes.py", "--merge", f"{a}.json,{b}.json", "--out", str(m))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "codes kept for 2 softmax and 2 Tammes sides" in p.stdout
    rows_m = {r["K"]: r for r in json.load(open(str(m) + ".json"))["rows"]}
    with np.load(str(m) + ".codes.npz") as z:
        for K in (6, 7):
            assert 1 - max_cos(z[f"tammes_W_3_{K}"]) == pytest.approx(rows_m[K]["tammes_lb"], abs=1e-13)
    # a tie goes to the run that kept its codes: c.json is a.json without its codes file, and (3, 7) ties with b
    (tmp_path / "c.json").write_text(pathlib.Path(f"{a}.json").read_text())
    p = run_script("softmax_vs_tammes.py", "--merge", f"{tmp_path / 'c.json'},{b}.json", "--out", str(m))
    assert p.returncode == 0, p.stderr[-2000:]
    r7 = [r for r in json.load(open(str(m) + ".json"))["rows"] if r["K"] == 7][0]
    assert r7["softmax_file"] == r7["tammes_file"] == "b.json" and r7["runs"] == 2
    # --restarts 0 with --tammes-search records: the record search's code joins the stored (spoiled) ones and wins
    # (3, 6) (the octahedron: 90 deg), and the softmax side is cross-seeded from it
    p = run_script("softmax_vs_tammes.py", "--cells", "3:6", "--restarts", "0", "--tammes-search", "records",
                   "--start-codes", str(tmp_path / "spoiled.codes.npz"), "--refine", "fast", "--out", str(b))
    assert p.returncode == 0, p.stderr[-2000:]
    r6 = json.load(open(str(b) + ".json"))["rows"][0]
    assert r6["tammes_source"] == "records search" and r6["tammes_angle_deg"] == pytest.approx(90, abs=1e-6)
    assert r6["rho_soft"] >= 0.5 - 1e-9 and abs(r6["gap"]) <= 1e-6
    # refused before any solve: a cell no start code covers with --restarts 0, a file this script did not write
    bad = run_script("softmax_vs_tammes.py", "--cells", "3:6-8", "--restarts", "0", "--start-codes",
                     str(tmp_path / "spoiled.codes.npz"), "--out", str(b))
    assert bad.returncode != 0 and "--restarts 0" in bad.stderr and "3:8" in bad.stderr
    bad = run_script("softmax_vs_tammes.py", "--cells", "3:6", "--symmetric", "4", "--out", str(b))
    assert bad.returncode != 0 and "--symmetric" in bad.stderr and "records" in bad.stderr
    codes["meta"] = np.array(json.dumps({"writer": "elsewhere", "cells": [[3, 6]]}))
    np.savez(tmp_path / "other.codes.npz", **codes)
    bad = run_script("softmax_vs_tammes.py", "--cells", "3:6", "--start-codes", str(tmp_path / "other.codes.npz"),
                     "--out", str(b))
    assert bad.returncode != 0 and "--start-codes" in bad.stderr and "elsewhere" in bad.stderr


def test_softmax_vs_tammes_resumes_a_stopped_run_from_its_last_stage(tmp_path):
    import numpy as np

    out = tmp_path / "svt"
    args = ("--cells", "3:6-7", "--refine", "fast", "--out", str(out))
    p = run_script("softmax_vs_tammes.py", "--restarts", "2", "--max-steps", "200", *args)
    assert p.returncode == 0, p.stderr[-2000:]
    first = json.load(open(str(out) + ".json"))["rows"]
    with np.load(str(out) + ".codes.npz") as z:
        codes = {k: z[k] for k in z.files}
    meta = json.loads(str(codes["meta"]))
    assert meta["stage"] == "final" and len(meta["sources"]) == 2
    # resuming a finished run solves nothing and gives the same table, sources included
    p = run_script("softmax_vs_tammes.py", "--resume", *args)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "--resume after stage 'final'" in p.stderr and "batched softmax-code solves" not in p.stderr
    assert "cross-seeding" not in p.stderr
    again = json.load(open(str(out) + ".json"))
    assert again["meta"]["resumed_after"] == "final"
    for r, q in zip(first, again["rows"]):
        assert (r["rho_soft"], r["tammes_lb"], r["softmax_source"], r["tammes_source"]) == (
            q["rho_soft"], q["tammes_lb"], q["softmax_source"], q["tammes_source"])
    # a run stopped after its solves (stage "solved", (3, 6) left poor) is taken up with the cross-seeding and the
    # repair, which lift (3, 6) to at least (3, 7)'s value
    rng = np.random.default_rng(1)
    for side in ("softmax_W", "softmax_H", "tammes_W"):
        x = rng.normal(size=(6, 3))
        codes[f"{side}_3_6"] = x / np.linalg.norm(x, axis=1, keepdims=True)
    codes["meta"] = np.array(json.dumps(dict(meta, stage="solved", sources=[["own", "own"], ["own", "own"]])))
    np.savez(str(out) + ".codes.npz", **codes)
    p = run_script("softmax_vs_tammes.py", "--resume", *args)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "--resume after stage 'solved'" in p.stderr and "cross-seeding" in p.stderr
    rows = {r["K"]: r for r in json.load(open(str(out) + ".json"))["rows"]}
    assert rows[6]["tammes_lb"] >= rows[7]["tammes_lb"] - 1e-12 and rows[6]["rho_soft"] >= rows[7]["rho_soft"] - 1e-12
    with np.load(str(out) + ".codes.npz") as z:
        assert json.loads(str(z["meta"]))["stage"] == "final"
    bad = run_script("softmax_vs_tammes.py", "--resume", "--cells", "3:6-8", "--out", str(out))
    assert bad.returncode != 0 and "--resume" in bad.stderr and "other cells" in bad.stderr


def test_softmax_vs_tammes_takes_earlier_record_runs_codes_and_cell_ranges(tmp_path):
    import numpy as np

    # a tammes_records.py-style output holding the regular pentagon for (d 2, N 5): with one 1-step restart and no
    # refinement the batched Tammes side is poor, so the loaded code (72 deg, the d = 2 closed form) must win there
    pentagon = [[math.cos(2 * math.pi * k / 5), math.sin(2 * math.pi * k / 5)] for k in range(5)]
    rec = tmp_path / "rec.json"
    rec.write_text(json.dumps({"meta": {"restarts": 1}, "rows": [dict(d=2, N=5, angle_deg=72.0, points=pentagon,
                                                                       rounds=1)]}))
    out = tmp_path / "svt"
    p = run_script("softmax_vs_tammes.py", "--cells", "2:5-6", "--restarts", "1", "--max-steps", "1", "--no-refine",
                   "--no-cross-seed", "--tammes-codes", str(rec), "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    data = json.load(open(str(out) + ".json"))
    rows = {(r["d"], r["K"]): r for r in data["rows"]}
    assert sorted(rows) == [(2, 5), (2, 6)] and data["meta"]["tammes_codes"] == str(rec)
    assert rows[(2, 5)]["tammes_source"] == "from --tammes-codes"
    assert rows[(2, 5)]["tammes_angle_deg"] == pytest.approx(72.0, abs=1e-9)
    assert rows[(2, 6)]["tammes_source"] == "own"  # no code given for K = 6
    # --restarts 0 with one side per cell: (2, 5) has only the --tammes-codes pentagon, (2, 6) only a stored softmax
    # code (a hexagon with one vertex turned by 0.2 rad); each missing side starts from the other's code and is
    # refined there, so both cells end at the d = 2 closed form, rho* = 1 - cos(2 pi / K)
    hexagon = np.array([[math.cos(t), math.sin(t)] for t in np.arange(6) * math.pi / 3 + [0.2, 0, 0, 0, 0, 0]])
    np.savez(tmp_path / "soft6.codes.npz", softmax_W_2_6=hexagon, softmax_H_2_6=hexagon,
             meta=np.array(json.dumps({"writer": "benchmarks/softmax_vs_tammes.py", "cells": [[2, 6]]})))
    out0 = tmp_path / "svt0"
    p = run_script("softmax_vs_tammes.py", "--cells", "2:5-6", "--restarts", "0", "--refine", "fast",
                   "--tammes-codes", str(rec), "--start-codes", str(tmp_path / "soft6.codes.npz"), "--out", str(out0))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "no batched solves" in p.stderr and "one side from the other's code" in p.stderr
    rows = {(r["d"], r["K"]): r for r in json.load(open(str(out0) + ".json"))["rows"]}
    assert rows[(2, 5)]["tammes_source"] == "from --tammes-codes" and rows[(2, 5)]["softmax_source"] == "from tammes"
    assert rows[(2, 6)]["tammes_source"] == "from softmax"
    for K in (5, 6):
        r = rows[(2, K)]
        assert r["rho_soft"] == pytest.approx(1 - math.cos(2 * math.pi / K), abs=1e-9) and abs(r["gap"]) <= 1e-9
        assert r["tammes_angle_deg"] == pytest.approx(360 / K, abs=1e-6)
    bad = run_script("softmax_vs_tammes.py", "--cells", "2:6-5", "--out", str(out))
    assert bad.returncode != 0 and "--cells" in bad.stderr and "2:6-5" in bad.stderr
    bad = run_script("softmax_vs_tammes.py", "--cells", "2:5-6", "--grow", "--no-refine", "--out", str(out))
    assert bad.returncode != 0 and "--grow" in bad.stderr and "--no-refine" in bad.stderr
    foreign = tmp_path / "foreign.json"  # rows without coordinates: not this toolkit's record-search output
    foreign.write_text(json.dumps({"meta": {}, "rows": [dict(d=2, N=5, angle_deg=72.0)]}))
    bad = run_script("softmax_vs_tammes.py", "--cells", "2:5", "--tammes-codes", str(foreign), "--out", str(out))
    assert bad.returncode != 0 and "--tammes-codes" in bad.stderr


def test_softmax_vs_tammes_refines_a_cell_below_a_larger_K_from_that_code_minus_a_point():
    # (d 2, K 5) starts from a poor code; (2, 6), the regular hexagon (60 deg), is better: dropping a hexagon vertex
    # keeps 60 deg and the refinement from there reaches the regular pentagon (72 deg, the d = 2 closed form)
    script = """
import math, numpy as np, softmax_vs_tammes as s
hexagon = np.array([[math.cos(t), math.sin(t)] for t in np.arange(6) * math.pi / 3])
dropped, _ = s.drop_points(np.vstack([hexagon, [[0.99, 0.14]]]), None, 1)
assert np.array_equal(dropped, hexagon)  # the crowded extra point goes, not a vertex
poor = np.array([[1.0, 0.0], [0.9, 0.43], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
cells = [(2, 5), (2, 6)]
pts = [{"W": poor}, {"W": hexagon}]
values = [1 - s.max_cos(p["W"]) for p in pts]
fixed = s.repair_monotone("tammes", pts, values, cells, 1e-9)
assert list(fixed) == [0] and fixed[0][1] == 6, fixed
cos = s.max_cos(fixed[0][0]["W"])
assert abs(math.degrees(math.acos(cos)) - 72.0) < 1e-6, cos
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", script], cwd=BENCH, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and "ok" in p.stdout, p.stderr[-2000:]


def test_softmax_vs_tammes_repairs_in_rounds_until_no_cell_lies_below_a_larger_K():
    # Tammes side of d = 2: K = 6 the hexagon (60 deg), K = 5 poor (below it), K = 4 at 65 deg (above both). Round 1
    # lifts K = 5 from the hexagon minus a point to the pentagon (72 deg), which leaves K = 4 below it; round 2 lifts
    # K = 4 from the pentagon minus a point to the square (90 deg). The softmax side holds the closed forms already.
    script = """
import math, numpy as np, softmax_vs_tammes as s
def polygon(K):
    return np.array([[math.cos(t), math.sin(t)] for t in np.arange(K) * 2 * math.pi / K])
t65 = math.radians(65)
at65 = np.array([[1.0, 0.0], [math.cos(t65), math.sin(t65)], [-1.0, 0.0], [0.0, -1.0]])
poor = np.array([[1.0, 0.0], [0.9, 0.43], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
cells = [(2, 4), (2, 5), (2, 6)]
soft = [{"W": polygon(K), "H": polygon(K)} for _, K in cells]
t = s.Table(cells, soft, s.exact_figures(cells, [p["W"] for p in soft]), [{"W": at65}, {"W": poor}, {"W": polygon(6)}],
            fast=False, chunk=None)
lifted = t.repair(cross_seed=False)
assert lifted == {0, 1} and t.tam_src == ["from K=5", "from K=6", "own"], (lifted, t.tam_src)
angles = [math.degrees(math.acos(s.max_cos(p["W"]))) for p in t.tam]
assert all(abs(a - b) < 1e-6 for a, b in zip(angles, (90.0, 72.0, 60.0))), angles
assert t.soft_src == ["own"] * 3
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", script], cwd=BENCH, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and "ok" in p.stdout, p.stderr[-2000:]


def test_softmax_vs_tammes_grow_chains_each_tammes_code_from_the_smaller_K():
    # Tammes side of d = 2: K = 4 the square (90 deg), K = 5 at 50 deg, K = 6 at 40 deg: no cell lies below a larger
    # K, so the repair alone lifts nothing. With grow, K = 5 starts from the square plus a point in a hole and is
    # refined to the pentagon (72 deg), and then K = 6 from the pentagon plus a point to the hexagon (60 deg).
    script = """
import math, numpy as np, softmax_vs_tammes as s
def polygon(K):
    return np.array([[math.cos(t), math.sin(t)] for t in np.arange(K) * 2 * math.pi / K])
def at(*deg):
    return np.array([[math.cos(math.radians(a)), math.sin(math.radians(a))] for a in deg])
cells = [(2, 4), (2, 5), (2, 6)]
tam = [{"W": polygon(4)}, {"W": at(0, 50, 100, 200, 290)}, {"W": at(0, 40, 80, 120, 200, 290)}]
def table():
    soft = [{"W": polygon(K), "H": polygon(K)} for _, K in cells]
    return s.Table(cells, soft, s.exact_figures(cells, [p["W"] for p in soft]), [dict(t) for t in tam], fast=False,
                   chunk=None)
t = table()
assert t.repair(cross_seed=False) == set() and t.tam_src == ["own"] * 3
t = table()
lifted = t.repair(cross_seed=False, grow=True)
assert lifted == {1, 2} and t.tam_src == ["own", "grown from K=4", "grown from K=5"], (lifted, t.tam_src)
angles = [math.degrees(math.acos(s.max_cos(p["W"]))) for p in t.tam]
assert all(abs(a - b) < 1e-6 for a, b in zip(angles, (90.0, 72.0, 60.0))), angles
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", script], cwd=BENCH, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and "ok" in p.stdout, p.stderr[-2000:]


def test_softmax_vs_tammes_recheck_gives_a_flagged_cell_the_full_refinement_from_both_codes():
    # (3, 6) holds a good softmax code (a perturbed cross-polytope) beside a poor Tammes code (a sixth point 17 deg
    # from the first), so the cell is flagged; the recheck lifts the Tammes side to 90 deg, the softmax side to the
    # closed form rho*, and clears the gap, while the unflagged pentagon cell (2, 5) is left alone
    script = """
import math, numpy as np, softmax_vs_tammes as s
from gnc_jax.theory import regime
rng = np.random.default_rng(0)
octa = np.vstack([np.eye(3), -np.eye(3)])
near = s.unit(octa + 0.02 * rng.standard_normal(octa.shape))
poor = s.unit(np.vstack([octa[:5], octa[0] + 0.3 * octa[1]]))
pent = np.array([[math.cos(t), math.sin(t)] for t in np.arange(5) * 2 * math.pi / 5])
cells = [(3, 6), (2, 5)]
soft = [{"W": near, "H": near}, {"W": pent, "H": pent}]
tam = [{"W": poor}, {"W": pent}]
t = s.Table(cells, soft, s.exact_figures(cells, [p["W"] for p in soft]), tam, fast=True, chunk=1)
assert t.gap(0) > 0.1 and abs(t.gap(1)) < 1e-12, (t.gap(0), t.gap(1))
t.recheck([0])
assert abs(t.gap(0)) < 1e-9, t.gap(0)
assert abs(math.degrees(math.acos(s.max_cos(t.tam[0]["W"]))) - 90.0) < 1e-6
assert abs(t.f_soft[0]["rho"] - regime(6, 3).rho_star) < 1e-9, (t.f_soft[0], regime(6, 3).rho_star)
assert t.tam_src[0].startswith("recheck") and t.soft_src[0].startswith("recheck"), (t.tam_src, t.soft_src)
assert t.tam_src[1] == t.soft_src[1] == "own" and t.tam[1]["W"] is pent
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", script], cwd=BENCH, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and "ok" in p.stdout, p.stderr[-2000:]


def test_softmax_vs_tammes_recheck_goes_round_while_the_softmax_code_is_the_better_tammes_code():
    # refine_all replaced by a stand-in: the Tammes refinement returns its start, the softmax one returns the next of
    # a sequence of ever better softmax codes (the octahedron, perturbed less and less). Each round the softmax code
    # beats the Tammes code, so the recheck goes round up to max_rounds, and the Tammes side ends at the last one
    script = """
import numpy as np, softmax_vs_tammes as s
octa = np.vstack([np.eye(3), -np.eye(3)])
P = np.random.default_rng(3).standard_normal(octa.shape)
seq = [s.unit(octa + t * P) for t in (0.3, 0.2, 0.1, 0.05, 0.02, 0.01)]
calls = []
def fake(problem, starts, cells, stage, fast, chunk):
    calls.append(problem)
    if problem == "tammes":
        return [{"W": p["W"]} for p in starts]
    W = seq[min(sum(c == "softmax-code" for c in calls), len(seq) - 1)]
    return [{"W": W, "H": W} for _ in starts]
s.refine_all = fake
cells = [(3, 6)]
soft = [{"W": seq[0], "H": seq[0]}]
t = s.Table(cells, soft, s.exact_figures(cells, [seq[0]]), [{"W": seq[0]}], fast=True, chunk=1)
rhos = [f["rho"] for f in s.exact_figures(cells * len(seq), seq)]
assert all(a < b for a, b in zip(rhos, rhos[1:])), rhos
t.recheck([0], max_rounds=3)
# own Tammes, own softmax, then 3 rounds of (Tammes from softmax, softmax from Tammes)
assert calls == ["tammes", "softmax-code"] + ["tammes", "softmax-code"] * 3, calls
assert t.soft[0]["W"] is seq[4] and t.tam[0]["W"] is seq[3], (t.soft_src, t.tam_src)
assert t.tam_src[0] == "recheck from softmax" and t.soft_src[0] == "recheck from tammes"
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", script], cwd=BENCH, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and "ok" in p.stdout, p.stderr[-2000:]


def test_softmax_vs_tammes_fast_run_rechecks_the_cells_asked_for(tmp_path):
    out = tmp_path / "svt"
    p = run_script("softmax_vs_tammes.py", "--cells", "3:5-6", "--restarts", "2", "--max-steps", "200",
                   "--refine", "fast", "--recheck", "all", "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "recheck: full refinement of 2 cell(s): 3:5 (gap " in p.stderr
    data = json.load(open(str(out) + ".json"))
    assert data["meta"]["recheck"] == "all" and data["meta"]["rechecked"] == 2
    for r in data["rows"]:
        assert r["rechecked"] is True and abs(r["gap"]) <= 1e-9 and r["flag"] == ""
        assert abs(r["gap_before_recheck"]) <= 1e-6  # nothing to clear here: the recheck only confirms
        assert r["rho_soft"] == pytest.approx(r["rho_star"], abs=1e-9), r
    bad = run_script("softmax_vs_tammes.py", "--cells", "3:5", "--recheck", "some", "--out", str(out))
    assert bad.returncode != 0 and "--recheck" in bad.stderr


def test_refine_chunking_times_each_chunk_size_on_the_same_starts(tmp_path):
    """Same starts refined whole and in chunks of 2 (the last padded): the same margins, the closed forms of d = 2."""
    from gnc_jax.theory import regime

    out = tmp_path / "rc"
    p = run_script("refine_chunking.py", "--cells", "2:4-6", "--chunks", "0,2", "--restarts", "2", "--max-steps", "200",
                   "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    data = json.load(open(str(out) + ".json"))
    assert [r["chunk"] for r in data["rows"]] == [0, 2] and data["meta"]["cells"] == [[2, 4], [2, 5], [2, 6]]
    for r in data["rows"]:
        assert r["max_abs_diff"] <= 1e-12 and r["seconds"] > 0
        assert r["values"] == pytest.approx([regime(K, 2).rho_star for K in (4, 5, 6)], abs=1e-9)
    bad = run_script("refine_chunking.py", "--chunks", "8,-1")
    assert bad.returncode != 0 and "--chunks" in bad.stderr


def test_surrogate_bias_checks_records_and_hops_from_own_codes(tmp_path):
    # N = 4..6 are basins of the surrogate (no row left); direct hops from a rotated triangular bipyramid (5 points,
    # 90 deg) refine back to 90 deg.
    import numpy as np

    x = np.array([[0, 0, 1], [0, 0, -1], [1, 0, 0], [-0.5, 3 ** 0.5 / 2, 0], [-0.5, -(3 ** 0.5) / 2, 0]], float)
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    codes = tmp_path / "codes.json"
    row = {"d": 3, "N": 5, "angle_deg": 90.0, "rounds": 1, "points": (x @ q).tolist()}  # as tammes_records writes
    codes.write_text(json.dumps({"rows": [row]}))
    out = tmp_path / "bias.json"
    p = run_script("surrogate_bias.py", "--N", "4:6", "--codes", str(codes), "--direct-N", "5", "--hops", "4",
                   "--scales", "0.1", "--top", "2", "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "records left by the surrogate: 0/3" in p.stdout
    res = json.load(open(out))
    assert [r["N"] for r in res["bias"]] == [4, 5, 6]
    for r in res["bias"]:
        assert abs(r["drop_deg"]) <= 1e-6 and not r["left"], r
    (hop,) = res["direct"]
    assert hop["N"] == 5 and hop["hits"] == hop["refined"] == 2 and hop["reached_deg"][0] == pytest.approx(90.0)
    bad = run_script("surrogate_bias.py", "--N", "4", "--scales", "0", "--out", str(out))
    assert bad.returncode != 0 and "--scales" in bad.stderr
    foreign = tmp_path / "foreign.json"  # codes this project did not find (no search fields) are refused
    foreign.write_text(json.dumps({"rows": [{"d": 3, "N": 5, "points": x.tolist()}]}))
    bad = run_script("surrogate_bias.py", "--N", "5", "--codes", str(foreign), "--out", str(out))
    assert bad.returncode != 0 and "--codes" in bad.stderr


def test_peers_scores_gnc_jax_and_pymanopt_from_the_same_starts_against_closed_forms(tmp_path):
    out = tmp_path / "peers"
    p = run_script("peers.py", "--cases", "etf10,tammes:8:3", "--restarts", "2", "--max-steps", "300",
                   "--solvers", "gnc-lbfgs,gnc-tr,gnc-lbfgs+refine,pymanopt-cg", "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "etf10 gnc-lbfgs+refine: not applicable" in p.stderr and "x lbfgs" in p.stdout
    doc = json.load(open(str(out) + ".json"))
    assert doc["meta"]["dtype"] == "float64" and doc["meta"]["pymanopt"] and doc["meta"]["pymanopt_objective"] == "jax.jit"
    rows = {(r["case"], r["solver"]): r for r in doc["rows"]}
    assert set(rows) == {("etf10", "gnc-lbfgs"), ("etf10", "gnc-tr"), ("etf10", "pymanopt-cg"),
                         ("tammes:8:3", "gnc-lbfgs"), ("tammes:8:3", "gnc-tr"), ("tammes:8:3", "gnc-lbfgs+refine"),
                         ("tammes:8:3", "pymanopt-cg")}
    C, tau = 10, 0.1  # collapsed CE at the simplex ETF (cos = -1/(C-1)): log(1 + (C-1) exp(-C/((C-1) tau)))
    etf = math.log1p((C - 1) * math.exp(-C / ((C - 1) * tau)))
    for solver in ("gnc-lbfgs", "gnc-tr", "pymanopt-cg"):
        r = rows[("etf10", solver)]
        assert r["reference"] == pytest.approx(etf, rel=1e-12) and r["reference_kind"] == "closed form (simplex ETF)"
        assert r["hits"] == 2 and max(abs(g) for g in r["gaps"]) < 1e-12 and r["drift"] < 1e-12, r
        assert set(r["status"]) <= {"CONVERGED", "MIN_STEP"} and r["cold_s"] > 0 and r["warm_s"] > 0
    antiprism = rows[("tammes:8:3", "gnc-lbfgs+refine")]  # the square antiprism, proven optimal
    assert antiprism["reference"] == pytest.approx(74.8584922, abs=1e-6) and antiprism["hits"] == 2
    assert max(abs(g) for g in antiprism["gaps"]) < 1e-6
    # the smooth surrogate's minimizer is not the max-min optimum here: without the refinement no restart hits
    for solver in ("gnc-lbfgs", "gnc-tr", "pymanopt-cg"):
        r = rows[("tammes:8:3", solver)]
        assert r["hits"] == 0 and 1e-5 < r["best_gap"] < 0.1, r


def test_peers_skips_a_missing_peer_and_names_bad_arguments(tmp_path):
    fake = tmp_path / "fake" / "pymanopt"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    env = dict(os.environ, PYTHONPATH=str(fake.parent))
    out = tmp_path / "peers"
    p = run_script("peers.py", "--cases", "tammes:4:3", "--restarts", "1", "--max-steps", "100", "--solvers",
                   "gnc-lbfgs,pymanopt-cg", "--out", str(out), env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    rows = json.load(open(str(out) + ".json"))["rows"]
    assert "pymanopt is not installed" in rows[1]["skipped"] and "skipped" in p.stdout
    assert rows[0]["reference"] == pytest.approx(109.4712206, abs=1e-6)  # the regular tetrahedron
    assert_refused("peers.py", ((["--cases", "tammes:1:3"], "--cases"), (["--cases", "nope"], "--cases"),
                                (["--solvers", "gnc-lbfgs,manopt"], "--solvers"), (["--gtol", "0"], "--gtol"),
                                (["--restarts", "0"], "--restarts")), out)


def test_nets_vs_model_reports_the_models_rho_and_writes_every_seed(tmp_path):
    out = tmp_path / "nets"
    p = run_script("nets_vs_model.py", "--cells", "linear:3:4,spherical:4:3", "--seeds", "2", "--steps", "500",
                   "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    rows = json.loads((tmp_path / "nets.json").read_text())["rows"]
    assert [(r["head"], r["K"], r["d"]) for r in rows] == [("linear", 3, 4), ("spherical", 4, 3)]
    assert rows[0]["model_rho"] == pytest.approx(1.5)  # the simplex ETF's K/(K-1)
    assert rows[1]["model_rho"] == pytest.approx(4 / 3, abs=1e-6)  # K <= d + 1: the ETF at any tau (SPEC §2)
    assert all(len(r["final"]) == 2 for r in rows) and "model rho" in p.stdout
    assert run_script("nets_vs_model.py", "--cells", "conv:3:4", "--out", str(out)).returncode != 0


@pytest.mark.parametrize("script, flag", [("solver_choice.py", "--out"), ("tammes_records.py", "--out"),
                                          ("tammes_records.py", "--rows-out")])
def test_benchmark_outputs_in_a_missing_directory_are_refused_when_parsed(script, flag, tmp_path):
    p = run_script(script, flag, str(tmp_path / "no" / "such" / "x"))
    assert p.returncode == 2 and f"argument {flag}: directory" in p.stderr, p.stderr[-500:]


def test_api_overheads_custom_copy_is_exact_and_cases_are_checked(tmp_path):
    out = tmp_path / "ao"
    p = run_script("api_overheads.py", "--cases", "custom", "--restarts", "2", "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.load(open(str(out) + ".json"))
    assert doc["custom_identical"] is True and [r["variant"] for r in doc["rows"]] == ["riesz", "riesz-copy"]
    assert_refused("api_overheads.py", ((["--cases", "speed"], "--cases"),), out)


def test_warm_stages_caps_the_early_stages_and_counts_hits(tmp_path):
    out = tmp_path / "ws"
    p = run_script("warm_stages.py", "--cases", "ce-ufm:8:3:0.1:1", "--budgets", "none,20", "--dtypes", "float64",
                   "--restarts", "2", "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    rows = {r["warm_steps"]: r for r in json.load(open(str(out) + ".json"))["rows"]}
    assert set(rows) == {"none", 20}
    assert rows[20]["steps"] < rows["none"]["steps"]  # the first stage at tau = 1 takes more than 20 iterations
    for r in rows.values():  # both reach the same optimum from these starts
        assert r["hits"] == 2 and abs(r["best"] - rows["none"]["best"]) < 1e-12 and len(r["values"]) == 2
    assert_refused("warm_stages.py", ((["--budgets", "0"], "--budgets"), (["--cases", "ce-ufm:8"], "--cases"),
                                      (["--dtypes", "float16"], "--dtypes")), out)


def test_solver_choice_scores_each_solver_against_the_closed_form(tmp_path):
    out = tmp_path / "sc"
    p = run_script("solver_choice.py", "--cases", "hug6", "--solvers", "lbfgs,tr", "--dtypes", "float64",
                   "--restarts", "2", "--out", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.load(open(str(out) + ".json"))
    rows = {r["solver"]: r for r in doc["rows"]}
    assert set(rows) == {"lbfgs", "tr"} and doc["meta"]["restarts"] == 2
    for r in rows.values():  # the octahedron
        assert r["angle_ref_deg"] == 90.0 and r["angle_gap_deg"] < 1e-6 and r["status"] == {"CONVERGED": 2}
        assert abs(r["objective"] - 0.45) < 1e-12 and r["warm_s"] > 0
    assert rows["tr"]["angle_gap_deg"] < 1e-9 and rows["tr"]["max_steps_taken"] < rows["lbfgs"]["max_steps_taken"]
    assert rows["lbfgs"]["max_hessian_vector_products"] is None
    assert rows["tr"]["max_hessian_vector_products"] > rows["tr"]["max_steps_taken"]
    assert_refused("solver_choice.py", ((["--cases", "nope"], "--cases"), (["--solvers", "newton"], "--solvers"),
                                        (["--restarts", "0"], "--restarts")), out)
