"""The SymPy bridge and sg.verify."""

import math

import pytest
import sympy as sp

import symgrad as sg
from symgrad.autodiff import rules
from symgrad.ops import Op


def test_to_sympy_structure_and_names():
    x, y = sg.symbols("x y")
    out = sg.to_sympy([x * y, (sg.exp(x), 2.0)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    X, Y = sg.to_sympy(x), sg.to_sympy(y)
    assert out[0] == X * Y and out[1][0] == sp.exp(X) and out[1][1] == 2
    assert sg.to_sympy(x).name == "x" and isinstance(sg.to_sympy(x), sp.Symbol)


def test_distinct_symbols_sharing_a_name_stay_distinct_in_sympy():
    a, b = sg.Symbol("q"), sg.Symbol("q")
    sa, sb = sg.to_sympy(a), sg.to_sympy(b)
    assert sa != sb and sa.name == sb.name == "q"
    assert sg.to_sympy(a + b) != 2 * sa
    assert sg.to_sympy(a) is sa  # stable across calls


def test_from_sympy_round_trip_values():
    X, Y = sp.symbols("X Y")
    exprs = [
        X**2 + sp.sin(Y) / X,
        sp.exp(X) * sp.log(Y + 3),
        sp.sqrt(X**2 + 1),
        sp.tanh(X - Y),
        sp.Abs(X) + sp.Max(X, Y) - sp.Min(X, 2 * Y),
        sp.cos(X) ** -1 + sp.tan(Y),
        sp.Piecewise((X, X < Y), (Y**2, X < 2 * Y), (1, True)),
        sp.pi * X + sp.E,
        sp.atan2(Y, X) + sp.erf(X) + sp.asin(X / 10) + sp.cosh(Y),
    ]
    for e in exprs:
        x, y = sg.symbols("x y")
        mine = sg.from_sympy(e, {X: x, "Y": y})
        for px, py in [(0.7, 0.3), (-1.2, 0.9), (0.4, 2.5)]:
            want = float(e.subs({X: px, Y: py}).evalf(30))
            assert math.isclose(sg.evaluate(mine, {x: px, y: py}), want, rel_tol=1e-12), e


def test_from_sympy_unmapped_symbols_become_new_symbols():
    X = sp.Symbol("X")
    e = sg.from_sympy(X * X + 1)
    syms = sg.ir.free_symbols(e)
    assert len(syms) == 1 and syms[0].name == "X"


def test_from_sympy_unsupported_raises_naming_it():
    X = sp.Symbol("X")
    with pytest.raises(NotImplementedError, match="gamma"):
        sg.from_sympy(sp.gamma(X))
    with pytest.raises(TypeError, match="symbols"):
        sg.from_sympy(X, {X: 3.0})


def test_verify_reports_method_per_variable():
    x, y = sg.symbols("x y")
    report = sg.verify(sg.tanh(x * y) + x**2, [x, y])
    assert len(report) == 2 and set(report.methods) == {"x", "y"}
    assert all(m in ("symbolic", "numeric") for m in report.methods.values())
    assert report[x].method == "symbolic"
    relu_report = sg.verify(sg.relu(x * y) + sg.maximum(x, y), [x, y])
    assert relu_report[x].method == "numeric" and len(relu_report[x].points) >= 3
    assert "d/dx" in str(relu_report)


def test_verify_catches_a_wrong_rule(monkeypatch):
    x, y = sg.symbols("x y")
    monkeypatch.setitem(rules.RULES, Op.TANH, lambda out, g, need: (g * (1.0 + out * out),))
    with pytest.raises(sg.VerificationError) as info:
        sg.verify(sg.tanh(x) * y, [x, y])
    msg = str(info.value)
    assert "d/dx" in msg and "the oracle" in msg and "symgrad's gradient gives" in msg
    assert isinstance(info.value, AssertionError)


def test_verify_catches_a_wrong_rule_decided_numerically(monkeypatch):
    x = sg.Symbol("x")
    monkeypatch.setitem(
        rules.RULES, Op.RELU, lambda out, g, need: (sg.where(out.args[0] > 0, 2 * g, 0),)
    )
    with pytest.raises(sg.VerificationError, match="d/dx"):
        sg.verify(sg.relu(x) * sg.exp(x), [x])


def test_verify_rejects_non_symbols():
    x = sg.Symbol("x")
    with pytest.raises(TypeError):
        sg.verify(x * x, [x + 1])


def test_deep_nesting_is_decided_without_recursion_error():
    x = sg.Symbol("x")
    f = x
    for k in range(400):  # 400 levels: SymPy recurses past Python's limit; the oracle does not
        f = sg.sin(f) + 0.5 * x if k % 2 else sg.tanh(f) * 1.01
    report = sg.verify(f, [x], symbolic_time=2.0)
    assert report.ok and report[x].method in ("symbolic", "numeric")


def test_a_comparison_used_as_a_number_is_verified():
    x, y = sg.symbols("x y")
    report = sg.verify((x > y) - x, [x, y])
    assert report.ok and len(report) == 2


def test_the_mlp_loss_is_verified_by_the_oracle_in_linear_time():
    """113 derivatives of a 100-sample loss: past SymPy's size, straight to the oracle."""
    from benchmarks import workloads as W

    case = W.make_case("mlp", 100)
    ps = list(sg.symbols("w0:113"))
    f = W.mlp_loss(ps, case.data["xs"], case.data["ys"], sg.tanh)
    report = sg.verify(f, ps, points=1)
    assert report.ok and set(report.methods.values()) == {"numeric"} and len(report) == 113
