"""The C backend against the targets of issue 6, measured here and now (medians, never typed in).

Run: ``python -m benchmarks.c_backend [--quick] [--only mlp rosen chain million]``
(``--quick`` skips the 100,000-deep chain and the 10^6-node graph, which take about 10 s and
1 minute). Workloads are those of ``benchmarks/workloads.py``,
so the figures line up with the suite's tables. JAX and CasADi are measured in the same run
where installed, and the ratios printed; otherwise they say "not installed".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import timeit

import numpy as np

import symgrad as sg

from . import workloads as W


def median_time(fn, min_total: float = 0.2, repeat: int = 7) -> float:
    """Median seconds per call over ``repeat`` runs of enough calls to last ``min_total``."""
    fn()
    n = 1
    while timeit.timeit(fn, number=n) < min_total / repeat and n < 1_000_000:
        n *= 2
    return statistics.median(t / n for t in timeit.repeat(fn, number=n, repeat=repeat))


def row(name: str, measured: float, target: float, unit: str, peers: dict) -> None:
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
    ok = "meets" if measured <= target else "MISSES"
    extra = "".join(
        f"; {k} {v * scale:.3g} {unit} (x{v / measured:.2f})"
        if isinstance(v, float)
        else f"; {k} {v}"
        for k, v in peers.items()
    )
    value = f"{measured * scale:10.3g} {unit:2s}"
    print(f"{name:44s} {value}  target {target * scale:g} {unit}: {ok}{extra}")


def peers(case, skip: dict | None = None) -> dict:
    """JAX ``jit`` and CasADi SX on ``case``, as the suite runs them (benchmarks/systems.py):
    their call time (a ratio is printed against ours) and their setup. ``skip`` maps a peer to
    why it is not run."""
    from .systems import Casadi, Jax

    out: dict = {}
    for system in (Jax(), Casadi()):
        why = (skip or {}).get(system.name) or system.available()
        if why:
            out[system.name] = why
            continue
        run = system.setup(case)
        out[system.name] = median_time(run.call)
        out[f"{system.name} setup s"] = f"{run.setup_s:.2f}"
    return out


def mlp() -> None:
    n = W.mlp_n_params()
    t0 = time.perf_counter()
    p = list(sg.symbols(f"p0:{n}"))
    x = list(sg.symbols("x0:3"))
    y = sg.Symbol("y")
    f = W.mlp_loss(p, [x], [y], sg.tanh)
    fn = sg.compile([p, x, y], [f, sg.gradient(f, p)], backend="c", reduce="sum")
    setup = time.perf_counter() - t0
    row("MLP compile, cold cache (trace+grad+C)", setup, 1.0, "s", {})
    t0 = time.perf_counter()
    sg.compile([p, x, y], [f, sg.gradient(f, p)], backend="c", reduce="sum")
    row("MLP compile, from the cache", time.perf_counter() - t0, 0.05, "s", {})
    for size, target in ((100, 20e-6), (10_000, 0.8e-3)):
        case = W.make_case("mlp", size)
        P, X, Y = (np.array(case.data[k]) for k in ("params", "xs", "ys"))
        t = median_time(lambda P=P, X=X, Y=Y: fn(P, X, Y))
        row(f"MLP batch {size:,}: value + summed gradient", t, target, "us", peers(case))


def rosen() -> None:
    x = list(sg.symbols("x0:1000"))
    f = W.rosenbrock(x)
    g = sg.gradient(f, x)
    t0 = time.perf_counter()
    fn = sg.compile([x], [f, np.array(g, dtype=object)], backend="c")  # the gradient: one array
    setup = time.perf_counter() - t0
    case = W.make_case("rosen", 1000)
    xv = np.array(case.data["x"])
    t = median_time(lambda: fn(xv))
    row(
        "Rosenbrock n=1,000: value+gradient (fn(x), gradient array)",
        t,
        5e-6,
        "us",
        {"setup s": f"{setup:.2f}", **peers(case)},
    )
    listed = sg.compile([x], [f, g], backend="c")  # a list: 1,001 Python floats per call
    t = median_time(lambda: listed(xv))
    row("Rosenbrock n=1,000: same, gradient as a list", t, 5e-6, "us", {})
    t = median_time(lambda: fn._fn.flat(xv))
    row("Rosenbrock n=1,000: same, fn._fn.flat (no wrapper)", t, 5e-6, "us", {})


FLOOR_C = """#include <math.h>
double sg_floor(double y, long long depth)
{
    double h = 1.0 / (double)depth;
    for (long long i = 0; i < depth; ++i) y = y - h * tanh(y);
    return y;
}
"""


def chain_floor(depth: int) -> float:
    """The chain's forward pass alone as a hand-written C loop (libm's tanh, values in
    registers): each step waits for the last, so no code for value+derivative can beat it.
    Also prints the same loop on the backend's ``sg_tanh`` (pasted in), the floor of our code."""
    import ctypes

    from symgrad.backends.c import cache
    from symgrad.backends.c.spell import HELPERS

    ours = FLOOR_C.replace("sg_floor", "sg_floor_ours").replace("h * tanh(y)", "h * sg_tanh(y)")
    ours = ours.replace("#include <math.h>\n", "#include <math.h>\n" + HELPERS["sg_tanh"] + "\n")
    times = {}
    for name, src, sym in (("glibc tanh", FLOOR_C, "sg_floor"), ("sg_tanh", ours, "sg_floor_ours")):
        fn = getattr(ctypes.CDLL(cache.build(src, 0)), sym)
        fn.argtypes = [ctypes.c_double, ctypes.c_longlong]
        fn.restype = ctypes.c_double
        times[name] = median_time(lambda fn=fn: fn(0.7, depth))
    each = [f"{k} {t * 1e3:.2f} ms = {t / depth * 1e9:.1f} ns/step" for k, t in times.items()]
    text = "; ".join(each)
    print(f"{f'chain {depth:,} deep: forward floor (C loop)':44s} {text}")
    return times["glibc tanh"]


