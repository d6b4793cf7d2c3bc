"""Conditions (API section 6): sg.eq, sg.ne, & | ~ and sg.logical_*, on every backend (the C tape
interpreter too), in the SymPy bridge, and the TypeError for a Python bool where a condition is
expected (``==`` on expressions is structural)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from helpers import HAVE_CC

import symgrad as sg
from symgrad.backends.c import abi
from symgrad.ops import INFO, Op

BACKENDS = ["python", "numpy"] + (["c"] if HAVE_CC else [])
VALUES = [-1.0, 0.0, -0.0, 2.0, math.inf, math.nan]


@pytest.fixture(autouse=True)
def _cache(c_cache):
    return c_cache


def conditions(x, y):
    return [
        sg.eq(x, y),
        sg.ne(x, y),
        (x > 0) & (y < 1),
        (x > 0) | sg.eq(y, 2),
        ~(x < y),
        ~((x >= 0) & sg.ne(y, 0)) | sg.eq(x, y),
        sg.logical_and(x, y),  # numbers mean "!= 0" (NaN is true, as in C and NumPy)
        sg.logical_or(x, 0.0),
        sg.logical_not(y),
    ]


def truth(x, y):
    def nz(v):
        return v != 0

    return [
        x == y,
        x != y,
        x > 0 and y < 1,
        x > 0 or y == 2,
        not x < y,
        (not (x >= 0 and y != 0)) or x == y,
        nz(x) and nz(y),
        nz(x),
        not nz(y),
    ]


@pytest.mark.parametrize("vm", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_conditions_as_values_and_in_where(backend, vm, monkeypatch):
    if vm and backend != "c":
        pytest.skip("the tape interpreter is the c backend's")
    if vm:
        monkeypatch.setattr(abi, "VM_MIN_OPS", 1)
    x, y = sg.symbols("x y")
    conds = conditions(x, y)
    outs = conds + [sg.where(c, x + 1.0, y * 2.0) for c in conds]
    fn = sg.compile([x, y], outs, backend=backend)
    pts = list(itertools.product(VALUES, VALUES))
    batch = None
    if backend != "python":
        batch = fn(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    for i, (a, b) in enumerate(pts):
        want = [1.0 if t else 0.0 for t in truth(a, b)]
        want += [a + 1.0 if t else b * 2.0 for t in truth(a, b)]
        assert sg.evaluate(outs, {x: a, y: b}) == pytest.approx(want, nan_ok=True), (a, b)
        got = [float(v) for v in fn(a, b)] if backend == "python" else [float(v[i]) for v in batch]
        assert got == pytest.approx(want, nan_ok=True), (backend, a, b)


def test_ops_are_conditions_with_no_gradient():
    for op in (Op.EQ, Op.NE, Op.AND, Op.OR, Op.NOT):
        assert INFO[op].is_condition
    x, y = sg.symbols("x y")
    f = sg.where(sg.eq(x * y, 1.0) & ~(x > y), x * x, y)
    env = {x: 0.5, y: 2.0}
    assert sg.evaluate(sg.gradient(f, [x, y]), env) == [1.0, 0.0]
    env = {x: 2.0, y: 1.0}
    assert sg.evaluate(sg.gradient(f, [x, y]), env) == [0.0, 1.0]


def test_structural_equality_stays_a_bool_and_where_refuses_it():
    x, y = sg.symbols("x y")
    assert (x + y == y + x) is True and (x == y) is False and (x != y) is True
    for bad in (x == y, x != y, True, False, np.bool_(True)):
        with pytest.raises(TypeError, match="sg.eq"):
            sg.where(bad, 1.0, 0.0)
        with pytest.raises(TypeError, match="sg.eq"):
            sg.logical_and(bad, x > 0)
        with pytest.raises(TypeError, match="sg.eq"):
            _ = (x > 0) & bad
    assert sg.where(1, x, y) is x and sg.where(0.0, x, y) is y  # numbers are fine
    arr = np.array([x, y], dtype=object)
    with pytest.raises(TypeError, match="sg.eq"):
        sg.where(arr == 0, arr, 0.0)  # an elementwise structural comparison


def test_operators_need_conditions():
    x, y = sg.symbols("x y")
    with pytest.raises(TypeError, match="combines conditions"):
        _ = x & y
    with pytest.raises(TypeError, match="combines conditions"):
        _ = ~x
    with pytest.raises(TypeError, match="unknown until run time"):
        bool(sg.eq(x, y))
    one = sg.ir.const(1.0)
    assert ((x > 0) & (one > 0.5)) is (x > 0)  # a folded comparison is a constant: fine
    assert ((x > 0) | 0.0) is (x > 0)


def test_numpy_object_arrays_combine_elementwise():
    xs = np.array(sg.symbols("a b c"), dtype=object)
    c = np.greater(xs, 0, dtype=object) & np.less(xs, 1, dtype=object)
    out = sg.where(c, xs, -xs)
    vals = [sg.evaluate(o, {s: v for s, v in zip(xs, (0.5, 2.0, -1.0))}) for o in out]
    assert vals == [0.5, -2.0, 1.0]


def test_sympy_bridge_both_ways():
    x, y = sg.symbols("x y")
    f = sg.where(sg.eq(x, y) | ~(x > 0) & sg.ne(y, 2), x * y, x - y)
    s = sg.to_sympy(f)
    back = sg.from_sympy(s, {"x": x, "y": y})
    for a, b in itertools.product([-1.0, 0.0, 2.0, 3.0], repeat=2):
        env = {x: a, y: b}
        want = sg.evaluate(f, env)
        assert sg.evaluate(back, env) == want
        sym = {sym_: v for sym_, v in zip(sorted(s.free_symbols, key=str), (a, b))}
        assert float(s.subs(sym)) == want


def test_sympy_of_a_comparison_of_a_where():
    """A where inside a where's condition: SymPy's own rewrite of such a condition runs its
    inequality solver and raised AttributeError from inside; the bridge writes it as logic."""
    x = sg.symbols("x")
    inner = sg.where(sg.eq(sg.round(1.5 * x) + x * x, 0.5), x * x, 0.5 * x)
    f = sg.where(0.5 < inner, 0.5 * inner, 0.5 + inner) + 0.1
    s = sg.to_sympy(f)
    (sx,) = s.free_symbols
    for v in [-2.0, -0.5, 0.1234567891, 0.5, 1.0, 3.0, -0.7071067811865476]:
        assert float(s.subs(sx, v)) == pytest.approx(sg.evaluate(f, {x: v}), rel=1e-15)
    assert sg.verify(f, [x]).ok


def test_maths_text_parenthesizes_comparisons():
    x, y = sg.symbols("x y")
    assert str((x > 0) & ~sg.eq(x, y) | (y < 1)) == "(x > 0) & ~(x == y) | (y < 1)"
