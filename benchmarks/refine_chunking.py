"""Cost of the float64 max-min refinement against its chunk size (gnc_jax.solvers.refine, ``chunk_size``).

A vmapped while_loop runs until its slowest problem stops, so one large batch makes every cell pay the slowest
cell's iterations. This script solves the given cells once (softmax_vs_tammes.batched_best: batched random restarts,
best restart per cell), then refines the same starts with each chunk size in --chunks (0: the whole bucket at
once), and prints per chunk size the seconds (compile included: each chunk shape compiles once), seconds per cell,
and how far the refined figures lie from those of the first chunk size in the list.

    python benchmarks/refine_chunking.py --cells 3:97-112 --problem softmax-code --refine fast --chunks 0,8,4
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

from _meta import in_benchmarks, output_path, run_meta  # noqa: E402  (benchmarks/_meta.py)
from softmax_vs_tammes import batched_best, exact_figures, parse_cells, refine_all  # noqa: E402


def parse_chunks(spec: str) -> list:
    """Chunk sizes from "0,8,4" (0: no chunking); SystemExit naming --chunks on a bad item."""
    try:
        out = [int(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"--chunks: {spec!r} is not a comma list of integers")
    if not out or min(out) < 0:
        raise SystemExit(f"--chunks: {spec!r} needs at least one size, each >= 0")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", default="3:97-112", help="cells as d:K,d:K1-K2 (softmax_vs_tammes.py's syntax)")
    ap.add_argument("--problem", choices=("softmax-code", "tammes"), default="softmax-code")
    ap.add_argument("--refine", choices=("full", "fast"), default="fast")
    ap.add_argument("--chunks", default="0,8,4", help="chunk sizes to time, in order (0: the whole bucket at once)")
    ap.add_argument("--restarts", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=1000)
    ap.add_argument("--device-label", default=None)
    ap.add_argument("--out", type=output_path, default=in_benchmarks("refine_chunking"))
    a = ap.parse_args(argv)
    cells, chunks = parse_cells(a.cells), parse_chunks(a.chunks)
    t0 = time.perf_counter()
    starts = batched_best(a.problem, cells, a.restarts, a.seed, a.max_steps, jnp.float32)
    t_solve = time.perf_counter() - t0
    print(f"{len(cells)} cells, batched {a.problem} solves {t_solve:.1f} s", file=sys.stderr, flush=True)
    key = "max_cos" if a.problem == "tammes" else "rho"
    rows, ref = [], None
    for chunk in chunks:
        t = time.perf_counter()
        out = refine_all(a.problem, starts, cells, fast=a.refine == "fast", chunk=chunk or None)
        seconds = time.perf_counter() - t
        vals = np.array([f[key] for f in exact_figures(cells, [p["W"] for p in out])])
        ref = vals if ref is None else ref
        rows.append(dict(chunk=chunk, seconds=seconds, seconds_per_cell=seconds / len(cells),
                         max_abs_diff=float(np.max(np.abs(vals - ref))), values=vals.tolist()))
        print(f"chunk {chunk or 'all':>4}: {seconds:8.1f} s, {seconds / len(cells):6.1f} s/cell, "
              f"max |diff| to chunk {chunks[0] or 'all'}: {rows[-1]['max_abs_diff']:.2e}", file=sys.stderr, flush=True)
    print(f"{'chunk':>6} {'seconds':>9} {'s/cell':>8} {'max |diff| ' + key:>18}")
    for r in rows:
        print(f"{r['chunk'] or 'all':>6} {r['seconds']:>9.1f} {r['seconds_per_cell']:>8.1f} {r['max_abs_diff']:>18.2e}")
    meta = dict(**run_meta(a.device_label), cells=[list(c) for c in cells], problem=a.problem, refine=a.refine,
                restarts=a.restarts, seed=a.seed, max_steps=a.max_steps, solve_seconds=t_solve,
                command="python benchmarks/refine_chunking.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    with open(a.out + ".json", "w") as f:
        json.dump(dict(meta=meta, rows=rows), f, indent=1)
    print(f"wrote {a.out}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
