"""Figures of grid results: min angle vs C (with the best-known curve), gap heatmap, d=3 sphere.

Pure functions returning ``matplotlib.figure.Figure`` objects (no pyplot, no global state);
matplotlib is imported only when a figure is made. Data: a pandas DataFrame with the columns of
``gnc_jax.grid.to_dataframe`` or the path of a grid database. ``gnc-jax plot DB --kind ...``.
"""
from __future__ import annotations

import math
import os

import numpy as np

CONTACT_GID = "contact-edge"  # gid of every contact edge drawn by plot_sphere


def _figure(**kw):
    """A new Figure (matplotlib imported lazily; ImportError naming matplotlib when missing)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'matplotlib>=3.8' (or gnc-jax[plot])") from None
    return Figure(**kw)


def _frame(data, with_W: bool = False):
    """DataFrame from a DataFrame or a grid-database path."""
    if isinstance(data, (str, os.PathLike)):
        if not os.path.exists(data):
            raise ValueError(f"DB: no such file {str(data)!r}")
        from .grid.store import to_dataframe

        return to_dataframe(str(data), with_W=with_W)
    return data


def _select(df, problem=None, d=None):
    if problem is not None:
        df = df[df["problem"] == problem]
    if d is not None:
        df = df[df["d"] == int(d)]
    return df


def best_angles(df):
    """Best (largest) min_angle_deg per (C, d) over seeds/rows: a Series indexed by (C, d)."""
    return df.groupby(["C", "d"])["min_angle_deg"].max()


def best_known_curve(d: int, Cs) -> np.ndarray:
    """Best-known min angle (deg) of C points on S^{d-1} for each C (NaN where nothing is known). (len(Cs),)"""
    from .codes import best_known

    out = []
    for C in Cs:
        rec = best_known(int(d), int(C)) if int(C) >= 2 else None
        out.append(math.nan if rec is None else float(rec.min_angle_deg))
    return np.asarray(out, np.float64)


def gap_table(df):
    """Pivot (rows d, columns C) of best-known minus best found min angle, in degrees (NaN: unknown)."""
    best = best_angles(df).reset_index()
    from .codes import record_gap_deg

    best["gap_deg"] = [record_gap_deg(d, C, a) for C, d, a in zip(best["C"], best["d"], best["min_angle_deg"])]
    return best.pivot(index="d", columns="C", values="gap_deg").sort_index().sort_index(axis=1)


def plot_min_angle_vs_C(data, d: int = 3, problem: str | None = "tammes", best_known: bool = True):
    """Best found min angle (deg) vs C at dimension ``d``; with ``best_known`` the table's curve.

    Lines carry labels "grid" and "best known" (y data: degrees, x data: C)."""
    df = _select(_frame(data), problem, d)
    if not len(df):
        raise ValueError(f"d: no rows with d={d}" + (f" for problem {problem!r}" if problem else ""))
    best = best_angles(df).xs(int(d), level="d").sort_index()
    Cs = np.asarray(best.index, np.int64)
    fig = _figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.plot(Cs, best.to_numpy(np.float64), "o", ms=4, label="grid")
    if best_known:
        ax.plot(Cs, best_known_curve(d, Cs), "-", lw=1, color="k", label="best known")
    ax.set_xlabel("C (points)")
    ax.set_ylabel("min angle (deg)")
    ax.set_title(f"min angle vs C, d={d}")
    ax.legend()
    return fig


def plot_gap_heatmap(data, problem: str | None = "tammes"):
    """Heatmap over (C, d) of best-known minus found min angle (deg); the image array is ``gap_table``."""
    table = gap_table(_select(_frame(data), problem))
    if table.empty:
        raise ValueError("no rows to plot")
    fig = _figure(figsize=(max(4, 0.35 * table.shape[1] + 2), max(2.5, 0.5 * table.shape[0] + 1.5)))
    ax = fig.add_subplot()
    img = ax.imshow(np.ma.masked_invalid(table.to_numpy(np.float64)), aspect="auto", origin="lower",
                    cmap="viridis", interpolation="nearest")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], fontsize=7)
    ax.set_yticks(range(table.shape[0]), [str(d) for d in table.index])
    ax.set_xlabel("C")
    ax.set_ylabel("d")
    ax.set_title("best known - found min angle (deg)")
    fig.colorbar(img, ax=ax)
    return fig


def contact_edges(points, tol: float = 1e-2) -> list[tuple[int, int]]:
    """Pairs (i < j) whose angle is within ``tol`` degrees of the minimal angle. points: (N, d)."""
    x = np.asarray(points, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    ang = np.degrees(np.arccos(np.clip(x @ x.T, -1.0, 1.0)))
    i, j = np.triu_indices(len(x), 1)
    a = ang[i, j]
    keep = a <= a.min() + float(tol)
    return list(zip(i[keep].tolist(), j[keep].tolist()))


def _arc(p, q, k: int = 24) -> np.ndarray:
    """Great-circle arc from unit p to unit q (not antipodal), (k, 3)."""
    t = np.linspace(0.0, 1.0, k)[:, None]
    a = (1 - t) * p + t * q
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def plot_sphere(points, tol: float = 1e-2, title: str | None = None):
    """Unit sphere with the points (N, 3) and their contact graph (``contact_edges``) as arcs;
    each edge is one line with gid ``CONTACT_GID``."""
    x = np.asarray(points, np.float64)
    if x.ndim != 2 or x.shape[1] != 3:
        raise ValueError(f"points: expected shape (N, 3), got {x.shape}")
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    edges = contact_edges(x, tol)
    fig = _figure(figsize=(5, 5))
    ax = fig.add_subplot(projection="3d")
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13))
    ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", lw=0.4)
    for i, j in edges:
        a = _arc(x[i], x[j])
        ax.plot(a[:, 0], a[:, 1], a[:, 2], color="C1", lw=1.2, gid=CONTACT_GID)
    ax.scatter(x[:, 0], x[:, 1], x[:, 2], color="C0", s=25, depthshade=False)
    ax.set_box_aspect((1, 1, 1))
    ax.set_axis_off()
    ax.set_title(title or f"N={len(x)}, {len(edges)} contacts")
    return fig


def count_contact_lines(fig) -> int:
    """Number of contact edges drawn in a ``plot_sphere`` figure."""
    return sum(1 for ax in fig.axes for ln in ax.lines if ln.get_gid() == CONTACT_GID)


def _best_W(df, C: int, d: int):
    rows = df[(df["C"] == int(C)) & (df["d"] == int(d))]
    if not len(rows):
        raise ValueError(f"C: no stored cell with C={C}, d={d}")
    return rows.loc[rows["min_angle_deg"].idxmax(), "W"]


def _cmd_plot(args) -> int:
    try:
        return _plot_to_file(args)
    except ImportError as e:
        raise ValueError(str(e)) from None  # the CLI reports ValueErrors and exits 2


def _load_npz_W(path: str) -> np.ndarray:
    """W (N, 3) of a configuration file written by ``SolveResult.save`` / ``gnc-jax solve --out``
    (``codes.cli.load_points``; errors name the DB argument)."""
    from .codes.cli import load_points

    try:
        W = load_points(path, "W")
    except ValueError as e:
        raise ValueError(f"DB: {e}") from None
    if W.shape[1] != 3:
        raise ValueError(f"DB: the sphere plot needs W of shape (N, 3), got {W.shape} in {path!r}")
    return W


def _plot_to_file(args) -> int:
    from ._checks import check_output_path

    check_output_path("--out", args.out)
    problem = args.problem or None
    if args.db.endswith(".npz"):  # one configuration: always its sphere
        from .codes.compare import min_angle_deg

        W = _load_npz_W(args.db)
        try:
            angle = min_angle_deg(W)
        except ValueError as e:
            raise ValueError(f"DB: {e}") from None
        contacts = len(contact_edges(W / np.linalg.norm(W, axis=1, keepdims=True), args.tol))
        fig = plot_sphere(W, tol=args.tol, title=f"N = {len(W)}: min angle {angle:.7f} deg, {contacts} contacts")
    elif args.kind == "sphere":
        if args.d != 3:
            raise ValueError(f"--d: the sphere plot needs d=3, got {args.d}")
        if args.C is None:
            raise ValueError("--C: the sphere plot needs --C")
        df = _select(_frame(args.db, with_W=True), problem, 3)
        fig = plot_sphere(_best_W(df, args.C, 3), tol=args.tol)
    elif args.kind == "angle":
        fig = plot_min_angle_vs_C(args.db, d=args.d, problem=problem)
    else:
        fig = plot_gap_heatmap(args.db, problem=problem)
    fig.savefig(args.out, dpi=args.dpi, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("plot", help="plot a grid database (min angle vs C, gap heatmap, d=3 sphere) or the d=3 "
                                    "sphere of one FILE.npz from gnc-jax solve --out")
    p.add_argument("db", metavar="DB", help="grid SQLite file, or a configuration FILE.npz (sphere plot)")
    p.add_argument("--kind", choices=("angle", "gap", "sphere"), default="angle")
    p.add_argument("--d", type=int, default=3, help="dimension (angle, sphere)")
    p.add_argument("--C", type=int, default=None, help="points (sphere)")
    p.add_argument("--problem", default="tammes", help="problem rows to plot ('' for all)")
    p.add_argument("--tol", type=float, default=1e-2, help="contact tolerance in degrees (sphere)")
    p.add_argument("--dpi", type=int, default=120)
    p.add_argument("--out", required=True, help="output image file, e.g. fig.png")
    p.set_defaults(func=_cmd_plot)