def chain(depth: int = 100_000) -> None:
    t0 = time.perf_counter()
    x = sg.Symbol("x")
    f = W.chain(x, depth, sg.tanh)
    g = sg.gradient(f, [x])
    t1 = time.perf_counter()
    fn = sg.compile([x], [f, g], backend="c")
    t2 = time.perf_counter()
    form = "tape interpreter" if fn._fn.on_vm else "compiled C"
    row(
        f"chain {depth:,} deep: setup (build+grad+compile)",
        t2 - t0,
        5.0,
        "s",
        {"build+grad s": f"{t1 - t0:.2f}", "compile s": f"{t2 - t1:.2f}", "runs on": form},
    )
    xv = np.array(0.7)
    floor = chain_floor(depth)
    skip = {"JAX jit": "not run (it unrolls the chain: ~20 s to compile 1,000 steps)"}
    row(
        f"chain {depth:,} deep: value + derivative",
        median_time(lambda: fn(xv)),
        2e-3,
        "ms",
        {
            "floor (forward alone, glibc tanh) ms": f"{floor * 1e3:.2f}",
            **peers(W.make_case("chain", depth), skip),
        },
    )


def million(nodes: int = 1_000_000) -> None:
    from symgrad.ir import const

    xs = list(sg.symbols("x0:1000"))
    t0 = time.perf_counter()
    acc = const(0.0)
    for i in range(nodes // 4):  # the suite's million_nodes graph: 4 nodes a term
        acc = acc + sg.tanh(xs[i % 1000] * const(1.0 + i * 1e-6))
    grad = sg.gradient(acc, xs)
    t1 = time.perf_counter()
    fn = sg.compile([xs], [acc, grad], backend="c")
    t2 = time.perf_counter()
    xv = np.linspace(-1.0, 1.0, 1000)
    t3 = time.perf_counter()
    fn._fn.flat(xv)
    row(
        f"{nodes:,}-node graph: compile (after build+grad)",
        t2 - t1,
        120.0,
        "s",
        {
            "build+grad s": f"{t1 - t0:.1f}",
            "ops": f"{fn.stats['ops']:,}",
            "first call ms": f"{(time.perf_counter() - t3) * 1e3:.1f}",
        },
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the chain and the 10^6 graph")
    ap.add_argument(
        "--only", nargs="*", choices=["mlp", "rosen", "chain", "million"], help="only these"
    )
    args = ap.parse_args(argv)
    todo = args.only or (["mlp", "rosen"] if args.quick else ["mlp", "rosen", "chain", "million"])
    with tempfile.TemporaryDirectory() as cache:
        os.environ["SYMGRAD_CACHE_DIR"] = cache  # a cold cache: compile times are honest
        print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores")
        for name in todo:
            globals()[name]()


if __name__ == "__main__":
    main()
