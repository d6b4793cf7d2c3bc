"""Compile time as the graph doubles, peak memory, and the gradient's op-count ratio.

``python -m benchmarks.compile_scaling [--max NODES]`` prints one row per doubling of the
value+gradient graph (extended Rosenbrock sized to the node count), each measured in a fresh
worker process so its peak memory (``ru_maxrss``) is its own, then the op count of
value+gradient over value alone for the tutorial MLP loss and for Rosenbrock.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

NODES_PER_TERM = 17  # nodes of the value+gradient DAG per Rosenbrock term (about)


def child(nodes: int) -> dict:
    """Build, differentiate, compile and call a graph of about ``nodes`` nodes, timing each."""
    import symgrad as sg
    from symgrad.ir import flatten, topo_order

    from . import workloads as W

    n = max(2, nodes // NODES_PER_TERM)
    t0 = time.perf_counter()
    x = list(sg.symbols(f"x0:{n}"))
    f = W.rosenbrock(x)
    t1 = time.perf_counter()
    g = sg.gradient(f, x)
    t2 = time.perf_counter()
    fn = sg.compile([x], [f, g])
    t3 = time.perf_counter()
    value, grads = fn([0.5] * n)
    t4 = time.perf_counter()
    size = len(topo_order(flatten([f, g])))
    return {
        "n": n,
        "nodes": size,
        "build_s": t1 - t0,
        "gradient_s": t2 - t1,
        "compile_s": t3 - t2,
        "total_s": t3 - t0,
        "call_s": t4 - t3,
        "ops": fn.stats["ops"],
        "peak_mb": _peak_mb(),
        "ok": abs(value - 6.5 * (n - 1)) < 1e-6 * n,
    }


def _peak_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the address space, so it starts
    afresh at exec; ru_maxrss can carry a large parent's peak into the child on Linux."""
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(nodes: int, timeout: float = 600) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [sys.executable, "-m", "benchmarks.compile_scaling", "--child", str(nodes)]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        return {"nodes": nodes, "error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def scaling(max_nodes: int, log=print) -> list[dict]:
    rows = []
    nodes = 1000
    log(
        f"{'nodes':>10} {'build':>8} {'gradient':>9} {'compile':>9} {'total':>8} "
        f"{'per node':>9} {'call':>8} {'peak MB':>8}"
    )
    while nodes <= max_nodes * 1.01:
        r = run_child(nodes)
        rows.append(r)
        if "error" in r:
            log(f"{nodes:>10,} failed: {r['error']}")
        else:
            log(
                f"{r['nodes']:>10,} {r['build_s']:8.3f} {r['gradient_s']:9.3f} "
                f"{r['compile_s']:9.3f} {r['total_s']:8.3f} "
                f"{r['total_s'] / r['nodes'] * 1e6:7.2f}µs "
                f"{r['call_s']:8.4f} {r['peak_mb']:8.0f}"
            )
        nodes *= 2
    return rows


def op_ratios() -> dict[str, dict]:
    """Ops of value+gradient over ops of value alone, from the compiled programs' stats."""
    import symgrad as sg

    from . import workloads as W

    out = {}
    n = W.mlp_n_params()
    p = list(sg.symbols(f"p0:{n}"))
    for batch in (1, 4):
        xs = [list(sg.symbols(f"x{i}_0:3")) for i in range(batch)]
        ys = list(sg.symbols(f"y0:{batch}"))
        f = W.mlp_loss(p, xs, ys, sg.tanh)
        out[f"MLP loss, batch {batch}"] = _ratio([p, xs, ys], f, p)
    for n in (10, 1000):
        x = list(sg.symbols(f"x0:{n}"))
        out[f"Rosenbrock n = {n:,}"] = _ratio([x], W.rosenbrock(x), x)
    x = sg.Symbol("x")
    out["chain 1,000 deep"] = _ratio([x], W.chain(x, 1000, sg.tanh), [x])
    return out


def _ratio(inputs, f, wrt) -> dict:
    import symgrad as sg

    fwd = sg.compile(inputs, f).stats["ops"]
    both = sg.compile(inputs, [f, sg.gradient(f, wrt)]).stats["ops"]
    return {"forward_ops": fwd, "value_grad_ops": both, "ratio": both / fwd}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=1_024_000, help="largest graph, in nodes")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child)))
        return
    scaling(a.max)
    print()
    for name, r in op_ratios().items():
        print(
            f"{name:<24} forward {r['forward_ops']:>7,} ops, value+gradient "
            f"{r['value_grad_ops']:>7,} ops: ratio {r['ratio']:.2f}"
        )


if __name__ == "__main__":
    main()
