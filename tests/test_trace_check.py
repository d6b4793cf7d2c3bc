"""The trace check (symgrad/tracing/check.py): each new path's result against the function
run in plain NumPy at the same call, and the TypeErrors for bytes and np.bmat of traced
arrays. The oracle is NumPy itself: each function here is run plainly on floats first."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import counted

import symgrad as sg

X = np.array([1.0, 2.0, 3.0])
MISMATCH = "disagree"


def bytes_route(x):
    """np.asarray(x) of a traced x is an object array: its bytes are pointers, not floats."""
    return np.sum(np.frombuffer(np.asarray(x))) + x[0]


def tobytes_route(x):
    return np.sum(np.frombuffer(np.asarray(x).tobytes())) * x[1]


def dtype_branch(x):
    """Code that asks for the dtype: float64 in plain NumPy, object inside a trace."""
    a = np.asarray(x)
    return np.sum(a) * (2.0 if a.dtype == np.float64 else 1.0)


@pytest.mark.parametrize("fn", [bytes_route, tobytes_route, dtype_branch])
@pytest.mark.parametrize("transform", ["value_and_grad", "grad", "jacobian", "hessian"])
def test_a_trace_numpy_does_not_see_raises_naming_function_and_values(fn, transform):
    want = float(fn(X))  # plain NumPy: the values the contract promises
    with pytest.raises(sg.TraceMismatchError, match=MISMATCH) as info:
        getattr(sg, transform)(fn)(X)
    text = str(info.value)
    assert isinstance(info.value, TypeError)
    assert fn.__name__ in text and repr(want) in text
    assert "np.zeros_like" in text and "np.stack" in text and "check_trace=False" in text


def test_the_bytes_route_value_is_what_numpy_gives():
    assert bytes_route(X) == 7.0  # the traced program used to return 1.0 here, silently


def test_function_forms_check_the_primal():
    with pytest.raises(sg.TraceMismatchError):
        sg.jvp(bytes_route, (X,), (np.ones(3),))
    with pytest.raises(sg.TraceMismatchError):
        sg.vjp(bytes_route, X)
    with pytest.raises(sg.TraceMismatchError):
        sg.linearize(bytes_route, X)
    with pytest.raises(sg.TraceMismatchError):  # nested: the inner trace checks bytes_route
        sg.grad(sg.grad(lambda t: bytes_route(np.stack([t, t, t]))))(2.0)


def test_aux_and_batch_and_static_are_checked():
    def with_aux(x):
        return np.sum(x**2), {"bytes": bytes_route(x)}

    with pytest.raises(sg.TraceMismatchError, match=r"\['bytes'\]"):
        sg.value_and_grad(with_aux, has_aux=True)(X)

    seen = []

    def per_sample(w, row):  # checked on the first sample only: one plain call
        seen.append(1)
        return np.sum(w * row) * len(seen)

    rows = np.arange(12.0).reshape(4, 3) + 1.0
    vg = sg.value_and_grad(per_sample, batch_argnums=(1,), backend="numpy")
    with pytest.raises(sg.TraceMismatchError, match="12.0 in NumPy"):
        vg(np.ones(3), rows)  # sample 0: 6.0 traced, 2 * 6.0 in the plain call
    assert len(seen) == 2

    def scaled(x, k):
        return bytes_route(x) * k

    with pytest.raises(sg.TraceMismatchError):
        sg.grad(scaled, static_argnums=1)(X, 2.0)


def test_state_that_changes_between_calls_is_caught_and_can_be_opted_out():
    seen = []

    def stateful(x):
        seen.append(1)
        return np.sum(x) * len(seen)

    with pytest.raises(sg.TraceMismatchError, match="keeps state"):
        sg.value_and_grad(stateful)(X)
    seen.clear()
    value, g = sg.value_and_grad(stateful, check_trace=False)(X)
    assert value == 6.0 and len(seen) == 1  # the trace alone: fn ran once
    assert sg.jvp(stateful, (X,), (np.ones(3),), check_trace=False)[0] is not None


def test_a_failed_path_is_not_kept_so_a_later_call_raises_again():
    vg = sg.value_and_grad(bytes_route)
    for _ in range(2):
        with pytest.raises(sg.TraceMismatchError):
            vg(X)
    assert vg.calls == 2 and vg.traces == 0  # no path was kept


def test_the_check_runs_once_per_path_and_never_on_cached_calls():
    def piecewise(x):
        return np.sum(x**2) if x[0] > 0 else np.sum(np.sin(x))

    f = counted(piecewise)
    vg = sg.value_and_grad(f)
    for x in (X, X + 1.0, X * 2.0):
        vg(x)
    assert vg.traces == 1 and len(f.calls) == 2  # the trace, then one plain call
    vg(-X)
    vg(-X - 1.0)
    assert vg.traces == 2 and len(f.calls) == 4


def test_a_plain_call_that_raises_skips_the_check():
    def ratio(x, d):
        return x / d

    with pytest.raises(ZeroDivisionError):
        ratio(6.0, 0.0)  # plain Python floats raise; the traced program follows IEEE
    value, g = sg.value_and_grad(ratio)(6.0, 0.0)
    assert value == np.inf


def test_the_check_leaves_arguments_untouched():
    def in_place(x):
        x *= 2.0  # a traced x is rebound; a plain x would be written into
        return np.sum(x)

    x = X.copy()
    assert sg.value_and_grad(in_place)(x)[0] == 12.0
    np.testing.assert_array_equal(x, X)


def test_hand_made_object_buffers_agree_with_numpy_and_pass():
    """A buffer made with dtype=object is an object array in plain NumPy too: NumPy's
    nan_to_num hands it back unchanged in both runs (NaN), so the trace is right by the
    contract, and the check passes. np.zeros_like(x, shape=...) gives NumPy's float
    semantics instead."""

    def f(x):
        b = np.zeros(3, dtype=object)
        for i in range(3):
            b[i] = x[i]
        return np.sum(np.nan_to_num(b))

    xn = np.array([1.0, np.nan, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(f(xn)) and np.isnan(sg.value_and_grad(f)(xn)[0])

    def g(x):
        b = np.zeros_like(x, shape=(3,))
        for i in range(3):
            b[i] = x[i]
        return np.sum(np.nan_to_num(b))

    assert sg.value_and_grad(g)(xn)[0] == 4.0 == g(xn)


def test_summation_order_rounding_is_not_a_mismatch():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(40, 40)) * 1e3
    x = rng.normal(size=40)
    b = A @ x  # a residual that is zero up to rounding, in any summation order

    def residual(x):
        return np.sum((A @ x - b) * 1e-3) + np.sum(np.cumsum(x[::-1])[::-1] - np.cumsum(x))

    sg.value_and_grad(residual)(x)
    sg.jacobian(lambda v: A @ v - b)(x)


@pytest.mark.parametrize(
    "fn, name",
    [
        (lambda x: np.sum(x) + len(x.tobytes()), "tobytes"),
        (lambda x: np.sum(np.frombuffer(x)), "frombuffer"),
        (lambda x: np.sum(x.view(np.int64)), "view"),
        (lambda x: np.sum(np.bmat(x)), "bmat"),
    ],
)
def test_bytes_and_bmat_of_a_traced_array_raise_naming_them(fn, name):
    fn(np.eye(2))  # plain NumPy runs it
    with pytest.raises(TypeError, match=name):
        sg.value_and_grad(fn)(np.eye(2))
