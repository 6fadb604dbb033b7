"""Generate the notebooks of this folder (JSON, no outputs) from the cell sources below.

    .venv/bin/python notebooks/_build.py          # rewrite every notebook
    .venv/bin/python notebooks/_build.py --check  # exit 1 if a committed notebook differs from this script

Every notebook reads GNC_NB_SMALL (default "0"): "1" runs a reduced version (well under a minute on 2 CPU cores),
which is what tests/test_notebooks.py executes.  Findings written in markdown are the numbers seen when the cells
were run at the date given; the last cell of each notebook recomputes its verdicts.
"""
from __future__ import annotations

import pathlib
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = pathlib.Path(__file__).resolve().parent

SETUP = """import os, time
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
SMALL = os.environ.get("GNC_NB_SMALL", "0") == "1"
t_start = time.perf_counter()
print("small run" if SMALL else "full run")"""

FOOTER = """print(f"notebook ran in {time.perf_counter() - t_start:.1f} s")"""


def md(s):
    return new_markdown_cell(s.strip("\n"))


def code(s):
    return new_code_cell(s.strip("\n"))


# ---------------------------------------------------------------------------------------------------------------
NC21 = [
    md("""
# [NC21] Regularized CE-UFM: closed-form minimizer and benign landscape

**Paper statement checked** (Zhu et al., NeurIPS 2021; SPEC §1).  For the regularized unconstrained-features model
f(W, H, b) = (1/N) Σ CE(W h_ki + b, k) + λ_W/2‖W‖² + λ_H/2‖H‖² + λ_b/2‖b‖² with d ≥ K − 1:

1. every global minimizer is a scaled simplex ETF with h*_ki = α w*_k, α = √(λ_W/(nλ_H)), b* = 0, and the
   closed forms of ‖w*‖² and f* hold (derived in the SPEC, asserted here);
2. every other critical point is a strict saddle (the paper's landscape theorem; its dimension condition is
   remembered as d > K, *unconfirmed*).  We check the consequence that random starts all reach f*, and that the
   constructed critical point W = H = 0 has a negative Hessian eigenvalue exactly when K√(nλ_Wλ_H) < 1.

**What we found** (2026-11-22, CPU): from random starts, L-BFGS in float64 reached the closed-form f* to better than
1e-9 relative in every restart for (K, d, n) = (4, 5, 3) and (10, 12, 5) (SPEC's two checks: f* = 0.19781481,
‖w‖² = 8.019023 and 13.656703); NC1 ≈ 1e-20, NC2 and NC3 ≈ 1e-9; the origin's smallest Hessian eigenvalue changes
sign at K√(nλ_Wλ_H) = 1.
"""),
    code(SETUP),
    code("""
from gnc_jax.theory import checks as C
from gnc_jax.theory import ufm_global_optimum
cases = [(4, 5, 3, 5e-3, 1e-2, 1e-2)] if SMALL else [(4, 5, 3, 5e-3, 1e-2, 1e-2), (10, 12, 5, 5e-4, 5e-4, 5e-4),
                                                      (6, 8, 4, 1e-3, 2e-3, 1e-3)]
reports = [C.ufm_check(*c, restarts=4 if SMALL else 8, seed=0) for c in cases]
for r in reports:
    print(r.summary(), end="\\n\\n")
"""),
    md("## Every random start reaches f*\nRelative gap (f − f*)/f* of each restart (a gap below 1e-16 is drawn at 1e-16)."),
    code("""
import jax.numpy as jnp
from gnc_jax.theory.checks import _solve
fig, ax = plt.subplots(figsize=(6, 3))
for i, c in enumerate(cases):
    K, d, n, lW, lH, lb = c
    res = _solve("ce-ufm-regularized", K, d, n=n, restarts=4 if SMALL else 8, seed=1,
                 lambda_W=lW, lambda_H=lH, lambda_b=lb)
    f_star = ufm_global_optimum(*c).f_star
    gaps = np.maximum(np.abs(res.restarts["objective"] - f_star) / f_star, 1e-16)
    ax.semilogy(np.full(gaps.shape, i), gaps, "o")
ax.set_xticks(range(len(cases)), [f"K={c[0]}, d={c[1]}, n={c[2]}" for c in cases])
ax.axhline(1e-6, ls="--", c="gray", label="1e-6 tolerance")
ax.set_ylabel("relative gap to f*"); ax.legend(); plt.tight_layout(); plt.show()
"""),
    md("## The origin: strict saddle below the threshold, global minimizer above\n"
       "Smallest Euclidean Hessian eigenvalue at W = H = 0, b = 0 against c = K√(nλ_Wλ_H) (λ_W = λ_H)."),
    code("""
K, d, n = 4, 5, 3
cs = np.linspace(0.5, 1.5, 9 if SMALL else 41)
mins = [C.ufm_saddle_eigs(K, d, n, c / (K * np.sqrt(n)), c / (K * np.sqrt(n)), 1e-2)[0] for c in cs]
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(cs, mins, "o-"); ax.axhline(0, c="k", lw=0.8); ax.axvline(1, ls="--", c="gray")
ax.set_xlabel("c = K sqrt(n lambda_W lambda_H)"); ax.set_ylabel("min Hessian eigenvalue at 0")
plt.tight_layout(); plt.show()
sign_change = [c for c, m in zip(cs, mins) if m >= -1e-12][0]
print("first c with a non-negative smallest eigenvalue:", sign_change)
"""),
    md("## Hessian spectrum at the minimizer\nAt the solved minimizer the spectrum is non-negative; the zero modes are "
       "the rotations W → WQ, H → HQ (and their analogues)."),
    code("""
res = _solve("ce-ufm-regularized", 4, 5, n=3, restarts=2, seed=0, lambda_W=5e-3, lambda_H=1e-2, lambda_b=1e-2)
e = C.ufm_saddle_eigs(4, 5, 3, 5e-3, 1e-2, 1e-2, point=res.point)
e0 = C.ufm_saddle_eigs(4, 5, 3, 5e-3, 1e-2, 1e-2)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(np.sort(e), ".", label="at the minimizer"); ax.plot(np.sort(e0), ".", label="at the origin")
ax.axhline(0, c="k", lw=0.8); ax.set_ylabel("Hessian eigenvalue"); ax.legend(); plt.tight_layout(); plt.show()
print("min eig at minimizer:", e[0], " zero modes (|e| < 1e-8):", int(np.sum(np.abs(e) < 1e-8)), " min eig at 0:", e0[0])
"""),
    md("## Verdict"),
    code("""
ok = all(r.ok for r in reports) and e[0] > -1e-8 and e0[0] < 0 and 0.95 < sign_change <= 1.1
print("NC21 statements reproduced:", ok)
assert ok
""" + FOOTER),
]

