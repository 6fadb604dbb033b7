"""Grid throughput: ``run_grid`` (bucketed, padded batches) vs a Python loop of ``api.solve`` per cell.

Cells: problem x C in [C_lo, C_hi] x d in DIMS x seeds 0..S-1 (seeds make several cells per shape,
as a grid over restarts-seeds would), each best of R restarts. Both sides are timed twice: cold
(compiles included: the grid compiles once per bucket, the loop once per exact (C, d); each side
in a fresh process) and warm (same cells again in that process, everything compiled). Prints a table and writes JSON (default next to this file).

    python benchmarks/grid_throughput.py [--C 4:19 --d 2,3,4 --seeds 6 --restarts 4 --max-steps 50]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from gnc_jax import api
from gnc_jax.grid import bucket, expand_grid, run_grid

from _meta import in_benchmarks, output_path, run_meta  # benchmarks/_meta.py (this script's folder is on sys.path)


def make_cells(problem: str, C: str, d: str, seeds: int, restarts: int) -> list:
    """All cells, seed-major: len = seeds x |C| x |d|."""
    return [c for s in range(seeds) for c in expand_grid(problem, C, d, restarts=restarts, seed=s)]


def run_loop(cells: list, max_steps: int) -> list[float]:
    """min_angle_deg of ``api.solve`` per cell (same seeds/restarts as the grid)."""
    return [api.solve(c.problem, c.C, c.d, restarts=c.restarts, seed=c.seed, max_steps=max_steps).min_angle_deg
            for c in cells]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run_side(side: str, cells: list, max_steps: int, chunk: int) -> dict:
    """Cold then warm seconds of one side, and its min angles (cell order)."""
    if side == "grid":
        def once():
            rows = run_grid(cells, max_steps=max_steps, chunk_cells=chunk, progress=False)
            by_key = {(r["C"], r["d"], r["seed"]): r["min_angle_deg"] for r in rows}
            return [by_key[(c.C, c.d, c.seed)] for c in cells]
    else:
        def once():
            return run_loop(cells, max_steps)
    angles, cold = timed(once)
    _, warm = timed(once)
    return {"cold_s": cold, "warm_s": warm, "angles": angles}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", default="tammes")
    ap.add_argument("--C", default="4:19")
    ap.add_argument("--d", default="2,3,4")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--restarts", type=int, default=4)
    ap.add_argument("--max-steps", type=int, default=50)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--side", choices=("grid", "loop"), default=None,
                    help="internal: time one side in this process and print JSON")
    ap.add_argument("--device-label", default=None, help="device description written to the JSON")
    ap.add_argument("--out", type=output_path, default=in_benchmarks("grid_throughput.json"))
    a = ap.parse_args()

    cells = make_cells(a.problem, a.C, a.d, a.seeds, a.restarts)
    if a.side:
        print(json.dumps(run_side(a.side, cells, a.max_steps, a.chunk)))
        return
    # each side in a fresh process, so neither inherits the other's compiled programs
    common = ["--problem", a.problem, "--C", a.C, "--d", a.d, "--seeds", str(a.seeds), "--restarts",
              str(a.restarts), "--max-steps", str(a.max_steps), "--chunk", str(a.chunk)]
    res = {}
    for side in ("grid", "loop"):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), *common, "--side", side],
                             capture_output=True, text=True, check=True)
        res[side] = json.loads(out.stdout.strip().splitlines()[-1])

    n, shapes, buckets = len(cells), len({(c.C, c.d) for c in cells}), len(bucket(cells))
    diff = np.abs(np.asarray(res["grid"]["angles"]) - np.asarray(res["loop"]["angles"]))
    out = dict(problem=a.problem, C=a.C, d=a.d, seeds=a.seeds, restarts=a.restarts, max_steps=a.max_steps,
               cells=n, exact_shapes=shapes, buckets=buckets, chunk_cells=a.chunk,
               min_angle_abs_diff_max=float(diff.max()), min_angle_frac_within_0p001_deg=float(np.mean(diff < 1e-3)),
               **run_meta(a.device_label))
    for tag in ("cold", "warm"):
        g, lp = res["grid"][f"{tag}_s"], res["loop"][f"{tag}_s"]
        out.update({f"grid_{tag}_s": g, f"loop_{tag}_s": lp, f"grid_{tag}_cells_per_s": n / g,
                    f"loop_{tag}_cells_per_s": n / lp, f"speedup_{tag}": lp / g})
    print(f"{a.problem}: {n} cells (C {a.C} x d {a.d} x {a.seeds} seeds, {a.restarts} restarts, "
          f"max_steps {a.max_steps}); {shapes} exact shapes, {buckets} buckets")
    print(f"{'':>6} {'grid s':>8} {'grid cells/s':>12} {'loop s':>8} {'loop cells/s':>12} {'speed-up':>8}")
    for tag in ("cold", "warm"):
        g, lp = out[f"grid_{tag}_s"], out[f"loop_{tag}_s"]
        print(f"{tag:>6} {g:>8.1f} {n / g:>12.2f} {lp:>8.1f} {n / lp:>12.2f} {lp / g:>8.2f}")
    print(f"min angle |grid - loop|: max {diff.max():.3g} deg, {100 * np.mean(diff < 1e-3):.0f}% within 1e-3 deg")
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
