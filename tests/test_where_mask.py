"""``where`` sends no gradient through the branch not taken, even where that branch's own
derivative is inf or NaN (API section 6), on every backend, through ``value_and_grad``,
``sg.Value`` and second derivatives. Oracles: mpmath at 50 digits (mpmath.diff of the branch
taken, which is what the program computes there) and hand-derived limits."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from helpers import HAVE_CC

import symgrad as sg
from symgrad.ir import count_ops

mpmath.mp.dps = 50
BACKENDS = ["python", "numpy"] + (["c"] if HAVE_CC else [])


@pytest.fixture(autouse=True)
def _cache(c_cache):
    return c_cache


def compiled_all(inputs, outputs):
    return {b: sg.compile(inputs, outputs, backend=b) for b in BACKENDS}


def as_float(v):
    return float(np.asarray(v).reshape(-1)[0]) if not isinstance(v, float) else v


@pytest.mark.parametrize("backend", BACKENDS)
def test_sqrt_branch_not_taken_gives_exactly_the_other_branch(backend):
    x = sg.Symbol("x")
    g = sg.gradient(sg.where(x > 0, sg.sqrt(x), -x), x)
    fn = sg.compile([x], g, backend=backend)
    assert as_float(fn(-1.0)) == -1.0 and as_float(fn(0.0)) == -1.0
    assert as_float(fn(4.0)) == 0.25
    assert sg.evaluate(g, {x: -1.0}) == -1.0 and sg.evaluate(g, {x: 0.0}) == -1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_x_log_x_guard_has_zero_gradient_off_its_domain(backend):
    x = sg.Symbol("x")
    f = sg.where(x > 0, x * sg.log(x), 0)
    g = sg.gradient(f, x)
    h = sg.gradient(g, x)
    fn = sg.compile([x], [g, h], backend=backend)
    for v in (-3.0, -1e-300, -0.0, 0.0):
        assert [as_float(t) for t in fn(v)] == [0.0, 0.0], v
    for v in (0.5, 2.0, 1e-200):  # taken: d = log x + 1, d2 = 1/x
        d, d2 = (as_float(t) for t in fn(v))
        assert d == pytest.approx(float(mpmath.log(v) + 1), rel=1e-14)
        assert d2 == pytest.approx(1.0 / v, rel=1e-14)


def test_signed_power_both_partials_match_mpmath():
    a, b = sg.symbols("a b")
    f = sg.where(a >= 0, a**b, (-a) ** b)
    grads = sg.gradient(f, [a, b])
    fns = compiled_all([a, b], grads)
    for av, bv in [(-2.0, 2.5), (2.0, 2.5), (-0.5, 3.0), (0.0, 2.5), (3.0, 0.0)]:
        am, bm = mpmath.mpf(av), mpmath.mpf(bv)
        want = [
            mpmath.diff(lambda t, bm=bm: abs(t) ** bm, am) if av else 0.0,
            mpmath.diff(lambda t, am=am: abs(am) ** t, bm) if av else 0.0,
        ]
        for name, fn in fns.items():
            got = [as_float(t) for t in fn(av, bv)]
            assert got == pytest.approx([float(w) for w in want], rel=1e-13, abs=1e-300), (
                name,
                av,
                bv,
            )


def test_sinc_guard_and_its_second_derivative():
    x = sg.Symbol("x")
    f = sg.where(sg.eq(x, 0), 1.0, sg.sin(x) / x)
    g = sg.gradient(f, x)
    (h,) = sg.hessian(f, [x])[0]
    fns = compiled_all([x], [f, g, h])
    for name, fn in fns.items():
        assert [as_float(t) for t in fn(0.0)] == [1.0, 0.0, 0.0], name  # the constant branch
        for v in (1e-3, 0.7, -2.0):
            want = [
                mpmath.sin(v) / v,
                mpmath.diff(lambda t: mpmath.sin(t) / t, v),
                mpmath.diff(lambda t: mpmath.sin(t) / t, v, 2),
            ]
            got = [as_float(t) for t in fn(v)]
            assert got == pytest.approx([float(w) for w in want], rel=1e-7), (name, v)


def test_hessian_through_where_has_no_leak():
    x, y = sg.symbols("x y")
    f = sg.where(x > 0, sg.sqrt(x) * y, -x * y * y)
    hess = sg.hessian(f, [x, y])
    fns = compiled_all([x, y], hess)
    for name, fn in fns.items():
        got = [[as_float(t) for t in row] for row in fn(-1.0, 3.0)]
        assert got == [[0.0, -6.0], [-6.0, 2.0]], name  # of -x y^2 at (-1, 3)
        got = [[as_float(t) for t in row] for row in fn(0.0, 3.0)]
        assert got == [[0.0, -6.0], [-6.0, 0.0]], name


def test_nested_wheres_compose():
    x = sg.Symbol("x")
    inner = sg.where(x < 1, sg.sqrt(1 - x) * sg.log(x), sg.log(x))
    f = sg.where(x > 0, inner, sg.sqrt(-x))
    g = sg.gradient(f, x)
    fns = compiled_all([x], g)

    def ref(t):
        if t > 0:
            return mpmath.sqrt(1 - t) * mpmath.log(t) if t < 1 else mpmath.log(t)
        return mpmath.sqrt(-t)

    for v in (-4.0, -1.0, 0.5, 2.0):
        want = float(mpmath.diff(ref, mpmath.mpf(v)))
        for name, fn in fns.items():
            assert as_float(fn(v)) == pytest.approx(want, rel=1e-13), (name, v)
    # x = 0 takes the outer else-branch, whose derivative is infinite there (honestly: the
    # sign follows IEEE's sqrt(-0.0) = -0.0), and none of the log branch's NaN
    assert math.isinf(sg.evaluate(g, {x: 0.0}))


def test_a_branch_never_taken_builds_nothing():
    x, y = sg.symbols("x y")
    c = x > 0
    f = sg.where(c, sg.where(c, x, sg.log(y)), 2 * x)  # the inner else needs c and not c
    assert sg.gradient(f, y) == sg.gradient(x, y)  # the constant 0


def test_graphs_without_where_build_no_where():
    x, y = sg.symbols("x y")
    f = sg.tanh(x * y) ** 2 + sg.exp(x) / y
    ops = {n.op for n in sg.ir.topo_order(sg.gradient(f, [x, y]))}
    assert sg.ops.Op.WHERE not in ops


def test_long_where_chains_stay_linear():
    x, w = sg.symbols("x w")
    v = x
    n = 3000
    for _ in range(n):
        v = sg.where(v > 0, v * w, sg.sqrt(v) * 0.5)
    g = sg.gradient(v, [x, w])
    assert count_ops(g) < 30 * n
    # at x = 1, w = 1 every step takes the first branch: d/dx = 1, d/dw = n
    assert sg.evaluate(g, {x: 1.0, w: 1.0}) == [1.0, float(n)]


def test_value_and_grad_through_where():
    vg = sg.value_and_grad(lambda t: sg.where(t > 0, sg.sqrt(t), -t))
    assert vg(-1.0) == (1.0, -1.0)
    assert vg(0.0)[1] == -1.0
    assert vg(4.0) == (2.0, 0.25)


def test_value_relu_adds_nothing_from_its_flat_side():
    x = sg.Value(-1.0)
    y = x.relu() ** 0.5  # d/d(relu) is inf at 0: the flat side must still give exactly 0
    y.backward()
    assert x.grad == 0.0
    xs = sg.Symbol("x")
    g = sg.gradient(sg.relu(xs) ** 0.5, xs)
    assert sg.evaluate(g, {xs: -1.0}) == 0.0


def test_value_pow_edges_match_the_ir():
    for base, ex in [(0.0, 2.0), (0.0, 0.5), (2.0, 3.0)]:
        e = sg.Value(ex)
        y = base**e
        y.backward()
        es = sg.Symbol("e")
        want = sg.evaluate(sg.gradient(base**es, es), {es: ex})
        assert e.grad == want, (base, ex)
    x = sg.Value(0.0)
    (x**0.5).backward()  # was ZeroDivisionError; the limit from the right
    assert x.grad == math.inf


def test_one_node_under_two_unrelated_masks():
    """sqrt(x) is used under x > 1 and under x > 4: its adjoint is masked by their union
    (an OR), so at x = -1, where neither holds and sqrt' is NaN, the gradient is exactly 0."""
    x = sg.Symbol("x")
    s = sg.sqrt(x)
    f = sg.where(x > 1, s, 0.0) + sg.where(x > 4, 2.0 * s, 0.0)
    g = sg.gradient(f, x)
    (h,) = sg.hessian(f, [x])[0]
    for name, fn in compiled_all([x], [g, h]).items():
        assert [as_float(t) for t in fn(-1.0)] == [0.0, 0.0], name
        assert [as_float(t) for t in fn(2.0)] == pytest.approx([0.5 / 2**0.5, -0.25 / 2**1.5])
        assert [as_float(t) for t in fn(9.0)] == pytest.approx([1.5 / 3, -0.75 / 27])