# ---------------------------------------------------------------------------------------------------------------
GNC = [
    md("""
# [GNC] Softmax codes, the τ → 0 limit and softmax code vs Tammes

**Paper statements checked** (Jiang et al., ICML 2024; SPEC §2):

1. as τ → 0, τ log L → L_HM (the HardMax loss) and CE minimizers tend to softmax codes (wording *unconfirmed*);
   SPEC's derived numbers for (d, K) = (3, 8): ρ(W_τ) = 0.7310 (τ = 1), 0.7363 (0.2), 0.7386 (0.05), 0.7388 (τ ≤ 0.02);
2. closed forms: ρ* = K/(K−1) for K ≤ d+1, 1 − cos(2π/K) for d = 2, 1 for d+2 ≤ K ≤ 2d, sharp codes (derived);
3. self-duality / softmax code = Tammes is proven for d = 2 and K ≤ d+1, conjectured in general.

**What we found** (2026-11-22, CPU, float64, warm-started τ-continuation with no gradient tolerance): for (3, 8)
ρ(W_τ) = 0.731033 (τ = 1), 0.736339 (0.2), 0.738614 (0.05), 0.738767 (0.02), increasing in τ ↓ 0, matching the SPEC
to its 4 digits; |τ log L − L_HM| decreases with τ; the softmax-code search reproduces ρ* = 4/3 for (3, 4) to 1e-12
after float64 refinement, and the Tammes bound δ_T²/2 agrees with it within the 1e-6 tolerance of the check.
"""),
    code(SETUP),
    code("""
from gnc_jax.theory import checks as C
taus = (1.0, 0.2, 0.05, 0.02) if SMALL else (1.0, 0.5, 0.2, 0.1, 0.05, 0.03, 0.02, 0.015, 0.01)
sweep = C.tau_sweep(8, 3, taus=taus, restarts=4, seed=0)
for s in sweep:
    print(f"tau={s['tau']:<6g} rho(W_tau)={s['rho']:.6f}  1-max cos={1 - s['max_cos']:.6f}")
spec = {1.0: 0.7310, 0.2: 0.7363, 0.05: 0.7386, 0.02: 0.7388}
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogx([s["tau"] for s in sweep], [s["rho"] for s in sweep], "o-", label="rho(W_tau), solved")
ax.semilogx(list(spec), list(spec.values()), "x", ms=10, label="SPEC (4 digits)")
ax.invert_xaxis(); ax.set_xlabel("tau"); ax.set_ylabel("rho"); ax.set_title("(d, K) = (3, 8)"); ax.legend()
plt.tight_layout(); plt.show()
"""),
    md("## τ log L → L_HM\nAt the last code, with features H = W and with the optimal features of W."),
    code("""
W = sweep[-1]["W"]
ts = np.logspace(0, -4, 9)
fig, ax = plt.subplots(figsize=(6, 3))
for label, H in (("H = W", W), ("H = optimal features", C._optimal_features(W))):
    L = C.hardmax_loss(W, H)
    ax.loglog(ts, [abs(C.tau_log_ce(W, H, t) - L) for t in ts], "o-", label=f"{label} (L_HM = {L:.6f})")
ax.loglog(ts, ts * np.log(8 * 7), "--", c="gray", label="tau log(K(K-1))")
ax.invert_xaxis(); ax.set_xlabel("tau"); ax.set_ylabel("|tau log L - L_HM|"); ax.legend(fontsize=8)
plt.tight_layout(); plt.show()
"""),
    md("## Closed forms and softmax code vs Tammes"),
    code("""
cells = [(4, 3)] if SMALL else [(4, 3), (5, 2), (6, 3), (12, 3), (8, 3)]
# the small run skips the float64 refinement (its compile dominates); the surrogate alone is within 1e-6 here
reports = [C.softmax_tammes_check(K, d, restarts=4 if SMALL else 8, seed=0, refine=not SMALL) for K, d in cells]
for r in reports:
    print(r.summary(), end="\\n\\n")
"""),
    md("## Verdict"),
    code("""
rhos = [s["rho"] for s in sweep]
got = {s["tau"]: s["rho"] for s in sweep}
ok = all(b >= a - 1e-9 for a, b in zip(rhos, rhos[1:])) and all(abs(got[t] - v) < 6e-5 for t, v in spec.items())
ok = ok and all(r.ok for r in reports)
print("GNC statements reproduced:", ok)
assert ok
""" + FOOTER),
]

