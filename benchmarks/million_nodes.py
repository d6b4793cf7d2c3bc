"""A 1,000,000-node graph: build, gradient, compile and call, with time and peak memory.

Run: ``python benchmarks/million_nodes.py [--nodes N] [--backend python|numpy]``. The graph is
a sum of ``tanh(x[i % 1000] * c_i)`` terms with distinct constants (4 nodes a term), so nothing
is shared away by interning. The result is checked against a plain-Python evaluation.
"""

from __future__ import annotations

import argparse
import math
import platform
import resource
import sys
import time

import symgrad as sg
from symgrad.ir import const, topo_order


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss would include a parent's peak)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--backend", default="python")
    args = ap.parse_args()
    n_vars = 1000
    xs = list(sg.symbols(f"x0:{n_vars}"))
    terms = args.nodes // 4
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{platform.processor() or 'cpu'}; backend={args.backend}"
    )
    t0 = time.perf_counter()
    acc = const(0.0)
    for i in range(terms):
        acc = acc + sg.tanh(xs[i % n_vars] * const(1.0 + i * 1e-6))
    t1 = time.perf_counter()
    n_forward = len(topo_order([acc]))
    grad = sg.gradient(acc, xs)
    t2 = time.perf_counter()
    n_total = len(topo_order([acc, *grad]))
    fn = sg.compile([xs], [acc, grad], backend=args.backend)
    t3 = time.perf_counter()
    point = [math.sin(i) for i in range(n_vars)]
    value, g = fn(point)
    t4 = time.perf_counter()
    want = sum(math.tanh(point[i % n_vars] * (1.0 + i * 1e-6)) for i in range(terms))
    gw = [0.0] * n_vars
    for i in range(terms):
        c = 1.0 + i * 1e-6
        t = math.tanh(point[i % n_vars] * c)
        gw[i % n_vars] += c * (1 - t * t)
    ok = math.isclose(float(value), want, rel_tol=1e-9) and all(
        math.isclose(float(a), b, rel_tol=1e-9) for a, b in zip(g, gw)
    )
    print(f"forward graph: {n_forward:,} nodes; with gradient: {n_total:,} nodes")
    print(
        f"build {t1 - t0:.1f} s | gradient {t2 - t1:.1f} s | compile {t3 - t2:.1f} s | "
        f"first call {t4 - t3:.2f} s | peak RSS {peak_rss_mb():,.0f} MB | "
        f"source {len(fn.source) / 1e6:.1f} MB | matches plain Python: {ok}"
    )
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
