"""``gnc-jax nets``: train small networks to the terminal phase and measure neural collapse against the model."""
from __future__ import annotations

import json


def _cmd_nets(args) -> int:
    from .._checks import check_output_path
    from .train import train_collapse

    check_output_path("--csv", args.csv)

    run = train_collapse(args.K, args.d, n=args.n, dim=args.dim, separation=args.separation, data_seed=args.data_seed,
                         seeds=args.seeds, steps=args.steps, log_every=args.log_every, learning_rate=args.lr,
                         momentum=args.momentum, weight_decay=args.wd, head=args.head, tau=args.tau,
                         predict_model=not args.no_predict)
    if args.csv:
        run.history_frame().to_csv(args.csv, index=False)
    if args.json:
        print(json.dumps({"K": run.K, "d": run.d, "config": vars(run.config) | {"hidden": list(run.config.hidden)},
                          "seeds": run.seeds, "status": run.status, "seconds": run.seconds,
                          "prediction": run.prediction, "final": run.final()}))
    else:
        print(run.report())
    return 0 if all(s != "NONFINITE" for s in run.status) else 1


def register(sub) -> None:
    p = sub.add_parser("nets", help="train MLPs (several seeds at once) to the terminal phase; NC metrics vs the model")
    p.add_argument("--K", type=int, required=True, help="classes (>= 2)")
    p.add_argument("--d", type=int, required=True, help="feature dimension (>= 1)")
    p.add_argument("--head", default="linear", help="linear (W h + b) or spherical (unit h and w over tau)")
    p.add_argument("--tau", type=float, default=None, help="temperature of the spherical head (default 0.1)")
    p.add_argument("--seeds", type=int, default=4, help="networks trained at once (seeds 0..N-1)")
    p.add_argument("--steps", type=int, default=4000, help="full-batch SGD steps")
    p.add_argument("--log-every", type=int, default=200, help="steps between measurements (divides --steps)")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--wd", type=float, default=None, help="weight decay (default 5e-3 linear, 5e-4 spherical)")
    p.add_argument("--n", type=int, default=50, help="samples per class")
    p.add_argument("--dim", type=int, default=32, help="input dimension of the Gaussian-mixture data")
    p.add_argument("--separation", type=float, default=6.0, help="norm of the class means (noise is N(0, I))")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--no-predict", action="store_true", help="skip solving the feature model for the prediction")
    p.add_argument("--csv", default=None, help="write the per-seed, per-log history as CSV")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_nets)