# ---------------------------------------------------------------------------------------------------------------
HUG = [
    md("""
# [HUG] Hyperspherical uniformity: MHE, MGD and HUG recover the simplex for K ≤ d + 1

**Paper statement checked** (Liu et al., ICLR 2023; SPEC §3, §5): the uniformity objectives (MHE / Riesz energies,
MGD) and the proxy HUG loss have the simplex ETF as optimum when K ≤ d + 1, with the closed-form values of the SPEC
(derived); "HUG provably converges to GNC" is the paper's claim (exact theorem *unconfirmed*).  Across the papers
(SPEC §5), every model must return the Gram (K/(K−1))(I − 11ᵀ/K) for K ≤ d + 1.

**What we found** (2026-11-22, CPU, float64): for (K, d) = (4, 3) the solved Riesz s = 0, 1, 2 energies, the MGD
log det and the HUG objective equal the simplex closed forms (relative 1e-6; MGD within 1e-5 because the solver adds
1e-6 I), with Gram gaps to the ETF below 1e-5 and features on their proxies.
"""),
    code(SETUP),
    code("""
from gnc_jax.theory import checks as C
rep = C.uniformity_check(4, 3, n=2, restarts=4, seed=0)
print(rep.summary())
"""),
    md("## Gram matrices of the solved configurations"),
    code("""
from gnc_jax.theory.checks import _solve, etf_gram
K, d = 4, 3
sols = {"Riesz s=1": _solve("riesz", K, d, s=1.0, restarts=2, seed=0).W,
        "MGD": _solve("mgd", K, d, restarts=2, seed=0).W,
        "HUG proxies": _solve("hug", K, d, n=2, restarts=2, seed=0).W}
fig, axes = plt.subplots(1, len(sols) + 1, figsize=(3 * (len(sols) + 1), 3))
for ax, (name, W) in zip(axes, list(sols.items()) + [("simplex ETF", None)]):
    G = etf_gram(K) if W is None else W @ W.T
    ax.imshow(G, vmin=-1, vmax=1, cmap="coolwarm"); ax.set_title(name); ax.set_xticks([]); ax.set_yticks([])
plt.tight_layout(); plt.show()
"""),
    md("## Cross-paper consistency (SPEC §5)\nRun in the full version only (seven models, one compile each)."),
    code("""
cons = None
if not SMALL:
    cons = [C.consistency_check(K, d, restarts=4, seed=0) for K, d in [(4, 3), (3, 4), (5, 4)]]
    for r in cons:
        print(r.summary(), end="\\n\\n")
    gaps = [[f.measured for f in r.findings] for r in cons]
    fig, ax = plt.subplots(figsize=(7, 3))
    for (K, d), g in zip([(4, 3), (3, 4), (5, 4)], gaps):
        ax.semilogy(range(len(g)), np.maximum(g, 1e-16), "o", label=f"K={K}, d={d}")
    ax.set_xticks(range(len(cons[0].findings)), [f.name.split(":")[0] for f in cons[0].findings], rotation=30,
                  ha="right", fontsize=7)
    ax.set_ylabel("Gram gap to ETF"); ax.legend(); plt.tight_layout(); plt.show()
"""),
    md("## Verdict"),
    code("""
ok = rep.ok and (cons is None or all(r.ok for r in cons))
print("HUG / uniformity statements reproduced:", ok)
assert ok
""" + FOOTER),
]

