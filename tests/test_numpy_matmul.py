"""The NumPy backend's matrix products: a layer's sums of weight * activation become one
``_matmul`` product, reduced weight gradients one ``_outer``/``_gram`` product; results equal
the Python backend for every batch layout (weights batched or not, mixed batch shapes, no batch)."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg


def _mlp(sizes=(3, 4, 2)):
    """A tanh MLP loss written per sample; params flat, per neuron: weights then bias."""
    n = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    p = list(sg.symbols(f"p0:{n}"))
    x = list(sg.symbols(f"x0:{sizes[0]}"))
    y = sg.Symbol("y")
    act, k = x, 0
    for nin, nout in zip(sizes, sizes[1:]):
        out = []
        for _ in range(nout):
            s = p[k + nin]
            for i in range(nin):
                s = s + p[k + i] * act[i]
            k += nin + 1
            out.append(sg.tanh(s))
        act = out
    loss = sum((a - y) ** 2 for a in act)
    return p, x, y, loss, sg.gradient(loss, p)


def _loop(p, x, y, outputs, P, X, Y):
    """The Python backend sample by sample (P, X, Y already broadcast to one batch)."""
    fn = sg.compile([p, x, y], outputs)
    batch = Y.shape
    res = [fn(P[i].tolist(), X[i].tolist(), float(Y[i])) for i in np.ndindex(batch)]
    v = np.array([r[0] for r in res]).reshape(batch)
    g = np.array([r[1] for r in res]).reshape(batch + (len(p),))
    return v, g


def test_layers_print_as_matrix_products():
    p, x, y, loss, grad = _mlp()
    src = sg.compile([p, x, y], [loss, grad], backend="numpy", reduce="sum").source
    assert src.count("= _matmul(p, 1, _W") == 3  # two layers forward, one adjoint layer
    assert "_outer(" in src
    again = sg.compile([p, x, y], [loss, grad], backend="numpy", reduce="sum").source
    assert src == again


@pytest.mark.parametrize(
    "layout", ["plain", "params_batched", "two_axes", "y_unbatched", "one_sample", "no_batch"]
)
def test_values_equal_python_backend(layout):
    p, x, y, loss, grad = _mlp()
    rng = np.random.default_rng(7)
    n = len(p)
    if layout == "plain":
        P, X, Y = rng.normal(size=n), rng.normal(size=(6, 3)), rng.normal(size=6)
    elif layout == "params_batched":  # weights carry the batch axis: the term-by-term path
        P, X, Y = rng.normal(size=(6, n)), rng.normal(size=(6, 3)), rng.normal(size=6)
    elif layout == "two_axes":
        P, X, Y = rng.normal(size=n), rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 3))
    elif layout == "y_unbatched":  # y has no batch axes: counts once per sample
        P, X, Y = rng.normal(size=n), rng.normal(size=(5, 3)), np.float64(0.5)
    elif layout == "one_sample":  # a batch of one: the weight gradient is an outer product
        P, X, Y = rng.normal(size=n), rng.normal(size=(1, 3)), rng.normal(size=1)
    else:  # no batch axes at all
        P, X, Y = rng.normal(size=n), rng.normal(size=3), np.float64(-0.25)
    batch = np.broadcast_shapes(P.shape[:-1], X.shape[:-1], np.shape(Y))
    Pb = np.broadcast_to(P, batch + (n,))
    Xb = np.broadcast_to(X, batch + (3,))
    Yb = np.broadcast_to(Y, batch)
    want_v, want_g = _loop(p, x, y, [loss, grad], Pb, Xb, Yb)
    plain = sg.compile([p, x, y], [loss, grad], backend="numpy")
    v, g = plain(P, X, Y)
    np.testing.assert_allclose(v, want_v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.moveaxis(np.array(g), 0, -1), want_g, rtol=1e-11, atol=1e-14)
    for reduce, fold in (("sum", np.sum), ("mean", np.mean)):
        fn = sg.compile([p, x, y], [loss, grad], backend="numpy", reduce=reduce)
        v, g = fn(P, X, Y)
        axes = tuple(range(len(batch)))
        np.testing.assert_allclose(v, fold(want_v), rtol=1e-12)
        np.testing.assert_allclose(g, fold(want_g, axis=axes), rtol=1e-10, atol=1e-13)


def test_long_batch_in_blocks():
    p, x, y, loss, grad = _mlp()
    rng = np.random.default_rng(3)
    P, X, Y = rng.normal(size=len(p)), rng.normal(size=(5000, 3)), rng.normal(size=5000)
    fn = sg.compile([p, x, y], [loss, grad], backend="numpy", reduce="sum")
    plain = sg.compile([p, x, y], [loss, grad], backend="numpy")
    v, g = fn(P, X, Y)
    pv, pg = plain(P, X, Y)
    np.testing.assert_allclose(v, pv.sum(), rtol=1e-12)
    np.testing.assert_allclose(g, [a.sum() for a in pg], rtol=1e-10, atol=1e-12)


def test_mixed_batch_shapes_and_nested_weights():
    # Vectors of different batch shapes (x batched, y a number) share one product; the
    # weights are a 2x2 nested-list input (flat indices over two axes).
    W = [list(sg.symbols("a b")), list(sg.symbols("c d"))]
    x, y = sg.symbols("x y")
    z = [W[0][0] * x + W[0][1] * y, W[1][0] * x + W[1][1] * y]
    out = [sg.tanh(z[0]) * z[1], z[0] - z[1]]
    fn = sg.compile([W, x, y], out, backend="numpy")
    assert "_matmul(" in fn.source
    Wv, X, Yv = np.array([[0.5, -1.0], [2.0, 0.25]]), np.linspace(-1, 1, 4), 0.7
    got = fn(Wv, X, Yv)
    ref = sg.compile([W, x, y], out)
    want = np.array([ref(Wv.tolist(), float(xv), Yv) for xv in X]).T
    np.testing.assert_allclose(np.array(got), want, rtol=1e-12, atol=1e-15)
    assert [a.shape for a in fn(Wv, 0.3, Yv)] == [(), ()]  # no batch at all
    # inf and nan flow through the product as through the scalar code
    bad = np.array([[np.inf, 1.0], [np.nan, 0.0]])
    got = fn(bad, X, Yv)
    want = np.array([ref(bad.tolist(), float(xv), Yv) for xv in X]).T
    np.testing.assert_array_equal(np.isnan(np.array(got)), np.isnan(want))
