"""Derivatives at the edges of a domain are the limits (API section 6), against mpmath at 50
digits: pow at a zero or negative base, integer-valued exponents, constant bases."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from helpers import HAVE_CC

import symgrad as sg

mpmath.mp.dps = 50
BACKENDS = ["python", "numpy"] + (["c"] if HAVE_CC else [])


@pytest.fixture(autouse=True)
def _cache(c_cache):
    return c_cache


def run_all(inputs, outputs, *args):
    """Each backend's values (as floats, flattened), which must agree exactly."""
    got = []
    for b in BACKENDS:
        out = sg.compile(inputs, outputs, backend=b)(*args)
        got.append([float(np.asarray(v)) for v in (out if isinstance(out, list) else [out])])
    for g in got[1:]:
        assert g == pytest.approx(got[0], nan_ok=True, rel=1e-15)
    return got[0]


@pytest.mark.parametrize("yv", [0.5, 2.0, 3.7, 1e-3])
def test_zero_base_exponent_derivative_is_zero(yv):
    x, y = sg.symbols("x y")
    want = float(mpmath.diff(lambda t: mpmath.mpf(0) ** t, mpmath.mpf(yv)))
    assert want == 0.0
    for f in (0.0**y, x**y):
        dy = sg.gradient(f, y)
        d2 = sg.gradient(dy, y)
        assert run_all([x, y], [dy, d2], 0.0, yv) == [0.0, 0.0], f


@pytest.mark.parametrize(
    "xv, yv",
    [(0.0, 2.0), (0.0, 0.0), (2.0, 0.0), (-2.0, 3.0), (-2.0, 2.0), (-0.5, -3.0), (1.5, 2.5)],
)
def test_pow_partials_match_mpmath(xv, yv):
    x, y = sg.symbols("x y")
    dx, dy = sg.gradient(x**y, [x, y])
    got = run_all([x, y], [dx, dy], xv, yv)
    xm, ym = mpmath.mpf(xv), mpmath.mpf(yv)
    # d/dx: b x^(b-1) (with 0^0 = 1, x^0 is constant: 0)
    want_dx = 0.0 if yv == 0 else float(ym * xm ** (ym - 1))
    assert got[0] == pytest.approx(want_dx, rel=1e-14)
    if xv > 0:
        assert got[1] == pytest.approx(float(mpmath.diff(lambda t: xm**t, ym)), rel=1e-14)
    elif xv == 0 and yv > 0:
        assert got[1] == 0.0
    elif xv < 0:  # x^y is real only at integer y: no derivative in y, and no silent number
        assert math.isnan(got[1])


def test_integer_valued_float_exponent_on_negative_base():
    x = sg.Symbol("x")
    for k in (2.0, 3.0, -1.0, -2.0):
        g = sg.gradient(x**k, x)
        h = sg.gradient(g, x)
        got = run_all([x], [g, h], -1.5)
        xm = mpmath.mpf(-1.5)
        assert got == pytest.approx([float(k * xm ** (k - 1)), float(k * (k - 1) * xm ** (k - 2))])


def test_constant_bases():
    y = sg.Symbol("y")
    assert sg.evaluate(sg.gradient(1.0**y, y), {y: math.inf}) == 0.0  # 1**y == 1 everywhere
    g2 = sg.gradient(2.0**y, y)
    assert "where" not in str(g2)  # a positive constant base: log folds, no guard needed
    for yv in (-3.0, 0.0, 0.5, 10.0):
        want = float(mpmath.diff(lambda t: mpmath.mpf(2) ** t, mpmath.mpf(yv)))
        assert run_all([y], [g2], yv)[0] == pytest.approx(want, rel=1e-14)
    g0 = sg.gradient(0.0**y, y)
    assert run_all([y], [g0], 2.0) == [0.0]
