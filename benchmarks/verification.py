"""The verification workloads: how long ``sg.verify`` takes, and how far each backend's floats
are from the 50-digit oracle (in ulps), printed so that a regression in either shows.

Run alone with ``python -m benchmarks.verification [--quick]``; ``python -m benchmarks`` runs it
after the suite. Targets (issue 14): the tutorial MLP loss over 100 samples with all 113
derivatives, each backend, under 10 s; a 3-component Gaussian-mixture NLL (9 parameters),
gradient and full Hessian, under 5 s; the Rosenbrock function at n = 10,000 (10^5 nodes),
gradient, under 60 s.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Callable

import symgrad as sg

from . import workloads as W

TARGETS = {"mlp": 10.0, "gmm": 5.0, "rosen": 60.0}
BACKENDS = ["python", "numpy"] + (["c"] if shutil.which("cc") or shutil.which("gcc") else [])


def gmm_nll(params, xs):
    """Negative log-likelihood of a 3-component 1-D Gaussian mixture: params are 3 logits, 3
    means, 3 log standard deviations; log-sum-exp over components with the max trick (the
    nested maximum that made SymPy's substitution slow)."""
    logits, mus, logsig = params[0:3], params[3:6], params[6:9]
    m = sg.maximum(sg.maximum(logits[0], logits[1]), logits[2])
    log_norm = m + sg.log(sum(sg.exp(a - m) for a in logits))
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    total = 0.0
    for x in xs:
        terms = [
            a - log_norm - s - half_log_2pi - 0.5 * ((x - mu) * sg.exp(-s)) ** 2
            for a, mu, s in zip(logits, mus, logsig)
        ]
        top = sg.maximum(sg.maximum(terms[0], terms[1]), terms[2])
        total = total - (top + sg.log(sum(sg.exp(t - top) for t in terms)))
    return total


def _mlp():
    case = W.make_case("mlp", 100)
    ps = list(sg.symbols("w0:113"))
    f = W.mlp_loss(ps, case.data["xs"], case.data["ys"], sg.tanh)
    return ps, [f, sg.gradient(f, ps)], "MLP(3,[8,8,1]) loss, 100 samples, 113 derivatives"


def _gmm():
    rng = random.Random("gmm")
    xs = [rng.gauss(mu, 0.5) for mu in (-2.0, 0.0, 2.5) for _ in range(20)]
    ps = list(sg.symbols("p0:9"))
    f = gmm_nll(ps, xs)
    return ps, [f, sg.gradient(f, ps), sg.hessian(f, ps)], "Gaussian mixture NLL, 60 points, 9 + 81"


def _rosen(n: int):
    xs = list(sg.symbols(f"x0:{n}"))
    f = W.rosenbrock(xs)
    return xs, [f, sg.gradient(f, xs)], f"Rosenbrock n = {n:,}, gradient"


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[dict]:
    """Build, compile and verify each workload on each backend; one row per (workload,
    backend) with the verify time (wall and this process's CPU: on a shared machine the wall
    figure includes other processes' load), the largest ulps and relative errors."""
    rows = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    log(f"(load average {load:.1f} on {os.cpu_count()} CPUs when starting)")
    cases = [("mlp", _mlp), ("gmm", _gmm), ("rosen", lambda: _rosen(1_000 if quick else 10_000))]
    for name, build in cases:
        inputs, outputs, label = build()
        nodes = sg.ir.count_ops(outputs)
        log(f"{label} ({nodes:,} ops with its derivatives)")
        for backend in BACKENDS:
            t0 = time.perf_counter()
            fn = sg.compile([inputs], outputs, backend=backend)
            log(f"  {backend:>6}: compiled in {time.perf_counter() - t0:.1f} s (not counted)")
            t0, c0 = time.perf_counter(), time.process_time()
            rep = sg.verify(fn, points=3, time_budget=300.0, progress=False)
            took, cpu = time.perf_counter() - t0, time.process_time() - c0
            met = rep.complete and took < TARGETS[name]
            rows.append({"workload": name, "backend": backend, "seconds": took,
                         "cpu": cpu, "ulps": rep.max_ulps, "scaled_ulps": rep.max_scaled_ulps,
                         "rel": rep.max_rel, "complete": rep.complete, "met": met})  # fmt: skip
            log(
                f"  {backend:>6}: verify {took:6.2f} s wall, {cpu:6.2f} s CPU (target "
                f"{TARGETS[name]:g} s: "
                f"{'met' if met else 'MISSED'}), {rep.points_done} points, largest error "
                f"{rep.max_ulps:.3g} ulps per entry, {rep.max_scaled_ulps:.3g} ulps of the "
                f"family's largest entry, relative {rep.max_rel:.2e}"
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.verification", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="Rosenbrock at n = 1,000")
    a = ap.parse_args(argv)
    run(a.quick, log=lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
