"""The verification oracle: its op table is complete and right, and its forward mode is exact.

The table's entries are checked against mpmath's own numerical differentiation (``mpmath.diff``,
a different method again), so a wrong partial in the oracle is caught here, not trusted.
"""

import math

import mpmath
import pytest

import symgrad as sg
from symgrad.ops import INFO, Op
from symgrad.verification.oracle import context, evaluate_jets
from symgrad.verification.oracle_ops import ENTRIES, SELECTS, entry

M = context(40)
KINKED = {"abs", "sign", "relu", "maximum", "minimum", "fmax", "fmin", "floor", "ceil", "round"}
KINKED |= {"mod", "where", "nan_to_num"}
# Arguments inside every domain (acosh needs a > 1).
POINTS = {1: [(0.3,), (0.55,), (-0.45,)], 2: [(0.3, 0.7), (0.55, 1.3), (-0.45, 0.8)]}
DOMAIN = {
    "acosh": [(1.3,), (2.5,)],
    "log": [(0.3,), (2.0,)],
    "log2": [(0.3,)],
    "log10": [(0.3,)],
    "sqrt": [(0.3,), (2.0,)],
    "pow": [(0.3, 0.7), (1.7, -1.3)],
}


def test_every_op_of_the_table_has_an_oracle_entry():
    missing = [op.value for op in INFO if op.value not in ENTRIES]
    assert not missing, f"add oracle entries (verification/oracle_ops.py) for {missing}"
    for op in INFO:
        assert entry(op) is ENTRIES[op.value]


@pytest.mark.parametrize("op", [op for op in INFO if not INFO[op].is_condition], ids=str)
def test_oracle_partials_match_mpmath_numerical_differentiation(op):
    name, arity = op.value, INFO[op].arity
    e = ENTRIES[name]
    if name in SELECTS:
        return  # where: selection, checked in the forward-mode tests
    for args in DOMAIN.get(name, POINTS[arity]):
        xs = [M.mpf(a) for a in args]
        out = e.value(M, *xs)
        d1 = e.d1(M, out, *xs)
        d2 = e.d2(M, out, *xs)
        for i in range(arity):
            num = _diff(e, xs, (i,))
            assert abs(d1[i] - num) <= 1e-20 * max(1, abs(num)), (name, args, i)
            for j in range(i, arity):
                num2 = _diff(e, xs, (i, j))
                got = d2.get((i, j), 0)
                assert abs(got - num2) <= 1e-15 * max(1, abs(num2)), (name, args, i, j)


def _diff(e, xs, which):
    order = [0] * len(xs)
    for k in which:
        order[k] += 1
    return M.diff(lambda *a: e.value(M, *a), tuple(xs), tuple(order))


def test_oracle_values_match_the_float_evaluator():
    for op in INFO:
        info = INFO[op]
        e = ENTRIES[op.value]
        args = (1.0, 0.3, 0.7)[: info.arity] if op is Op.WHERE else (0.3, 0.7, 0.2)[: info.arity]
        want = info.on_floats(*args)
        got = float(e.value(M, *[M.mpf(a) for a in args]))
        if math.isnan(want):  # outside the domain (acosh(0.3)): both NaN
            assert math.isnan(got), op
            continue
        assert abs(got - want) <= 1e-14 * max(1.0, abs(want)), op


def test_kinks_follow_the_contract():
    assert ENTRIES["relu"].d1(M, M.zero, M.zero) == (0,)
    assert ENTRIES["abs"].d1(M, M.zero, M.zero) == (0,)
    half = M.mpf(0.5)
    assert ENTRIES["maximum"].d1(M, M.one, M.one, M.one) == (half, half)
    assert ENTRIES["minimum"].d1(M, M.one, M.one, M.one) == (half, half)


def _jets(f, env, wrt, second=False):
    dirs = {s.serial: {k: 1} for k, s in enumerate(wrt)}
    return evaluate_jets([f], {s.serial: v for s, v in env.items()}, dirs, M, second=second)


def test_forward_mode_matches_mpmath_diff_with_second_order():
    x, y = sg.symbols("x y")
    f = sg.tanh(x * y) + x**3 * sg.exp(y) + sg.atan2(y, x) / sg.sqrt(x) + sg.softplus(x - y)
    j = _jets(f, {x: 0.7, y: -0.3}, [x, y], second=True)

    def F(a, b):
        return (
            mpmath.tanh(a * b)
            + a**3 * mpmath.exp(b)
            + mpmath.atan2(b, a) / mpmath.sqrt(a)
            + (mpmath.log1p(mpmath.exp(a - b)))
        )

    s = f.serial
    with mpmath.workdps(40):
        p = (mpmath.mpf(0.7), mpmath.mpf(-0.3))
        assert abs(j.value[s] - F(*p)) < 1e-35
        for k, order in enumerate([(1, 0), (0, 1)]):
            assert abs(j.d1[s][k] - mpmath.diff(F, p, order)) < 1e-25
        for key, order in {(0, 0): (2, 0), (0, 1): (1, 1), (1, 1): (0, 2)}.items():
            assert abs(j.d2[s][key] - mpmath.diff(F, p, order)) < 1e-20


def test_where_passes_no_tangent_from_the_branch_not_taken():
    x = sg.Symbol("x")
    f = sg.where(x > 0, sg.sqrt(x), -x)  # sqrt' is NaN at x < 0: it must not leak
    for v, want in [(-1.0, -1), (0.0, -1), (4.0, 0.25)]:
        j = _jets(f, {x: v}, [x], second=True)
        assert j.d1[f.serial][0] == want


def test_deep_graph_is_walked_without_recursion():
    x = sg.Symbol("x")
    y = x
    for _ in range(10_000):  # 30,000 nodes, each one level deeper (the limit is ~1,000 frames)
        y = y - 1e-5 * (y * y)
    j = _jets(y, {x: 0.7}, [x])
    assert 0 < j.d1[y.serial][0] < 1


def test_chained_sum_reuses_the_running_tangents():
    xs = sg.symbols("x0:300")
    total = xs[0] * xs[0]
    for v in xs[1:]:
        total = total + v * v
    j = _jets(total, {v: float(k) for k, v in enumerate(xs)}, list(xs))
    assert [j.d1[total.serial].get(k, 0) for k in range(300)] == [2 * k for k in range(300)]
