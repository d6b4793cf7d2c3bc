"""Setup on a large irregular graph: a random scalar DAG and its gradient w.r.t. 100 inputs.

Run: ``python -m benchmarks.random_dag [--ops N ...] [--backends python c] [--no-casadi]``.
The DAG is built by one generator over number-like objects, so symgrad and CasADi SX get the
same graph: each new node applies a random op (``+ - *``, ``tanh``, ``sin``) to random earlier
nodes, biased to recent ones so the graph is deep as well as wide; the output is the sum of the
last 100 nodes. *setup* is build + gradient + compile (for CasADi: building the SX graph,
``gradient`` and the ``Function``); *call* is the best of several value+gradient calls; the two
systems' gradients are compared (relative 1e-8).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

N_INPUTS = 100


def random_dag(xs: Sequence[Any], n_ops: int, tanh: Callable, sin: Callable, seed: int = 0):
    """The output of a random DAG of ``n_ops`` operations over ``xs`` (iterative; no recursion)."""
    rng = random.Random(seed)
    nodes = list(xs)
    for _ in range(n_ops):
        k = len(nodes)
        a = nodes[k - 1 - min(int(rng.expovariate(1 / 30)), k - 1)]
        b = nodes[rng.randrange(k)]
        r = rng.random()
        if r < 0.3:
            v = a + b
        elif r < 0.5:
            v = a - b
        elif r < 0.75:
            v = tanh(a * b)  # products stay bounded: tanh squashes them
        elif r < 0.9:
            v = tanh(a)
        else:
            v = sin(a)
        nodes.append(v)
    out = nodes[-1]
    for v in nodes[-N_INPUTS:-1]:
        out = out + v
    return out


def symgrad_case(n_ops: int, backend: str, x0: list[float]) -> dict:
    import numpy as np

    import symgrad as sg

    t0 = time.perf_counter()
    xs = list(sg.symbols(f"x0:{N_INPUTS}"))
    f = random_dag(xs, n_ops, sg.tanh, sg.sin)
    t1 = time.perf_counter()
    g = sg.gradient(f, xs)
    t2 = time.perf_counter()
    fn = sg.compile([xs], [f, g], backend=backend)
    t3 = time.perf_counter()
    arg = np.array(x0) if backend != "python" else x0
    call = _best(lambda: fn(arg))
    v, grad = fn(arg)
    return {"system": f"symgrad {backend}", "build": t1 - t0, "gradient": t2 - t1,
            "compile": t3 - t2, "setup": t3 - t0, "call": call,
            "grad": [float(e) for e in np.ravel(grad)]}  # fmt: skip


def casadi_case(n_ops: int, x0: list[float]) -> dict:
    import casadi as ca

    t0 = time.perf_counter()
    x = ca.SX.sym("x", N_INPUTS)
    f = random_dag([x[i] for i in range(N_INPUTS)], n_ops, ca.tanh, ca.sin)
    g = ca.gradient(f, x)
    F = ca.Function("F", [x], [f, g])
    t1 = time.perf_counter()
    call = _best(lambda: F(x0))
    grad = [float(e) for e in F(x0)[1].full().ravel()]
    return {"system": "CasADi SX", "build": None, "gradient": None, "compile": None,
            "setup": t1 - t0, "call": call, "grad": grad}  # fmt: skip


def _best(call: Callable, repeats: int = 5) -> float:
    call()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def agree(a: list[float], b: list[float]) -> bool:
    return all(x == y or abs(x - y) <= 1e-8 * max(abs(x), abs(y), 1.0) for x, y in zip(a, b))


def main(argv: list[str] | None = None) -> None:
    from .timing import fmt_time

    ap = argparse.ArgumentParser(prog="python -m benchmarks.random_dag", description=__doc__)
    ap.add_argument("--ops", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--backends", nargs="*", default=["python", "c"])
    ap.add_argument("--no-casadi", action="store_true")
    a = ap.parse_args(argv)
    x0 = [random.Random(1).uniform(-1, 1) for _ in range(N_INPUTS)]
    print("| ops | system | build | gradient | compile | setup | call | agrees |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for n in a.ops:
        rows = [symgrad_case(n, be, x0) for be in a.backends]
        if not a.no_casadi:
            try:
                rows.append(casadi_case(n, x0))
            except ImportError:
                print(f"| {n:,} | CasADi SX | not installed | | | | | |")
        ref = rows[0]["grad"]
        for r in rows:
            print(f"| {n:,} | {r['system']} | {fmt_time(r['build'])} | {fmt_time(r['gradient'])} "
                  f"| {fmt_time(r['compile'])} | {fmt_time(r['setup'])} | {fmt_time(r['call'])} "
                  f"| {'yes' if agree(r['grad'], ref) else 'NO'} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
