"""Trained networks against the feature model: how close do real MLPs come to the model's optimum?

For each (K, d, head) cell, ``gnc_jax.nets.train_collapse`` trains several seeds at once (flax MLP on K Gaussian
clusters, full-batch SGD with momentum and weight decay, to the terminal phase) and the final last layer is measured:
NC1, NC2, NC3, rho(W_hat) = GNC2, min angle. The model's prediction: the simplex ETF for the linear head when
K <= d + 1 (rho = K/(K-1)), and for the spherical head the spherical CE-UFM optimum at the same tau
(``gnc_jax.solve("ce-ufm", n=1)`` in float64). Prints one row per cell (best seed and median over seeds) and writes
JSON with every seed.

    python benchmarks/nets_vs_model.py [--cells linear:4:8,linear:6:8,spherical:6:3,spherical:8:3,spherical:16:4]
        [--seeds 4] [--steps 4000] [--tau 0.1] [--out nets_vs_model]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from _meta import output_path, run_meta  # noqa: E402  benchmarks/_meta.py
from gnc_jax.nets import train_collapse


def parse_cells(text: str) -> list[tuple[str, int, int]]:
    out = []
    for item in text.split(","):
        parts = item.split(":")
        if len(parts) != 3 or parts[0] not in ("linear", "spherical"):
            raise SystemExit(f"--cells: expected head:K:d items (head linear or spherical), got {item!r}")
        out.append((parts[0], int(parts[1]), int(parts[2])))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="linear:4:8,linear:6:8,spherical:6:3,spherical:8:3,spherical:16:4")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--out", type=output_path, default="nets_vs_model", help="writes OUT.json")
    a = ap.parse_args(argv)
    rows = []
    print(f"{'head':<10} {'K':>3} {'d':>3} {'fit':>5} {'NC1 med':>9} {'NC2 med':>9} {'rho best':>10} {'rho med':>10} "
          f"{'model rho':>10} {'gap best':>10} {'train s':>8}")
    for head, K, d in parse_cells(a.cells):
        t0 = time.perf_counter()
        run = train_collapse(K, d, head=head, tau=a.tau if head == "spherical" else None, seeds=a.seeds,
                             steps=a.steps, log_every=a.steps // 10)
        wall = time.perf_counter() - t0
        final = run.final()
        rho = np.array([r["GNC2"] for r in final])
        model = run.prediction["rho"]
        row = dict(head=head, K=K, d=d, tau=a.tau if head == "spherical" else None, seeds=run.seeds,
                   status=run.status, final=final, model_rho=model, model_source=run.prediction["rho_source"],
                   rho_best=float(rho.max()), rho_median=float(np.median(rho)),
                   gap_best=None if model is None else float(model - rho.max()),
                   nc1_median=float(np.median([r["NC1"] for r in final])),
                   nc2_median=float(np.median([r["NC2"] for r in final])), train_seconds=run.seconds,
                   wall_seconds=wall)
        rows.append(row)
        fit = sum(s == "FIT" for s in run.status)
        fmt = (lambda v: f"{v:10.6f}" if v is not None else f"{'-':>10}")  # noqa: E731
        print(f"{head:<10} {K:>3} {d:>3} {fit:>2}/{len(run.seeds):<2} {row['nc1_median']:9.4f} "
              f"{row['nc2_median']:9.4f} {row['rho_best']:10.6f} {row['rho_median']:10.6f} {fmt(model)} "
              f"{'-' if row['gap_best'] is None else format(row['gap_best'], '+10.2e'):>10} {run.seconds:8.2f}")
    with open(a.out + ".json", "w") as f:
        json.dump({"meta": dict(run_meta(), command=" ".join(sys.argv)), "rows": rows}, f, indent=1)
    print(f"wrote {a.out}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