# ---------------------------------------------------------------------------------------------------------------
TOUR = [
    md("""
# Tour: which theorem applies where

`gnc_jax.theory.regime(K, d)` says which proven (or derived) regime a (K classes, dimension d) pair is in, and
`gnc_jax.theory.check(K, d)` (CLI: `gnc-jax theory check --K 10 --d 3`) solves the models and compares with theory.
This notebook maps the regimes, prints the predictions and runs one small check.  Tags follow the SPEC: *(derived)*
statements are asserted; *(unconfirmed)* readings of a paper are reported only.
"""),
    code(SETUP),
    code("""
from gnc_jax.theory import regime
names = ["simplex", "trivial", "polygon", "cross-polytope", "sharp-code", "open"]
Kmax, dmax = (30, 8) if SMALL else (60, 10)
grid = np.array([[names.index(regime(K, d).name) for K in range(2, Kmax + 1)] for d in range(1, dmax + 1)])
fig, ax = plt.subplots(figsize=(8, 3))
im = ax.imshow(grid, aspect="auto", origin="lower", extent=(1.5, Kmax + 0.5, 0.5, dmax + 0.5),
               cmap=matplotlib.colormaps["tab10"].resampled(len(names)), vmin=-0.5, vmax=len(names) - 0.5)
cb = fig.colorbar(im, ticks=range(len(names))); cb.ax.set_yticklabels(names)
ax.set_xlabel("K"); ax.set_ylabel("d"); ax.set_title("regime(K, d)"); plt.tight_layout(); plt.show()
"""),
    code("""
for K, d in [(4, 3), (8, 3), (12, 3), (6, 3), (100, 10)]:
    r = regime(K, d)
    print(f"K={K:<4} d={d:<3} {r.name:<15} {r.prediction}  {r.tag}")
"""),
    md("""
## Real networks
`gnc_jax.nets.train_collapse` trains flax MLPs (several seeds in one compiled program) to the terminal phase and
measures NC1-NC4 along training; the prediction for a linear head with K <= d + 1 is the simplex ETF.
"""),
    code("""
from gnc_jax.nets import train_collapse
run = train_collapse(K=4, d=8, steps=1000 if SMALL else 4000, log_every=100, seeds=2)
print(run.report())
frame = run.history_frame()
fig, ax = plt.subplots(figsize=(6, 3))
for seed, rows in frame.groupby("seed"):
    ax.semilogy(rows.step, rows.NC1, "o-", ms=3, label=f"NC1, seed {seed}")
    ax.semilogy(rows.step, rows.NC2, "s--", ms=3, label=f"NC2, seed {seed}")
ax.set_xlabel("SGD step"); ax.legend(fontsize=8); plt.tight_layout(); plt.show()
"""),
    md("## One check end to end\nThe [NC21] part for (K, d) = (4, 5); `parts=None` runs every applicable part."),
    code("""
from gnc_jax.theory import check
rep = check(4, 5, n=3, parts=["ufm"] if SMALL else None)
print(rep.summary())
assert rep.ok
""" + FOOTER),
]

