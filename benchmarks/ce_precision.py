"""Spherical CE-UFM in float32 against float64 along a temperature sweep: rho(W), loss, status, time.

Near collapse the spherical CE and its gradient fall like exp(-margin / tau): at (K, d) = (3, 8) the optimum's loss is
~1e-6 at tau = 0.05 and ~1e-16 at tau = 0.02. This script solves each (problem, K, d, tau) from the same random
starts in float32 and in float64 (``api.solve`` defaults: continuation stages, stop test) and prints rho(W) of the
best restart in each precision, their difference (and the median over restarts of the per-restart difference: restart
r starts from the same point in both), the float32 loss against the float64 one, status, steps and warm
seconds. Nothing is read from a table: the float64 solve is the reference. Run it from a checkout of another commit
(``PYTHONPATH=<other>/ python benchmarks/ce_precision.py``) to compare versions of the objective or the stop test.

    python benchmarks/ce_precision.py [--cells 8:3,12:3,16:4] [--taus 1,0.2,0.1,0.05,0.02]
        [--problems ce-ufm-collapsed,ce-ufm] [--restarts 8] [--out ce_precision]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import gnc_jax  # noqa: E402
from _meta import output_path, run_meta  # noqa: E402  benchmarks/_meta.py


def parse_cells(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        try:
            K, d = (int(v) for v in item.split(":"))
        except ValueError:
            raise SystemExit(f"--cells: expected K:d items, got {item!r}") from None
        out.append((K, d))
    return out


def timed_solve(problem: str, K: int, d: int, tau: float, restarts: int, dtype) -> tuple:
    """(result, warm seconds): solved twice, the second call timed (its program is compiled by then)."""
    gnc_jax.solve(problem, C=K, d=d, tau=tau, restarts=restarts, seed=0, dtype=dtype)
    t0 = time.perf_counter()
    r = gnc_jax.solve(problem, C=K, d=d, tau=tau, restarts=restarts, seed=0, dtype=dtype)
    return r, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="8:3,12:3,16:4", help="K:d items")
    ap.add_argument("--taus", default="1,0.2,0.1,0.05,0.02")
    ap.add_argument("--problems", default="ce-ufm-collapsed,ce-ufm")
    ap.add_argument("--restarts", type=int, default=8)
    ap.add_argument("--out", type=output_path, default="ce_precision", help="writes OUT.json")
    a = ap.parse_args(argv)
    taus = [float(t) for t in a.taus.split(",")]
    problems = a.problems.split(",")
    for p in problems:
        if p not in ("ce-ufm", "ce-ufm-collapsed"):
            raise SystemExit(f"--problems: spherical CE problems only (ce-ufm, ce-ufm-collapsed), got {p!r}")
    rows = []
    head = (f"{'problem':>16} {'K':>3} {'d':>2} {'tau':>5} {'rho f32':>10} {'rho f64':>10} {'diff':>9} "
            f"{'med|d|':>8} {'loss f32':>10} {'loss f64':>10} {'status f32':>10} {'steps':>5} {'s f32':>6} {'s f64':>6}")
    print(head)
    for problem in problems:
        for K, d in parse_cells(a.cells):
            for tau in taus:
                r32, s32 = timed_solve(problem, K, d, tau, a.restarts, jnp.float32)
                r64, s64 = timed_solve(problem, K, d, tau, a.restarts, jnp.float64)
                row = dict(problem=problem, K=K, d=d, tau=tau, rho_f32=r32.min_margin, rho_f64=r64.min_margin,
                           rho_diff=r32.min_margin - r64.min_margin, loss_f32=r32.objective, loss_f64=r64.objective,
                           status_f32=r32.status, status_f64=r64.status, steps_f32=r32.steps, steps_f64=r64.steps,
                           seconds_f32=s32, seconds_f64=s64,
                           rho_f32_restarts=np.asarray(r32.restarts["min_margin"]).tolist(),
                           rho_f64_restarts=np.asarray(r64.restarts["min_margin"]).tolist())
                # restart r starts from the same point in both precisions: the median per-restart difference
                row["median_restart_diff"] = float(np.median(np.abs(np.subtract(row["rho_f32_restarts"],
                                                                                row["rho_f64_restarts"]))))
                rows.append(row)
                print(f"{problem:>16} {K:>3} {d:>2} {tau:>5g} {row['rho_f32']:>10.6f} {row['rho_f64']:>10.6f} "
                      f"{row['rho_diff']:>+9.1e} {row['median_restart_diff']:>8.1e} {row['loss_f32']:>10.3e} "
                      f"{row['loss_f64']:>10.3e} {row['status_f32']:>10} {row['steps_f32']:>5} {s32:>6.2f} {s64:>6.2f}",
                      flush=True)
    worst = max(abs(r["rho_diff"]) for r in rows)
    for tau in taus:
        at = [r for r in rows if r["tau"] == tau]
        print(f"tau = {tau:g}: worst |rho f32 - rho f64| of the best restarts "
              f"{max(abs(r['rho_diff']) for r in at):.1e}, of the per-restart medians "
              f"{max(r['median_restart_diff'] for r in at):.1e}")
    med = max(r["median_restart_diff"] for r in rows)
    print(f"worst |rho f32 - rho f64| of the best restarts = {worst:.2e}, worst median per-restart difference = "
          f"{med:.2e}, over {len(rows)} solves")
    meta = run_meta()
    meta["command"] = "benchmarks/ce_precision.py " + " ".join(sys.argv[1:] if argv is None else argv)
    meta["gnc_jax"] = gnc_jax.__file__
    with open(a.out + ".json", "w") as f:
        json.dump({"meta": meta, "rows": rows, "worst_rho_diff": worst, "worst_median_restart_diff": med}, f, indent=1)
    print(f"wrote {a.out}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
