"""Command line: ``gnc-jax {demo,problems,solve,compare,records,grid,show,plot,theory,nets} ...``.

Bad input exits with status 2 and a message naming the argument, before anything compiles.
"""
from __future__ import annotations

import argparse
import json
import sys


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse already exits 2; keep its message short and named
        self.print_usage(sys.stderr)
        self.exit(2, f"gnc-jax: error: {message}\n")


def _enable_x64_if(flag: bool) -> None:
    if flag:
        import jax

        jax.config.update("jax_enable_x64", True)


def _cmd_solve(args) -> int:
    _enable_x64_if(args.float64)
    import jax.numpy as jnp

    from ._checks import check_output_path
    from .api import solve

    hparams = {}
    for item in args.hparam or []:
        if "=" not in item:
            raise ValueError(f"--set: expected NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        hparams[k] = float(v)
    check_output_path("--out", args.out)
    check_output_path("--history", args.history)
    res = solve(args.problem, C=args.C, d=args.d, tau=args.tau, n=args.n, restarts=args.restarts, seed=args.seed,
                solver=args.solver, max_steps=args.max_steps, gtol=args.gtol, stages=args.stages,
                dtype=jnp.float64 if args.float64 else jnp.float32, history=args.history is not None,
                refine=args.refine, devices=args.devices, progress=args.progress or False,
                warm_steps=args.warm_steps, **hparams)
    if args.out:
        res.save(args.out)
    if args.history:
        _write_history_csv(args.history, res)
    if args.json:
        d = res.to_dict()
        d.pop("restarts")
        print(json.dumps(d))
    else:
        print(res.summary())
    return 0 if res.ok else 1


def _write_history_csv(path: str, res) -> None:
    """One row per iteration of the best restart, every continuation stage in order (`history_columns`)."""
    import csv

    import numpy as np

    cols = res.history_columns()
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(list(cols))
        for row in zip(*cols.values()):
            out.writerow([repr(float(v)) if np.asarray(v).dtype.kind == "f" else int(v) for v in row])


def problem_table() -> list[dict]:
    """One dict per registered problem (built-in and custom): name, factors, temperature, hyperparameters with their
    defaults, score, default solver, doc."""
    from .api import REFINABLE
    from .problems import REGISTRY

    rows = []
    for name, p in REGISTRY.items():
        tau = ("required" if p.default_tau is None else p.default_tau) if p.uses_tau else None
        rows.append({"name": name, "factors": dict(p.factors), "tau": tau, "surrogate": p.surrogate,
                     "hparams": dict(p.hparams), "score": p.score, "solver": p.default_solver,
                     "refinable": name in REFINABLE, "custom": p.custom, "doc": p.doc})
    return rows


def _cmd_problems(args) -> int:
    rows = problem_table()
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        factors = ", ".join(f"{k}: {v}" for k, v in r["factors"].items())
        extra = [f"tau {r['tau']}" + (" (surrogate)" if r["surrogate"] else "")] if r["tau"] is not None else []
        extra += [f"{k}={v:g}" for k, v in r["hparams"].items()]
        extra += ["--refine"] if r["refinable"] else []
        extra += ["custom"] if r["custom"] else []
        details = " ".join([f"[{factors}]"] + (["; ".join(extra)] if extra else []))
        print(f"{r['name']:<31} {r['doc']}\n{'':<31} {details}")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(quick=args.quick)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gnc-jax", description="Batched Riemannian solvers for neural-collapse geometry.")
    parser.add_argument("--import", dest="imports", action="append", metavar="MODULE|FILE.py",
                        help="load custom problems (gnc_jax.register_problem) before the command; repeatable")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="a small CPU demo: 24-point Tammes and a spherical CE-UFM")
    demo.add_argument("--quick", action="store_true", help="fewer restarts")
    demo.set_defaults(func=_cmd_demo)

    pr = sub.add_parser("problems", help="list the problems (built-in and --import'ed) with their hyperparameters")
    pr.add_argument("--json", action="store_true", help="print one JSON list")
    pr.set_defaults(func=_cmd_problems)

    s = sub.add_parser("solve", help="solve one problem with many restarts")
    s.add_argument("problem", help="a problem name (gnc-jax problems lists them; custom ones with --import)")
    s.add_argument("--C", type=int, required=True, help="number of classes / points (>= 2)")
    s.add_argument("--d", type=int, required=True, help="dimension (>= 1)")
    s.add_argument("--tau", type=float, default=None, help="temperature (CE) or final surrogate temperature")
    s.add_argument("--n", type=int, default=1,
                   help="samples per class (ce-ufm*, hug; the majority classes of the imbalanced models)")
    s.add_argument("--restarts", type=int, default=8)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--solver", default=None, help="lbfgs (default), cg, gd, adam, tr (trust regions)")
    s.add_argument("--max-steps", type=int, default=1000, help="iterations per continuation stage")
    s.add_argument("--set", dest="hparam", action="append", metavar="NAME=VALUE",
                   help="problem hyperparameter, e.g. --set lambda_W=5e-4 --set s=2")
    s.add_argument("--gtol", type=float, default=None, help="Riemannian gradient-norm tolerance per stage")
    s.add_argument("--stages", type=int, default=None, help="temperature-continuation stages")
    s.add_argument("--refine", action="store_true",
                   help="tammes, softmax-code: finish every restart with the exact float64 max-min refinement")
    s.add_argument("--history", default=None, metavar="FILE.csv",
                   help="write the best restart's per-iteration log (every stage) as CSV")
    s.add_argument("--devices", default="all", help="shard the restarts over 'all' local devices (default) or N")
    s.add_argument("--warm-steps", type=int, default=None, metavar="N",
                   help="iteration budget of each continuation stage but the last (default: --max-steps)")
    s.add_argument("--progress", nargs="?", type=int, const=100, default=0, metavar="EVERY",
                   help="print progress to stderr every EVERY iterations (default 100) and after each stage "
                        "(one device)")
    s.add_argument("--float64", action="store_true", help="solve in float64 (enables jax x64)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--out", default=None, help="save the configuration to FILE.npz")
    s.set_defaults(func=_cmd_solve)

    for register in _extension_registrars():
        register(sub)
    return parser


