"""Which solver for which problem: gnc-jax's L-BFGS, CG and trust regions side by side, in float32 and float64.

Every solver gets the same restarts (``gnc_jax.solve``'s seeded starts) and defaults (gradient tolerance 1e-5 in
float32, 1e-10 in float64; scaled by min(1, |f|) for the spherical CE; the problem's continuation stages). Each
(case, dtype, solver) is solved twice and the second call timed (compiled by then); the first call's time, with
compilation, is reported too. Scores: the best restart's objective against the best float64 objective any solver
reached (relative gap), and its exact min angle (float64) against the case's closed form where it has one.

    python benchmarks/solver_choice.py [--cases ufm4,hug6,mgd6,etf10,thomson24,tammes24] [--solvers lbfgs,cg,tr]
        [--dtypes float32,float64] [--restarts 8] [--out solver_choice]

Cases: ufm4 (regularized CE-UFM, (K, d, n) = (4, 5, 3), the simplex, 109.4712206°), hug6 and mgd6 (6 points in
d = 3: the octahedron, 90°), etf10 (collapsed CE, C = 10, d = 9, tau = 0.1: the simplex, arccos(-1/9)),
thomson24 (Riesz s = 1, N = 24), tammes24 (the smooth surrogate at tau = 1e-4), ce100 (spherical CE-UFM,
(C, d) = (100, 10), tau = 0.2; slow with trust regions on a CPU). Prints a table and writes OUT.json.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import shlex
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import gnc_jax  # noqa: E402
from _meta import names_arg, output_path, run_meta, timed_twice  # noqa: E402  benchmarks/_meta.py

CASES = {
    "ufm4": (dict(problem="ce-ufm-regularized", C=4, d=5, n=3, lambda_W=5e-3, lambda_H=1e-2, lambda_b=1e-2),
             math.degrees(math.acos(-1 / 3))),
    "hug6": (dict(problem="hug", C=6, d=3, n=2), 90.0),
    "mgd6": (dict(problem="mgd", C=6, d=3), 90.0),
    "etf10": (dict(problem="ce-ufm-collapsed", C=10, d=9, tau=0.1), math.degrees(math.acos(-1 / 9))),
    "thomson24": (dict(problem="riesz", C=24, d=3, s=1.0), None),
    "tammes24": (dict(problem="tammes", C=24, d=3), None),
    "ce100": (dict(problem="ce-ufm", C=100, d=10, tau=0.2), None),
}
DEFAULT_CASES = "ufm4,hug6,mgd6,etf10,thomson24,tammes24"
SOLVERS = ("lbfgs", "cg", "gd", "tr", "adam")
DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


def run_one(case: str, solver: str, dtype: str, restarts: int) -> dict:
    kw, _ = CASES[case]
    kw = dict(kw)
    problem = kw.pop("problem")

    def call():
        return gnc_jax.solve(problem, restarts=restarts, solver=solver, dtype=DTYPES[dtype], **kw)

    cold, warm, r = timed_twice(call)
    return dict(case=case, solver=solver, dtype=dtype, cold_s=cold, warm_s=warm,
                max_steps_taken=int(max(r.restarts["steps"])),
                max_hessian_vector_products=(int(max(r.restarts["inner_steps"])) if "inner_steps" in r.restarts
                                             else None),
                objective=float(r.objective),
                min_angle_deg=float(r.min_angle_deg), min_margin=float(r.min_margin),
                status=dict(collections.Counter(str(s) for s in r.restarts["status"])))


def score(rows: list[dict]) -> None:
    """Adds objective_gap_rel (to the best float64 objective of the case) and angle_gap_deg (to the closed form)."""
    for case in {r["case"] for r in rows}:
        mine = [r for r in rows if r["case"] == case]
        ref_pool = [r["objective"] for r in mine if r["dtype"] == "float64"] or [r["objective"] for r in mine]
        best = min(ref_pool)
        angle = CASES[case][1]
        for r in mine:
            r["objective_ref"] = best
            r["objective_gap_rel"] = (r["objective"] - best) / max(abs(best), 1e-300)
            r["angle_ref_deg"] = angle
            r["angle_gap_deg"] = None if angle is None else abs(r["min_angle_deg"] - angle)


def table(rows: list[dict]) -> str:
    head = (f"{'case':10s} {'dtype':8s} {'solver':6s} {'cold s':>7s} {'warm s':>8s} {'steps':>6s} {'HVPs':>6s} "
            f"{'objective':>16s} {'rel gap':>9s} {'angle':>12s} {'angle gap':>9s}  status")
    out = [head, "-" * len(head)]
    for r in rows:
        ag = "-" if r["angle_gap_deg"] is None else f"{r['angle_gap_deg']:.1e}"
        hvp = "-" if r["max_hessian_vector_products"] is None else str(r["max_hessian_vector_products"])
        st = " ".join(f"{k.lower()}:{v}" for k, v in sorted(r["status"].items()))
        out.append(f"{r['case']:10s} {r['dtype']:8s} {r['solver']:6s} {r['cold_s']:7.2f} {r['warm_s']:8.3f} "
                   f"{r['max_steps_taken']:6d} {hvp:>6s} {r['objective']:16.10g} {r['objective_gap_rel']:9.1e} "
                   f"{r['min_angle_deg']:12.7f} {ag:>9s}  {st}")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=DEFAULT_CASES)
    ap.add_argument("--solvers", default="lbfgs,cg,tr")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--restarts", type=int, default=8)
    ap.add_argument("--device-label", default=None)
    ap.add_argument("--out", type=output_path, default="solver_choice", help="writes OUT.json")
    a = ap.parse_args(argv)
    cases = names_arg(ap, a.cases, CASES, "--cases")
    solvers = names_arg(ap, a.solvers, SOLVERS, "--solvers")
    dtypes = names_arg(ap, a.dtypes, DTYPES, "--dtypes")
    if a.restarts < 1:
        ap.error(f"--restarts must be >= 1, got {a.restarts}")
    t0 = time.perf_counter()
    rows = []
    for case in cases:
        for dtype in dtypes:
            for solver in solvers:
                rows.append(run_one(case, solver, dtype, a.restarts))
                print(f"  {case} {dtype} {solver}: {rows[-1]['cold_s'] + rows[-1]['warm_s']:.1f} s", file=sys.stderr,
                      flush=True)
    score(rows)
    print(table(rows))
    total = time.perf_counter() - t0
    print(f"total {total:.1f} s")
    meta = dict(run_meta(a.device_label), command="solver_choice.py " + shlex.join(sys.argv[1:] if argv is None
                                                                                   else argv),
                restarts=a.restarts, total_s=total)
    with open(a.out + ".json", "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
