"""Rotation groups of S^2, their orbits, and symmetric starts for the record search (antipodal ones in any d)."""
import numpy as np
import pytest

from gnc_jax.codes import compare, cross_polytope, icosahedron, load_coordinates, regular_polygon, regular_simplex
from gnc_jax.codes.symmetry import (ANTIPODAL, GROUPS, admits, antipodal_start, closure, fitting_groups, orbit,
                                    orbit_plan, rigid_points, rotation_group, special_orbits, symmetric_start,
                                    symmetric_starts, symmetry_group, symmetry_label)

ORDERS = {"C2": 2, "C3": 3, "C4": 4, "C5": 5, "D2": 4, "D3": 6, "D4": 8, "D5": 10, "T": 12, "O": 24, "I": 60}
SPECIAL = {"C3": [1, 1], "D3": [2, 3, 3], "D4": [2, 4, 4], "T": [4, 4, 6], "O": [6, 8, 12], "I": [12, 20, 30]}


@pytest.mark.parametrize("name", GROUPS)
def test_groups_are_closed_sets_of_rotations_of_the_right_order(name):
    G = rotation_group(name)
    assert G.shape == (ORDERS[name], 3, 3)
    np.testing.assert_allclose(np.einsum("gij,gkj->gik", G, G), np.broadcast_to(np.eye(3), G.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(G), 1.0, atol=1e-12)
    # closed under products: every g h is in G
    prods = np.einsum("gij,hjk->ghik", G, G).reshape(-1, 1, 3, 3)
    assert np.all(np.min(np.abs(prods - G[None]).max(axis=(2, 3)), axis=1) < 1e-9)
    if name in SPECIAL:
        assert [len(o) for o in special_orbits(G)] == SPECIAL[name]


def test_icosahedral_vertex_orbit_is_the_icosahedron_and_orbits_divide_the_order():
    G = rotation_group("I")
    twelve = special_orbits(G)[0]
    cos = twelve @ twelve.T
    np.fill_diagonal(cos, -2)
    np.testing.assert_allclose(np.max(cos), 1 / np.sqrt(5), atol=1e-12)  # 63.43 deg between neighbours
    p = np.random.default_rng(0).standard_normal(3)
    assert len(orbit(G, p)) == 60
    with pytest.raises(ValueError, match="more than"):
        closure([np.array([[np.cos(1.0), -np.sin(1.0), 0], [np.sin(1.0), np.cos(1.0), 0], [0, 0, 1]])])


@pytest.mark.parametrize("name,N", [("I", 72), ("I", 120), ("O", 38), ("T", 22), ("D5", 17), ("C2", 7)])
def test_symmetric_starts_are_unions_of_orbits(name, N):
    G = rotation_group(name)
    x = symmetric_start(N, G, np.random.default_rng(1))
    assert x.shape == (N, 3)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-12)
    # points of one orbit see the code alike (each g permutes it): equal sorted cosine rows. The classes
    # of equal rows are orbits: each of a special orbit's size or of |G|.
    rows = np.sort(np.round(x @ x.T, 8), axis=1)
    _, counts = np.unique(rows, axis=0, return_counts=True)
    sizes = {len(o) for o in special_orbits(G)} | {len(G)}
    assert set(counts) <= sizes and counts.sum() == N, (sorted(counts), sizes)
    used, k = orbit_plan(N, G, np.random.default_rng(2))
    assert sum(len(special_orbits(G)[i]) for i in used) + k * len(G) == N


def test_symmetric_starts_cycle_over_the_groups_that_fit_and_name_errors():
    rng = np.random.default_rng(4)
    assert admits(120, rotation_group("I")) and not admits(61, rotation_group("I"))
    # 61 = 1 + 60 fits the cyclic groups (a pole plus generic orbits) but not T, O, I (orbits 4/6/12.., 12/20/30..)
    assert fitting_groups(61, ("C2", "C3", "C5", "T", "O", "I")) == ["C2", "C3", "C5"]
    assert fitting_groups(120) == [g for g in GROUPS if admits(120, rotation_group(g))]
    with pytest.raises(ValueError, match="symmetric_groups"):
        fitting_groups(12, ("I", "X"))
    # symmetric_starts (cached special orbits per name) draws the same codes as symmetric_start on the matrices
    G = rotation_group("I")
    np.testing.assert_array_equal(symmetric_starts(72, 2, np.random.default_rng(9), ("I",)),
                                  np.stack([symmetric_start(72, G, r) for r in [np.random.default_rng(9)] for _ in
                                            range(2)]))
    out = symmetric_starts(73, 5, rng)
    assert out.shape == (5, 73, 3)
    with pytest.raises(ValueError, match="symmetric_groups"):
        symmetric_starts(61, 2, rng, ("I",))  # 61 is no sum of 12, 20, 30 and 60s
    for bad in ("X", "C1", "D0", 5, ANTIPODAL):  # the antipodal map is a symmetry but no rotation
        with pytest.raises(ValueError, match="symmetric_groups"):
            rotation_group(bad)


