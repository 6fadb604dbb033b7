"""Batched restarts in one compiled program vs a Python loop of single solves (same solver, same starts).

Prints a table and writes JSON (default benchmarks/batched_vs_loop.json). Compile time is excluded
from both sides (each compiled function is warmed up once first).

    python benchmarks/batched_vs_loop.py [--problem tammes --C 24 --d 3 --restarts 64 --out FILE]
"""
import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from gnc_jax.api import make_solver, make_spec, random_batch, solve_batch

from _meta import in_benchmarks, output_path, run_meta  # benchmarks/_meta.py (this script's folder is on sys.path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", default="tammes")
    ap.add_argument("--C", type=int, default=24)
    ap.add_argument("--d", type=int, default=3)
    ap.add_argument("--tau", type=float, default=None)
    ap.add_argument("--restarts", type=int, default=64)
    ap.add_argument("--out", type=output_path, default=in_benchmarks("batched_vs_loop.json"))
    a = ap.parse_args()
    spec = make_spec(a.problem, a.C, a.d, a.tau)
    solver = make_solver("lbfgs")
    stages = 6 if spec.pdef.surrogate else 1
    x0 = random_batch([(spec, 0, r) for r in range(a.restarts)], a.C, a.d, 1, jnp.float32)
    kw = dict(stages=stages, C_pad=a.C, d_pad=a.d, n_pad=1)

    def batched():
        return jax.block_until_ready(solve_batch([spec] * a.restarts, x0, solver, **kw))

    def loop():
        return [jax.block_until_ready(solve_batch([spec], {k: v[i:i + 1] for k, v in x0.items()}, solver, **kw))
                for i in range(a.restarts)]

    batched(); loop()  # compile both shapes
    t = time.perf_counter(); rb = batched(); tb = time.perf_counter() - t
    t = time.perf_counter(); rl = loop(); tl = time.perf_counter() - t
    same = all(np.allclose(np.asarray(rb.value[i]), np.asarray(rl[i].value[0]), atol=1e-5) for i in range(a.restarts))
    row = dict(problem=a.problem, C=a.C, d=a.d, restarts=a.restarts, batched_s=tb, loop_s=tl, speedup=tl / tb,
               same_values=bool(same), **run_meta())
    print(f"{'problem':>10} {'C':>4} {'d':>3} {'restarts':>8} {'batched s':>10} {'loop s':>8} {'speed-up':>8} same")
    print(f"{a.problem:>10} {a.C:>4} {a.d:>3} {a.restarts:>8} {tb:>10.2f} {tl:>8.2f} {tl / tb:>8.1f} {same}")
    with open(a.out, "w") as f:
        json.dump(row, f, indent=1)


if __name__ == "__main__":
    main()
