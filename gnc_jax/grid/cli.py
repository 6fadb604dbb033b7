"""``gnc-jax grid`` and ``gnc-jax show`` subcommands."""
from __future__ import annotations

import os

from .._checks import check_output_path


def _cmd_grid(args) -> int:
    if args.float64:
        import jax

        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from .engine import expand_grid, format_table, run_grid, solver_options

    hparams = {}
    for item in args.hparam or []:
        if "=" not in item:
            raise ValueError(f"--set: expected NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        hparams[k] = v  # a number, a list "1,2,5" or an integer range "1:8": one grid axis
    check_output_path("--db", args.db)
    cells = expand_grid(args.problem, args.C, args.d, args.tau, args.n, restarts=args.restarts, seed=args.seed,
                        **hparams)
    dtype = jnp.float64 if args.float64 else jnp.float32
    rows = run_grid(cells, solver=args.solver, max_steps=args.max_steps, db=args.db, chunk_cells=args.chunk,
                    progress=not args.quiet, dtype=dtype, devices=args.devices, refine=args.refine,
                    warm_steps=args.warm_steps)
    if args.db:  # show every cell of this grid, including those stored by an earlier run
        from .store import GridStore

        with GridStore(args.db) as store:
            rows = store.fetch(cells, solver_options(args.solver, args.max_steps, None, dtype, args.refine,
                                                     args.warm_steps))
    print(format_table(rows))
    if args.db:
        print(f"{len(rows)} cells in {args.db}")
    bad = [r for r in rows if r["status"] == "NONFINITE"]
    return 1 if bad else 0


def _cmd_show(args) -> int:
    from .engine import format_table
    from .store import to_csv, to_dataframe, to_parquet

    if not os.path.exists(args.db):
        raise ValueError(f"DB: no such file {args.db!r}")
    check_output_path("--csv", args.csv)
    check_output_path("--parquet", args.parquet)
    df = to_dataframe(args.db)
    print(format_table(df.to_dict("records")))
    if args.csv:
        to_csv(args.db, args.csv)
        print(f"wrote {len(df)} rows to {args.csv}")
    if args.parquet:
        try:
            to_parquet(args.db, args.parquet)
        except ImportError as e:
            raise ValueError(f"--parquet: {e}") from None
        print(f"wrote {len(df)} rows to {args.parquet}")
    return 0


def register(sub) -> None:
    g = sub.add_parser("grid", help="solve a grid of (C, d, tau, n) cells in a few compiled batches")
    g.add_argument("problem", help="a problem name (gnc-jax problems lists them; custom ones with --import)")
    g.add_argument("--C", required=True, help="classes: 8, 4:32 (inclusive) or 4,6,8")
    g.add_argument("--d", required=True, help="dimensions: 3, 2:8 or 2,3")
    g.add_argument("--tau", default=None, help="temperatures: 0.1 or 0.01,0.1")
    g.add_argument("--n", default="1", help="samples per class: 1, 1:4 or 1,2")
    g.add_argument("--restarts", type=int, default=8)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--solver", default="lbfgs", help="lbfgs (default), cg, gd, adam, tr (trust regions)")
    g.add_argument("--max-steps", type=int, default=1000, help="iterations per continuation stage")
    g.add_argument("--chunk", type=int, default=64, help="cells per compiled call")
    g.add_argument("--set", dest="hparam", action="append", metavar="NAME=VALUES",
                   help="problem hyperparameter: a value, a list 1,2,5 or a range 1:8 (one more grid axis)")
    g.add_argument("--db", default=None, help="SQLite file: store rows, skip cells already there (resume)")
    g.add_argument("--float64", action="store_true", help="solve in float64 (enables jax x64)")
    g.add_argument("--devices", default="all",
                   help="local devices to shard each batch over: all (default) or a count N")
    g.add_argument("--warm-steps", type=int, default=None, metavar="N",
                   help="iteration budget of each continuation stage but the last (default: --max-steps)")
    g.add_argument("--refine", action="store_true",
                   help="tammes, softmax-code: finish every restart with the exact float64 max-min refinement")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_cmd_grid)

    s = sub.add_parser("show", help="print a grid database as a table")
    s.add_argument("db", metavar="DB")
    s.add_argument("--csv", default=None, help="also write the rows to this CSV file")
    s.add_argument("--parquet", default=None, help="also write the rows to this Parquet file (needs pyarrow)")
    s.set_defaults(func=_cmd_show)
