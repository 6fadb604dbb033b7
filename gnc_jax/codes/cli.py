"""Subcommands ``gnc-jax compare`` and ``gnc-jax records`` (registered by ``gnc_jax.cli``).

    gnc-jax compare FILE.npz [--key W] [--json]
    gnc-jax records --d 3 --N 4:130 [--restarts K] [--seed S] [--max-rounds R] [--lockstep L] [--json] [--out rows.json]

Bad input raises ValueError naming the argument (the main CLI turns it into exit status 2)
before anything is compiled.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

from .._checks import check_output_path


# ----------------------------------------------------------------------------------------------
# compare
# ----------------------------------------------------------------------------------------------
def load_points(path: str, key: str | None = None) -> np.ndarray:
    """(N, d) float64 points from a .npz (``SolveResult.save``: key "W"; or any single array) or .npy."""
    if not os.path.isfile(path):
        raise ValueError(f"FILE: no such file {path!r}")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as e:  # not a numpy file
        raise ValueError(f"FILE: cannot read {path!r} as .npz/.npy ({e})") from None
    if isinstance(data, np.ndarray):
        if key is not None:
            raise ValueError(f"--key: {path!r} is a single .npy array, it has no keys")
        arr = data
    else:
        with data:
            arrays = {k: data[k] for k in data.files if data[k].dtype.kind in "fiu" and data[k].ndim == 2}
            if key is not None:
                if key not in data.files:
                    raise ValueError(f"--key: {key!r} not in {path!r}; keys: {sorted(data.files)}")
                arr = data[key]
            elif "W" in arrays:
                arr = arrays["W"]
            elif len(arrays) == 1:
                arr = next(iter(arrays.values()))
            else:
                raise ValueError(f"--key: {path!r} holds {sorted(arrays) or 'no'} 2-d numeric arrays; "
                                 f"name the points with --key")
    arr = np.asarray(arr)
    if arr.ndim != 2 or arr.dtype.kind not in "fiu":
        raise ValueError(f"FILE: points must be a numeric (N, d) array, got shape {arr.shape} dtype {arr.dtype}")
    return arr.astype(np.float64)


def _cmd_compare(args) -> int:
    from .compare import compare

    c = compare(load_points(args.file, args.key), tol_deg=args.tol)
    print(json.dumps(c.to_dict()) if args.json else c.summary())
    return 0


# ----------------------------------------------------------------------------------------------
# records
# ----------------------------------------------------------------------------------------------
def _positive(name: str, value: int, lo: int = 1) -> int:
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    return value


def format_table(rows) -> str:
    """Fixed-width text table of `RecordRow`s (sym: the d = 3 code's rotation group, `RecordRow.symmetry`)."""
    head = f"{'d':>2} {'N':>4} {'angle_deg':>14} {'record_deg':>14} {'gap_deg':>10} {'status':<16} " \
           f"{'match':<5} {'sym':<7} {'rounds':>6} {'seconds':>8}"
    lines = [head]
    for r in rows:
        rec = "-" if r.record_deg is None else f"{r.record_deg:14.9f}"
        gap = "-" if r.gap_deg is None else f"{r.gap_deg:+10.2e}"
        match = "-" if r.matched is None else ("BETTER" if r.better else "yes" if r.matched else "no")
        lines.append(f"{r.d:>2} {r.N:>4} {r.angle_deg:14.9f} {rec:>14} {gap:>10} {str(r.status or '-'):<16} "
                     f"{match:<5} {str(r.symmetry or '-'):<7} {r.rounds:>6} {r.seconds:8.2f}")
    return "\n".join(lines)


def _cmd_records(args) -> int:
    from ._validate import check_dim
    from .records import DIRECT_SCALES, parse_range, parse_scales, run_records

    d = check_dim(args.d, "--d")
    Ns = parse_range(args.N, "--N")
    restarts = _positive("--restarts", args.restarts)
    seed = _positive("--seed", args.seed, 0)
    max_rounds = _positive("--max-rounds", args.max_rounds)
    refine_top = _positive("--refine-top", args.refine_top)
    patience = _positive("--patience", args.patience)
    hops = _positive("--hops", args.hops, 0)
    direct_hops = _positive("--direct-hops", args.direct_hops, 0)
    direct_scales = DIRECT_SCALES if args.direct_scales is None else parse_scales(args.direct_scales)
    lockstep = _positive("--lockstep", args.lockstep)
    symmetric = _positive("--symmetric", args.symmetric, 0)
    overlap_iterations = _positive("--overlap-iterations", args.overlap_iterations, 0)
    check_output_path("--out", args.out)
    rows = list(run_records(d, Ns, restarts=restarts, seed=seed, max_rounds=max_rounds, refine_top=refine_top,
                           patience=patience, hops=hops, direct_hops=direct_hops, direct_scales=direct_scales,
                           lockstep=lockstep, symmetric=symmetric, overlap_iterations=overlap_iterations))
    dicts = [r.to_dict() for r in rows]
    if args.out:
        with open(args.out, "w") as f:
            json.dump([r.to_dict(points=True) for r in rows], f)
    if args.json:
        print(json.dumps(dicts))
    else:
        print(format_table(rows))
        known = [r for r in rows if r.matched is not None]
        print(f"matched {sum(bool(r.matched) for r in known)}/{len(known)} records within 1e-6 deg, "
              f"{sum(r.seconds for r in rows):.1f} s", file=sys.stdout)
    return 0


def register(sub) -> None:
    """Add ``compare`` and ``records`` to the argparse subparsers ``sub``."""
    c = sub.add_parser("compare", help="compare a saved configuration with the best-known code and bounds")
    c.add_argument("file", metavar="FILE", help=".npz (SolveResult.save or any single (N, d) array) or .npy")
    c.add_argument("--key", default=None, help="array name inside the .npz (default W, or the only 2-d array)")
    c.add_argument("--tol", type=float, default=1e-6, help="match tolerance in degrees (default 1e-6)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=_cmd_compare)

    r = sub.add_parser("records", help="Tammes codes from random starts, matched against the best-known table")
    r.add_argument("--d", type=int, required=True, help="dimension (>= 1)")
    r.add_argument("--N", required=True, help="point counts: A:B inclusive and/or a comma list, e.g. 4:40,48")
    from .records import DIRECT_SCALES, SEARCH_DEFAULTS as D
    r.add_argument("--restarts", type=int, default=D["restarts"],
                   help=f"random surrogate restarts per round (default {D['restarts']})")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--max-rounds", type=int, default=D["max_rounds"],
                   help=f"search rounds at most (default {D['max_rounds']})")
    r.add_argument("--patience", type=int, default=D["patience"],
                   help=f"stop after this many rounds in a row without a gain (default {D['patience']})")
    r.add_argument("--hops", type=int, default=D["hops"], help=f"perturbations of the best per round (default {D['hops']})")
    r.add_argument("--direct-hops", type=int, default=D["direct_hops"],
                   help="perturbations of the best per round refined without the surrogate; the best of them takes "
                        f"one refinement slot (default {D['direct_hops']}; 0: a small polish of the best instead)")
    r.add_argument("--direct-scales", default=None,
                   help="comma list of direct-hop scales (sigma / minimal angle), one per round, cycled (default "
                        + ",".join(f"{v:g}" for v in DIRECT_SCALES) + ")")
    r.add_argument("--refine-top", type=int, default=D["refine_top"],
                   help=f"codes fully refined per round, after screening the pool (default {D['refine_top']})")
    r.add_argument("--symmetric", type=int, default=0,
                   help="extra restarts per round from random symmetric codes: invariant under a rotation group for "
                        "d = 3, antipodal (x and -x) for other d (default 0)")
    r.add_argument("--overlap-iterations", type=int, default=0,
                   help="then this many iterations of the threshold search on the overlap energy from each N's best "
                        "code (gnc_jax.codes.overlap; default 0: none)")
    r.add_argument("--lockstep", type=int, default=1,
                   help="search this many consecutive N together, one batch per stage (default 1; larger groups were "
                        "slower in the one GPU test so far, see benchmarks/RESULTS.md)")
    r.add_argument("--json", action="store_true", help="print the rows as one JSON list")
    r.add_argument("--out", default=None, help="write the rows with coordinates to this JSON file")
    r.set_defaults(func=_cmd_records)
