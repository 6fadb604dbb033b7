"""What the conveniences cost: per-iteration logs, a custom problem against the same built-in one, and a grid sweep
over a hyperparameter axis.

Each case is solved twice and the second call timed (its program is compiled by then); the first call's time, with
compilation, is reported too. Cases:
  * history: ``solve(..., history=True)`` (every stage's log of every restart) against ``history=False``;
  * custom: ``register_problem`` with the built-in Riesz energy's own function against the built-in "riesz"
    (same starts: the points must agree exactly);
  * sweep: ``run_grid`` of the imbalanced regularized CE-UFM over ``n_minor`` (one compiled bucket) against a loop
    of single ``solve`` calls over the same cells;
  * progress: ``solve(..., progress=k)`` (reports from inside the compiled loop, to a buffer here) for k = 100 and
    10 against ``progress=False``, on the spherical CE-UFM at (C, d) = (100, 10), tau = 0.2 (about 3800 iterations
    over 4 stages; the points must agree exactly).

    python benchmarks/api_overheads.py [--cases history,custom,sweep,progress] [--restarts 32] [--out api_overheads]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys

import numpy as np

import gnc_jax
from _meta import names_arg, output_path, run_meta, timed_twice  # noqa: E402  benchmarks/_meta.py
from gnc_jax import objectives as obj
from gnc_jax.grid import expand_grid, run_grid


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="history,custom,sweep,progress")
    ap.add_argument("--restarts", type=int, default=32)
    ap.add_argument("--out", type=output_path, default="api_overheads", help="writes OUT.json")
    a = ap.parse_args(argv)
    cases = names_arg(ap, a.cases, CASES, "--cases")
    if a.restarts < 1:
        ap.error("--restarts must be >= 1")
    rows, extra = [], {}
    for case in cases:
        extra.update(CASES[case](a.restarts, rows))

    print(f"{'case':<8} {'variant':<44} {'cold s':>8} {'warm s':>8} {'steps':>7}  value")
    for r in rows:
        print(f"{r['case']:<8} {r['variant']:<44} {r['cold_s']:8.2f} {r['warm_s']:8.3f} {r['steps']:7d}  {r['value']:.9g}")
    for k, v in extra.items():
        print(f"{k}: {v}")
    with open(a.out + ".json", "w") as f:
        json.dump({"meta": dict(run_meta(), command=" ".join(sys.argv)), "rows": rows, **extra}, f, indent=1)
    print(f"wrote {a.out}.json")
    return 0


def history_case(R: int, rows: list) -> dict:
    for problem, kw in (("tammes", dict(C=24, d=3)), ("ce-ufm", dict(C=10, d=3, tau=0.1, n=2))):
        for history in (False, True):
            cold, warm, r = timed_twice(lambda: gnc_jax.solve(problem, restarts=R, history=history, **kw))
            rows.append(dict(case="history", variant=f"{problem} history={history}", cold_s=cold, warm_s=warm,
                             steps=int(np.sum(r.restarts["steps"])), value=r.objective))
    return {}


def custom_case(R: int, rows: list) -> dict:
    gnc_jax.register_problem("riesz-copy", obj.riesz_energy, {"W": "sphere"}, hparams={"s": 1.0}, masked=True)
    try:
        pts = {}
        for name in ("riesz", "riesz-copy"):
            cold, warm, r = timed_twice(lambda: gnc_jax.solve(name, C=32, d=3, restarts=R, s=1.0))
            pts[name] = r.point["W"]
            rows.append(dict(case="custom", variant=name, cold_s=cold, warm_s=warm,
                             steps=int(np.sum(r.restarts["steps"])), value=r.objective))
        same = bool(np.array_equal(pts["riesz"], pts["riesz-copy"]))
    finally:
        gnc_jax.unregister_problem("riesz-copy")
    return {"custom_identical": same}


def sweep_case(R: int, rows: list) -> dict:
    hp = dict(C=4, d=5, n=100, minority=2, lambda_W=5e-3, lambda_H=5e-3, lambda_b=0.0)
    n_minors = [1, 2, 5, 10, 20, 50, 100]
    cells = expand_grid("ce-ufm-regularized-imbalanced", restarts=4, n_minor=n_minors, **hp)
    cold, warm, grid_rows = timed_twice(lambda: run_grid(cells, max_steps=3000, progress=False))
    rows.append(dict(case="sweep", variant=f"run_grid, {len(cells)} cells x 4 restarts", cold_s=cold, warm_s=warm,
                     steps=int(sum(r["steps"] for r in grid_rows)), value=float(grid_rows[0]["max_cos"])))
    cold, warm, loop = timed_twice(lambda: [gnc_jax.solve("ce-ufm-regularized-imbalanced", restarts=4,
                                                          max_steps=3000, n_minor=m, **hp) for m in n_minors])
    rows.append(dict(case="sweep", variant=f"loop of solve, {len(n_minors)} calls x 4 restarts", cold_s=cold,
                     warm_s=warm, steps=int(sum(r.steps for r in loop)), value=float(loop[0].max_cos)))
    return {}


def progress_case(R: int, rows: list) -> dict:
    kw = dict(C=100, d=10, tau=0.2, restarts=R)
    points, lines = {}, {}
    for every in (False, 100, 10):
        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer):
            cold, warm, r = timed_twice(lambda: gnc_jax.solve("ce-ufm", progress=every, **kw))
        points[every] = r.point["W"]
        lines[str(every)] = len(buffer.getvalue().splitlines()) // 2  # per call
        rows.append(dict(case="progress", variant=f"ce-ufm (100, 10) progress={every}", cold_s=cold, warm_s=warm,
                         steps=int(np.sum(r.restarts["steps"])), value=r.objective))
    same = all(np.array_equal(points[False], points[k]) for k in (100, 10))
    return {"progress_identical": same, "progress_lines_per_solve": lines}


CASES = {"history": history_case, "custom": custom_case, "sweep": sweep_case, "progress": progress_case}


if __name__ == "__main__":
    sys.exit(main())
