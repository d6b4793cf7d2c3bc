"""Regressions found by the random-expression tests: each returned a wrong number or raised."""

import math

import numpy as np
import pytest
from helpers import needs_cc

import symgrad as sg


def test_python_rerun_divides_two_literals_ieee_style():
    # where() picks a literal on both sides, so the division is literal / literal: the IEEE
    # rerun must not raise ZeroDivisionError there (it returned nothing but a traceback).
    x, y = sg.symbols("x y")
    t1 = -sg.sinh(y)
    t3 = sg.where(-t1 < -2.0, sg.where(t1 < -2.0, t1, -3.5), -3.5)
    e = t3 / sg.relu(t1) + sg.log(x)
    fn = sg.compile([x, y], e)
    assert fn(710.0, 1.0) == sg.evaluate(e, {x: 710.0, y: 1.0}) == -math.inf
    assert fn(0.0, 1.0) == -math.inf


_SPECIAL = [0.0, -0.0, 2.0, -1.5, math.inf, -math.inf, math.nan]


def _predicate_cases():
    x, y = sg.symbols("x y")
    raises = sg.sqrt(x) + sg.log(x) + 1.0 / x  # math raises for x <= 0: the IEEE rerun runs
    return (x, y), [
        sg.where(sg.isnan(y), 0.0, y) + 0.0 * raises,
        sg.where(sg.isfinite(y), y, -1.0) + 0.0 * raises,
        sg.where(sg.logical_not(sg.isnan(raises)), 1.0, 2.0),
        sg.where(sg.logical_and(sg.isfinite(y), y > 0), y, 3.0) * raises,
        sg.where(sg.logical_or(sg.isnan(y), sg.isnan(raises)), 5.0, y),
        sg.nan_to_num(sg.log(x)) + y,
        sg.logsumexp([x, y]),
        sg.gradient(sg.nan_to_num(sg.log(x)) * y, x),
    ]


@pytest.mark.parametrize("k", range(8))
def test_python_rerun_keeps_predicates_true_and_false(k):
    """isnan / isfinite inside the IEEE rerun (run when math raised somewhere in the call):
    the lifted predicate's truth is its value's, so every branch is the one sg.evaluate takes
    (it came out true always, a silently wrong value: where(isnan(2.0), 0, 2.0) gave 0)."""
    (x, y), cases = _predicate_cases()
    e = cases[k]
    fns = [sg.compile([x, y], e, backend=b) for b in ("python", "numpy")]
    for a in _SPECIAL:
        for b in _SPECIAL:
            want = sg.evaluate(e, {x: a, y: b})
            for fn in fns:
                got = float(fn(a, b))
                same = got == want and math.copysign(1, got) == math.copysign(1, want)
                assert same or (math.isnan(got) and math.isnan(want)), (fn, a, b, got, want)


@needs_cc
@pytest.mark.parametrize("outer", [sg.sin, sg.cos])
def test_c_keeps_nan_through_trig_of_atan(outer, c_cache):
    # GCC with -fno-math-errno folds sin(atan(x)) to a form that maps NaN to 1 (cos: to 0).
    x = sg.Symbol("x")
    e = outer(sg.atan(sg.log(x)))
    fn = sg.compile([x], e, backend="c")
    xs = np.array([-1.0, np.nan, 2.0, 3.0, -2.0, 0.5, np.inf, 7.0])
    want = np.array([sg.evaluate(e, {x: float(v)}) for v in xs])
    np.testing.assert_allclose(fn(xs), want, rtol=1e-14, atol=0)  # NaN where NaN
    assert math.isnan(fn(-1.0))


@pytest.mark.parametrize("backend", ["numpy", pytest.param("c", marks=needs_cc)])
def test_signed_zeros_of_max_min_relu_agree_across_backends(backend, request):
    """On a tie NumPy's maximum/minimum give their second argument, the reference its first:
    the NumPy backend printed np.maximum(a, b), so relu(-0.0) was +0.0 there, -0.0 elsewhere."""
    if backend == "c":
        request.getfixturevalue("c_cache")
    x, y = sg.symbols("x y")
    outs = [sg.relu(x), sg.maximum(x, y), sg.minimum(x, y), sg.maximum(y, 0.0) - 0.0 * x]
    pairs = [(a, b) for a in _SPECIAL for b in _SPECIAL]
    X = np.array([a for a, _ in pairs])
    Y = np.array([b for _, b in pairs])
    fn = sg.compile([x, y], outs, backend=backend)
    got = fn(X, Y) if backend == "numpy" else None
    for k, (a, b) in enumerate(pairs):
        want = [sg.evaluate(o, {x: a, y: b}) for o in outs]
        row = [g[k] for g in got] if got is not None else fn(a, b)
        for w, v in zip(want, row):
            assert (math.isnan(w) and math.isnan(v)) or (
                w == v and math.copysign(1, w) == math.copysign(1, v)
            ), (a, b, want, row)
