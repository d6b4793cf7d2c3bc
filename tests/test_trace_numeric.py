"""np.pad, np.convolve/np.correlate, np.trapezoid, the NaN-ignoring reductions, np.isclose and
ufunc.at, traced: values against NumPy's own, gradients against central finite differences,
on every backend; modes that would need Python comparisons raise TypeError naming them."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgrad as sg

BACKENDS = ["python", "numpy"] + (["c"] if shutil.which("cc") or shutil.which("gcc") else [])
X = np.array([1.0, -2.0, 3.0, 0.5])
W7 = np.arange(7.0) ** 2
W34 = np.arange(12.0).reshape(3, 4)


def _fd(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        up, dn = x.copy(), x.copy()
        up[i] += h
        dn[i] -= h
        g[i] = (f(up) - f(dn)) / (2 * h)
    return g


def _agrees(f, x, backend="python", tol=1e-6):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log of negatives: NaN on purpose
        value, grad = sg.value_and_grad(f, backend=backend)(x.copy())
        want = f(x.copy())
        fd = _fd(f, x)
    np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, fd, rtol=tol, atol=tol)


CASES = {
    "pad zeros": lambda v: np.sum(np.pad(v, 2) ** 2 * np.arange(8)),
    "pad values": lambda v: np.sum(np.pad(v, 1, constant_values=(2.0, 3.0)) ** 2 * np.arange(6)),
    "pad edge": lambda v: np.sum(np.pad(v, (1, 2), mode="edge") * W7),
    "pad reflect": lambda v: np.sum(np.pad(v, (1, 2), mode="reflect") * W7),
    "pad odd": lambda v: np.sum(np.pad(v, (2, 1), mode="symmetric", reflect_type="odd") * W7),
    "pad wrap": lambda v: np.sum(np.pad(v, (1, 2), mode="wrap") * W7),
    "pad 2-d": lambda v: np.sum(np.pad(v.reshape(2, 2), ((0, 1), (2, 0))) ** 2 * W34),
    "convolve": lambda v: np.sum(np.convolve(v, [1.0, 2.0, 3.0]) ** 2),
    "convolve same": lambda v: np.sum(np.convolve([1.0, -2.0], v, "same") ** 3),
    "convolve self": lambda v: np.sum(np.convolve(v, v[::-1], "valid")),
    "correlate": lambda v: np.sum(np.correlate(v, [1.0, 2.0], "full") ** 2),
    "trapezoid": lambda v: np.trapezoid(v**2),
    "trapezoid dx": lambda v: np.trapezoid(v**2, dx=0.25),
    "trapezoid x": lambda v: np.trapezoid(v**2, x=[0.0, 1.0, 3.0, 3.5]),
    "trapezoid of x": lambda v: np.trapezoid(np.sin(v), x=np.cumsum(v**2)),
    "trapezoid axis": lambda v: np.sum(np.trapezoid(v.reshape(2, 2) ** 3, axis=0)),
    "nansum": lambda v: np.nansum(np.log(v) * v),
    "nanprod": lambda v: np.nanprod(np.log(v) * v),
    "nanmean": lambda v: np.nanmean(np.log(v) * v),
    "nanmean axis": lambda v: np.sum(np.nanmean(np.log(v).reshape(2, 2), axis=0) ** 2),
    "nanmax": lambda v: np.nanmax(np.log(v) * v),
    "nanmin": lambda v: np.nanmin(np.log(v) * v),
    "nanmax axis": lambda v: np.sum(np.nanmax(np.log(v).reshape(2, 2) * v.reshape(2, 2), axis=0)),
    "nanmin keepdims": lambda v: np.sum(np.nanmin(np.log(v).reshape(2, 2), axis=1, keepdims=True)),
    "isclose": lambda v: np.sum(np.where(np.isclose(v, 1.0), 1.0, v**2)),
    "allclose": lambda v: np.sum(v**2) if np.allclose(v, 0.0) else np.sum(v**3),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_traced_against_numpy_and_differences(name):
    _agrees(CASES[name], X)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["pad reflect", "convolve", "nanmax", "nanmean", "trapezoid x"])
def test_every_backend(name, backend):
    _agrees(CASES[name], X, backend)


def test_nan_skipped_with_derivative_zero_and_all_nan_is_nan():
    # the NaN element (log of -2) gets derivative 0: np.where's masking, not 0 * NaN
    _, grad = sg.value_and_grad(CASES["nanmax"])(X.copy())
    np.testing.assert_allclose(grad, [0.0, 0.0, np.log(3.0) + 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for f in (np.nanmax, np.nanmin, np.nanmean):
            value = sg.value_and_grad(lambda v, f=f: f(np.log(-(v**2))))(X.copy())[0]
            assert np.isnan(value)  # NumPy's answer for an all-NaN slice
        assert sg.value_and_grad(lambda v: np.nansum(np.log(-(v**2))))(X.copy())[0] == 0.0


def test_isclose_is_numpys_on_infinities_nan_and_tolerances():
    a = np.array([1.0, np.inf, -np.inf, np.nan, 1.0 + 1e-6, 0.0, 1e-9, np.inf])
    b = np.array([1.0, np.inf, np.inf, np.nan, 1.0, 1e-9, 0.0, 1.0])
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.0, "atol": 1e-8}, {"rtol": 1e-7}):
        f = sg.value_and_grad(lambda u, kw=kw: np.sum(np.where(np.isclose(u, b, **kw), 1.0, 0.0)))
        assert f(a.copy())[0] == np.sum(np.isclose(a, b, **kw)), kw


def test_allclose_is_a_decision_later_calls_check():
    f = sg.value_and_grad(CASES["allclose"])
    np.testing.assert_allclose(f(np.zeros(4))[1], np.zeros(4))
    np.testing.assert_allclose(f(X.copy())[1], 3 * X**2)  # the other branch: retraced
    np.testing.assert_allclose(f(np.zeros(4))[1], np.zeros(4))


def _scatter(v):
    z = np.zeros_like(v, shape=(3,))
    np.add.at(z, [0, 0, 1, 2, 0], v[[0, 1, 2, 3, 3]])  # index 0 three times: all three add
    np.multiply.at(z, [2, 2], v[:2])
    np.negative.at(z, [1])
    return np.sum(z**2 * np.arange(1.0, 4.0))


def _scatter_plain(v):  # the same, written as NumPy runs it on floats (the oracle)
    z = np.zeros(3)
    np.add.at(z, [0, 0, 1, 2, 0], v[[0, 1, 2, 3, 3]])
    np.multiply.at(z, [2, 2], v[:2])
    np.negative.at(z, [1])
    return np.sum(z**2 * np.arange(1.0, 4.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_ufunc_at_applies_every_repeat(backend):
    value, grad = sg.value_and_grad(_scatter, backend=backend)(X.copy())
    assert value == pytest.approx(_scatter_plain(X.copy()), rel=1e-14)
    np.testing.assert_allclose(grad, _fd(_scatter_plain, X), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "f, words",
    [
        (lambda v: np.sum(np.pad(v, 1, mode="maximum")), "mode='maximum'"),
        (lambda v: np.sum(np.pad(v, 1, mode="linear_ramp")), "mode='linear_ramp'"),
        (lambda v: np.sum(np.pad(v, 1, mode="edge", constant_values=3)), "constant_values"),
        (lambda v: (np.add.at(np.zeros(3), [0], v[:1]), v[0])[1], "into a NumPy array"),
        (lambda v: (np.add.at(v, v[:1].astype(int), 1.0), v[0])[1], None),
        (lambda v: np.nanmax(v, where=v > 0), "where="),
    ],
)
def test_what_cannot_trace_says_so(f, words):
    with pytest.raises(TypeError) as e:
        sg.value_and_grad(f)(X.copy())
    if words:
        assert words in str(e.value)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-3, 3), min_size=1, max_size=6),
    st.lists(st.floats(-3, 3), min_size=1, max_size=4),
    st.sampled_from(["full", "same", "valid"]),
    st.integers(0, 3),
    st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]),
)
def test_random_convolutions_and_pads(xs, ks, mode, width, pad_mode):
    x, k = np.array(xs), np.array(ks)
    if pad_mode in ("reflect", "symmetric", "wrap") and x.size == 1 and width:
        pad_mode = "edge"  # NumPy's own limits on tiny inputs are not the point here
    weights = np.arange(1.0, 2 * width + x.size + 1)

    def f(v):
        return np.sum(np.convolve(v, k, mode) ** 2) + np.sum(np.pad(v, width, pad_mode) * weights)

    value, grad = sg.value_and_grad(f)(x.copy())
    np.testing.assert_allclose(value, f(x.copy()), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, _fd(f, x), rtol=1e-5, atol=1e-5)


def test_nan_constant_array_traces_without_a_warning():
    """A NaN-holding constant array entering a trace is converted without NumPy reporting an
    invalid-value flag (CPython 3.11's specialized float compare raised it on ``v == v``)."""
    c = np.where(np.arange(40) % 3 == 0, np.nan, np.arange(40.0))

    def f(w):
        return np.nansum(c * w)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        value, grad = sg.value_and_grad(f)(np.ones(40))
    assert value == np.nansum(c)
    np.testing.assert_array_equal(grad, np.nan_to_num(c, nan=0.0))
