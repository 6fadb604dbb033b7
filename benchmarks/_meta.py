"""Shared by the benchmark scripts: run metadata (device, platform, jax version, date), cold/warm timing, and the
``--out`` argument's check."""
import argparse
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


HERE = os.path.dirname(os.path.abspath(__file__))


def in_benchmarks(name: str) -> str:
    """``name`` inside benchmarks/, wherever the script is run from."""
    return os.path.join(HERE, name)


def names_arg(ap: argparse.ArgumentParser, text: str, known, flag: str) -> list[str]:
    """A comma list of names from ``known``; anything else (or an empty list) is ``ap.error`` naming ``flag``."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in names if t not in known]
    if not names or bad:
        ap.error(f"{flag}: unknown {bad or 'empty list'}; choose from {sorted(known)}")
    return names


def output_path(value: str) -> str:
    """argparse ``type`` of ``--out`` (a file or a prefix): its directory must exist, checked when the arguments are
    parsed, so that a long run does not end in a failed write."""
    parent = os.path.dirname(os.path.abspath(value))
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"directory {parent!r} does not exist")
    return value
