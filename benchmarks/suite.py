"""Run every workload on every available system: setup once, then medians of value+gradient
and of value alone, each system's numbers cross-checked against the reference column."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field

from . import workloads as W
from .systems import SYSTEMS, NotApplicable, System
from .timing import measure

WORKLOADS: dict[str, dict] = {
    "mlp": {
        "title": "Tutorial MLP loss: value and gradient "
        "(MLP(3, [8, 8, 1]), tanh hidden, squared error)",
        "sizes": [1, 100, 10_000],
        "quick": [1, 100],
        "unit": "samples",
        "label": "batch {:,}",
    },
    "rosen": {
        "title": "Extended Rosenbrock: value and gradient",
        "sizes": [10, 100, 1_000, 10_000],
        "quick": [10, 100, 1_000],
        "unit": "n",
        "label": "n = {:,}",
    },
    "chain": {
        "title": "Scalar chain y <- y - tanh(y)/depth: value and derivative",
        "sizes": [1_000, 10_000, 100_000],
        "quick": [1_000, 10_000],
        "unit": "depth",
        "label": "{:,} deep",
    },
    "wide": {
        "title": f"Wider MLPs MLP(10, [w, w, 1]) at batch {W.WIDE_BATCH:,}: "
        "value and summed gradient",
        "sizes": [16, 64, 256],
        "quick": [16],
        "unit": "hidden width",
        "label": "width {:,}",
    },
    "mnist": {
        "title": "MNIST-size MLP 784-128-10 (tanh, softmax cross-entropy by log-sum-exp, "
        "101,770 parameters): value and summed gradient",
        "sizes": [1, 1_000],
        "quick": [1],
        "unit": "samples",
        "label": "batch {:,}",
    },
    "ode": {
        "title": "ODE sensitivity: RK4 over a Lotka-Volterra model, gradient w.r.t. 4 parameters "
        "and 2 initial states",
        "sizes": [1_000],
        "quick": [100],
        "unit": "steps",
        "label": "{:,} RK4 steps",
    },
}

RTOL = 1e-8


@dataclass
class Result:
    workload: str
    size: int
    system: str
    status: str = "ok"  # ok | skipped | gave up | failed | n/a
    setup_s: float | None = None
    vg_s: float | None = None
    fwd_s: float | None = None
    reps: int = 0
    agrees: str = ""
    note: str = ""
    info: dict = field(default_factory=dict)
    setup_scales: bool = True
    value: float | None = None
    grads: list | None = None


def _close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= RTOL * max(abs(a), abs(b)) or abs(a - b) <= 1e-12


def cross_check(res: Result, ref: Result | None) -> None:
    if ref is None or ref.value is None or res.value is None or res is ref:
        res.agrees = "reference" if res is ref else ""
        return
    if len(res.grads) != len(ref.grads):
        res.agrees = f"NO: {len(res.grads)} gradient entries, expected {len(ref.grads)}"
        return
    pairs = [(res.value, ref.value), *zip(res.grads, ref.grads)]
    worst = max(
        abs(a - b) / max(abs(a), abs(b), 1e-300) if not _close(a, b) else 0.0 for a, b in pairs
    )
    res.agrees = "yes" if worst == 0.0 else f"NO (rel. diff {worst:.1e})"


def _run_remote(case: W.Case, budget: float) -> Result:
    res = Result(case.workload, case.size, "SymPy diff+lambdify")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [sys.executable, "-m", "benchmarks.sympy_worker", case.workload, str(case.size)]
    try:
        out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=budget)
    except subprocess.TimeoutExpired:
        res.status, res.note = "gave up", f"no result within the {budget:.0f} s budget"
        return res
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        res.status, res.note = "failed", last[:120]
        return res
    d = json.loads(out.stdout.strip().splitlines()[-1])
    res.setup_s, res.vg_s, res.fwd_s, res.reps = d["setup_s"], d["vg_s"], d["fwd_s"], d["reps"]
    res.value, res.grads = d["value"], d["grads"]
    res.note = "run in a worker process (for the time budget)"
    return res


def run_one(system: System, case: W.Case, budget: float, target: float) -> Result:
    if getattr(system, "remote", False):
        if case.workload not in system.workloads:
            return Result(case.workload, case.size, system.name, "n/a")
        return _run_remote(case, budget)
    res = Result(case.workload, case.size, system.name)
    # What earlier cases and every peer's imports left alive (hundreds of thousands of objects
    # once JAX, PyTorch and CasADi are loaded) is frozen out of the cyclic collector for the
    # case, as in a process of that system alone: otherwise each full collection during one
    # system's setup walks the others' objects (measured: +0.2 s in symgrad's MNIST build).
    gc.collect()
    gc.freeze()
    try:
        return _timed(system, case, res, target)
    finally:
        gc.unfreeze()


def _timed(system: System, case: W.Case, res: Result, target: float) -> Result:
    try:
        run = system.setup(case)
    except NotApplicable:
        res.status = "n/a"
        return res
    except Exception as e:  # a peer's failure is a finding, not a crash
        res.status, res.note = "failed", f"{type(e).__name__}: {str(e)[:100]}"
        return res
    res.setup_s, res.note, res.info = run.setup_s, run.note, run.info or {}
    res.setup_scales = run.setup_scales
    try:
        res.vg_s, res.reps, raw = measure(run.call, target)
        res.value, res.grads = run.unpack(raw)
        if run.forward is not None:
            res.fwd_s, _, _ = measure(run.forward, target)
    except Exception as e:
        res.status, res.note = "failed", f"{type(e).__name__}: {str(e)[:100]}"
        if not isinstance(e, RecursionError):
            traceback.print_exc()
    return res


def run_suite(quick: bool, budget: float, log=print, workloads=None) -> list[Result]:
    results: list[Result] = []
    target = 0.1 if quick else 0.3
    for wname, spec in WORKLOADS.items():
        if workloads and wname not in workloads:
            continue
        sizes = spec["quick"] if quick else spec["sizes"]
        last: dict[str, tuple[int, float]] = {}  # system -> (size, seconds of setup+one call)
        for size in sizes:
            case = W.make_case(wname, size)
            ref: Result | None = None
            for system in SYSTEMS:
                why = system.available()
                if why:
                    res = Result(wname, size, system.name, "skipped", note=why)
                elif (
                    not system.name.startswith("symgrad")  # ours always runs; peers budgeted
                    and system.name in last
                    and last[system.name][1] * size / last[system.name][0] > budget
                ):
                    prev_size, prev_s = last[system.name]
                    res = Result(
                        wname,
                        size,
                        system.name,
                        "gave up",
                        note=f"not run: {prev_s:.1f} s at {prev_size:,} extrapolates past the "
                        f"{budget:.0f} s budget",
                    )
                else:
                    t0 = time.perf_counter()
                    res = run_one(system, case, budget, target)
                    if res.status == "ok":
                        grows = (res.setup_s or 0.0) if res.setup_scales else 0.0
                        last[system.name] = (size, grows + (res.vg_s or 0.0))
                    elif res.status == "gave up":
                        last[system.name] = (size, budget * 2)
                    log(
                        f"  {wname} {size:>7,} {system.name:<22} {res.status:<8} "
                        f"{time.perf_counter() - t0:6.2f} s  {res.note}"
                    )
                if ref is None and res.status == "ok":
                    ref = res
                cross_check(res, ref)
                results.append(res)
                gc.collect()
    return results
