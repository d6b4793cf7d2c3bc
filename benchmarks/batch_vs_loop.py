"""Batched NumPy backend against a Python loop over the scalar backend.

For the tutorial's MLP (MLP(3, [8, 8, 1]), tanh hidden layers, linear output, squared error),
one step needs the loss and the gradient summed over the data set. The batched backend does it
in one call (backend="numpy", reduce="sum"); the alternative is a Python loop calling the
scalar Python backend once per sample and adding up. Both results are checked equal first.
Figures are measured medians on this machine; targets: >= 20x at 10,000 samples, >= 3x at 100.

    python benchmarks/batch_vs_loop.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import symgrad as sg

TARGETS = {10_000: 20.0, 100: 3.0}


def mlp_loss():
    """Per-sample squared error of the tutorial's MLP called on symbols: (params, x, y, loss)."""
    model = sg.nn.MLP(3, [8, 8, 1])  # tanh hidden layers, linear output
    x = list(sg.symbols("x0:3"))
    y = sg.Symbol("y")
    return model.symbols(), x, y, (model(x) - y) ** 2


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def times(fn, repeats: int) -> tuple[float, float]:
    """(median, best) wall time of ``fn`` over ``repeats`` runs after a warm-up."""
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timed runs of the slow side")
    args = ap.parse_args()

    params, x, y, loss = mlp_loss()
    grad = sg.gradient(loss, params)
    batched = sg.compile([params, x, y], [loss, grad], backend="numpy", reduce="sum")
    scalar = sg.compile([params, *x, y], [loss, grad], backend="python")

    print(f"machine: {cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, symgrad {sg.__version__}")
    print(
        f"model: MLP(3, [8, 8, 1]), {len(params)} parameters, {batched.stats['ops']} ops "
        "per sample (loss + gradient)\n"
    )

    rng = np.random.default_rng(0)
    theta = rng.uniform(-1, 1, len(params))
    theta_list = theta.tolist()
    ok = True
    print(
        f"{'samples':>8}  {'batched (median)':>17}  {'python loop (median)':>21}  "
        f"{'speed-up':>9}  target"
    )
    for n, target in TARGETS.items():
        X = rng.uniform(-5, 5, (n, 3))
        Y = 0.04 * X[:, 0] ** 2 + 0.07 * X[:, 1] * X[:, 0] - X[:, 2]
        rows = [(*r, t) for r, t in zip(X.tolist(), Y.tolist())]

        def run_batched(X=X, Y=Y):
            return batched(theta, X, Y)

        def run_loop(rows=rows):
            total, acc = 0.0, [0.0] * len(theta_list)
            for row in rows:
                value, g = scalar(theta_list, *row)
                total += value
                acc = [a + b for a, b in zip(acc, g)]
            return total, acc

        (bv, bg), (lv, lg) = run_batched(), run_loop()
        assert abs(bv - lv) <= 1e-9 * abs(lv), (bv, lv)
        assert np.allclose(bg, lg, rtol=1e-9, atol=1e-9 * np.max(np.abs(lg)))

        slow_repeats = max(args.repeats, int(0.5 / (2e-5 * n)) + 1)
        t_loop, best_loop = times(run_loop, slow_repeats)
        t_batch, best_batch = times(run_batched, max(5 * slow_repeats, 20))
        ratio = t_loop / t_batch
        met = ratio >= target
        ok &= met
        print(
            f"{n:>8,}  {t_batch * 1e3:>14.3f} ms  {t_loop * 1e3:>18.3f} ms  "
            f"{ratio:>8.1f}x  >= {target:g}x {'met' if met else 'MISSED'}"
            f"   (best runs: {best_batch * 1e3:.3f} vs {best_loop * 1e3:.3f} ms, "
            f"{best_loop / best_batch:.1f}x)"
        )
    print("\nall targets met (medians)" if ok else "\nsome targets missed on this machine")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs (a busy machine inflates medians)")


if __name__ == "__main__":
    main()
