"""Tammes records from random starts: d=3 N range, the exact codes of d=4..8, or any (d, N) cells.

    .venv/bin/python benchmarks/tammes_records.py [--N 4:130 | --cells 8:86,6:84-86] [--exact] [--exact-only]
        [--exact-codes 4:10,4:24] [--restarts 16] [--seed 0] [--max-rounds 16] [--patience 5] [--hops 64]
        [--direct-hops 32] [--direct-scales 0.1,0.05,0.2] [--relocate] [--neighbors ROWS.jsonl,OUT.json]
        [--continue-from ROWS.jsonl,OUT.json] [--symmetric 0] [--refine-top 2] [--lockstep 1]
        [--rows-out FILE.jsonl] [--shard I/K] [--device-label TEXT] [--out FILE.json]
    .venv/bin/python benchmarks/tammes_records.py --merge A.jsonl,B.json [--best] [--out FILE.json]

Every row is found from random starts only (``gnc_jax.codes.records.iter_solve_records``: batched
surrogate -> exact float64 refinement -> restart/perturbation rounds with a record-blind stopping
rule) and then compared with the best-known table. Prints the rows, the fraction matched within
1e-6 deg, the worst gap, any row better than the record (re-checked in float64 from the Gram
matrix and from the chord), and the total time; writes JSON (rows with coordinates) next to this
file unless --out is given. With --rows-out each finished row is appended to a JSON-lines file at
once and a rerun skips the rows already there; --shard I/K splits the cases between parallel workers
(each with its own --rows-out), and --merge summarizes their files (rows files or JSON outputs) into one
table and JSON (its meta names the search settings stored with the rows, not the merging command's own
defaults, and the file each row came from); a later file's row for the same (d, N) replaces an earlier one,
or with --best the row with the largest angle is kept (the best of several searches, each still a find of
this script).
--neighbors FILES seeds each N's first round with the codes this script found before for N - 1 (plus a
point in one of its deepest holes) and N + 1 (minus each point in turn), from earlier rows files or
JSON outputs and from the rows this run finishes (`gnc_jax.codes.records.neighbor_starts`); the rows
must come from this script (own finds: never a table or a construction), and each row of --rows-out
names the neighbour angles it was seeded with.
--continue-from FILES adds to each N's first round the best code this script found before for that same N (from
earlier rows files or JSON outputs; own finds only, as for --neighbors): the search goes on from where an earlier
run stopped, its hops start from that code, and each row of --rows-out names the angle it continued from.
Both also read softmax_vs_tammes.py's codes files (PREFIX.codes.npz), whose Tammes codes are own finds as well.
--cells d:N,d:N1-N2 runs those cells of any d >= 2 instead of the d = 3 --N range (for example the cells of
softmax_vs_tammes.py's Tammes side that lie below a record; their codes go there with its --tammes-codes).
--symmetric K adds K restarts per round that start from random symmetric codes (`gnc_jax.codes.symmetry`):
for d = 3, invariant under a rotation group (cyclic, dihedral, tetrahedral, octahedral, icosahedral orbits);
for d >= 4, antipodal (random points and their negatives, the symmetry of the D5 and E7 root codes).
--lockstep K searches K consecutive N together (`gnc_jax.codes.records.search_codes`): the same search
per N, one batch per stage over all of them; a row is written as soon as its own search stops, and its
seconds run from the group's start. (Measured so far: slower than one N at a time, on the CPU and on
an H100, since each batched refinement waits for its slowest lane; see RESULTS.md.)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

from gnc_jax.codes.cli import format_table
from gnc_jax.codes.compare import min_angle_deg
from gnc_jax.codes.constructions import FIXED_CODES
from gnc_jax.codes.records import (DIRECT_SCALES, HOP_MOVES, RELOCATE_MOVES, SEARCH_DEFAULTS as D, RecordRow,
                                   iter_solve_records, neighbor_starts, overlap_note, parse_cells, parse_range,
                                   parse_scales)
from gnc_jax.codes.overlap import OverlapOptions
from gnc_jax.codes.symmetry import symmetry_label

TOL_DEG = 1e-6
DEFAULT_N = "4:130"  # the d = 3 rows of the bundled table


def exact_codes(selection: str | None = None) -> list[tuple[int, int, str]]:
    """(d, N, name) of the registered exact codes with d >= 4, optionally filtered by 'd:N,d:N'."""
    codes = sorted((d, n, name) for name, (d, n, _) in FIXED_CODES.items() if d >= 4)
    if selection:
        wanted = {tuple(int(v) for v in item.split(":")) for item in selection.split(",")}
        codes = [c for c in codes if (c[0], c[1]) in wanted]
    return codes


def recheck(points: np.ndarray) -> dict:
    """Float64 minimal angle of unit-normalised points, from the max Gram entry and from the chord."""
    x = np.asarray(points, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    g = x @ x.T
    np.fill_diagonal(g, -np.inf)
    i, j = np.unravel_index(np.argmax(g), g.shape)
    return {"acos_deg": math.degrees(math.acos(min(1.0, float(g[i, j])))),
            "chord_deg": math.degrees(2 * math.asin(min(1.0, float(np.linalg.norm(x[i] - x[j])) / 2))),
            "max_row_norm_err": float(np.max(np.abs(np.linalg.norm(points, axis=1) - 1.0)))}


def summarize(rows) -> dict:
    known = [r for r in rows if r.gap_deg is not None]
    gaps = [r.gap_deg for r in known]
    return {"rows": len(rows), "with_record": len(known), "matched": sum(abs(g) <= TOL_DEG for g in gaps),
            "fraction_matched": (sum(abs(g) <= TOL_DEG for g in gaps) / len(known)) if known else None,
            "worst_gap_deg": max(gaps) if gaps else None,
            "worst_row": None if not known else [max(known, key=lambda r: r.gap_deg).d,
                                                 max(known, key=lambda r: r.gap_deg).N],
            "better_than_record": [{"d": r.d, "N": r.N, "angle_deg": r.angle_deg, "record_deg": r.record_deg,
                                    **recheck(r.points)} for r in known if r.gap_deg < -TOL_DEG],
            "seconds": sum(r.seconds for r in rows)}


def read_rows(paths) -> list[dict]:
    """Rows of one or more JSON-lines files (one finished row per line); a torn last line (a crash
    while writing) is skipped; a later line for the same (d, N) replaces an earlier one."""
    out: dict = {}
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue
                out[(r["d"], r["N"])] = r
    return sorted(out.values(), key=lambda r: (r["d"], r["N"]))


def append_row(path: str, entry: dict) -> None:
    """Append one JSON line and make it durable (flush + fsync) before the next row starts."""
    with open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


# a run's search options
# the --overlap-* options that go to overlap_search, by its option names (None: its default)
OVERLAP_OPTIONS = {"overlap_lanes": "lanes", "overlap_seconds": "time_limit", "overlap_eps_deg": "eps_deg"}
SEARCH_KEYS = (*D, "direct_scales", "seed", "relocate", "neighbors", "continue_from", "symmetric", "overlap_iterations",
               *OVERLAP_OPTIONS)


def search_settings(args) -> dict:
    """The search options of a run (`SEARCH_KEYS`): the meta's ``search`` and each row of --rows-out hold them
    (a --merge reports the rows')."""
    return {k: getattr(args, k) for k in SEARCH_KEYS}


def file_entries(path: str, option: str) -> list[dict]:
    """Rows of a rows file (JSON lines, as `read_rows`) or of a JSON output of this script, whose rows get the
    output's search settings (as the rows of a rows file carry them). SystemExit naming ``option`` when the file is
    missing or a row lacks the fields this script writes (points, rounds): only its own finds are merged or seed."""
    if not os.path.exists(path):
        raise SystemExit(f"{option}: no file {path}")
    if path.endswith(".jsonl"):
        entries = read_rows([path])
    else:
        with open(path) as f:
            data = json.load(f)
        meta = data.get("meta", {})
        if "search" in meta:
            search = meta["search"][0] if len(meta["search"]) == 1 else meta["search"]
        else:  # outputs written before the settings were grouped under "search" held them at the top
            search = {k: meta[k] for k in SEARCH_KEYS if k in meta}
        entries = [{"search": search} | e for e in data.get("rows", [])]
    if any("points" not in e or "rounds" not in e for e in entries):
        raise SystemExit(f"{option}: {path} holds a row that tammes_records.py did not write (no coordinates)")
    return entries


def merged_entries(paths, best: bool, option: str = "--merge") -> tuple[list[dict], dict]:
    """Rows of several files, one per (d, N): the last file's, or with ``best`` the largest angle's (the first
    of equals); and {(d, N): file name} of each kept row."""
    kept, source = {}, {}
    for path in paths:
        for e in file_entries(path, option):
            key = (int(e["d"]), int(e["N"]))
            if best and key in kept and e["angle_deg"] <= kept[key]["angle_deg"]:
                continue
            kept[key], source[key] = e, os.path.basename(path)
    return [kept[k] for k in sorted(kept)], source


def own_codes(paths, option: str = "--neighbors") -> dict:
    """{(d, N): (angle deg, points (N, d))}: the best code per (d, N) in rows files (JSON lines) or JSON
    outputs of this script, or in softmax_vs_tammes.py's codes files (PREFIX.codes.npz: their Tammes codes, also
    own finds); SystemExit naming ``option`` for a missing file or one neither script wrote."""
    entries, _ = merged_entries([p for p in paths if not p.endswith(".codes.npz")], best=True, option=option)
    found = {(int(e["d"]), int(e["N"])): (float(e["angle_deg"]), np.asarray(e["points"], np.float64))
             for e in entries}
    npz = [p for p in paths if p.endswith(".codes.npz")]
    if npz:
        from softmax_vs_tammes import read_codes  # benchmarks/softmax_vs_tammes.py: its reader of its own codes
    for path in npz:
        for cell, sides in read_codes(path, option).items():
            if sides["tammes"] is not None:
                W = sides["tammes"]["W"]
                deg = min_angle_deg(W)
                if cell not in found or deg > found[cell][0]:
                    found[cell] = (deg, W)
    return found


def seeds_from_neighbors(found: dict, d: int, Ns, seed: int) -> tuple[dict, dict]:
    """Start codes ({N: (S, N, d)}, `neighbor_starts` of the found codes of N - 1 and N + 1) and, per N, the
    angles they came from ({N: {"N-1": deg | None, "N+1": deg | None}})."""
    codes, sources = {}, {}
    for n in Ns:
        lo, hi = found.get((d, n - 1)), found.get((d, n + 1))
        sources[n] = {"N-1": lo and lo[0], "N+1": hi and hi[0]}
        if lo or hi:
            codes[n] = neighbor_starts(n, lo and lo[1], hi and hi[1], rng=np.random.default_rng([seed, d, n, 11]))
    return codes, sources


def seeds_from_own(found: dict, d: int, Ns) -> tuple[dict, dict]:
    """Start codes ({N: (1, N, d)}: the found code of N itself, to continue its search) and, per N, the angle it
    came from ({N: deg | None})."""
    codes = {n: found[(d, n)][1][None] for n in Ns if (d, n) in found}
    return codes, {n: found[(d, n)][0] if (d, n) in found else None for n in Ns}


def joined_starts(*parts: dict) -> dict:
    """{N: (S, N, d)} start codes of several sources, concatenated per N."""
    out: dict = {}
    for part in parts:
        for n, codes in part.items():
            out[n] = np.concatenate([out[n], codes]) if n in out else codes
    return out


def lockstep_groups(cases: list, size: int) -> list[list]:
    """Consecutive cases of the same d in groups of at most ``size`` (solved together in lockstep)."""
    if size < 1:
        raise ValueError(f"--lockstep must be >= 1, got {size}")
    groups: list[list] = []
    for c in cases:
        if groups and groups[-1][0][0] == c[0] and len(groups[-1]) < size:
            groups[-1].append(c)
        else:
            groups.append([c])
    return groups


def parse_shard(text: str | None) -> tuple[int, int]:
    """'I/K' -> (I, K) with 0 <= I < K; None -> (0, 1)."""
    if text is None:
        return 0, 1
    try:
        i, k = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard: expected I/K with integers, got {text!r}") from None
    if not 0 <= i < k:
        raise ValueError(f"--shard: need 0 <= I < K, got {text!r}")
    return i, k


def report(rows: list[RecordRow], wall: float | None) -> dict:
    """Print the table and the summary line(s); return the summary dict."""
    summary = summarize(rows) | {"wall_seconds": wall}
    print(format_table(rows))
    frac, worst = summary["fraction_matched"], summary["worst_gap_deg"]
    print(f"matched within {TOL_DEG:g} deg: {summary['matched']}/{summary['with_record']}"
          f" ({'-' if frac is None else format(frac, '.3f')}); worst gap "
          f"{'-' if worst is None else format(worst, '+.3e')} deg at d,N="
          f"{summary['worst_row']}; better than record: {len(summary['better_than_record'])}; "
          f"total {'-' if wall is None else format(wall, '.1f')} s wall, {summary['seconds']:.1f} s summed over rows")
    for b in summary["better_than_record"]:
        print(f"  better: d={b['d']} N={b['N']} found {b['angle_deg']:.10f} (acos {b['acos_deg']:.10f}, "
              f"chord {b['chord_deg']:.10f}) vs record {b['record_deg']:.10f}")
    return summary


def main(argv=None) -> int:
    from _meta import in_benchmarks, output_path, run_meta  # benchmarks/_meta.py

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", default=None, help=f"d=3 point counts (A:B inclusive, comma lists; default {DEFAULT_N})")
    ap.add_argument("--cells", default=None,
                    help="these (d, N) cells of any d >= 2 instead of the d = 3 --N range, as d:N,d:N1-N2 (e.g. "
                         "8:86,6:84-86)")
    ap.add_argument("--exact", action="store_true", help="also run the exact codes of d=4..8")
    ap.add_argument("--exact-only", action="store_true", help="only the exact codes of d=4..8")
    ap.add_argument("--exact-codes", default=None, help="subset of exact codes as d:N,d:N (e.g. 4:10,4:24)")
    ap.add_argument("--restarts", type=int, default=D["restarts"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-rounds", type=int, default=D["max_rounds"])
    ap.add_argument("--patience", type=int, default=D["patience"])
    ap.add_argument("--hops", type=int, default=D["hops"])
    ap.add_argument("--direct-hops", type=int, default=D["direct_hops"],
                    help="perturbations of the best per round that skip the surrogate (at --direct-scales); "
                         "the best of them takes one refinement slot (0: a small polish of the best instead)")
    ap.add_argument("--direct-scales", default=None,
                    help="comma list of direct-hop scales (sigma / minimal angle), one per round, cycled (default "
                         + ",".join(f"{v:g}" for v in DIRECT_SCALES) + ")")
    ap.add_argument("--relocate", action="store_true",
                    help="add the hole-relocation hop moves (records.RELOCATE_MOVES) to the default ones")
    ap.add_argument("--neighbors", default=None,
                    help="comma list of earlier rows files / JSON outputs of this script (or softmax_vs_tammes.py "
                         ".codes.npz files): the codes found for N-1 and N+1 (and those this run finishes) seed each "
                         "N's first round")
    ap.add_argument("--continue-from", default=None,
                    help="comma list of earlier rows files / JSON outputs of this script (or softmax_vs_tammes.py "
                         ".codes.npz files): each N's own best code there joins its first round (continue an earlier "
                         "search)")
    ap.add_argument("--symmetric", type=int, default=0,
                    help="extra restarts per round from random symmetric codes (gnc_jax.codes.symmetry: rotation "
                         "groups for d = 3, antipodal codes, first solved hot, for other d)")
    ap.add_argument("--overlap-iterations", type=int, default=0,
                    help="then this many iterations of the threshold search on the overlap energy from each N's best "
                         "code (gnc_jax.codes.overlap; 0: none, the default)")
    ap.add_argument("--overlap-lanes", type=int, default=OverlapOptions().lanes,
                    help="configurations per overlap-search iteration")
    ap.add_argument("--overlap-eps-deg", type=float, default=None,
                    help="the overlap search's target: the best angle so far plus this many degrees (default "
                         "OverlapOptions.eps_deg); larger steps aim at a basin well above the code's own")
    ap.add_argument("--overlap-seconds", type=float, default=None,
                    help="stop each row's overlap search after the iteration that passes this many seconds")
    ap.add_argument("--refine-top", type=int, default=D["refine_top"])
    ap.add_argument("--lockstep", type=int, default=1,
                    help="solve this many consecutive N of one d together, one batch per search stage (1 = one N "
                         "at a time; groups of 15 were slower on an H100, see RESULTS.md)")
    ap.add_argument("--rows-out", type=output_path, default=None,
                    help="JSON-lines file: each finished row is appended at once; rows already in it are skipped "
                         "(resume after a crash)")
    ap.add_argument("--shard", default=None, help="I/K: run only every K-th case from the I-th (parallel workers)")
    ap.add_argument("--merge", default=None,
                    help="comma list of --rows-out files or JSON outputs: solve nothing, summarize their rows (wall = "
                         "first start to last finish, where the rows hold clock times)")
    ap.add_argument("--best", action="store_true",
                    help="with --merge: per (d, N) keep the row with the largest angle (default: the last file's)")
    ap.add_argument("--device-label", default=None)
    ap.add_argument("--out", type=output_path, default=in_benchmarks("tammes_records.json"))
    args = ap.parse_args(argv)
    if args.best and not args.merge:
        ap.error("--best only applies with --merge")
    if args.cells is not None and (args.N is not None or args.exact_only):
        ap.error("--cells replaces the d = 3 --N range: give one of --cells, --N and --exact-only")
    if args.overlap_eps_deg is not None and not args.overlap_iterations:
        ap.error("--overlap-eps-deg sets the overlap search's target: it needs --overlap-iterations K > 0")
    # stored with the rows as a list; ValueError naming --direct-scales
    args.direct_scales = list(DIRECT_SCALES if args.direct_scales is None else parse_scales(args.direct_scales))

    meta = {"command": " ".join(["benchmarks/tammes_records.py"] + (argv if argv is not None else sys.argv[1:])),
            "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "machine": platform.machine(),
            **run_meta(args.device_label), **vars(args)}
    search = search_settings(args)
    for key in search:  # reported once, under "search" (a merge reports the rows' settings, not its own)
        meta.pop(key)
    if args.merge:
        entries, source = merged_entries([p for p in args.merge.split(",") if p], args.best)
        if not entries:
            raise SystemExit(f"--merge: no rows in {args.merge}")
        meta["search"] = [json.loads(s) for s in sorted({json.dumps(e.get("search"), sort_keys=True)
                                                         for e in entries})]
        meta["row_files"] = [{"d": d, "N": n, "file": f} for (d, n), f in sorted(source.items())]
        rows = [RecordRow.from_dict(e) for e in entries]
        for r in rows:  # rows written before RecordRow.symmetry: name their group here
            if r.symmetry is None and r.d == 3:
                r.symmetry = symmetry_label(r.points)
        timed = all("started_unix" in e for e in entries)  # JSON outputs hold seconds per row, no clock times
        wall = (max(e["finished_unix"] for e in entries) - min(e["started_unix"] for e in entries)) if timed else None
    else:
        meta["search"] = [search]
        if args.exact_only:
            cases = []
        elif args.cells is not None:  # a cell that is an exact code is named as one
            named = {(d, n): name for name, (d, n, _) in FIXED_CODES.items()}
            cases = [(d, n, named.get((d, n))) for d, n in parse_cells(args.cells)]
        else:
            cases = [(3, n, None) for n in parse_range(args.N or DEFAULT_N, "--N", lo=2)]
        if args.exact or args.exact_only:
            cases += [c for c in exact_codes(args.exact_codes) if c not in cases]
        shard, shards = parse_shard(args.shard)
        cases = cases[shard::shards]
        done = {(e["d"], e["N"]): e for e in read_rows([args.rows_out])} if args.rows_out else {}
        kw = {k: v for k, v in search.items()
              if k not in ("relocate", "neighbors", "continue_from", *OVERLAP_OPTIONS)}
        kw["overlap_kw"] = {option: search[k] for k, option in OVERLAP_OPTIONS.items() if search[k] is not None}
        kw["hop_moves"] = HOP_MOVES + RELOCATE_MOVES if args.relocate else HOP_MOVES
        t0 = time.perf_counter()
        rows = [RecordRow.from_dict(done[(d, n)]) for d, n, _ in cases if (d, n) in done]
        todo = [c for c in cases if (c[0], c[1]) not in done]
        names = {(d, n): name for d, n, name in todo}
        found = own_codes(args.neighbors.split(",")) if args.neighbors else None
        earlier = own_codes(args.continue_from.split(","), "--continue-from") if args.continue_from else None
        for group in lockstep_groups(todo, args.lockstep):
            started = time.time()
            d, Ns = group[0][0], [n for _, n, _ in group]
            extra, starts = {}, []
            if found is not None:
                found.update({(r.d, r.N): (r.angle_deg, r.points) for r in rows
                              if r.angle_deg > found.get((r.d, r.N), (-math.inf,))[0]})
                codes, extra["seeded_from"] = seeds_from_neighbors(found, d, Ns, args.seed)
                starts.append(codes)
            if earlier is not None:
                codes, extra["continued_from"] = seeds_from_own(earlier, d, Ns)
                starts.append(codes)
            if starts:
                kw["start_codes"] = joined_starts(*starts)
            for row in iter_solve_records(d, Ns, **kw):
                rows.append(row)
                if args.rows_out:
                    append_row(args.rows_out, row.to_dict(points=True) | {"started_unix": started,
                                                                          "finished_unix": time.time(),
                                                                          "lockstep": len(group),
                                                                          "search": search} |
                               {key: per_n[row.N] for key, per_n in extra.items()})
                name = names[(d, row.N)]
                gap = "n/a" if row.gap_deg is None else f"{row.gap_deg:+.2e}"
                print(f"[{len(rows)}/{len(cases)}] d={d} N={row.N}{' ' + name if name else ''}: {row.angle_deg:.9f} "
                      f"deg, gap {gap}, rounds {row.rounds}, {row.seconds:.1f} s{overlap_note(row)}", file=sys.stderr,
                      flush=True)
        wall = time.perf_counter() - t0
    rows.sort(key=lambda r: (r.d, r.N))
    summary = report(rows, wall)
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "summary": summary, "rows": [r.to_dict(points=True) for r in rows]}, f)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
