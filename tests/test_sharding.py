"""Grid sharding over local devices: 8 forced host devices give the 1-device rows."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gnc_jax.grid import sharding

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pad_batch_and_lanes():
    assert [sharding.padded_lanes(b, 8) for b in (1, 8, 9, 18)] == [8, 8, 16, 24]
    specs = ["a", "b", "c"]
    x0 = {"W": np.arange(3 * 2).reshape(3, 2)}
    ps, px = sharding.pad_batch(specs, x0, 4)
    assert ps == ["a", "b", "c", "a"]
    np.testing.assert_array_equal(px["W"], [[0, 1], [2, 3], [4, 5], [0, 1]])
    assert sharding.pad_batch(specs, x0, 3)[0] == specs
    assert sharding.split_cells(list(range(7)), 1, 3) == [1, 4]


@pytest.mark.parametrize("bad", [0, -1, "x", 2.5, 10 ** 6])
def test_devices_argument_is_checked(bad):
    with pytest.raises(ValueError, match="devices"):
        sharding.resolve_devices(bad)


def test_cli_devices_error_exits_2(capsys):
    from gnc_jax.cli import main

    assert main(["grid", "tammes", "--C", "4", "--d", "2", "--devices", "0"]) == 2
    assert "devices" in capsys.readouterr().err


_CHILD = textwrap.dedent("""
    import json
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from gnc_jax import api
    from gnc_jax.grid import bucket, expand_grid, run_grid, sharding

    assert len(jax.local_devices()) == 8
    # heterogeneous: two buckets (C_pad 4 and 8) with C padded inside each; chunks of 2 cells x 3
    # restarts = 6 lanes, padded to 8 lanes (2 dummies) on 8 devices
    cells = expand_grid("ce-ufm-collapsed", "3:6", 3, tau=1.0, restarts=3, seed=1)
    assert len(bucket(cells)) == 2
    kw = dict(max_steps=60, chunk_cells=2, progress=False, dtype=jnp.float64)
    one = run_grid(cells, devices=1, **kw)
    eight = run_grid(cells, **kw)  # default: all local devices

    # the raw result of one chunk really lives on 8 devices
    specs = [c.spec for c in cells[:2] for _ in range(3)]
    x0 = {"W": [api.random_points(s, 1, 0, 4, 4, 1, jnp.float64)["W"] for s in specs]}
    solver = api.make_solver("lbfgs", max_steps=60, dtype=jnp.float64)
    mesh = sharding.make_mesh("all")
    res = sharding.solve_batch_sharded(specs, x0, solver, stages=1, C_pad=4, d_pad=4, n_pad=1,
                                       mesh=mesh, dtype=jnp.float64)
    import gnc_jax
    solves = [gnc_jax.solve("ce-ufm", C=5, d=3, tau=0.2, n=2, restarts=5, seed=3, dtype=jnp.float64, devices=dev,
                            max_steps=200) for dev in (1, "all")]
    keep = ("C", "d", "status", "min_angle_deg", "max_cos", "min_margin", "objective", "device")
    print(json.dumps({
        "one": [{k: r[k] for k in keep} for r in one],
        "eight": [{k: r[k] for k in keep} for r in eight],
        "n_devices": len(res.value.sharding.device_set),
        "shape": list(res.value.shape),
        "spec": str(res.value.sharding.spec),
        "shards": sorted(s.data.shape[0] for s in res.value.addressable_shards),
        "solve_margins": [r.restarts["min_margin"].tolist() for r in solves],
        "solve_status": [r.restarts["status"].tolist() for r in solves],
    }))
""")


def test_sharded_grid_matches_unsharded_on_8_host_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", _CHILD], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["n_devices"] == 8 and got["shape"] == [8] and got["shards"] == [1] * 8
    assert "batch" in got["spec"]
    one, eight = got["one"], got["eight"]
    assert [(r["C"], r["d"]) for r in one] == [(r["C"], r["d"]) for r in eight] and len(one) == 4
    assert {r["device"] for r in eight} == {one[0]["device"] + " x8"}
    m1, m8 = got["solve_margins"]  # solve(devices=...) shards the 5 restarts over 8 lanes, dummies dropped
    assert len(m1) == len(m8) == 5 and np.allclose(m1, m8, atol=1e-10)
    assert got["solve_status"][0] == got["solve_status"][1]
    for a, b in zip(one, eight):
        assert a["status"] == b["status"]
        assert abs(a["min_angle_deg"] - b["min_angle_deg"]) < 1e-6
        for k in ("max_cos", "min_margin", "objective"):
            assert abs(a[k] - b[k]) < 1e-8, (k, a, b)
