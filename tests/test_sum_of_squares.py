"""``sqrt(s)**2`` of a sum of squares is ``s``: norm(w)**2 has the gradient 2w at w = 0 (not
NaN) and the Hessian 2I, on every backend; anything that is not a sum of squares (where the
rewrite would change a value) is left as built."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

import symgrad as sg
from symgrad.ir import squares
from symgrad.ops import Op

BACKENDS = ["python", "numpy"] + (["c"] if shutil.which("cc") or shutil.which("gcc") else [])
NORM_SQUARED = {
    "norm**2": lambda w: np.linalg.norm(w) ** 2,
    "square(norm)": lambda w: np.square(np.linalg.norm(w)),
    "norm*norm": lambda w: np.linalg.norm(w) * np.linalg.norm(w),
    "sqrt(sum(w**2))**2": lambda w: np.sqrt(np.sum(w**2)) ** 2,
    "frobenius**2": lambda w: np.linalg.norm(w.reshape(2, 2), "fro") ** 2,
    "sqrt(w @ w + 1)**2": lambda w: np.sqrt(w @ w + 1.0) ** 2,
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(NORM_SQUARED))
def test_gradient_at_zero_and_elsewhere_is_2w(name, backend):
    f = sg.value_and_grad(NORM_SQUARED[name], backend=backend)
    for w in (np.zeros(4), np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.0, 1e-200, 0.0, 0.0])):
        value, grad = f(w.copy())
        assert value == pytest.approx(NORM_SQUARED[name](w), rel=1e-15, abs=1e-300)
        np.testing.assert_array_equal(grad, 2 * w)  # the closed form, exactly


def test_hessian_at_zero_is_2i():
    for name, fn in NORM_SQUARED.items():
        np.testing.assert_array_equal(sg.hessian(fn)(np.zeros(4)), 2 * np.eye(4), err_msg=name)


def test_symbolic_forms_rewrite_only_sums_of_squares():
    x, y = sg.symbols("x y")
    s = x * x + y**2 + 3.0
    assert sg.sqrt(s) ** 2 is s and sg.sqrt(s) * sg.sqrt(s) is s
    for not_squares in (x * y, x * x - 1.0, x * x + y, -(x * x), x * x * 2.0, x * x + (-1.0)):
        e = sg.sqrt(not_squares) ** 2
        assert e is not not_squares and e.op is Op.POW, str(not_squares)
    assert (sg.sqrt(s) ** 3).op is Op.POW and sg.sqrt(s) * sg.sqrt(x * x + 1.0) is not s


def test_values_that_differ_are_left_alone():
    # sqrt(x*x - 1)**2 is NaN at x = 0 (sqrt of -1); the rewrite to x*x - 1 would say -1
    x = sg.symbols("x")
    f = sg.compile([x], sg.sqrt(x * x - 1.0) ** 2)
    assert math.isnan(f(0.0))
    g = sg.compile([x], sg.sqrt(x * x) ** 2)  # rewritten: x*x, and -0.0 * -0.0 is +0.0
    assert g(-0.0) == 0.0 and math.copysign(1.0, g(-0.0)) == 1.0
    assert g(math.inf) == math.inf and math.isnan(g(math.nan))


def test_a_long_sum_is_checked_without_recursion_and_a_bound_gives_up(monkeypatch):
    xs = sg.symbols("x0:100000")
    s = xs[0] * xs[0]
    for v in xs[1:]:
        s = s + v * v
    assert sg.sqrt(s) ** 2 is s
    monkeypatch.setattr(squares, "LIMIT", 1000)
    t = s + xs[0] ** 2
    e = sg.sqrt(t) ** 2
    assert e is not t and e.op is Op.POW  # gave up: as built, still correct
