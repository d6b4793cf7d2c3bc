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


@pytest.mark.parametrize(
    "xv, yv", [(2.0, 0.0), (1.0, 0.0), (0.5, 0.0), (1e-200, 2.0), (3.0, 1.5), (0.25, -2.0)]
)
def test_pow_second_partials_match_mpmath_on_the_guarded_lines(xv, yv):
    """The edge guards of d(x**y) hold at their points only: on the line y = 0 and where x**y
    underflows, the mixed partial x^(y-1) (1 + y log x) is finite and both orders give it."""
    x, y = sg.symbols("x y")
    h = sg.hessian(x**y, [x, y])
    got = run_all([x, y], [h[0][0], h[0][1], h[1][0], h[1][1]], xv, yv)
    xm, ym = mpmath.mpf(xv), mpmath.mpf(yv)
    want = [
        ym * (ym - 1) * xm ** (ym - 2),
        xm ** (ym - 1) * (1 + ym * mpmath.log(xm)),
        xm ** (ym - 1) * (1 + ym * mpmath.log(xm)),
        xm**ym * mpmath.log(xm) ** 2,
    ]
    for g, w in zip(got, want):
        assert g == pytest.approx(float(w), rel=1e-13, abs=1e-300)


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


# -- tails: derivatives that are normal floats where the naive forms round to 0 or overflow ---

MP = mpmath.mpf
TAILS = [
    ("sigmoid", sg.sigmoid, lambda t: mpmath.exp(-t) / (1 + mpmath.exp(-t)) ** 2,
     [37.0, 40.0, 300.0, -40.0, -300.0, 0.0, 0.3, -2.5, 15.0]),
    ("tanh", sg.tanh, lambda t: mpmath.sech(t) ** 2,
     [20.0, 19.0, -20.0, 5.0, 300.0, -350.0, 0.0, 0.3, -1.2, 3.0]),
    ("expm1", sg.expm1, mpmath.exp, [-40.0, -700.0, -37.0, 0.0, 1e-12, 2.0, 30.0]),
]  # fmt: skip


def rel_close(got: float, want, rel: float) -> bool:
    want = float(want)
    return got == want or abs(got - want) <= rel * abs(want)


@pytest.mark.parametrize("name, f, deriv, points", TAILS, ids=["sigmoid", "tanh", "expm1"])
def test_tails_keep_their_precision(name, f, deriv, points):
    x = sg.Symbol("x")
    g = sg.gradient(f(x), x)
    for p in points:
        want = deriv(MP(p))
        assert float(want) != 0.0  # a normal float, which the naive form rounded to 0
        for v in run_all([x], [g], p):
            assert rel_close(v, want, 1e-13), (name, p, v, float(want))


@pytest.mark.parametrize("name, f, deriv, points", TAILS, ids=["sigmoid", "tanh", "expm1"])
def test_tails_second_derivatives(name, f, deriv, points):
    x = sg.Symbol("x")
    (h,) = sg.hessian(f(x), [x])[0]
    for p in points:
        want = mpmath.diff(deriv, MP(p))
        if abs(want) < 1e-300:
            continue  # 0 at the centre (tanh, sigmoid): checked absolutely
        (v,) = run_all([x], [h], p)
        assert rel_close(v, want, 1e-12), (name, p, v, float(want))


@pytest.mark.parametrize("yv, xv", [(1e200, 3e199), (-4e300, 1e300), (1e-200, 2e-200), (3.0, -4.0),
                                    (5e-324, 1.0), (1e155, 1e155)])  # fmt: skip
def test_atan2_partials_neither_overflow_nor_underflow(yv, xv):
    y, x = sg.symbols("y x")
    gy, gx = sg.gradient(sg.atan2(y, x), [y, x])
    got = run_all([y, x], [gy, gx], yv, xv)
    ym, xm = MP(yv), MP(xv)
    r2 = xm * xm + ym * ym
    for v, want in zip(got, (xm / r2, -ym / r2)):
        assert rel_close(v, want, 1e-14), (yv, xv, v, float(want))


VALUE_TAILS = [("tanh", lambda t: mpmath.sech(t) ** 2),
               ("sigmoid", lambda t: mpmath.exp(-t) / (1 + mpmath.exp(-t)) ** 2)]  # fmt: skip


@pytest.mark.parametrize("name, want", VALUE_TAILS)
def test_value_tails_keep_their_precision(name, want):
    """The eager micrograd face (sg.Value) keeps the tails too: 1 - t*t and s*(1 - s) round to 0."""
    for p in (20.0, -20.0, 37.0, 40.0, 0.5):
        v = sg.Value(p)
        getattr(v, name)().backward()
        assert rel_close(v.grad, want(MP(p)), 1e-13), (name, p, v.grad)


@pytest.mark.parametrize("xv", [-math.inf, -0.0, 0.0, 4.0, -4.0, math.inf, math.nan])
def test_half_power_is_ieee_pow_on_every_backend(xv):
    """NumPy's power is sqrt at exponent 0.5 (nan at -inf, -0.0 at -0.0); IEEE pow, C's and
    sg.evaluate's, gives |x| at both: every backend gives pow's bits, batched or not."""
    x, y = sg.symbols("x y")
    outs = [x**0.5, x**y, 1 / x**0.5]
    want = [repr(float(sg.evaluate(o, {x: xv, y: 0.5}))) for o in outs]
    for b in BACKENDS:
        fn = sg.compile([x, y], outs, backend=b)
        assert [repr(float(v)) for v in fn(xv, 0.5)] == want, b
        if b != "python":
            batched = fn(np.array([xv, 2.0]), np.array([0.5, 0.5]))
            assert [repr(float(v[0])) for v in batched] == want, b
