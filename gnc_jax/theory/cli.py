"""``gnc-jax theory check --K 10 --d 3 [--json]``: the regime of (K, d), what theory predicts, and whether the
numerics agree (gnc_jax.theory.checks)."""

from __future__ import annotations

import json

PARTS = ("ufm", "ce", "softmax", "uniformity")


def _cmd_check(args) -> int:
    from gnc_jax.theory.checks import check
    from gnc_jax.theory.regimes import regime

    parts = [p for p in args.parts.split(",") if p] if args.parts else None
    reg = regime(args.K, args.d)
    rep = check(args.K, args.d, tau=args.tau, n=args.n, restarts=args.restarts, seed=args.seed, parts=parts,
                lambdas=(args.lambda_W, args.lambda_H, args.lambda_b))
    if args.json:
        out = rep.to_dict()
        out["explanation"] = reg.explanation
        out["tag"] = reg.tag
        print(json.dumps(out, allow_nan=True))
    else:
        print(rep.summary())
        print(f"  why: {reg.explanation} {reg.tag}")
    return 0 if rep.ok else 1


def register(sub) -> None:
    """Add ``theory check`` to the gnc-jax parser (called by gnc_jax.cli)."""
    t = sub.add_parser("theory", help="theory: regimes, predictions and numerical checks of the papers' theorems")
    tsub = t.add_subparsers(dest="theory_command", required=True, parser_class=type(t))
    c = tsub.add_parser("check", help="which regime (K, d) is in, what theory predicts, and whether solving agrees")
    c.add_argument("--K", type=int, required=True, help="number of classes (>= 2)")
    c.add_argument("--d", type=int, required=True, help="feature dimension (>= 1)")
    c.add_argument("--tau", type=float, default=1.0, help="temperature of the spherical CE-UFM check")
    c.add_argument("--n", type=int, default=2, help="samples per class (UFM, CE-UFM, HUG)")
    c.add_argument("--lambda-W", dest="lambda_W", type=float, default=5e-3)
    c.add_argument("--lambda-H", dest="lambda_H", type=float, default=1e-2)
    c.add_argument("--lambda-b", dest="lambda_b", type=float, default=1e-2)
    c.add_argument("--restarts", type=int, default=4)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--parts", default=None, help=f"comma-separated subset of {','.join(PARTS)} (default: all)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=_cmd_check)
