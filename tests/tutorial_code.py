"""The tutorial's own code (../shared/seed), unchanged but for its import line.

Its ``Neuron``, ``Layer`` and ``MLP`` classes and its training loop are copied as the tutorial
writes them, misspelled ``tahn`` included; only the top-level script parts are wrapped in
functions so that a test can call them. ``tests/test_value.py`` runs this file against
``symgrad.Value`` and against a reference micrograd.
"""

import random

from symgrad import Value


def hand_worked_graph():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    f = Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    return a, b, c, d, e, f, L


def slope_by_hand():
    a = 2
    b = -3.0
    c = 10
    f = -2
    e = a * b
    d = e + c
    L = d * f
    h = 0.0001
    a = 2 + h
    b = -3.0
    c = 10
    f = -2
    e = a * b
    d = e + c
    L2 = d * f
    return (L2 - L) / h


class Neuron:
    def __init__(self, input_num, non_linear=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(input_num)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x):
        out = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return out

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, input_num, output_num, non_linear=True):
        self.neurons = [Neuron(input_num) for _ in range(output_num)]
        self.non_linear = non_linear

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        if self.non_linear:
            outs = [out.tahn() for out in outs]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        out = []
        for neuron in self.neurons:
            out.extend(neuron.parameters())
        return out


class MLP:
    def __init__(self, input_num, outputs_nums):
        self.layers = []
        values = [input_num] + outputs_nums
        for id in range(len(outputs_nums) - 1):
            self.layers.append(Layer(values[id], values[id + 1]))
        self.layers.append(Layer(values[-2], values[-1], non_linear=False))

    def __call__(self, X):
        for layer in self.layers:
            X = layer(X)
        return X

    def parameters(self):
        out = []
        for layer in self.layers:
            out.extend(layer.parameters())
        return out


def f(x, y, z):
    return 0.04 * x**2 + 0.07 * y * x - z + random.gauss(0, 1) / 5


def make_data():
    X = []
    y = []
    for i in range(100):
        X.append([random.uniform(-5, 5) for _ in range(3)])
        y.append(f(X[i][0], X[i][1], X[i][2]))
    return X, y


def train(X, y, epochs=50):
    ann = MLP(3, [8, 8, 1])
    losses = []
    for i in range(epochs):
        y_pred = [ann(x) for x in X]
        loss = sum((pred - origin) ** 2 for pred, origin in zip(y_pred, y))
        loss.backward()
        for p in ann.parameters():
            p.data = p.data - 0.001 * p.grad
            p.grad = 0
        print(f"Epoch {i}, Loss: {loss}")
        losses.append(loss.data)
    return ann, losses
