"""Shared by the benchmark scripts: run metadata (device, platform, jax version, date) and cold/warm timing."""
import os
import platform
import time

import jax


def run_meta(device_label: str | None = None) -> dict:
    """date (UTC), device (``device_label`` or the first device's kind), device count, CPU count,
    platform and jax version of this run."""
    return dict(date=time.strftime("%Y-%m-%d", time.gmtime()),
                device=device_label or str(jax.devices()[0].device_kind), devices=len(jax.local_devices()),
                cpu_count=os.cpu_count(), platform=platform.platform(), jax=jax.__version__)


def timed_twice(fn):
    """Call ``fn`` twice: (cold seconds, with any compilation; warm seconds; the second call's result)."""
    t = time.perf_counter()
    fn()
    cold = time.perf_counter() - t
    t = time.perf_counter()
    out = fn()
    return cold, time.perf_counter() - t, out
