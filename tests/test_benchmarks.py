"""Benchmark scripts at toy sizes: they run, write what they say, and report closed forms."""
import csv
import json
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    # a subprocess: softmax_vs_tammes enables float64 for its whole process
    return subprocess.run([sys.executable, str(BENCH / name), *args], cwd=BENCH, capture_output=True, text=True,
                          timeout=600)


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
