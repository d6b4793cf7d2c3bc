"""The Python backend's source is what a person would write: one body, even for programs
whose math can raise (the IEEE-754 rerun runs the same code again), and it still returns
IEEE results (log(0) = -inf, 1/0 = inf ...) exactly as ``sg.evaluate`` does (issue 16)."""

from __future__ import annotations

import itertools
import math

import pytest

import symgrad as sg
from symgrad.backends import python as py_backend
from symgrad.ir import make
from symgrad.ops import INFO, Op

POINTS = [0.0, -0.0, -1.0, 1.0, 2.5, -3.0, 1e308, -1e308, 800.0, math.inf, -math.inf, math.nan]


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_one_body_for_programs_that_can_raise():
    x, y = sg.symbols("x y")
    f = sg.log(x) / y + sg.sin(x) * sg.cos(y) + sg.exp(x) ** y + sg.sqrt(y)
    src = sg.compile([x, y], [f, sg.gradient(f, [x, y])]).source
    assert src.count("def f(") == 1 and "f_ieee" not in src and "_ieee_part" not in src
    body = src[src.index("def f(") :]
    assert body.count("log(x)") == 1  # the body is printed once
    assert "_rerun(f, (x, y)" in src


RAISING = [op for op, info in INFO.items() if "python_ieee" in info.templates]


@pytest.mark.parametrize("op", RAISING, ids=lambda op: op.value)
def test_every_raising_op_gives_ieee_results(op):
    x, y = sg.symbols("x y")
    args = (x, y)[: INFO[op].arity]
    e = make(op, args)
    outs = [e, 1.0 / e, e * x - y, sg.gradient(e, list(args))]
    fn = sg.compile([x, y], outs)
    for a, b in itertools.product(POINTS, repeat=2):
        got = fn(a, b)
        want = sg.evaluate(outs, {x: a, y: b})
        flat_got = [*got[:3], *got[3]]
        flat_want = [*want[:3], *want[3]]
        assert all(type(v) is float for v in flat_got)
        assert all(map(same, flat_got, flat_want)), (op, a, b, flat_got, flat_want)


def test_rerun_with_list_inputs_and_nested_outputs():
    w = list(sg.symbols("w0:3"))
    x = sg.Symbol("x")
    f = sg.log(w[0] * x) / w[1] + w[2]
    fn = sg.compile([w, x], [f, (sg.gradient(f, w),)])
    got = fn([0.0, 0.0, 1.0], 2.0)  # log(0) / 0: raises in math
    want = sg.evaluate([f, (sg.gradient(f, w),)], dict(zip([*w, x], [0.0, 0.0, 1.0, 2.0])))
    assert isinstance(got[1], tuple) and isinstance(got[1][0], list)
    assert all(map(same, [got[0], *got[1][0]], [want[0], *want[1][0]]))


def test_rerun_of_a_split_program(monkeypatch):
    monkeypatch.setattr(py_backend, "SPLIT_LINES", 4)
    monkeypatch.setattr(py_backend, "PART_LINES", 2)
    x, y = sg.symbols("x y")
    f = sg.log(x) * y
    for k in range(6):
        f = sg.sin(f) / (y + k) + sg.exp(x * k)
    fn = sg.compile([x, y], [f, sg.gradient(f, [x, y])])
    assert "def _part0(" in fn.source
    for a, b in [(0.0, 1.0), (1.0, 0.0), (0.5, 2.0), (-1.0, -2.0)]:
        got = fn(a, b)
        want = sg.evaluate([f, sg.gradient(f, [x, y])], {x: a, y: b})
        assert all(map(same, [got[0], *got[1]], [want[0], *want[1]])), (a, b)


def test_division_by_zero_in_the_body():
    x, y = sg.symbols("x y")
    fn = sg.compile([x, y], [x / y, -x / y, (x - x) / y])
    assert fn(1.0, 0.0)[:2] == [math.inf, -math.inf]
    assert math.isnan(fn(0.0, 0.0)[0])
    assert Op.DIV.value in fn.stats["by_op"]