def _extension_registrars():
    """Subcommands contributed by other modules (codes, grid, plot, theory): each exposes ``register(sub)``."""
    regs = []
    for mod in ("gnc_jax.codes.cli", "gnc_jax.grid.cli", "gnc_jax.plot", "gnc_jax.theory.cli", "gnc_jax.nets.cli"):
        try:
            module = __import__(mod, fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
            continue
        regs.append(module.register)
    return regs


def import_problems(items) -> None:
    """``--import``: load each module name or ``.py`` file, whose ``gnc_jax.register_problem`` calls add custom
    problems for this command."""
    import importlib
    import importlib.util
    import os

    for item in items or []:
        is_file = item.endswith(".py") or os.path.sep in item
        if is_file and not os.path.isfile(item):
            raise ValueError(f"--import: no such file {item!r}")
        try:
            if is_file:
                name = "gnc_jax_user_" + os.path.splitext(os.path.basename(item))[0]
                loaded = getattr(sys.modules.get(name), "__file__", None)
                if loaded is not None and os.path.realpath(loaded) == os.path.realpath(item):
                    continue  # this process ran the file already (an import runs a module once)
                spec = importlib.util.spec_from_file_location(name, item)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
            else:
                importlib.import_module(item)
        except Exception as e:  # the user's module: name the option and the failure
            raise ValueError(f"--import {item!r} failed: {type(e).__name__}: {e}") from e


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        import_problems(args.imports)
        return args.func(args)
    except BrokenPipeError:  # output piped into a reader that stopped early (``| head``): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    except ValueError as e:
        print(f"gnc-jax: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
