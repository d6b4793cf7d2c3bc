"""The workloads, written once over "number-like" objects so that every system runs the very
same computation on the very same inputs (symgrad expressions, eager Values, SymPy, CasADi).

Vectorised twins for the array libraries (PyTorch, JAX) live with those systems; the suite
cross-checks every system's numbers against symgrad's, so a twin that drifts is caught.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MLP_SIZES = (3, 8, 8, 1)
"""The tutorial's ``MLP(3, [8, 8, 1])``: tanh on the hidden layers, linear output."""


def mlp_n_params(sizes: Sequence[int] = MLP_SIZES) -> int:
    return sum((nin + 1) * nout for nin, nout in zip(sizes, sizes[1:]))


def mlp_forward(params: Sequence[Any], x: Sequence[Any], tanh: Callable, sizes=MLP_SIZES) -> Any:
    """The MLP's output for one sample. ``params`` is flat: per layer, per neuron, its ``nin``
    weights then its bias; each neuron computes ``b + w0*x0 + w1*x1 + ...`` as micrograd does."""
    k = 0
    act = list(x)
    last = len(sizes) - 2
    for li, (nin, nout) in enumerate(zip(sizes, sizes[1:])):
        out = []
        for _ in range(nout):
            s = params[k + nin]
            for i in range(nin):
                s = s + params[k + i] * act[i]
            k += nin + 1
            out.append(tanh(s) if li < last else s)
        act = out
    return act[0]


def mlp_loss(params: Sequence[Any], xs: Sequence[Sequence[Any]], ys: Sequence[Any], tanh) -> Any:
    """The tutorial's loss: the sum over samples of ``(mlp(x) - y)**2``."""
    total = None
    for x, y in zip(xs, ys):
        term = (mlp_forward(params, x, tanh) - y) ** 2
        total = term if total is None else total + term
    return total


def rosenbrock(x: Sequence[Any]) -> Any:
    """Extended (chained) Rosenbrock, as ``scipy.optimize.rosen``:
    ``sum_i 100 (x[i+1] - x[i]**2)**2 + (1 - x[i])**2``."""
    total = None
    for i in range(len(x) - 1):
        term = 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
        total = term if total is None else total + term
    return total


def chain(x: Any, depth: int, tanh: Callable) -> Any:
    """A scalar chain ``depth`` steps deep: ``y <- y - h*tanh(y)`` with ``h = 1/depth`` (Euler
    steps of dy/dt = -tanh(y) over [0, 1]), so value and derivative stay O(1) at any depth."""
    h = 1.0 / depth
    y = x
    for _ in range(depth):
        y = y - h * tanh(y)
    return y


@dataclass
class Case:
    """One workload at one size, with its deterministic inputs."""

    workload: str
    size: int
    label: str
    data: dict = field(default_factory=dict)


def make_case(workload: str, size: int, seed: int = 0) -> Case:
    rng = random.Random(f"{workload}-{size}-{seed}")
    if workload == "mlp":
        n = mlp_n_params()
        data = {
            "params": [rng.uniform(-1.0, 1.0) for _ in range(n)],
            "xs": [[rng.uniform(-1.0, 1.0) for _ in range(MLP_SIZES[0])] for _ in range(size)],
            "ys": [rng.choice((-1.0, 1.0)) for _ in range(size)],
        }
        return Case(workload, size, f"batch {size:,}", data)
    if workload == "rosen":
        return Case(
            workload, size, f"n = {size:,}", {"x": [rng.uniform(-2, 2) for _ in range(size)]}
        )
    if workload == "chain":
        return Case(workload, size, f"{size:,} deep", {"x": 0.7})
    raise ValueError(f"unknown workload {workload!r}")


def n_inputs(case: Case) -> int:
    """How many numbers the gradient has (what the cross-check compares)."""
    return {"mlp": mlp_n_params(), "rosen": case.size, "chain": 1}[case.workload]
