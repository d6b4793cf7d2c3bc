"""Which backend when: an MLP's loss and summed gradient on the NumPy and C backends, for a few
widths and batch sizes, and each backend's compile time; prints a Markdown table.

    python -m benchmarks.backend_choice [--quick]

The model is ``sg.nn.MLP(nin, hidden + [1])`` (tanh hidden layers, linear output) on one
sample's squared error, compiled with ``reduce="sum"``; both backends' results are checked
against each other (relative 1e-9) before timing. The fastest and the median of repeated calls,
in this process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

import symgrad as sg
from symgrad.nn import MLP

from .timing import fmt_time, machine_info

MODELS = [(3, [8, 8]), (10, [16, 16]), (10, [32, 32])]
BATCHES = [100, 4_000, 10_000]


def step(nin: int, hidden: list[int], backend: str) -> tuple[sg.CompiledFunction, list, float]:
    model = MLP(nin, hidden + [1], seed=0)
    x, y = list(sg.symbols(f"x0:{nin}")), sg.Symbol("y")
    loss = (model(x) - y) ** 2
    params = model.symbols()
    t0 = time.perf_counter()
    outputs = [loss, sg.gradient(loss, params)]
    fn = sg.compile([params, x, y], outputs, backend=backend, reduce="sum")
    return fn, model.values(), time.perf_counter() - t0


def best_and_median(fn, target_s: float) -> tuple[float, float, object]:
    """(fastest, median) seconds of ``fn()`` over repeats: on a shared machine the fastest call
    is the one least disturbed by other processes, so both are reported."""
    result = fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    times = []
    for _ in range(max(5, min(200, int(target_s / max(once, 1e-7))))):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), result


def row(nin: int, hidden: list[int], batch: int, target_s: float) -> str:
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(-2, 2, (batch, nin)), rng.normal(size=batch)
    best, median, compiles, results = {}, {}, {}, {}
    for backend in ("numpy", "c"):
        fn, theta0, compiles[backend] = step(nin, hidden, backend)
        theta = np.array(theta0)
        call = lambda fn=fn, theta=theta: fn(theta, X, Y)
        best[backend], median[backend], results[backend] = best_and_median(call, target_s)
    (vn, gn), (vc, gc) = results["numpy"], results["c"]
    assert np.allclose(vn, vc, rtol=1e-9) and np.allclose(gn, gc, rtol=1e-9, atol=1e-12)
    ratio = best["c"] / best["numpy"]
    return (
        f"| MLP({nin}, {hidden + [1]}) | {batch:,} | {fmt_time(best['numpy'])} "
        f"({fmt_time(median['numpy'])}) | {fmt_time(best['c'])} ({fmt_time(median['c'])}) | "
        f"{ratio:.2f} | {'c' if ratio < 1 else 'numpy'} | "
        f"{fmt_time(compiles['numpy'])} | {fmt_time(compiles['c'])} |"
    )


def main(argv: list[str] | None = None) -> None:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--quick", action="store_true", help="one model, shorter timings")
    a.add_argument(
        "--only",
        nargs=2,
        type=int,
        metavar=("NIN", "BATCH"),
        help="one row: MLP(NIN, [16, 16, 1]) at BATCH samples",
    )
    args = a.parse_args(argv)
    models = MODELS[1:2] if args.quick else MODELS
    # A fresh C cache: each model's first row is a cold build (the call entry's too, in the very
    # first), later rows of the same model load it from this cache.
    os.environ["SYMGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="sg-backend-choice-")
    info = machine_info()
    print(f"machine: {info.get('cpu')}, {info.get('cores')} cores, python {info.get('python')}")
    print(
        f"load average before: {os.getloadavg()[0]:.1f}; BLAS threads: "
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}"
    )
    print(
        "| model | batch | numpy: best (median) | c: best (median) | c / numpy (best) | faster | "
        "compile numpy | compile c |\n"
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |"
    )
    rows = [(nin, h, b) for nin, h in models for b in BATCHES]
    if args.only:
        rows = [(args.only[0], [16, 16], args.only[1])]
    for nin, hidden, batch in rows:
        print(row(nin, hidden, batch, 0.1 if args.quick else 0.5), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
