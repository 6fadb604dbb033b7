"""Run metadata shared by the benchmark scripts: device, platform, jax version, date."""
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
