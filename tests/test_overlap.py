"""Threshold search on the overlap energy (gnc_jax.codes.overlap): energy, gradient, local solves, the search."""
import dataclasses
import json
import math

import numpy as np
import pytest

from conftest import icosahedron
from gnc_jax.codes.overlap import (_local_batch_fn, local_minimize, move, overlap_energy, overlap_energy_np,
                                   overlap_search)
from gnc_jax.codes.records import RecordRow, iter_solve_records, overlap_note, run_records
from gnc_jax.solvers.base import Status

ICO_DEG = math.degrees(math.atan(2.0))  # 63.43494882 deg: the icosahedron's minimal angle, 30 contact pairs


def _energy(x, cos_target, mask=None):
    import jax.numpy as jnp

    m = np.ones(len(x)) if mask is None else mask
    return float(overlap_energy(jnp.asarray(x), dict(mask=jnp.asarray(m), cos_target=cos_target)))


def test_overlap_energy_is_zero_up_to_the_codes_angle_and_counts_each_close_pair_once(x64):
    x = icosahedron()
    below, above = math.cos(math.radians(ICO_DEG - 1e-3)), math.cos(math.radians(ICO_DEG + 0.1))
    assert _energy(x, below) == 0.0 and overlap_energy_np(x, below) == 0.0
    expected = 30 * (1 / math.sqrt(5) - above) ** 2  # 30 edges, cos = 1/sqrt(5) each
    assert _energy(x, above) == pytest.approx(expected, rel=1e-12)
    assert overlap_energy_np(x, above) == pytest.approx(expected, rel=1e-12)
    padded = np.concatenate([x, np.zeros((4, 3))])  # padded rows are masked out
    assert _energy(padded, above, np.r_[np.ones(12), np.zeros(4)]) == pytest.approx(expected, rel=1e-12)


def test_overlap_energy_gradient_matches_finite_differences(x64):
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    args = dict(mask=jnp.ones(9), cos_target=math.cos(math.radians(70.0)))  # many overlapping pairs
    g = np.asarray(jax.grad(overlap_energy)(jnp.asarray(x), args))
    h = 1e-6
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        fd[idx] = (float(overlap_energy(jnp.asarray(x + e), args)) - float(overlap_energy(jnp.asarray(x - e), args))) / (2 * h)
    assert np.max(np.abs(fd)) > 1e-2
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_local_minimize_lowers_the_energy_on_the_sphere_with_one_compile_per_shape():
    rng = np.random.default_rng(0)
    starts = icosahedron()[None] + rng.normal(scale=0.05, size=(3, 12, 3))
    starts /= np.linalg.norm(starts, axis=-1, keepdims=True)
    c_t = math.cos(math.radians(ICO_DEG + 0.5))  # above the optimum: the energy cannot reach zero
    fn = _local_batch_fn(1500, 20)
    before = fn._cache_size()
    x, e, s = local_minimize(starts, c_t)
    local_minimize(starts[::-1], c_t)
    assert fn._cache_size() - before == 1
    np.testing.assert_allclose(np.linalg.norm(x, axis=-1), 1.0, atol=1e-12)
    start_e = [overlap_energy_np(w, c_t) for w in starts]
    assert np.all(e <= np.asarray(start_e)) and np.all(e > 0) and not np.any(s == Status.NONFINITE)
    for w, ei in zip(x, e):
        assert overlap_energy_np(w, c_t) == pytest.approx(ei, rel=1e-9)
    # the icosahedron is the minimizer at any target above its angle: 30 equal edges at the optimum
    assert min(e) == pytest.approx(30 * (1 / math.sqrt(5) - c_t) ** 2, rel=1e-6)


def test_moves_keep_unit_rows_and_hole_moves_find_the_deepest_hole():
    rng = np.random.default_rng(1)
    x = icosahedron()
    c_t = math.cos(math.radians(ICO_DEG + 0.1))
    for kind in ("hole", "worst-to-hole", "region", "global"):
        y = move(x, kind, c_t, rng)
        np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-12)
        moved = np.linalg.norm(y - x, axis=1)
        if "hole" in kind:  # the deepest hole of the icosahedron less a vertex is that vertex (63.43 deg deep)
            assert np.max(moved) < 1e-6, (kind, np.max(moved))
        else:
            assert np.sum(moved > 1e-9) >= 5, kind
    ring = np.stack([np.cos(np.arange(6) * np.pi / 3), np.sin(np.arange(6) * np.pi / 3), np.zeros(6)], axis=1)
    y = move(ring, "hole", c_t, rng)  # six points on a great circle: a point goes to a pole, 90 deg from the rest
    i = int(np.argmax(np.linalg.norm(y - ring, axis=1)))
    assert abs(y[i, 2]) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="kind"):
        move(x, "swap", c_t, rng)