# ---------------------------------------------------------------------------------------------------------------
MINORITY = [
    md("""
# Minority collapse in the regularized CE-UFM with class imbalance

**Statement checked** (*unconfirmed* reading, not in the SPEC: Fang et al., PNAS 2021, "minority collapse"): when
some classes have far fewer samples than the others, the classifiers of the minority classes move together as the
imbalance ratio R = n / n_minor grows, and become indistinguishable in the limit; with weight decay they can vanish
outright at a finite R. The model is `ce-ufm-regularized-imbalanced`: the regularized CE-UFM [NC21] where the last
`minority` classes keep `n_minor` of the `n` samples; `ce-ufm-imbalanced` is its spherical counterpart. At R = 1 it is the balanced model, whose optimum is the simplex
ETF (SPEC §1, derived).

**What we found** (2026-12-07, CPU, float64; K = 4 classes, 2 of them minority, d = 5, n = 100, λ_W = λ_H = λ,
λ_b = 0, 4 restarts, every solve CONVERGED): with λ = 5e-3 the cosine between the two minority classifiers rises
monotonically with R: −1/3 (the ETF, R = 1), −0.2523 (R = 2), −0.0519 (10), +0.0640 (20), +0.3168 (50), and at
R = 100 it is 1.00000000: one direction, at 0.26 of the majority norm, while the majority pair opens from −1/3 to
−0.8612. With λ = 2e-2 the collapse comes sooner (cos 1.00000000 at R = 5) and from R = 10 on the minority
classifiers vanish (norm below 5e-9 of the majority's; their directions are then meaningless) and the majority pair
is antipodal. On the sphere (`ce-ufm-imbalanced`, unit classifiers and features, τ = 0.1, same K, d, n) the minority
pair also closes with R but slowly and without collapsing: cos −1/3, −0.0574 (R = 10), +0.0316 (20), +0.1476 (50),
+0.2323 (100), the majority pair opening to −0.6423.
"""),
    code(SETUP),
    code("""
import jax, jax.numpy as jnp
import gnc_jax
jax.config.update("jax_enable_x64", True)  # float64: near the zero regime the optimum is flat
K, d, minority = 4, 5, 2
n = 20 if SMALL else 100
ratios = [1, 4, 10, 20] if SMALL else [1, 2, 5, 10, 20, 50, 100]
lambdas = [5e-3] if SMALL else [5e-3, 2e-2]
rows = []
for lam in lambdas:
    for R in ratios:
        r = gnc_jax.solve("ce-ufm-regularized-imbalanced", C=K, d=d, n=n, minority=minority, n_minor=n // R,
                          lambda_W=lam, lambda_H=lam, lambda_b=0.0, restarts=4, max_steps=3000, dtype=jnp.float64)
        W = r.point["W"]
        norms = np.linalg.norm(W, axis=1)
        unit = W / np.maximum(norms, 1e-30)[:, None]
        rows.append(dict(lam=lam, R=R, n_minor=n // R, status=r.status, cos_minor=float(unit[2] @ unit[3]),
                         cos_major=float(unit[0] @ unit[1]), norm_ratio=norms[2:].mean() / norms[:2].mean()))
for row in rows:
    print("lambda={lam:g} R={R:<4} n_minor={n_minor:<4} {status:<10} cos(minority) {cos_minor:+.8f}  "
          "cos(majority) {cos_major:+.6f}  |w_min|/|w_maj| {norm_ratio:.2e}".format(**row))
"""),
    code("""
# the spherical model (`ce-ufm-imbalanced`): unit classifiers and features, tau = 0.1; norms cannot shrink
spherical = []
for R in ratios:
    r = gnc_jax.solve("ce-ufm-imbalanced", C=K, d=d, n=n, tau=0.1, minority=minority, n_minor=n // R, restarts=4,
                      dtype=jnp.float64)
    W = r.point["W"]
    spherical.append(dict(R=R, status=r.status, cos_minor=float(W[2] @ W[3]), cos_major=float(W[0] @ W[1])))
    print("spherical tau=0.1 R={R:<4} {status:<10} cos(minority) {cos_minor:+.6f}  cos(majority) {cos_major:+.6f}"
          .format(**spherical[-1]))
"""),
    code("""
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
axes[0].semilogx(ratios, [row["cos_minor"] for row in spherical], "k^-", label="minority pair, spherical τ=0.1")
for lam in lambdas:
    sel = [row for row in rows if row["lam"] == lam]
    Rs = [row["R"] for row in sel]
    axes[0].semilogx(Rs, [row["cos_minor"] for row in sel], "o-", label=f"minority pair, λ={lam:g}")
    axes[0].semilogx(Rs, [row["cos_major"] for row in sel], "s--", label=f"majority pair, λ={lam:g}")
    axes[1].loglog(Rs, [max(row["norm_ratio"], 1e-8) for row in sel], "o-", label=f"λ={lam:g}")
axes[0].axhline(-1 / (K - 1), color="gray", lw=0.8)
axes[0].set_xlabel("imbalance ratio R = n / n_minor"); axes[0].set_ylabel("cosine"); axes[0].legend(fontsize=8)
axes[1].set_xlabel("R"); axes[1].set_ylabel("|w_minority| / |w_majority|"); axes[1].legend(fontsize=8)
plt.tight_layout(); plt.show()
"""),
    code("""
first = [row for row in rows if row["R"] == 1]
assert all(abs(row["cos_minor"] + 1 / (K - 1)) < 1e-6 for row in first), "R = 1 is not the simplex ETF"
sel = [row for row in rows if row["lam"] == lambdas[0]]
assert all(b["cos_minor"] > a["cos_minor"] for a, b in zip(sel, sel[1:])), "minority cosine not increasing in R"
assert abs(spherical[0]["cos_minor"] + 1 / (K - 1)) < 1e-6, "spherical R = 1 is not the simplex ETF"
last = sel[-1]
print("verdict: minority classifiers",
      "collapse to one direction" if last["cos_minor"] > 0.999 else
      f"move together (cos {last['cos_minor']:+.4f} at R = {last['R']})",
      f"with weight decay; on the sphere they reach cos {spherical[-1]['cos_minor']:+.4f} at R = {spherical[-1]['R']}")
""" + FOOTER),
]

NOTEBOOKS = {
    "nc21_regularized_ufm.ipynb": NC21,
    "gnc_softmax_codes.ipynb": GNC,
    "hug_uniformity.ipynb": HUG,
    "tour.ipynb": TOUR,
    "minority_collapse.ipynb": MINORITY,
}


def build(name: str) -> nbformat.NotebookNode:
    nb = new_notebook(cells=NOTEBOOKS[name])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, c in enumerate(nb.cells):  # stable ids: diffs show only real changes
        c["id"] = f"{pathlib.Path(name).stem[:20]}-{i:02d}"
    return nb


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stale = []
    for name in NOTEBOOKS:
        text = nbformat.writes(build(name)) + "\n"
        path = HERE / name
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print("stale notebooks (run notebooks/_build.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
