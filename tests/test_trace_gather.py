"""Indexing traced arrays with traced integers (labels): values and layout are NumPy's, the
gradient is np.add.at's scatter of the upstream weights, and one trace serves every index."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import needs_cc

import symgrad as sg

KEYS = {  # name -> (shape of a, key built from the traced index i, the index's values)
    "rows of a matrix": ((5, 3), lambda i: i, [4, 0, -1, 2]),
    "columns": ((3, 5), lambda i: (slice(None), i), [1, 1, 4, -5]),
    "labels": ((4, 3), lambda i: (np.arange(4), i), [2, 0, 1, 1]),
    "after an ellipsis": ((2, 3, 4), lambda i: (Ellipsis, i), [3, 0]),
    "a 2-d index": ((6,), lambda i: i, [[0, 5], [2, 2], [-1, 3]]),
    "split by a slice": ((3, 4, 5), lambda i: (np.array([0, 2]), slice(1, 3), i), [4, 0]),
    "with new axes": ((4, 3), lambda i: (None, i, None), [3, 1]),
    "a scalar row then an index": ((4, 5), lambda i: (2, i), [0, 4, 3]),
}


@pytest.mark.parametrize("name", list(KEYS))
@pytest.mark.parametrize("backend", ["python", "numpy", pytest.param("c", marks=needs_cc)])
def test_gather_is_numpys_indexing_and_add_at_is_its_gradient(name, backend, request):
    if backend == "c":
        request.getfixturevalue("c_cache")
    shape, key, idx = KEYS[name]
    rng = np.random.default_rng(len(name))
    a = rng.normal(size=shape)
    idx = np.array(idx)
    c = rng.normal(size=np.shape(a[key(idx)]))  # weights of the result's elements

    def f(a, i):
        return np.sum(a[key(i)] * c)

    vg = sg.value_and_grad(f, backend=backend)
    value, grad = vg(a, idx)
    assert value == pytest.approx(f(a, idx), rel=1e-14)
    want = np.zeros_like(a)
    np.add.at(want, key(idx), c)  # NumPy's scatter: each element taken gets its weight
    np.testing.assert_allclose(grad, want, rtol=0, atol=1e-15)
    other = np.array(rng.permutation(idx.ravel()).reshape(idx.shape))
    assert vg(a, other)[0] == pytest.approx(f(a, other), rel=1e-14)
    assert vg.traces == 1  # other labels: the same program, no retrace


def test_cross_entropy_with_integer_labels_against_finite_differences():
    def loss(W, X, y):
        z = X @ W
        logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
        return -np.mean(logp[np.arange(len(y)), y])

    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(4, 3)), rng.normal(size=(6, 4))
    vg = sg.value_and_grad(loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sg.RetraceWarning)
        for _ in range(4):
            y = rng.integers(0, 3, 6)
            value, g = vg(W, X, y)
            assert value == pytest.approx(loss(W, X, y), rel=1e-14)
            fd = np.zeros_like(W)
            for ij in np.ndindex(W.shape):
                e = np.zeros_like(W)
                e[ij] = 1e-6
                fd[ij] = (loss(W + e, X, y) - loss(W - e, X, y)) / 2e-6
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    assert vg.traces == 1


def test_per_sample_labels_in_a_batch():
    def nll(W, x, y):  # one sample: y a scalar label
        z = x @ W
        return np.log(np.sum(np.exp(z))) - z[y]

    rng = np.random.default_rng(1)
    W, X, y = rng.normal(size=(4, 3)), rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    vg = sg.value_and_grad(nll, batch_argnums=(1, 2))
    value, g = vg(W, X, y)
    want = sum(nll(W, X[s], y[s]) for s in range(8))
    assert value == pytest.approx(want, rel=1e-13)
    p = np.exp(X @ W)
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, X.T @ (p - np.eye(3)[y]), rtol=1e-12, atol=1e-14)
    y2 = rng.integers(0, 3, 8)
    assert vg(W, X, y2)[0] == pytest.approx(sum(nll(W, X[s], y2[s]) for s in range(8)))
    assert vg.traces == 1


def test_picked_values_keep_inf_and_nan():
    f = lambda a, i: np.sum(a[i] * np.array([1.0, 2.0]))
    a = np.array([np.inf, np.nan, -0.0, 3.0])
    vg = sg.value_and_grad(f)
    assert vg(a, np.array([2, 3]))[0] == 6.0
    assert vg(a, np.array([0, 2]))[0] == np.inf
    assert np.isnan(vg(a, np.array([3, 1]))[0])
    np.testing.assert_array_equal(vg(a, np.array([2, 3]))[1], [0.0, 0.0, 1.0, 2.0])


def test_an_index_out_of_range_raises_as_numpy_does():
    f = lambda a, i: np.sum(a[i])
    vg = sg.value_and_grad(f)
    a = np.arange(3.0)
    with pytest.raises(IndexError, match="out of bounds"):
        vg(a, np.array([0, 3]))
    assert vg(a, np.array([0, -3]))[0] == 0.0
    with pytest.raises(IndexError, match="out of bounds"):  # a later call: guard, retrace
        vg(a, np.array([1, -4]))
    with pytest.raises(IndexError, match="not an integer"):
        vg(a, np.array([0.0, 1.5]))


def test_what_cannot_be_gathered_raises_type_error():
    a, i = np.arange(4.0), np.array([1, 2])
    with pytest.raises(TypeError, match="mask"):
        sg.grad(lambda a: np.sum(a[a > 1.0]))(a)
    with pytest.raises(TypeError, match="more than one traced index"):
        sg.grad(lambda a, i: np.sum(np.outer(a, a)[i, i]))(a, i)

    def write(a, i):
        b = np.zeros_like(a)
        b[i] = a[:2]
        return np.sum(b)

    with pytest.raises(TypeError, match="assigning through a traced index"):
        sg.grad(write)(a, i)


TAKES = {
    "take flat": lambda a, i: np.take(a, i) * np.arange(1.0, 4.0),
    "take along rows": lambda a, i: np.take(np.outer(a, a + 1.0), i, axis=0)[:, 1:],
    "take along the last axis": lambda a, i: np.take(np.outer(a, a) * a, i, axis=-1),
    "take_along_axis": lambda a, i: np.take_along_axis(np.outer(a, a - 2.0), i[:, None], 1),
    "take_along_axis 0": lambda a, i: np.take_along_axis(np.outer(a, a), i[None, :], axis=0),
}


@pytest.mark.parametrize("name", list(TAKES))
def test_take_with_traced_indices_against_finite_differences(name):
    def f(a, i):
        return np.sum(np.sin(TAKES[name](a, i)))

    a, i = np.array([0.3, -1.2, 2.0, 0.7]), np.array([3, 0, -2, 1])[: 3 if "flat" in name else 4]
    value, g = sg.value_and_grad(f)(a, i)
    assert value == pytest.approx(f(a, i), rel=1e-14)
    fd = [(f(a + e, i) - f(a - e, i)) / 2e-6 for e in np.eye(4) * 1e-6]
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
