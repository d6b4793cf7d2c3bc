"""The physical limit beside the dense-model figures: how many floating-point operations one
value+gradient call needs, and how long that takes at this machine's measured matrix-product
(GEMM) rate. A dense layer's work is matrix products, so no system can beat that bound; the
table says how far each one is from it."""

from __future__ import annotations

import functools
import time

from . import workloads as W
from .suite import Result
from .timing import fmt_time

GEMM_N = 1024


def gemm_gflops(n: int = GEMM_N, repeats: int = 7) -> float:
    """NumPy's float64 matrix product of two n x n matrices, best of ``repeats``, in GFLOP/s
    (2 n^3 flops): the rate of the BLAS already in this process."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    a @ b  # warm-up (threads, pages)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


@functools.cache
def measured_rate() -> float:
    """``gemm_gflops()`` once per run: the targets and the table state the same figure."""
    return gemm_gflops()


def dense_shape(workload: str, size: int) -> tuple[tuple[int, ...], int] | None:
    """(layer sizes, samples) of the dense-model workloads; None for the others."""
    if workload == "mlp":
        return W.MLP_SIZES, size
    if workload == "wide":
        return W.wide_sizes(size), W.WIDE_BATCH
    if workload == "mnist":
        return W.MNIST_SIZES, size
    return None


def dense_flops(sizes: tuple[int, ...], samples: int) -> int:
    """Multiply-adds of value + gradient, counted as 2 flops each: per layer and sample, the
    forward product (nin*nout), the weight gradient (nin*nout) and, except for the first layer
    (whose input is data), the input gradient (nin*nout). Activations and the loss are left out:
    the bound is a lower bound."""
    total = 0
    for k, (nin, nout) in enumerate(zip(sizes, sizes[1:])):
        total += (2 if k == 0 else 3) * nin * nout
    return 2 * total * samples


def section(results: list[Result], rate: float | None = None) -> list[str]:
    """Markdown lines: per dense-model case, flops per call, the time at the GEMM rate, and the
    best symgrad backend and best peer as multiples of it."""
    rate = rate or measured_rate()
    lines = [
        f"Measured GEMM rate: {rate:.1f} GFLOP/s (NumPy float64 `{GEMM_N}x{GEMM_N} @ "
        f"{GEMM_N}x{GEMM_N}`, best of 7, in this run). *bound* is the flops of one call at that "
        "rate (multiply-adds of the layers' forward and gradient products only).",
        "",
        "| case | flops / call | bound | best symgrad | x bound | best peer | x bound |",
        "| --- | ---: | ---: | --- | ---: | --- | ---: |",
    ]
    cases = sorted({(r.workload, r.size) for r in results if dense_shape(r.workload, r.size)})
    for wl, size in cases:
        sizes, samples = dense_shape(wl, size)
        flops = dense_flops(sizes, samples)
        bound = flops / (rate * 1e9)
        ok = [r for r in results if (r.workload, r.size) == (wl, size) and r.status == "ok"]
        ours = min((r for r in ok if r.system.startswith("symgrad")), key=_vg, default=None)
        peer = min((r for r in ok if not r.system.startswith("symgrad")), key=_vg, default=None)
        lines.append(
            f"| {wl} {size:,} | {flops:,} | {fmt_time(bound)} | {_who(ours)} | {_x(ours, bound)} "
            f"| {_who(peer)} | {_x(peer, bound)} |"
        )
    return lines


def _vg(r: Result) -> float:
    return r.vg_s or float("inf")


def _who(r: Result | None) -> str:
    return f"{r.system} {fmt_time(r.vg_s)}" if r else "—"


def _x(r: Result | None, bound: float) -> str:
    return f"{r.vg_s / bound:.1f}" if r and r.vg_s else "—"
