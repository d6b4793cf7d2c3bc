"""The NumPy backend's faster paths: a layer's biases join its ``_matmul`` product as a last
column of weights, and ``_outer`` takes the sums of its rows from the same product.
Values must equal the Python backend sample by sample, for every bias pattern."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg


def _layer(bias: str):
    """Two sums over (x0, x1) with weights from p; ``bias`` picks each sum's extra terms."""
    p = list(sg.symbols("p0:8"))
    x = list(sg.symbols("x0:2"))
    y = sg.Symbol("y")
    extra = {
        "all": [p[6], p[7]],  # one bias per sum: absorbed
        "one_missing": [p[6], y],  # the second sum has no element of p: kept as an addition
        "repeated": [p[6] + p[6], p[7] + y],  # a bias twice, and a bias plus another term
    }[bias]
    zs = [extra[j] + p[2 * j] * x[0] + p[2 * j + 1] * x[1] for j in range(2)]
    loss = sum((sg.tanh(z) - y) ** 2 for z in zs)
    return p, x, y, loss


@pytest.mark.parametrize("bias", ["all", "one_missing", "repeated"])
@pytest.mark.parametrize("batched_params", [False, True])
def test_bias_in_product_equals_python_backend(bias, batched_params):
    p, x, y, loss = _layer(bias)
    outs = [loss, sg.gradient(loss, p)]
    fn = sg.compile([p, x, y], outs, backend="numpy", reduce="sum")
    if bias == "all":
        assert "_matmul(p, 1, _W0, _cols(x, 1, 0, 2, 1), 1, batch0)" in fn.source
    ref = sg.compile([p, x, y], outs)
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(5, 2)), rng.normal(size=5)
    P = rng.normal(size=(5, 8)) if batched_params else rng.normal(size=8)
    Ps = P if batched_params else np.broadcast_to(P, (5, 8))
    value, grad = fn(P, X, Y)
    rv = sum(ref(Ps[i].tolist(), X[i].tolist(), float(Y[i]))[0] for i in range(5))
    rg = np.sum([ref(Ps[i].tolist(), X[i].tolist(), float(Y[i]))[1] for i in range(5)], axis=0)
    assert value == pytest.approx(rv, rel=1e-12)
    np.testing.assert_allclose(grad, rg, rtol=1e-12, atol=1e-13)


def test_gram_row_sums_equal_unreduced_sums():
    """The bias gradients (row sums inside ``_outer``) equal summing the unreduced outputs."""
    p, x, y, loss = _layer("all")
    outs = [loss, sg.gradient(loss, p)]
    fn = sg.compile([p, x, y], outs, backend="numpy", reduce="sum")
    assert "_outer(" in fn.source
    full = sg.compile([p, x, y], outs, backend="numpy")
    rng = np.random.default_rng(4)
    P, X, Y = rng.normal(size=8), rng.normal(size=(3000, 2)), rng.normal(size=3000)
    value, grad = fn(P, X, Y)
    v_all, g_all = full(P, X, Y)
    assert value == pytest.approx(v_all.sum(), rel=1e-12)
    np.testing.assert_allclose(grad, np.sum(g_all, axis=1), rtol=1e-11, atol=1e-12)
