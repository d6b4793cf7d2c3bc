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
