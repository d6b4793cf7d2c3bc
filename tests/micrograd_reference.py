"""A plain reference implementation of micrograd's algorithm, to hold ``sg.Value`` against.

Written independently of ``symgrad.nn``: each op keeps micrograd's own formulation (``a - b`` is
``a + (-b)``, ``-a`` is ``a * -1``, ``a / b`` is ``a * b**-1``, per-node ``_backward`` closures),
and the topological order comes from Kahn's algorithm (in-degree counting), not from a
depth-first search, so a shared bug is unlikely. No recursion: deep graphs work here too.
"""

from __future__ import annotations

import math


class RefValue:
    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data})"

    def __add__(self, other):
        other = other if isinstance(other, RefValue) else RefValue(other)
        out = RefValue(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, RefValue) else RefValue(other)
        out = RefValue(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other):
        assert isinstance(other, int | float), "only supporting int/float powers for now"
        out = RefValue(self.data**other, (self,), f"**{other}")

        def _backward():
            self.grad += (other * self.data ** (other - 1)) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = RefValue(0 if self.data < 0 else self.data, (self,), "ReLU")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        x = self.data
        t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
        out = RefValue(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    tahn = tanh  # the tutorial's spelling of it

    def exp(self):
        out = RefValue(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        out = RefValue(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += (1 / self.data) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = RefValue(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        # Kahn's algorithm from the root: a node runs once every node that uses it has run.
        users = {}
        stack, seen = [self], {self}
        while stack:
            v = stack.pop()
            for c in v._prev:
                users[c] = users.get(c, 0) + 1
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        self.grad = 1
        ready = [self]
        while ready:
            v = ready.pop()
            v._backward()
            for c in v._prev:
                users[c] -= 1
                if users[c] == 0:
                    ready.append(c)

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1


def mlp_forward(weights, x, activation="tanh", output_activation="linear"):
    """An MLP on RefValues: ``weights`` is per layer, per neuron, ``(w_list, b)``."""
    for li, layer in enumerate(weights):
        act = activation if li < len(weights) - 1 else output_activation
        outs = []
        for w, b in layer:
            z = sum((wi * xi for wi, xi in zip(w, x)), b)
            outs.append(z if act == "linear" else getattr(z, act)())
        x = outs
    return x[0] if len(x) == 1 else x


def close(a: float, b: float, tol: float = 1e-12) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))
