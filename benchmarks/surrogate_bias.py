"""Where the smooth Tammes surrogate leaves a record's basin, and whether direct hops climb back.

The search (gnc_jax.codes.records) solves a smooth surrogate, tau * logsumexp(<w_i, w_j> / tau), before its exact
float64 max-min refinement. The logsumexp counts near-contacts, so at a finite tau it prefers codes with fewer
contacts; a record with many contacts can then be no basin of the surrogate at all, and no surrogate-based restart or
hop reaches it. This script measures that, reading the bundled coordinates (a diagnostic: nothing here is a find):

  bias:   per d = 3 row with coordinates, one local surrogate solve at the final temperature from the record itself,
          then the fast refinement; prints the rows whose refined angle falls more than 1e-6 deg below the record.
  direct: per row of --codes (this project's own found codes: tammes_records.py outputs), --hops Gaussian
          perturbations of that code at each scale of --scales (sigma = scale x its minimal angle), screened
          (records.SCREEN_KW), the --top best refined (solvers.refine.FAST_KW), without the surrogate: the distinct
          angles reached and how many reach the record within 1e-6 deg.

    python benchmarks/surrogate_bias.py --N 4:130 [--codes tammes_records_cpu_best_of_runs.json --direct-N 71,85
        --hops 64 --scales 0.05,0.1,0.2 --top 8] [--out surrogate_bias.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from _meta import in_benchmarks, output_path, run_meta  # benchmarks/_meta.py
from gnc_jax.codes import best_known, load_coordinates
from gnc_jax.codes.records import (SCREEN_KW, exact_angles, padded_size, parse_range, parse_scales, perturb,
                                   refine_batch, surrogate_batch)
from gnc_jax.codes.tables import coordinate_sources
from gnc_jax.solvers.refine import FAST_KW
from tammes_records import own_codes  # benchmarks/tammes_records.py: its reader refuses rows it did not write

TOL_DEG = 1e-6


def padded(points: np.ndarray) -> np.ndarray:
    """(N, 3) -> (1, N_pad, 3) with zero rows, N_pad = records.padded_size(N)."""
    out = np.zeros((1, padded_size(len(points)), points.shape[1]))
    out[0, :len(points)] = points
    return out


def bias_row(N: int) -> dict:
    """The record of (3, N), solved locally by the surrogate at its final temperature and refined (fast)."""
    x = padded(load_coordinates(3, N))
    record = float(exact_angles(x, N)[0])
    surrogate = surrogate_batch(3, N, x, stages=1)
    refined = float(exact_angles(refine_batch(surrogate, N, **FAST_KW), N)[0])
    return dict(N=N, record_deg=record, surrogate_deg=float(exact_angles(surrogate, N)[0]), refined_deg=refined,
                drop_deg=record - refined, left=record - refined > TOL_DEG)


def direct_row(N: int, code: np.ndarray, hops: int, scales: list[float], top: int, seed: int) -> list[dict]:
    """Direct hops of ``code`` (N, 3) at each scale: screened, the ``top`` best refined (fast)."""
    rng = np.random.default_rng([seed, N])
    x = padded(code)
    start = float(exact_angles(x, N)[0])
    rec = best_known(3, N)
    out = []
    for scale in scales:
        t0 = time.perf_counter()
        screened = refine_batch(perturb(x[0], N, hops, start, rng, scales=(scale,)), N, **SCREEN_KW)
        best = np.argsort(-exact_angles(screened, N))[:top]
        angles = np.sort(exact_angles(refine_batch(screened[best], N, **FAST_KW), N))[::-1]
        out.append(dict(N=N, scale=scale, start_deg=start, record_deg=None if rec is None else rec.min_angle_deg,
                        reached_deg=sorted({round(float(a), 7) for a in angles}, reverse=True),
                        hits=None if rec is None else int(np.sum(angles >= rec.min_angle_deg - TOL_DEG)),
                        refined=len(angles),
                        seconds=time.perf_counter() - t0))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", default="4:130", help="d = 3 rows of the bias check (A:B inclusive, comma lists)")
    ap.add_argument("--codes", default=None, help="comma list of tammes_records.py JSON outputs or rows files: the "
                                                  "best code per N starts the direct hops")
    ap.add_argument("--direct-N", default=None, help="rows of --codes to hop from (default: every row of --N that "
                                                     "--codes holds below its record)")
    ap.add_argument("--hops", type=int, default=64, help="perturbations per scale (default 64)")
    ap.add_argument("--scales", default="0.05,0.1,0.2", help="sigma / minimal angle, comma list")
    ap.add_argument("--top", type=int, default=8, help="screened hops refined per scale (default 8)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device-label", default=None)
    ap.add_argument("--out", type=output_path, default=in_benchmarks("surrogate_bias.json"))
    args = ap.parse_args(argv)
    Ns = parse_range(args.N, "--N", lo=2)
    try:
        scales = list(parse_scales(args.scales, "--scales"))
    except ValueError as err:
        raise SystemExit(str(err)) from None
    for name, v in (("--hops", args.hops), ("--top", args.top)):
        if v < 1:
            raise SystemExit(f"{name}: must be >= 1, got {v}")
    found = own_codes([p for p in args.codes.split(",") if p], "--codes") if args.codes else {}
    codes = {N: pts for (d, N), (_, pts) in found.items() if d == 3}  # {N: (N, 3)}
    meta = {"command": " ".join(["benchmarks/surrogate_bias.py"] + (argv if argv is not None else sys.argv[1:])),
            **run_meta(args.device_label), **vars(args), "tol_deg": TOL_DEG}
    t0 = time.perf_counter()
    bias = []
    for N in Ns:
        if coordinate_sources(3, N):
            bias.append(bias_row(N))
            if bias[-1]["left"]:
                r = bias[-1]
                print(f"N={N}: record {r['record_deg']:.9f} -> surrogate, refined {r['refined_deg']:.9f} deg "
                      f"(drop {r['drop_deg']:.2e})", file=sys.stderr, flush=True)
    left = [r["N"] for r in bias if r["left"]]
    print(f"records left by the surrogate: {len(left)}/{len(bias)} rows with coordinates: {left}")
    direct = []
    if codes:
        records = {N: best_known(3, N) for N in Ns if N in codes}
        wanted = parse_range(args.direct_N, "--direct-N", lo=2) if args.direct_N else [
            N for N, rec in records.items() if rec is not None and found[(3, N)][0] < rec.min_angle_deg - TOL_DEG]
        missing = [N for N in wanted if N not in codes]
        if missing:
            raise SystemExit(f"--direct-N: {args.codes} holds no code for N = {missing}")
        print(f"{'N':>4} {'scale':>6} {'start':>12} {'record':>12} {'best reached':>12} {'hits':>6} {'s':>6}")
        for N in wanted:
            for r in direct_row(N, codes[N], args.hops, scales, args.top, args.seed):
                direct.append(r)
                record = "n/a" if r["record_deg"] is None else f"{r['record_deg']:12.7f}"
                hits = "n/a" if r["hits"] is None else f"{r['hits']:3d}/{r['refined']:<2d}"
                print(f"{N:4d} {r['scale']:6.2f} {r['start_deg']:12.7f} {record:>12} "
                      f"{r['reached_deg'][0]:12.7f} {hits:>6} {r['seconds']:6.1f}", flush=True)
    meta["seconds"] = time.perf_counter() - t0
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "bias": bias, "direct": direct}, f)
    print(f"wrote {args.out} ({meta['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
