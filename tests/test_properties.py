"""Hypothesis over random expressions built from the whole op table.

Compiled values (both backends) agree with ``sg.evaluate`` and with SymPy; gradients agree with
SymPy's ``diff`` and with central differences; Hessians (smaller expressions) with SymPy's
second derivatives; the NumPy backend on a batch equals the Python backend point by point.
Together these run more than 500 random expressions.
"""

import math

import numpy as np
from catalogue import ROWS
from helpers import central, close, smooth_at, sympy_diff, sympy_grad, sympy_value
from hypothesis import event, given, settings
from hypothesis import strategies as st

import symgrad as sg

X, Y, Z = sg.symbols("x y z")
SYMS = [X, Y, Z]
coords = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
consts = st.sampled_from([0.5, -1.5, 2.0, 3.0, -0.25, 1.0])


@st.composite
def expressions(draw, max_ops: int = 6):
    """A random DAG: each step applies a catalogue row to earlier nodes (or a constant)."""
    pool = list(SYMS)
    for _ in range(draw(st.integers(1, max_ops))):
        row = draw(st.sampled_from(ROWS))
        args = []
        for _ in range(row.arity):
            if draw(st.integers(0, 5)) == 0:
                args.append(sg.ir.const(draw(consts)))
            else:
                args.append(pool[draw(st.integers(0, len(pool) - 1))])
        pool.append(row.build(*args))
    return pool[-1] + 0.1 * pool[draw(st.integers(3, len(pool) - 1))]


# Derivatives are compared at generic points: an irrational offset keeps hypothesis's favourite
# values (0, equal coordinates) off the kinks of abs/relu/max, where symgrad's conventions
# (abs'(0) = 0 ...) differ from the smooth function a composition may happen to be.
OFFSETS = (0.1234567891, -0.2718281828, 0.3141592653)
points = st.tuples(coords, coords, coords).map(lambda p: tuple(a + b for a, b in zip(p, OFFSETS)))


@settings(max_examples=220)
@given(expressions(), st.lists(points, min_size=3, max_size=3))
def test_backends_agree_with_evaluate_and_sympy(f, pts):
    fn_py = sg.compile([X, Y, Z], f)
    fn_np = sg.compile([X, Y, Z], f, backend="numpy")
    arr = np.array(pts)
    batch = fn_np(arr[:, 0], arr[:, 1], arr[:, 2])
    assert batch.shape == (3,)
    f_sp = sg.to_sympy(f)
    for i, p in enumerate(pts):
        env = dict(zip(SYMS, p))
        want = sg.evaluate(f, env)
        got = fn_py(*p)
        assert isinstance(got, float)
        assert close(want, got, 1e-12, 1e-12), (f, p, want, got)
        assert close(got, float(batch[i]), 1e-9, 1e-9), (f, p, got, batch[i])
        if math.isfinite(want) and abs(want) < 1e12:
            ref = sympy_value(f_sp, env)
            assert close(want, ref, 1e-8, 1e-9), (f, p, want, ref)


@settings(max_examples=220)
@given(expressions(), points)
def test_gradient_agrees_with_sympy_and_finite_differences(f, p):
    point = dict(zip(SYMS, p))
    grad = sg.gradient(f, SYMS)
    fn = sg.compile([X, Y, Z], [f, grad])
    value, ours = fn(*p)
    want = [sg.evaluate(g, point) for g in grad]
    assert all(close(a, b, 1e-12, 1e-12) for a, b in zip(ours, want))
    if not (math.isfinite(value) and abs(value) < 1e4 and smooth_at(f, SYMS, point)):
        event("skipped: kink, pole or overflow")
        return  # derivatives are not comparable here
    event("compared with SymPy and finite differences")
    ref = sympy_grad(f, SYMS, point)
    fd = central(f, SYMS, point, 1e-6)
    for a, b, c in zip(ours, ref, fd):
        if math.isnan(b):
            continue  # SymPy leaves Heaviside/Derivative unevaluated at a tie
        assert close(a, b, 1e-7, 1e-8), (f, p, ours, ref)
        assert close(a, c, 1e-4, 1e-4), (f, p, ours, fd)


@settings(max_examples=80)
@given(expressions(max_ops=4), points)
def test_hessian_agrees_with_sympy(f, p):
    point = dict(zip(SYMS, p))
    hess = sg.hessian(f, SYMS)
    fn = sg.compile([X, Y, Z], hess)
    ours = fn(*p)
    value = sg.evaluate(f, point)
    if not (math.isfinite(value) and abs(value) < 1e6 and smooth_at(f, SYMS, point)):
        return
    f_sp = sg.to_sympy(f)
    s_sp = [sg.to_sympy(s) for s in SYMS]
    for i in range(3):
        for j in range(3):
            if not math.isfinite(ours[i][j]):
                continue
            ref = sympy_value(sympy_diff(f_sp, s_sp[i], s_sp[j]), point)
            if math.isnan(ref):
                continue
            assert close(ours[i][j], ref, 1e-6, 1e-7), (f, p, i, j, ours[i][j], ref)
            assert close(ours[i][j], ours[j][i], 1e-6, 1e-7)


@settings(max_examples=60)
@given(expressions(), st.lists(points, min_size=4, max_size=4))
def test_numpy_batch_equals_python_pointwise_in_two_batch_axes(f, pts):
    grad = sg.gradient(f, SYMS)
    fn_py = sg.compile([[X, Y, Z]], [f, grad])
    fn_np = sg.compile([[X, Y, Z]], [f, grad], backend="numpy")
    arr = np.array(pts).reshape(2, 2, 3)
    val, g = fn_np(arr)
    assert val.shape == (2, 2) and all(gi.shape == (2, 2) for gi in g)
    for i in range(2):
        for j in range(2):
            v, gp = fn_py(list(arr[i, j]))
            assert close(v, float(val[i, j]), 1e-9, 1e-9)
            assert all(close(a, float(b[i, j]), 1e-9, 1e-9) for a, b in zip(gp, g))
