"""Per-call and per-compile overheads of the C backend that do not scale with useful work
(issue 15 item 3): the tape interpreter's workspace, argument handling, and the rerolling scan
on a graph where it finds nothing.

Run: ``python -m benchmarks.c_overheads [--only dag mlp] [--hidden 128] [--tape]``. Prints, for a
random scalar DAG (10^5 operations, gradient w.r.t. 100 inputs), the compile time and the
part of it spent in the rerolling scan; for an MNIST-size MLP (784-``hidden``-10, tanh,
softmax cross-entropy through log-sum-exp) on the tape interpreter, the time and minor page
faults per call at batch 1 and batch 1,000; for a 100,000-deep chain on the tape (a
workspace of tens of MiB), the same.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time

import numpy as np

import symgrad as sg


def random_dag(n_ops: int = 100_000, n_in: int = 100, seed: int = 0):
    """An irregular graph: each op reads two random earlier values (no repetition to find)."""
    rng = np.random.default_rng(seed)
    xs = list(sg.symbols(f"x0:{n_in}"))
    vals = list(xs)
    unary = [sg.sin, sg.tanh, sg.exp]
    for k in range(n_ops):
        a, b = (vals[i] for i in rng.integers(max(0, len(vals) - 2000), len(vals), 2))
        r = rng.integers(5)
        v = a + b if r == 0 else a * b if r == 1 else a - b if r == 2 else unary[k % 3](a * 1e-3)
        vals.append(v)
    f = sum(vals[-50:])
    return xs, f


def time_dag() -> None:
    from symgrad.backends.c import reroll

    spent = [0.0]
    real_plan, real_tape = reroll.plan, reroll.tape

    def timed(fn):
        def run(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[0] += time.perf_counter() - t

        return run

    reroll.plan, reroll.tape = timed(real_plan), timed(real_tape)
    try:
        t0 = time.perf_counter()
        xs, f = random_dag()
        g = sg.gradient(f, xs)
        t1 = time.perf_counter()
        fn = sg.compile([xs], [f, g], backend="c")
        t2 = time.perf_counter()
    finally:
        reroll.plan, reroll.tape = real_plan, real_tape
    x = np.random.default_rng(1).uniform(-1, 1, 100)
    fn(x)
    print(
        f"random DAG ({fn.stats['ops']:,} ops): build + gradient {t1 - t0:.2f} s, "
        f"compile {t2 - t1:.2f} s, of which rerolling scan {spent[0]:.2f} s"
    )


def mlp_loss(hidden: int):
    sizes = [784, hidden, 10]
    params = []
    x = list(sg.symbols("x0:784"))
    y = list(sg.symbols("y0:10"))  # one-hot label
    h = x
    for li, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = [list(sg.symbols(f"w{li}_{j}_0:{m}")) for j in range(n)]
        b = list(sg.symbols(f"b{li}_0:{n}"))
        params += [v for row in w for v in row] + b
        z = [sum(wi * hi for wi, hi in zip(row, h)) + bj for row, bj in zip(w, b)]
        h = [sg.tanh(v) for v in z] if li < len(sizes) - 2 else z
    top = h[0]
    lse = top + sg.log(sum(sg.exp(v - top) for v in h))
    loss = lse - sum(yi * zi for yi, zi in zip(y, h))
    return params, x, y, loss


def per_call(fn, args, repeat: int = 5) -> tuple[float, float]:
    fn(*args)
    times, faults = [], []
    for _ in range(repeat):
        r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)
    return statistics.median(times), statistics.median(faults)


def time_mlp(hidden: int) -> None:
    t0 = time.perf_counter()
    params, x, y, loss = mlp_loss(hidden)
    grads = sg.gradient(loss, params)
    t1 = time.perf_counter()
    fn = sg.compile([params, x, y], [loss, grads], backend="c", reduce="sum")
    t2 = time.perf_counter()
    rng = np.random.default_rng(0)
    P = rng.normal(0, 0.05, len(params))
    print(
        f"MLP 784-{hidden}-10 ({len(params):,} parameters, {fn.stats['ops']:,} ops, "
        f"{'tape' if 'tape interpreter' in fn.source[:200] else 'compiled C'}): "
        f"build + gradient {t1 - t0:.1f} s, compile {t2 - t1:.1f} s"
    )
    for batch in (1, 1000):
        X = rng.uniform(0, 1, (batch, 784))
        Y = np.eye(10)[rng.integers(10, size=batch)]
        t, faults = per_call(fn, (P, X, Y))
        print(f"  batch {batch:5d}: {t * 1e3:9.2f} ms/call, {faults:8.0f} minor page faults/call")


def time_chain(depth: int = 100_000) -> None:
    """A deep chain on the tape: its gradient reads every forward value, so ~``depth`` slots
    stay live and the workspace (64 lanes a slot) is tens of MiB."""
    x, h = sg.symbols("x h")
    y = x
    for _ in range(depth):
        y = y - h * sg.tanh(y)
    fn = sg.compile([x, h], [y, *sg.gradient(y, [x, h])], backend="c", reduce="sum")
    X = np.linspace(-1, 1, 64)
    for name, args in (("batch 64", (X, 1e-3)), ("batch 1", (0.5, 1e-3))):
        t, faults = per_call(fn, args)
        print(
            f"chain {depth:,} ({fn.stats['ops']:,} ops), {name}: {t * 1e3:8.2f} ms/call, "
            f"{faults:7.0f} minor page faults/call"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="*", default=["dag", "mlp", "chain"])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--tape", action="store_true", help="force the tape interpreter")
    a = ap.parse_args()
    if a.tape:
        from symgrad.backends.c import abi

        abi.LOOP_MIN_OPS, abi.VM_MIN_OPS = 10**12, 1
    import os

    os.environ.setdefault("SYMGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="sg-bench-"))
    if "dag" in a.only:
        time_dag()
    if "mlp" in a.only:
        time_mlp(a.hidden)
    if "chain" in a.only:
        time_chain()


if __name__ == "__main__":
    main()
