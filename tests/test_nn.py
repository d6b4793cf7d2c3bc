"""sg.nn: the tutorial's network, eager against a reference micrograd, symbolic against eager,
and a compiled training loop against the eager one."""

from __future__ import annotations

import random

import numpy as np
import pytest
from micrograd_reference import RefValue, close, mlp_forward

import symgrad as sg
from symgrad.nn import MLP, Layer, Neuron, Value


def data(n=30, seed=5):
    rng = random.Random(seed)
    xs = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(n)]
    ys = [0.04 * x * x + 0.07 * x * y - z for x, y, z in xs]
    return xs, ys


def ref_weights(model: MLP):
    """The model's current parameters as RefValues, in the reference's nesting."""
    return [
        [([RefValue(w.data) for w in n.w], RefValue(n.b.data)) for n in layer.neurons]
        for layer in model.layers
    ]


def flat(weights):
    return [p for layer in weights for w, b in layer for p in (*w, b)]


def test_architecture_is_the_tutorials():
    m = MLP(3, [8, 8, 1], seed=0)
    assert [len(layer.neurons) for layer in m.layers] == [8, 8, 1]
    assert [layer.neurons[0].activation for layer in m.layers] == ["tanh", "tanh", "linear"]
    assert len(m.parameters()) == 3 * 8 + 8 + 8 * 8 + 8 + 8 + 1
    assert all(-1 <= p.data <= 1 and p.is_leaf for p in m.parameters())
    assert isinstance(m([2, 3, 4]), Value)
    assert len(MLP(2, [4, 3], seed=0)([1, 2])) == 3  # several outputs: a list


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
def test_leaf_gradients_equal_reference_micrograd(activation):
    xs, ys = data()
    m = MLP(3, [8, 8, 1], activation, seed=42)
    ref = ref_weights(m)
    loss = sum((m(x) - y) ** 2 for x, y in zip(xs, ys))
    loss.backward()
    ref_loss = sum((mlp_forward(ref, x, activation) - y) ** 2 for x, y in zip(xs, ys))
    ref_loss.backward()
    assert close(loss.data, ref_loss.data)
    ours, theirs = [p.grad for p in m.parameters()], [p.grad for p in flat(ref)]
    assert any(g != 0 for g in ours)
    assert all(close(a, b, 1e-12) for a, b in zip(ours, theirs)), max(
        abs(a - b) for a, b in zip(ours, theirs)
    )


def test_seed_reproducible_and_zero_grad():
    a, b, c = MLP(3, [4, 1], seed=1), MLP(3, [4, 1], seed=1), MLP(3, [4, 1], seed=2)
    assert a.values() == b.values() != c.values()
    a([1.0, 2.0, 3.0]).backward()
    assert any(p.grad != 0 for p in a.parameters())
    a.zero_grad()
    assert all(p.grad == 0 for p in a.parameters())


def test_values_roundtrip_and_errors():
    m = MLP(3, [2, 1], seed=0)
    new = [0.1 * i for i in range(len(m.parameters()))]
    m.set_values(new)
    assert m.values() == new
    with pytest.raises(ValueError, match="parameters"):
        m.set_values([1.0])
    with pytest.raises(ValueError, match="activation"):
        MLP(3, [2, 1], activation="swish")
    with pytest.raises(ValueError, match="nouts"):
        MLP(3, 4)
    with pytest.raises(ValueError, match="inputs"):
        Neuron(3, rng=random.Random(0))([1.0, 2.0])


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_symbolic_call_equals_eager(activation):
    m = MLP(3, [5, 4, 1], activation, seed=3)
    x = list(sg.symbols("x0:3"))
    out = m(x)
    assert isinstance(out, sg.Expr)
    point = [0.3, -1.2, 2.0]
    env = dict(zip(m.symbols(), m.values())) | dict(zip(x, point))
    eager = m(point)
    assert close(sg.evaluate(out, env), eager.data)
    eager.backward()
    grads = sg.evaluate(sg.gradient(out, m.symbols()), env)
    assert all(close(g, p.grad) for g, p in zip(grads, m.parameters()))


def test_layer_and_neuron_work_on_symbols_too():
    rng = random.Random(0)
    n = Neuron(2, "sigmoid", rng=rng)
    layer = Layer(2, 3, "relu", rng=rng)
    x = list(sg.symbols("a b"))
    assert isinstance(n(x), sg.Expr) and len(layer(x)) == 3
    env = dict(zip(n.symbols(), n.values())) | {x[0]: 0.5, x[1]: -0.25}
    assert close(sg.evaluate(n(x), env), n([0.5, -0.25]).data)


def test_compiled_training_reaches_the_eager_losses():
    xs, ys = data(40, seed=9)
    m = MLP(3, [6, 6, 1], seed=11)
    theta0 = m.values()
    x, y = list(sg.symbols("x0:3")), sg.Symbol("y")
    loss = (m(x) - y) ** 2
    params = m.symbols()
    step = sg.compile(
        [params, x, y], [loss, sg.gradient(loss, params)], backend="numpy", reduce="sum"
    )
    eager = []
    for _ in range(6):
        L = sum((m(xi) - yi) ** 2 for xi, yi in zip(xs, ys))
        L.backward()
        for p in m.parameters():
            p.data -= 0.002 * p.grad
            p.grad = 0.0
        eager.append(L.data)
    theta, compiled = np.array(theta0), []
    for _ in range(6):
        total, g = step(theta, np.array(xs), np.array(ys))
        theta = theta - 0.002 * np.asarray(g)
        compiled.append(float(total))
    assert all(close(a, b, 1e-9) for a, b in zip(eager, compiled)), (eager, compiled)
    assert np.allclose(theta, m.values(), rtol=1e-9, atol=1e-12)
    assert compiled[-1] < compiled[0]
