"""``Neuron``, ``Layer`` and ``MLP``: the tutorial's network, eager or symbolic.

Called on numbers or Values, a model computes eagerly with ``Value`` (train it with
``loss.backward()`` as in micrograd). Called on symbols or expressions, it builds one symgrad
expression whose parameter leaves are the symbols ``model.symbols()``: differentiate and compile
that once, then train on arrays of ``model.values()`` with the compiled function, and write the
result back with ``model.set_values``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from .. import expr as E
from ..ir import Expr
from .value import Value

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")

_SYMBOLIC = {
    "tanh": E.tanh,
    "relu": E.relu,
    "sigmoid": E.sigmoid,
}


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, not {activation!r}"
        )
    return activation


def _is_symbolic(x: Sequence[Any]) -> bool:
    return any(isinstance(xi, Expr) for xi in x)


def _activate(z: Any, activation: str) -> Any:
    if activation == "linear":
        return z
    if isinstance(z, Value):
        return getattr(z, activation)()
    return _SYMBOLIC[activation](z)


class Module:
    """What every model part shares: its parameters as Values, as symbols and as numbers."""

    def parameters(self) -> list[Value]:
        """The trainable leaf Values, in a fixed order."""
        return []

    def zero_grad(self) -> None:
        """Reset every parameter's grad: ``backward()`` accumulates, as in micrograd."""
        for p in self.parameters():
            p.grad = 0.0

    def symbols(self) -> list[Expr]:
        """The parameters as symgrad symbols (the leaves of a symbolic call's result)."""
        return [p._expr for p in self.parameters()]

    def values(self) -> list[float]:
        """The parameters' current numbers, in ``parameters()`` order."""
        return [float(p.data) for p in self.parameters()]

    def set_values(self, values: Iterable[float]) -> None:
        """Load numbers (e.g. from a compiled training loop) into the parameters."""
        params = self.parameters()
        vals = [float(v) for v in values]
        if len(vals) != len(params):
            raise ValueError(
                f"values has {len(vals)} numbers but the model has {len(params)} parameters; "
                "pass one number per parameter, in parameters() order"
            )
        for p, v in zip(params, vals):
            p.data = v


class Neuron(Module):
    """``activation(w · x + b)`` with weights and bias drawn uniformly from [-1, 1]."""

    def __init__(
        self,
        nin: int,
        activation: str = "tanh",
        *,
        rng: random.Random | None = None,
        label: str = "",
    ) -> None:
        if not isinstance(nin, int) or nin < 1:
            raise ValueError(f"nin must be a positive int (the number of inputs), not {nin!r}")
        self.activation = _check_activation(activation)
        r = rng if rng is not None else random
        self.w = [Value(r.uniform(-1, 1), label=f"{label}w{i}") for i in range(nin)]
        self.b = Value(r.uniform(-1, 1), label=f"{label}b")

    def __call__(self, x: Sequence[Any]) -> Any:
        if len(x) != len(self.w):
            raise ValueError(f"x has {len(x)} inputs but this neuron takes {len(self.w)}")
        if _is_symbolic(x):
            x = [getattr(xi, "_expr", xi) for xi in x]
            ws = self.symbols()
            z = ws[-1]
            for wi, xi in zip(ws, x):
                z = z + wi * xi
        else:
            z = self.b
            for wi, xi in zip(self.w, x):
                z = z + wi * xi
        return _activate(z, self.activation)

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{self.activation.capitalize()}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons that read the same inputs; a one-neuron layer returns its one output."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "tanh",
        *,
        rng: random.Random | None = None,
        label: str = "",
    ) -> None:
        if not isinstance(nout, int) or nout < 1:
            raise ValueError(f"nout must be a positive int (the number of neurons), not {nout!r}")
        self.neurons = [
            Neuron(nin, activation, rng=rng, label=f"{label}n{j}_") for j in range(nout)
        ]

    def __call__(self, x: Sequence[Any]) -> Any:
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multilayer perceptron: ``activation`` on hidden layers, linear (by default) last.

    ``MLP(3, [8, 8, 1])`` is the tutorial's network. ``seed`` makes the initial weights
    reproducible without touching the global ``random`` state; without it they come from
    ``random`` as in the tutorial.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "tanh",
        *,
        output_activation: str = "linear",
        seed: int | None = None,
    ) -> None:
        if isinstance(nouts, int) or not nouts:
            raise ValueError(
                f"nouts must be a non-empty list of layer sizes, such as [8, 8, 1], not {nouts!r}"
            )
        _check_activation(activation)
        _check_activation(output_activation)
        rng = random.Random(seed) if seed is not None else None
        sizes = [nin, *nouts]
        self.layers = [
            Layer(
                sizes[i],
                sizes[i + 1],
                activation if i < len(nouts) - 1 else output_activation,
                rng=rng,
                label=f"l{i}",
            )
            for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[Any]) -> Any:
        for layer in self.layers:
            x = layer(x)
            if not isinstance(x, list):
                x = [x]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
