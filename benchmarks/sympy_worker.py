"""SymPy's run of one case, in a worker process so the suite can stop it at a time budget.

``python -m benchmarks.sympy_worker WORKLOAD SIZE`` prints one JSON line: setup time
(build + diff + lambdify(cse=True)), medians of value+gradient and of value alone, and the
numbers for the cross-check.
"""

from __future__ import annotations

import json
import sys
import time

from . import workloads as W
from .timing import measure


def main(workload: str, size: int) -> dict:
    import sympy as sp

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * size + 10_000))
    case = W.make_case(workload, size)
    d = case.data
    t0 = time.perf_counter()
    if workload == "mlp":
        n = W.mlp_n_params()
        p = list(sp.symbols(f"p0:{n}"))
        xs = [list(sp.symbols(f"x{i}_0:3")) for i in range(size)]
        ys = list(sp.symbols(f"y0:{size}"))
        f = W.mlp_loss(p, xs, ys, sp.tanh)
        args, wrt = [p, xs, ys], p
        vals = [d["params"], d["xs"], d["ys"]]
    elif workload == "rosen":
        x = list(sp.symbols(f"x0:{size}"))
        f = W.rosenbrock(x)
        args, wrt, vals = [x], x, [d["x"]]
    elif workload == "ode":
        theta, state = list(sp.symbols("a b c d")), list(sp.symbols("x0 y0"))
        f = W.lotka_volterra_rk4(theta, state, size)
        args, wrt, vals = [theta, state], theta + state, [d["theta"], d["state"]]
    else:
        x = sp.Symbol("x")
        f = W.chain(x, size, sp.tanh)
        args, wrt, vals = [x], [x], [d["x"]]
    grads = [sp.diff(f, v) for v in wrt]
    vg = sp.lambdify(args, [f, grads], modules="math", cse=True)
    setup = time.perf_counter() - t0
    vg_s, vg_reps, r = measure(lambda: vg(*vals))
    fw = sp.lambdify(args, f, modules="math", cse=True)
    fw_s, _, _ = measure(lambda: fw(*vals))
    return {
        "setup_s": setup,
        "vg_s": vg_s,
        "reps": vg_reps,
        "fwd_s": fw_s,
        "value": float(r[0]),
        "grads": [float(g) for g in r[1]],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
