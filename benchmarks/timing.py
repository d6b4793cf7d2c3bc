"""Timing and machine facts: medians over repeats, in this process, with the GC left on."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any


def measure(
    fn: Callable[[], Any], target_s: float = 0.3, max_reps: int = 50
) -> tuple[float, int, Any]:
    """Median seconds of ``fn()`` over repeats (at least 3, up to ``max_reps``, about
    ``target_s`` in all), after one warm-up call whose result is returned for the cross-check.
    A call slower than 2 s is timed once more only."""
    t0 = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t0
    reps = 1 if first > 2.0 else max(3, min(max_reps, int(target_s / max(first, 1e-7))))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), reps, result


def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: a shared machine's load bends absolute times."""
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kb = int(fh.readline().split()[1])
            mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    info = {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version() + " (" + platform.python_implementation() + ")",
    }
    for dist in ("symgrad", "numpy", "sympy", "micrograd", "torch", "jax", "jaxlib", "casadi"):
        v = _version(dist)
        if v:
            info[dist] = v
    return info
