"""Tracing speed: how long the front end takes to turn NumPy code into expressions.

    python -m benchmarks.tracing        (also a section of ``python -m benchmarks``)

Prints the time to trace a 784x128 matrix-vector product (W @ x: 100,352 products and as many
sums), the cost per traced scalar operation (scalar code, and elementwise array code), and the
first call of a 5,000-row logistic regression with batch_argnums beside the unrolled way it
replaces. Wall time and CPU time; the machine may be shared, so each figure is the best of a
few repeats. A first call is timed in a fresh process (import excluded): "cold" with an empty
library cache (the C compiler runs, for the function and for the C backend's call entry),
"warm" with the cache that cold run left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from symgrad.ir import gc_paused
from symgrad.tracing.args import Leaf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def _best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(runs, key=lambda r: r[0])


def matvec(repeats: int = 3) -> dict:
    s, p = [], []
    for _ in range(repeats):
        with gc_paused():  # as sg.value_and_grad traces
            (W, x), w1, c1 = _timed(
                lambda: (Leaf("W", (128, 784)).traced, Leaf("x", (784,)).traced)
            )
            out, w2, c2 = _timed(lambda W=W, x=x: W @ x)
        s.append((w1, c1))
        p.append((w2, c2))
        del W, x, out
    return {"stand-ins (100,352 + 784 symbols)": _best(s), "W @ x (200,704 nodes)": _best(p)}


def per_op(n: int = 100_000, repeats: int = 3) -> dict:
    def scalar(a, b):
        acc = a
        for _ in range(n):
            acc = acc * b + a
        return acc

    s, r = [], []
    for _ in range(repeats):  # fresh symbols each time: nothing built before can be reused
        a, b = Leaf("a", None).traced, Leaf("b", None).traced
        v = Leaf("v", (n,)).traced
        with gc_paused():
            out, ws, cs = _timed(lambda a=a, b=b: scalar(a, b))
            del out
            out, wa, ca = _timed(lambda v=v: np.exp(v) * v + 1.0)
            del out
        s.append((ws / (2 * n), cs / (2 * n)))
        r.append((wa / (3 * n), ca / (3 * n)))
    return {"scalar op (x * y + z)": _best(s), "array op per element": _best(r)}


# One first call in a fresh process: argv = loss ("sample" or "full"), rows, backend.
_FIRST_CALL = """
import json, sys, time
import numpy as np
import symgrad as sg
loss, n, backend = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
X, y = rng.normal(size=(n, 3)), (rng.uniform(size=n) < 0.5).astype(float)

def sample(params, x, t):
    z = x @ params["w"] + params["b"]
    return np.logaddexp(0.0, -(2.0 * t - 1.0) * z)

def full(params, X, y):
    z = X @ params["w"] + params["b"]
    return np.mean(np.logaddexp(0.0, -(2.0 * y - 1.0) * z))

kw = {"batch_argnums": (1, 2), "reduce": "mean"} if loss == "sample" else {}
vg = sg.value_and_grad(sample if loss == "sample" else full, backend=backend, **kw)
p = {"w": np.zeros(3), "b": 0.0}
w, c = time.perf_counter(), time.process_time()
vg(p, X, y)
w, c = time.perf_counter() - w, time.process_time() - c
print(json.dumps([w, c, vg.compiled.stats["ops"]]))
"""


def first_call(loss: str, rows: int, backend: str, cache: str) -> tuple[float, float, int]:
    """(wall s, CPU s, ops) of one first call in a fresh process using library cache ``cache``."""
    env = {**os.environ, "SYMGRAD_CACHE_DIR": cache}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    argv = [sys.executable, "-c", _FIRST_CALL, loss, str(rows), backend]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    w, c, ops = json.loads(out.stdout.strip().splitlines()[-1])
    return w, c, ops


def logistic(n: int = 5_000, repeats: int = 3, unrolled: tuple = ("c", "numpy")) -> dict:
    """First calls of the batch_argnums loss (each backend; C cold and warm) and, once each,
    of the same loss unrolled over the ``n`` rows (the way batch_argnums replaces)."""
    runs: dict[str, list] = {}
    ops: dict[str, int] = {}

    def add(key, fig):
        runs.setdefault(key, []).append(fig[:2])
        ops[key] = fig[2]

    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            add(f"batch_argnums, {n:,} rows, c, cold cache", first_call("sample", n, "c", cache))
            add(f"batch_argnums, {n:,} rows, c, warm cache", first_call("sample", n, "c", cache))
            add(f"batch_argnums, {n:,} rows, numpy", first_call("sample", n, "numpy", cache))
    for backend in unrolled:
        with tempfile.TemporaryDirectory() as cache:
            key = f"unrolled into symbols, {n:,} rows, {backend}, cold cache"
            add(key, first_call("full", n, backend, cache))
    return {f"{k} ({ops[k]:,} ops)": _best(v) for k, v in runs.items()}


def targets(sections: list[tuple[str, dict]]) -> list[tuple[str, bool | None, str]]:
    """Issue 12's speed targets: (target, met? (None: not measured), what was measured)."""
    rows = {k: v for _, r in sections for k, v in r.items()}
    out: list[tuple[str, bool | None, str]] = []
    mv = rows.get("W @ x (200,704 nodes)")
    what = "not measured" if mv is None else f"{mv[1]:.3f} s CPU ({mv[0]:.3f} s wall)"
    out.append(("tracing a 784x128 W @ x well under 1 s", None if mv is None else mv[1] < 0.5,
                what + "; met means under 0.5 s of this process's CPU time"))  # fmt: skip
    cold = [(k, v) for k, v in rows.items() if "batch_argnums" in k and "cold" in k]
    what = "not measured"
    if cold:
        what = f"{cold[0][1][0]:.3f} s wall (the compiler's time included), {cold[0][0]}"
    out.append(("batch_argnums first call < 1 s", cold[0][1][0] < 1.0 if cold else None, what))
    return out


def run(quick: bool = False, log=print) -> list[tuple[str, dict]]:
    """Measure and print every section; the rows, by section title."""
    sections = [
        ("trace W @ x", matvec(1 if quick else 3)),
        ("cost per traced op", per_op(20_000 if quick else 100_000, 1 if quick else 3)),
        ("logistic regression: first call (trace + compile), fresh process",
         logistic(repeats=1 if quick else 3, unrolled=("c",) if quick else ("c", "numpy"))),
    ]  # fmt: skip
    for title, rows in sections:
        log(title)
        for k, (w, c) in rows.items():
            unit, scale = ("us", 1e6) if w < 1e-3 else ("s", 1.0)
            log(f"  {k:66s} {w * scale:9.3f} {unit} wall  {c * scale:9.3f} {unit} cpu")
    return sections


def main() -> None:
    run(quick="--quick" in sys.argv)


if __name__ == "__main__":
    main()
