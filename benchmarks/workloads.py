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


def dense_forward(params: Sequence[Any], x: Sequence[Any], tanh: Callable, sizes) -> list:
    """The MLP's outputs for one sample. ``params`` is flat: per layer, per neuron, its ``nin``
    weights then its bias; each neuron computes ``b + w0*x0 + w1*x1 + ...`` as micrograd does;
    tanh on the hidden layers, a linear last layer."""
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
    return act


def mlp_forward(params: Sequence[Any], x: Sequence[Any], tanh: Callable, sizes=MLP_SIZES) -> Any:
    """The tutorial MLP's one output for one sample (see ``dense_forward``)."""
    return dense_forward(params, x, tanh, sizes)[0]


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


WIDE_BATCH = 4_000
"""Samples of the wider-MLP workload, whose size is the hidden width of ``MLP(10, [w, w, 1])``."""


def wide_sizes(width: int) -> tuple[int, ...]:
    return (10, width, width, 1)


def wide_loss(params: Sequence[Any], x: Sequence[Any], y: Any, tanh: Callable, width: int) -> Any:
    """One sample's squared error through ``MLP(10, [width, width, 1])``."""
    return (dense_forward(params, x, tanh, wide_sizes(width))[0] - y) ** 2


MNIST_SIZES = (784, 128, 10)
"""An MNIST-size classifier: 784 inputs, 128 tanh units, 10 logits (101,770 parameters)."""


def mnist_loss(params: Sequence[Any], x: Sequence[Any], onehot: Sequence[Any], lib: Any) -> Any:
    """Softmax cross-entropy of one sample through log-sum-exp: ``lse(z) - z[label]``, with
    ``lib`` giving ``tanh``, ``exp``, ``log`` and ``maximum`` for the number type at hand."""
    z = dense_forward(params, x, lib.tanh, MNIST_SIZES)
    m = z[0]
    for v in z[1:]:
        m = lib.maximum(m, v)
    s = lib.exp(z[0] - m)
    for v in z[1:]:
        s = s + lib.exp(v - m)
    picked = onehot[0] * z[0]
    for o, v in zip(onehot[1:], z[1:]):
        picked = picked + o * v
    return m + lib.log(s) - picked


LV = {"a": 1.5, "b": 1.0, "c": 3.0, "d": 1.0}
"""Lotka-Volterra rates of the ODE workload (prey growth, predation, predator death, growth)."""


def lotka_volterra_rk4(theta: Sequence[Any], state: Sequence[Any], steps: int) -> Any:
    """RK4 over ``steps`` steps of h = 10/steps of dx = a x - b x y, dy = d x y - c y from
    ``state = (x0, y0)`` with ``theta = (a, b, c, d)``; the loss is ``(x_T - 1)^2 + (y_T - 1)^2``,
    so its gradient is the sensitivity to 4 parameters and 2 initial states."""
    a, b, c, d = theta
    x, y = state
    h = 10.0 / steps

    def rhs(x, y):
        return a * x - b * x * y, d * x * y - c * y

    for _ in range(steps):
        k1x, k1y = rhs(x, y)
        k2x, k2y = rhs(x + 0.5 * h * k1x, y + 0.5 * h * k1y)
        k3x, k3y = rhs(x + 0.5 * h * k2x, y + 0.5 * h * k2y)
        k4x, k4y = rhs(x + h * k3x, y + h * k3y)
        x = x + (h / 6.0) * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        y = y + (h / 6.0) * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
    return (x - 1.0) ** 2 + (y - 1.0) ** 2


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
    if workload == "wide":
        sizes = wide_sizes(size)
        data = {
            "params": [
                rng.uniform(-1.0, 1.0) / sizes[0] ** 0.5 for _ in range(mlp_n_params(sizes))
            ],
            "xs": [[rng.uniform(-1.0, 1.0) for _ in range(10)] for _ in range(WIDE_BATCH)],
            "ys": [rng.choice((-1.0, 1.0)) for _ in range(WIDE_BATCH)],
        }
        return Case(workload, size, f"width {size:,}", data)
    if workload == "mnist":
        n = mlp_n_params(MNIST_SIZES)
        nin = MNIST_SIZES[0]
        params, k = [], 0
        for fan_in, nout in zip(MNIST_SIZES, MNIST_SIZES[1:]):  # uniform(-1/sqrt(fan_in), ...)
            r = fan_in**-0.5
            params += [rng.uniform(-r, r) for _ in range(nout * (fan_in + 1))]
            k += nout * (fan_in + 1)
        assert len(params) == n
        labels = [rng.randrange(10) for _ in range(size)]
        data = {
            "params": params,
            "xs": [[rng.random() for _ in range(nin)] for _ in range(size)],
            "ys": [[1.0 if j == lab else 0.0 for j in range(10)] for lab in labels],
        }
        return Case(workload, size, f"batch {size:,}", data)
    if workload == "ode":
        data = {"theta": [LV[k] for k in "abcd"], "state": [1.0, 1.0]}
        return Case(workload, size, f"{size:,} RK4 steps", data)
    raise ValueError(f"unknown workload {workload!r}")


def n_inputs(case: Case) -> int:
    """How many numbers the gradient has (what the cross-check compares)."""
    sizes = {"mlp": mlp_n_params(), "rosen": case.size, "chain": 1, "ode": 6}
    if case.workload == "mnist":
        return mlp_n_params(MNIST_SIZES)
    if case.workload == "wide":
        return mlp_n_params(wide_sizes(case.size))
    return sizes[case.workload]
