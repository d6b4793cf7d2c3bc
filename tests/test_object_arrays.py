"""Traced values handed to NumPy as plain object arrays (``np.asarray(x)``, ``np.array([a,
b])``, a list into a NumPy function). NumPy computes on those element by element, which agrees
with float arrays only while every value is finite: ``np.nan_to_num`` hands an object array
back unchanged, ``np.max`` / ``np.sort`` compare NaN as Python does. So such a trace keeps its
values finite (a guard) and refuses, with a TypeError, where one is not: never a wrong value.
Oracles: NumPy run on floats, central differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symgrad as sg

H = 1e-6
REFUSED = "plain object array"


def num_grad(f, x):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = H
        g[i] = (f(x + e) - f(x - e)) / (2 * H)
    return g


W = np.array([1.0, -2.0, 0.5, 3.0])
# One row per NumPy function that treats an object array differently from a float array once
# a value is NaN or infinite; each reached through an object array of traced values.
ROUTES = {
    "nan_to_num(asarray)": lambda x: np.sum(np.nan_to_num(np.asarray(x)) * W),
    "max(asarray)": lambda x: np.max(np.asarray(x) * W),
    "min(asarray)": lambda x: np.min(np.asarray(x)) + x[0],
    "ptp(asarray)": lambda x: np.ptp(np.asarray(x)),
    "sort(asarray)": lambda x: np.sort(np.asarray(x)) @ W,
    "unique(asarray)": lambda x: np.unique(np.asarray(x)) @ W,
    "nan_to_num(list)": lambda x: np.sum(np.nan_to_num([x[0] * x[1], x[2], x[3]])),
    "max(np.array(list))": lambda x: np.max(np.array([x[0] * 2.0, x[1], x[2] + x[3]])),
    "sum(list)": lambda x: np.sum([x[0] ** 2, x[1] * x[2], np.sin(x[3])]),
}
FINITE = np.array([0.3, -1.1, 0.8, 2.0])


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_finite_values_match_numpy_and_central_differences(name):
    f = ROUTES[name]
    vg = sg.value_and_grad(f)
    value, g = vg(FINITE)
    assert value == pytest.approx(float(f(FINITE)), rel=1e-12)
    np.testing.assert_allclose(g, num_grad(lambda t: float(f(t)), FINITE), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_nan_or_inf_is_refused_at_the_first_call(name, bad):
    x = FINITE.copy()
    x[1] = bad
    with pytest.raises(TypeError, match=REFUSED):
        sg.value_and_grad(ROUTES[name])(x)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_a_later_call_with_nan_retraces_and_is_refused(name):
    vg = sg.value_and_grad(ROUTES[name])
    vg(FINITE)
    vg(FINITE * 1.5 + 0.01)  # another finite point: the same path, no retrace
    assert vg.traces == 1
    x = FINITE.copy()
    x[2] = np.nan
    with pytest.raises(TypeError, match=REFUSED):
        vg(x)


def test_the_reported_case_nan_to_num_of_np_asarray():
    """np.nan_to_num(np.asarray(x)) used to hand NaN back unchanged: a wrong value."""

    def f(x):
        return np.sum(np.nan_to_num(np.asarray(x)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert f(np.array([np.nan, 2.0])) == 2.0  # NumPy on floats
    vg = sg.value_and_grad(f)
    assert vg(np.array([1.0, 2.0]))[0] == 3.0
    with pytest.raises(TypeError, match=r"np\.nan_to_num.*np\.asarray\(x\)|drop np\.asarray"):
        vg(np.array([np.nan, 2.0]))


def test_a_value_that_overflows_after_the_escape_is_refused():
    """Finite inputs can still make an infinity on the object-array route."""

    def f(x):
        return np.sum(1.0 / (1.0 + np.nan_to_num(np.exp(np.asarray(x) * 800.0))))

    vg = sg.value_and_grad(f)
    assert vg(np.array([0.1, -0.2]))[0] == pytest.approx(float(f(np.array([0.1, -0.2]))))
    with pytest.raises(TypeError, match=REFUSED):
        vg(np.array([1.0, -0.2]))  # exp(800) is inf: NumPy's nan_to_num would make it finite


def test_a_plain_nan_in_the_result_after_the_escape_is_refused():
    def f(x):
        return np.nan_to_num(np.array([x[0] * 2.0, np.nan]))

    with pytest.raises(TypeError, match=REFUSED):
        sg.jacobian(f)(np.array([1.0]))


def test_per_sample_values_in_object_arrays_are_refused():
    def loss(w, x):
        return np.sum(np.asarray(x) * w)

    vg = sg.value_and_grad(loss, batch_argnums=(1,), backend="numpy")
    with pytest.raises(TypeError, match="per-sample"):
        vg(np.ones(2), np.ones((5, 2)))


def test_traced_arrays_keep_ieee_values():
    """Without an object array in between, NaN and infinity are values as in NumPy."""

    def f(x):
        return np.sum(np.nan_to_num(np.log(x)) + np.maximum(x, np.nan))

    x = np.array([0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = f(x)
    got = sg.value_and_grad(f)(x)[0]
    assert np.isnan(want) and np.isnan(got)
    g = sg.value_and_grad(lambda x: np.sum(np.nan_to_num(np.log(x))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert g(x)[0] == np.sum(np.nan_to_num(np.log(x)))


def test_zeros_like_with_a_shape_is_a_traced_buffer_of_that_shape():
    """The buffer the errors point to: np.zeros_like(x, shape=...) honours shape= (it used to
    be ignored) and takes traced values, NaN included, with NumPy's semantics."""

    def f(x):
        b = np.zeros_like(x, shape=(3,))
        b[0], b[1], b[2] = x[0] * 2.0, np.log(x[1]), x[0] * x[1]
        return np.sum(np.nan_to_num(b) * np.array([1.0, 2.0, 3.0]))

    for x in (np.array([1.5, 2.0]), np.array([1.5, 0.0]), np.array([1.5, -1.0])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = f(x)
            value = sg.value_and_grad(f)(x)[0]
        assert value == want
    x = np.array([1.5, 2.0])
    np.testing.assert_allclose(sg.value_and_grad(f)(x)[1], num_grad(f, x), rtol=1e-6)
    full = sg.value_and_grad(lambda x: np.sum(np.full_like(x, x[0], shape=(2, 2))))
    assert full(np.array([3.0, 1.0, 2.0]))[0] == 12.0