@pytest.mark.parametrize("N, d", [(40, 5), (39, 5), (126, 7), (2, 2), (3, 4)])
def test_antipodal_starts_pair_each_point_with_its_negative_in_any_dimension(N, d):
    x = antipodal_start(N, d, np.random.default_rng(N))
    assert x.shape == (N, d)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-12)
    G = x @ x.T
    pairs = int(np.sum(np.isclose(G, -1.0, atol=1e-12))) // 2
    assert pairs == N // 2  # odd N: one antipode left out
    out = symmetric_starts(N, 3, np.random.default_rng(0), (ANTIPODAL,), d)
    assert out.shape == (3, N, d) and fitting_groups(N, (ANTIPODAL,)) == [ANTIPODAL]
    for s in out:  # each start is invariant under x -> -x up to the one left-out point
        H = s @ s.T
        assert int(np.sum(np.isclose(H, -1.0, atol=1e-12))) // 2 == N // 2
    if d != 3:
        with pytest.raises(ValueError, match="symmetric_groups"):
            symmetric_starts(N, 1, np.random.default_rng(0), ("I",), d)


def _random_rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _maps_onto_itself(x: np.ndarray, rot: np.ndarray) -> bool:
    images = x @ rot.T
    return bool(np.all(np.min(np.linalg.norm(images[:, None] - x[None], axis=2), axis=1) < 1e-9))


@pytest.mark.parametrize("name", GROUPS)
def test_symmetry_group_finds_each_group_of_a_rotated_union_of_generic_orbits(name):
    G = rotation_group(name)
    rng = np.random.default_rng(7)
    x = np.concatenate([orbit(G, rng.standard_normal(3)) for _ in range(2)]) @ _random_rotation(3).T
    x = x[rng.permutation(len(x))]
    g = symmetry_group(x, drop_rattlers=False)
    assert (g.name, g.order, g.reflections, g.rigid) == (name, ORDERS[name], False, len(x))  # generic orbits: chiral
    np.testing.assert_allclose(g.rotations[0], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(g.rotations), 1.0, atol=1e-12)
    assert all(_maps_onto_itself(x, r) for r in g.rotations)


def test_symmetry_group_of_known_codes_and_records():
    # the Platonic codes have their full point groups (rotations and reflections)
    platonic = ((icosahedron(), "I", 60), (cross_polytope(3), "O", 24), (regular_simplex(4, 3), "T", 12))
    for points, name, order in platonic:
        g = symmetry_group(points @ _random_rotation(1).T)
        assert (g.name, g.order, g.reflections) == (name, order, True)
    # a pentagon in R^3: D5, mirrored by its plane; no max-min code of S^2 (2 contacts each: all rattlers)
    pentagon = np.pad(regular_polygon(5), ((0, 0), (0, 1)))
    assert symmetry_group(pentagon, drop_rattlers=False)[:2] == ("D5", 10)
    assert symmetry_group(pentagon, drop_rattlers=False).reflections and len(rigid_points(pentagon)) == 0
    with pytest.raises(ValueError, match="rattlers"):
        symmetry_group(pentagon)
    assert symmetry_label(pentagon) is None and symmetry_label(icosahedron()) == "I+refl"
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        symmetry_label(np.eye(4))
    assert symmetry_group(np.random.default_rng(0).standard_normal((20, 3)), drop_rattlers=False).name == "C1"
    # N = 24: the snub cube, chiral with the rotations of the cube; the bundled N = 102 record has D3
    snub = symmetry_group(load_coordinates(3, 24))
    assert (snub.name, snub.reflections, snub.rigid) == ("O", False, 24)
    assert symmetry_group(load_coordinates(3, 102) @ _random_rotation(2).T).name == "D3"
    # the N = 110 record has 5 rattlers (no contact); its other 105 points have at least 3 contacts each
    assert len(rigid_points(load_coordinates(3, 110))) == 105
    assert compare(icosahedron()).symmetry == "I+refl" and compare(load_coordinates(3, 24)).symmetry == "O"
    assert compare(np.eye(4)).symmetry is None and compare(icosahedron(), check_symmetry=False).symmetry is None
    for bad, match in ((np.eye(4), r"\(N, 3\)"), (np.full((5, 3), np.nan), "NaN")):
        with pytest.raises(ValueError, match=match):
            symmetry_group(bad)
    with pytest.raises(ValueError, match="atol"):
        symmetry_group(icosahedron(), atol=0.0)
