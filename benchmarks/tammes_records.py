"""Tammes records from random starts: d=3 N range and the exact codes of d=4..8.

    .venv/bin/python benchmarks/tammes_records.py [--N 4:130] [--exact] [--exact-only]
        [--exact-codes 4:10,4:24] [--restarts 16] [--seed 0] [--max-rounds 8] [--patience 3] [--hops 128]
        [--refine-top 2] [--out FILE.json]

Every row is found from random starts only (``gnc_jax.codes.records.solve_record``: batched
surrogate -> exact float64 refinement -> restart/perturbation rounds with a record-blind stopping
rule) and then compared with the best-known table. Prints the rows, the fraction matched within
1e-6 deg, the worst gap, any row better than the record (re-checked in float64 from the Gram
matrix and from the chord), and the total time; writes JSON (rows with coordinates) next to this
file unless --out is given.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

from gnc_jax.codes.cli import format_table
from gnc_jax.codes.constructions import FIXED_CODES
from gnc_jax.codes.records import SEARCH_DEFAULTS as D, parse_range, solve_record

TOL_DEG = 1e-6


def exact_codes(selection: str | None = None) -> list[tuple[int, int, str]]:
    """(d, N, name) of the registered exact codes with d >= 4, optionally filtered by 'd:N,d:N'."""
    codes = sorted((d, n, name) for name, (d, n, _) in FIXED_CODES.items() if d >= 4)
    if selection:
        wanted = {tuple(int(v) for v in item.split(":")) for item in selection.split(",")}
        codes = [c for c in codes if (c[0], c[1]) in wanted]
    return codes


def recheck(points: np.ndarray) -> dict:
    """Float64 minimal angle of unit-normalised points, from the max Gram entry and from the chord."""
    x = np.asarray(points, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    g = x @ x.T
    np.fill_diagonal(g, -np.inf)
    i, j = np.unravel_index(np.argmax(g), g.shape)
    return {"acos_deg": math.degrees(math.acos(min(1.0, float(g[i, j])))),
            "chord_deg": math.degrees(2 * math.asin(min(1.0, float(np.linalg.norm(x[i] - x[j])) / 2))),
            "max_row_norm_err": float(np.max(np.abs(np.linalg.norm(points, axis=1) - 1.0)))}


def summarize(rows) -> dict:
    known = [r for r in rows if r.gap_deg is not None]
    gaps = [r.gap_deg for r in known]
    return {"rows": len(rows), "with_record": len(known), "matched": sum(abs(g) <= TOL_DEG for g in gaps),
            "fraction_matched": (sum(abs(g) <= TOL_DEG for g in gaps) / len(known)) if known else None,
            "worst_gap_deg": max(gaps) if gaps else None,
            "worst_row": None if not known else [max(known, key=lambda r: r.gap_deg).d,
                                                 max(known, key=lambda r: r.gap_deg).N],
            "better_than_record": [{"d": r.d, "N": r.N, "angle_deg": r.angle_deg, "record_deg": r.record_deg,
                                    **recheck(r.points)} for r in known if r.gap_deg < -TOL_DEG],
            "seconds": sum(r.seconds for r in rows)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", default="4:130", help="d=3 point counts (A:B inclusive, comma lists)")
    ap.add_argument("--exact", action="store_true", help="also run the exact codes of d=4..8")
    ap.add_argument("--exact-only", action="store_true", help="only the exact codes of d=4..8")
    ap.add_argument("--exact-codes", default=None, help="subset of exact codes as d:N,d:N (e.g. 4:10,4:24)")
    ap.add_argument("--restarts", type=int, default=D["restarts"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-rounds", type=int, default=D["max_rounds"])
    ap.add_argument("--patience", type=int, default=D["patience"])
    ap.add_argument("--hops", type=int, default=D["hops"])
    ap.add_argument("--refine-top", type=int, default=D["refine_top"])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "tammes_records.json"))
    args = ap.parse_args(argv)

    cases = [] if args.exact_only else [(3, n, None) for n in parse_range(args.N, "--N", lo=2)]
    if args.exact or args.exact_only:
        cases += exact_codes(args.exact_codes)
    kw = dict(restarts=args.restarts, seed=args.seed, max_rounds=args.max_rounds, refine_top=args.refine_top,
              patience=args.patience, hops=args.hops)
    t0 = time.perf_counter()
    rows = []
    for k, (d, n, name) in enumerate(cases):
        row = solve_record(d, n, **kw)
        rows.append(row)
        gap = "n/a" if row.gap_deg is None else f"{row.gap_deg:+.2e}"
        print(f"[{k + 1}/{len(cases)}] d={d} N={n}{' ' + name if name else ''}: {row.angle_deg:.9f} deg, "
              f"gap {gap}, rounds {row.rounds}, {row.seconds:.1f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    summary = summarize(rows) | {"wall_seconds": wall}
    print(format_table(rows))
    print(f"matched within {TOL_DEG:g} deg: {summary['matched']}/{summary['with_record']}"
          f" ({summary['fraction_matched']:.3f}); worst gap {summary['worst_gap_deg']:+.3e} deg at d,N="
          f"{summary['worst_row']}; better than record: {len(summary['better_than_record'])}; "
          f"total {wall:.1f} s wall")
    for b in summary["better_than_record"]:
        print(f"  better: d={b['d']} N={b['N']} found {b['angle_deg']:.10f} (acos {b['acos_deg']:.10f}, "
              f"chord {b['chord_deg']:.10f}) vs record {b['record_deg']:.10f}")
    meta = {"command": " ".join(["benchmarks/tammes_records.py"] + (argv if argv is not None else sys.argv[1:])),
            "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), **vars(args)}
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "summary": summary, "rows": [r.to_dict(points=True) for r in rows]}, f)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
