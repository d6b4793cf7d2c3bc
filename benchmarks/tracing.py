"""Tracing speed: how long the front end takes to turn NumPy code into expressions.

    python -m benchmarks.tracing

Prints the time to trace a 784x128 matrix-vector product (W @ x: 100,352 products and as many
sums), the cost per traced scalar operation (scalar code, and elementwise array code), and the
first call of a 5,000-row logistic regression with batch_argnums beside the unrolled way it
replaces. Wall time and CPU time of this process (the machine may be shared).
"""

from __future__ import annotations

import time

import numpy as np

import symgrad as sg
from symgrad.ir import gc_paused
from symgrad.tracing.args import Leaf


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def matvec() -> dict:
    with gc_paused():  # as sg.value_and_grad traces
        (W, x), w1, c1 = _timed(lambda: (Leaf("W", (128, 784)).traced, Leaf("x", (784,)).traced))
        _, w2, c2 = _timed(lambda: W @ x)
    return {"stand-ins (100,352 + 784 symbols)": (w1, c1), "W @ x (200,704 nodes)": (w2, c2)}


def per_op(n: int = 100_000) -> dict:
    a, b = Leaf("a", None).traced, Leaf("b", None).traced

    def scalar():
        acc = a
        for _ in range(n):
            acc = acc * b + a
        return acc

    v = Leaf("v", (n,)).traced

    def array():
        return np.exp(v) * v + 1.0

    with gc_paused():
        _, ws, cs = _timed(scalar)
        _, wa, ca = _timed(array)
    return {"scalar op (x * y + z)": (ws / (2 * n), cs / (2 * n)),
            "array op per element": (wa / (3 * n), ca / (3 * n))}  # fmt: skip


def logistic(n: int = 5_000, unrolled_rows: int = 500) -> dict:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, 3)), (rng.uniform(size=n) < 0.5).astype(float)
    p = {"w": np.zeros(3), "b": 0.0}

    def sample(params, x, t):
        z = x @ params["w"] + params["b"]
        return np.logaddexp(0.0, -(2.0 * t - 1.0) * z)

    def full(params, X, y):
        z = X @ params["w"] + params["b"]
        return np.mean(np.logaddexp(0.0, -(2.0 * y - 1.0) * z))

    out = {}
    for backend in ("numpy", "c"):
        vg = sg.value_and_grad(sample, batch_argnums=(1, 2), reduce="mean", backend=backend)
        _, w, c = _timed(lambda vg=vg: vg(p, X, y))
        out[f"batch_argnums first call, {n} rows ({backend})"] = (w, c)
    vu = sg.value_and_grad(full, backend="numpy")
    _, w, c = _timed(lambda: vu(p, X[:unrolled_rows], y[:unrolled_rows]))
    out[f"unrolled first call, {unrolled_rows} rows (numpy)"] = (w, c)
    return out


def main() -> None:
    for title, rows in [("trace W @ x", matvec()), ("cost per traced op", per_op()),
                        ("logistic regression", logistic())]:  # fmt: skip
        print(title)
        for k, (w, c) in rows.items():
            unit, scale = ("us", 1e6) if w < 1e-3 else ("s", 1.0)
            print(f"  {k:45s} {w * scale:9.3f} {unit} wall  {c * scale:9.3f} {unit} cpu")


if __name__ == "__main__":
    main()
