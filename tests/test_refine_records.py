"""The float64 max-min refinement finishes near-optimal Tammes configurations to the record."""
import numpy as np
from conftest import icosahedron, random_rotation

from gnc_jax.solvers.refine import refine_tammes


def test_perturbed_icosahedron_is_refined_to_the_exact_angle():
    rng = np.random.default_rng(0)
    x = icosahedron() @ random_rotation(3, 1) + 1e-2 * rng.standard_normal((12, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    before = np.degrees(np.arccos(np.max(x @ x.T - 2 * np.eye(12))))
    res = refine_tammes(x[None])
    assert before < 63.0
    assert abs(float(res.min_angle_deg[0]) - 63.4349488) < 1e-6
    w = np.asarray(res.W[0])
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0, atol=1e-12)
