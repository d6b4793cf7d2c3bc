"""NumPy objectives as users write them, traced: values against NumPy's own, gradients
against central finite differences (or a closed form), on every backend."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import symgrad as sg

BACKENDS = ["python", "numpy"] + (["c"] if shutil.which("cc") or shutil.which("gcc") else [])
RNG = np.random.default_rng(20261203)
A = RNG.normal(size=(3, 4))
X = RNG.normal(size=4)


def _fd(f, x, h=1e-6):
    x = np.array(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, dn = x.copy(), x.copy()
        up[i] += h
        dn[i] -= h
        g[i] = (f(up) - f(dn)) / (2 * h)
    return g


def _agrees(f, x, backend, tol=1e-6):
    value, grad = sg.value_and_grad(f, backend=backend)(x.copy())
    assert value == pytest.approx(f(x.copy()), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, _fd(f, x), rtol=tol, atol=tol)


# -- np.hypot: no overflow or underflow in the squares ------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_hypot_of_large_and_small_values(backend):
    f = sg.value_and_grad(lambda v: np.hypot(v[0], v[1]), backend=backend)
    for a, b in [(1e200, 1e200), (3e-200, 4e-200), (1e308, 1e308), (3.0, 4.0), (-2.0, 0.5)]:
        value, grad = f(np.array([a, b]))
        r = np.hypot(a, b)
        assert value == pytest.approx(r, rel=4e-16)
        np.testing.assert_allclose(grad, [a / r, b / r], rtol=1e-14)
    for a, b in [(0.0, 0.0), (np.inf, np.nan), (np.nan, -np.inf), (np.nan, 1.0), (-np.inf, 2.0)]:
        value, _ = f(np.array([a, b]))
        np.testing.assert_equal(value, np.hypot(a, b))


# -- ndarray methods that are NumPy functions -------------------------------------------
METHODS = {
    "repeat": lambda x: np.sum(x.repeat(2) ** 2 * np.arange(8)),
    "take": lambda x: np.sum(x.take([0, 2, -1]) ** 2),
    "argmax": lambda x: x[x.argmax()] * 2.0 + x[x.argmin()],
    "argsort": lambda x: np.sum(x[x.argsort()] * np.arange(4)),
    "matrix": lambda x: (
        np.outer(x, x)[:, :3].trace()
        + np.sum(np.outer(x, x).diagonal() ** 3)
        + np.sum(x.reshape(2, 2).swapaxes(0, 1) * np.arange(4.0).reshape(2, 2))
    ),
    "round": lambda x: np.sum(x.round(0) * x),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(METHODS))
def test_ndarray_methods(name, backend):
    _agrees(METHODS[name], X, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sort_and_fill_in_place(backend):
    def f(x):
        y = x.copy()
        y.sort()
        z = np.empty_like(x)
        z.fill(2.0)
        return np.sum(y * np.arange(4.0)) + np.sum(z * x)

    _agrees(f, X, backend)


def test_missing_ndarray_method_names_the_numpy_function():
    with pytest.raises(AttributeError, match="x.searchsorted is an ndarray attribute"):
        sg.value_and_grad(lambda x: np.sum(x.searchsorted(0.5)))(X)
    with pytest.raises(AttributeError, match="no attribute 'not_a_method'"):
        sg.value_and_grad(lambda x: x.not_a_method())(X)


# -- np.ptp --------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_ptp(backend):
    def f(a):
        return np.ptp(a) + np.sum(np.ptp(a, axis=0) ** 2) + np.sum(np.ptp(a, 1, keepdims=True))

    _agrees(f, A, backend)


# -- a[mask] = value with a traced mask ----------------------------------------------------
def _clipped(a):
    out = np.zeros_like(a)
    out[:, 0] = a[:, 0]
    out[:, 1:] = a[:, 1:] * a[:, :-1]
    out[out > 0.5] = 0.5
    out[a < -1] = a[0, 0]
    out[a.sum(axis=1) > 0] = -1.0  # a mask of the leading axis takes whole rows
    return np.sum(out**2 * a)


@pytest.mark.parametrize("backend", BACKENDS)
def test_masked_assignment(backend):
    vg = sg.value_and_grad(_clipped, backend=backend)
    for a in (A, RNG.normal(size=(3, 4)), 2.0 * RNG.normal(size=(3, 4))):
        value, grad = vg(a)
        assert value == pytest.approx(_clipped(a.copy()), rel=1e-12)
        np.testing.assert_allclose(grad, _fd(_clipped, a), rtol=1e-6, atol=1e-6)
    assert vg.traces == 1  # the mask is data of the program: no retrace


def test_masked_assignment_keeps_nan_out():
    x = np.array([1.0, np.nan, -2.0])

    def f(v):
        y = v.copy()
        y[np.isnan(v)] = 0.0
        return np.sum(y**2)

    value, grad = sg.value_and_grad(f)(x)
    assert value == f(x.copy())
    np.testing.assert_array_equal(grad, [2.0, 0.0, -4.0])


def test_masked_assignment_refuses_what_it_cannot_do():
    def several(v):
        y = v.copy()
        y[v > 0] = v[:2]
        return np.sum(y)

    with pytest.raises(TypeError, match="np.where"):
        sg.value_and_grad(several)(X)

    def mismatched(a):
        b = a.copy()
        b[a[:2] > 0] = 1.0
        return np.sum(b)

    with pytest.raises(IndexError, match="boolean index did not match"):
        sg.value_and_grad(mismatched)(A)


# -- where= of reductions ------------------------------------------------------------------
M = np.array([True, False, True, True])
WHERE = {
    "sum": lambda a: np.sum(a, where=a > 0),
    "sum_axis": lambda a: np.sum(np.sum(a, axis=0, where=a > 0) ** 2) + a.sum(1, where=M).prod(),
    "sum_plain_mask": lambda a: np.sum(np.sum(a**2, where=M, axis=1, keepdims=True)),
    "prod": lambda a: np.prod(a, where=a > 0),
    "max": lambda a: np.sum(np.max(a, axis=1, where=a < 0.5, initial=-5.0)),
    "mean": lambda a: np.mean(a, axis=1, where=a > -0.5).sum() + a.mean(where=a > 0),
    "mean_keepdims": lambda a: np.sum(a / np.mean(a, axis=1, keepdims=True, where=M)),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(WHERE))
def test_reductions_with_where(name, backend):
    _agrees(WHERE[name], A, backend)


def test_where_skips_nan_and_max_needs_initial():
    x = np.array([1.0, np.nan, 2.0])
    value, grad = sg.value_and_grad(lambda v: np.sum(v**2, where=~np.isnan(v)))(x)
    assert value == 5.0
    np.testing.assert_array_equal(grad, [2.0, 0.0, 4.0])
    with pytest.raises(ValueError, match="initial"):
        sg.value_and_grad(lambda a: np.max(a, where=a > 0))(A)


# -- in-place arithmetic writes the array, and NumPy's views see it -----------------------
def _through_view(x):
    z = np.zeros_like(x)
    v = z[1:]
    v += x[:-1]  # writes z
    return np.sum(z * x)


def _rows(x):
    z = np.ones((2, 4)) * x
    for row in z:
        row *= 2.0  # writes z
    return np.sum(z * x)


def _reshaped(x):
    y = x.copy()
    z = y.reshape(2, 2)
    z.T[0, 1] = 5.0  # writes z and y: reshape and .T are views
    return np.sum(z * y.reshape(2, 2)) + np.sum(y**2)


def _alias(x):
    y = x * 1.0
    w = y
    w += 1.0  # y is w
    m = x > 0
    m &= x < 1
    return np.sum(y * x) + np.sum(np.where(m, x, 0.0))


def _matmul_in_place(x):
    a = np.outer(x, x)
    a @= np.eye(4) * 2.0
    a[1:3] -= x
    return np.sum(a * a)


IN_PLACE = {
    "view": _through_view,
    "rows": _rows,
    "reshaped": _reshaped,
    "alias": _alias,
    "matmul": _matmul_in_place,
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_arithmetic_writes_views(name, backend):
    _agrees(IN_PLACE[name], X, backend)


def test_in_place_arithmetic_keeps_the_shape():
    def grows(x):
        z = x.copy()
        z += np.ones((2, 4))
        return np.sum(z)

    with pytest.raises(ValueError, match="non-broadcastable output operand"):
        sg.value_and_grad(grows)(X)


# -- running maximum / minimum (np.maximum.accumulate: a drawdown) ------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_maximum_and_minimum_accumulate(backend):
    def drawdown(a):
        peak = np.maximum.accumulate(a, axis=1)
        return np.sum((peak - a) ** 2) + np.sum(np.minimum.accumulate(a.ravel()) ** 3)

    _agrees(drawdown, A, backend)
    value, _ = sg.value_and_grad(lambda v: np.sum(np.maximum.accumulate(v)))(
        np.array([1.0, np.nan, 2.0])
    )
    assert np.isnan(value)  # NaN propagates, as NumPy's
