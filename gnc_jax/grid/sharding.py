"""Sharding a grid chunk's batch (cells x restarts lanes) over local devices.

A 1-D ``Mesh`` named ``"batch"`` over the first N of ``jax.local_devices()``; the leading
(lane) axis of every input is split with ``NamedSharding(mesh, P("batch"))`` and the same
vmapped program as ``api.compiled_batch_solve`` runs per device under ``shard_map`` (each
device iterates its own lanes' solver loop; no cross-device communication). The batch is
padded to a multiple of N with copies of lane 0 (dummy lanes) that are dropped afterwards.

Multi-host (``jax.distributed``): the mesh only spans this process's local devices (inputs are
placed with ``jax.make_array_from_process_local_data``, whose local data is then the whole
batch), so every process runs this same code path on its own share of the cells with its own
database file; no other code path and no cross-host collectives are needed::

    jax.distributed.initialize()
    rows = run_grid(split_cells(cells), db=f"runs.{jax.process_index()}.sqlite")
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from .. import api

AXIS = "batch"


def resolve_devices(devices="all") -> list:
    """The local devices to use: ``"all"``/None (every local device) or a count N >= 1."""
    local = jax.local_devices()
    if devices is None or (isinstance(devices, str) and devices.strip().lower() == "all"):
        return list(local)
    if isinstance(devices, str):
        try:
            devices = int(devices)
        except ValueError:
            raise ValueError(f"devices: expected 'all' or a count, got {devices!r}") from None
    if isinstance(devices, bool) or not isinstance(devices, (int, np.integer)):
        raise ValueError(f"devices: expected 'all' or a count, got {devices!r}")
    if not 1 <= devices <= len(local):
        raise ValueError(f"devices: expected 1..{len(local)} (local devices), got {devices}")
    return list(local[: int(devices)])


def make_mesh(devices="all") -> Mesh:
    """1-D mesh with axis ``"batch"`` over ``resolve_devices(devices)``."""
    return Mesh(np.asarray(resolve_devices(devices)), (AXIS,))


def split_cells(cells: list, index: int | None = None, count: int | None = None) -> list:
    """This process's share of ``cells`` under ``jax.distributed``: ``cells[index::count]``
    (defaults: ``jax.process_index()``, ``jax.process_count()``); all cells on one host."""
    index = jax.process_index() if index is None else int(index)
    count = jax.process_count() if count is None else int(count)
    return list(cells)[index::count]


def padded_lanes(B: int, ndev: int) -> int:
    """Smallest multiple of ``ndev`` that is >= B."""
    return -(-int(B) // int(ndev)) * int(ndev)


def pad_batch(specs: list, x0: dict, ndev: int) -> tuple[list, dict]:
    """Pad specs (B,) and x0 (dict of (B, ...)) with copies of lane 0 to a multiple of ndev lanes."""
    B = len(specs)
    extra = padded_lanes(B, ndev) - B
    if extra == 0:
        return list(specs), dict(x0)
    idx = np.concatenate([np.arange(B), np.zeros(extra, np.int64)])
    return list(specs) + [specs[0]] * extra, {k: np.asarray(v)[idx] for k, v in x0.items()}


@functools.lru_cache(maxsize=None)
def sharded_batch_solve(p, solver, stages: int, mesh: Mesh, warm_steps: int | None = None):
    """Jitted ``(x0, hp) -> Result``: ``api.compiled_batch_solve`` per device, lanes split over mesh (``p``: the
    ``ProblemDef``)."""
    inner = api.compiled_batch_solve(p, solver, stages, warm_steps=warm_steps)
    spec = P(AXIS)
    return jax.jit(jax.shard_map(inner, mesh=mesh, in_specs=(spec, spec), out_specs=spec, check_vma=False))


def _put(a, sharding):
    """Place a host array whose lane axis is split by ``sharding`` (its devices are all local)."""
    return jax.make_array_from_process_local_data(sharding, np.asarray(a))


def solve_batch_sharded(specs: list, x0: dict, solver, *, stages: int, C_pad: int, d_pad: int, n_pad: int,
                        mesh: Mesh, dtype=jnp.float32, warm_steps: int | None = None):
    """Like ``api.solve_batch`` with the B lanes sharded over ``mesh``. Returns the padded Result
    (leading axis ``padded_lanes(B, mesh.size)``, arrays sharded over the mesh); lanes >= B are dummies."""
    specs, x0 = pad_batch(specs, x0, mesh.size)
    np_dtype = np.dtype(jnp.dtype(dtype).name)
    hp = api.batch_hparams(specs, C_pad, d_pad, n_pad, stages, dtype)
    sharding = NamedSharding(mesh, P(AXIS))
    x0 = {k: _put(np.asarray(v, np_dtype), sharding) for k, v in x0.items()}
    hp = {k: _put(v, sharding) for k, v in hp.items()}
    return sharded_batch_solve(specs[0].pdef, solver, stages, mesh, warm_steps)(x0, hp)


def drop_lanes(res, B: int):
    """First B lanes of every (leading-axis) array of a host Result."""
    return jax.tree.map(lambda a: a[:B], res)