def test_overlap_search_lifts_a_polygon_out_of_its_trap_and_never_returns_worse():
    # five points on a great circle of S^2 at 72 deg: every force lies in the plane, so a refinement from it stays
    # there, far below the 5-point record, 90 deg (triangular bipyramid)
    t = np.arange(5) * 2 * np.pi / 5
    ring = np.stack([np.cos(t), np.sin(t), np.zeros(5)], axis=1)
    res = overlap_search(ring, iterations=6, lanes=2, seed=0)
    assert res.start_angle_deg == pytest.approx(72.0, abs=1e-9)
    assert res.angle_deg == pytest.approx(90.0, abs=1e-6) and res.raised >= 1
    assert res.iterations <= 6 and res.nonfinite == 0
    np.testing.assert_allclose(np.linalg.norm(res.points, axis=1), 1.0, atol=1e-12)
    # the per-iteration log: one entry per iteration, the target only rising, the raw angle never falling, the
    # accepted moves adding up to the total
    h = res.history
    assert all(len(a) == res.iterations for a in h)
    assert np.all(np.diff(h.target_deg) >= 0) and np.all(np.diff(h.best_angle_deg) >= 0)
    assert h.target_deg[-1] == res.target_deg and int(h.accepted.sum()) == res.accepted
    assert h.best_angle_deg[-1] > 72.0 + 1.0 and np.all(np.diff(h.seconds) >= 0)
    assert res.summary() == {k: getattr(res, k) for k in ("angle_deg", "start_angle_deg", "target_deg", "raised",
                                                          "iterations", "accepted", "nonfinite", "seconds")}
    # an optimum stays where it is: never worse than the input, no target ever reached
    ico = overlap_search(icosahedron(), iterations=2, lanes=2, seed=0)
    assert ico.angle_deg >= ICO_DEG - 1e-9 and ico.raised == 0


@pytest.mark.parametrize("kw, match", [
    (dict(eps_deg=0.0), "eps_deg"), (dict(iterations=0), "iterations"), (dict(lanes=0), "lanes"),
    (dict(threshold=-1.0), "threshold"), (dict(kick_threshold=float("nan")), "kick_threshold"),
    (dict(time_limit=0), "time_limit"), (dict(max_steps=0), "max_steps"), (dict(seed=-1), "seed"),
])
def test_overlap_search_names_a_bad_option(kw, match):
    with pytest.raises(ValueError, match=match):
        overlap_search(icosahedron(), **kw)


def test_overlap_search_rejects_bad_points_and_records_check_its_options_before_searching():
    with pytest.raises(ValueError, match="points"):
        overlap_search(np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="d >= 2"):
        overlap_search(np.ones((5, 1)))
    with pytest.raises(ValueError, match="lanes"):
        next(iter_solve_records(3, [5], overlap_iterations=1, overlap_kw=dict(lanes=0)))
    with pytest.raises(ValueError, match="colour"):
        next(iter_solve_records(3, [5], overlap_iterations=1, overlap_kw=dict(colour=1)))
    with pytest.raises(ValueError, match="overlap_kw"):
        next(iter_solve_records(3, [5], overlap_iterations=1, overlap_kw=[("lanes", 2)]))
    with pytest.raises(ValueError, match="overlap_iterations"):
        next(iter_solve_records(3, [5], overlap_iterations=-1))


def test_records_rows_can_end_with_the_overlap_search():
    # the CLI test's search shapes (N = 6: the octahedron); the overlap search keeps an optimum
    rows = list(run_records(3, [6], progress=False, restarts=8, hops=16, patience=1, max_rounds=2,
                            overlap_iterations=2, overlap_kw=dict(lanes=2)))
    assert rows[0].N == 6 and rows[0].matched and rows[0].congruent == "cross-polytope"
    # the row carries the overlap search's summary, through JSON and back, and the progress line names it
    o = rows[0].overlap
    assert o["iterations"] == 2 and o["angle_deg"] == pytest.approx(rows[0].angle_deg, abs=1e-12)
    assert o["start_angle_deg"] == pytest.approx(90.0, abs=1e-6) and o["raised"] == 0
    back = RecordRow.from_dict(json.loads(json.dumps(rows[0].to_dict(points=True))))
    assert back.overlap == o and "in 2 iterations (0 raises" in overlap_note(back)
    assert overlap_note(dataclasses.replace(back, overlap=None)) == ""
