"""What capping the early continuation stages buys: ``solve(..., warm_steps=N)`` against full stages on CE models.

A CE solve runs a temperature continuation (4 stages by default at tau < 0.5), each stage with the full iteration
budget. At tau ~ 1 the CE is flat and L-BFGS often spends the whole budget there without meeting the stop test, though
the early stages only have to bring the point near the next stage's basin. ``warm_steps`` caps every stage but the
last. For each (problem, C, d, tau, n), dtype and budget the script solves the same seeded restarts (twice; the second
call is timed) and prints the warm seconds, the iterations over all restarts, the best and median objective, and the
hits: restarts within 1e-6 (relative) of the best objective any budget reached for that case. Capped stages change
which basin a restart falls into, so the hit rate moves either way; the speed-up is the point.

    python benchmarks/warm_stages.py [--cases ce-ufm:100:10:0.2:1,...] [--budgets none,100,200,400]
        [--dtypes float32,float64] [--restarts 32] [--seed 1] [--out warm_stages]

Cases are PROBLEM:C:d:tau:n. Prints a table and writes OUT.json.
"""
from __future__ import annotations

import argparse
import json
import sys

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import gnc_jax  # noqa: E402
from _meta import names_arg, output_path, run_meta, timed_twice  # noqa: E402  benchmarks/_meta.py

DEFAULT_CASES = ("ce-ufm:100:10:0.2:1,ce-ufm:50:5:0.05:1,ce-ufm:20:4:0.1:2,ce-ufm:30:3:0.1:1,"
                 "ce-ufm-collapsed:40:4:0.05:1")
DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


def parse_cases(text: str) -> list[tuple]:
    out = []
    for item in text.split(","):
        parts = item.split(":")
        try:
            problem, C, d, tau, n = parts[0], int(parts[1]), int(parts[2]), float(parts[3]), int(parts[4])
        except (IndexError, ValueError):
            raise ValueError(f"--cases: expected PROBLEM:C:d:tau:n items, got {item!r}") from None
        out.append((problem, C, d, tau, n))
    return out


def parse_budgets(text: str) -> list[int | None]:
    out = []
    for item in text.split(","):
        if item.strip() == "none":
            out.append(None)
            continue
        try:
            b = int(item)
        except ValueError:
            raise ValueError(f"--budgets: expected 'none' or integers >= 1, got {item!r}") from None
        if b < 1:
            raise ValueError(f"--budgets: expected 'none' or integers >= 1, got {item!r}")
        out.append(b)
    return out


def run_case(case: tuple, dtype: str, budgets: list, restarts: int, seed: int) -> list[dict]:
    problem, C, d, tau, n = case
    rows = []
    for budget in budgets:
        def call():
            return gnc_jax.solve(problem, C=C, d=d, tau=tau, n=n, restarts=restarts, seed=seed,
                                 dtype=DTYPES[dtype], warm_steps=budget)

        cold, warm, r = timed_twice(call)
        values = np.asarray(r.restarts["objective"], np.float64)
        rows.append(dict(problem=problem, C=C, d=d, tau=tau, n=n, dtype=dtype,
                         warm_steps="none" if budget is None else budget, cold_s=cold, warm_s=warm,
                         steps=int(np.sum(r.restarts["steps"])), best=float(values.min()),
                         median=float(np.median(values)), values=values.tolist(),
                         best_min_margin=float(r.min_margin)))
    best = min(row["best"] for row in rows)
    for row in rows:
        row["hits"] = int(np.sum(np.asarray(row["values"]) <= best * (1 + 1e-6) + 1e-12))
        row["restarts"] = restarts
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=DEFAULT_CASES)
    ap.add_argument("--budgets", default="none,100,200,400")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--restarts", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device-label", default=None)
    ap.add_argument("--out", type=output_path, default="warm_stages", help="writes OUT.json")
    a = ap.parse_args(argv)
    try:
        cases, budgets = parse_cases(a.cases), parse_budgets(a.budgets)
    except ValueError as e:
        ap.error(str(e))
    dtypes = names_arg(ap, a.dtypes, DTYPES, "--dtypes")
    if a.restarts < 1:
        ap.error("--restarts must be >= 1")
    rows = []
    head = (f"{'problem':17s} {'C':>4s} {'d':>3s} {'tau':>5s} {'n':>2s} {'dtype':8s} {'warm':>5s} {'warm s':>7s} "
            f"{'x full':>6s} {'steps':>7s} {'best f':>14s} {'median f':>14s} {'hits':>6s}")
    print(head)
    print("-" * len(head))
    for dtype in dtypes:
        for case in cases:
            mine = run_case(case, dtype, budgets, a.restarts, a.seed)
            full = next((r for r in mine if r["warm_steps"] == "none"), None)
            for r in mine:
                r["speedup"] = None if full is None else full["warm_s"] / r["warm_s"]
                sp = "-" if r["speedup"] is None else f"{r['speedup']:.2f}"
                print(f"{r['problem']:17s} {r['C']:4d} {r['d']:3d} {r['tau']:5g} {r['n']:2d} {dtype:8s} "
                      f"{str(r['warm_steps']):>5s} {r['warm_s']:7.2f} {sp:>6s} {r['steps']:7d} {r['best']:14.10g} "
                      f"{r['median']:14.10g} {r['hits']:3d}/{r['restarts']}", flush=True)
            rows.extend(mine)
    with open(a.out + ".json", "w") as f:
        json.dump({"meta": dict(run_meta(a.device_label), command=" ".join(sys.argv), restarts=a.restarts,
                                seed=a.seed), "rows": rows}, f, indent=1)
    print(f"wrote {a.out}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
