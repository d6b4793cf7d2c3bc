"""sg.Value: micrograd's semantics, the tutorial's own code and numbers, deep graphs, and the
bridge to the IR (leaf Values as compile inputs, Values as outputs)."""

from __future__ import annotations

import importlib.util
import math
import pathlib
import random

import pytest
from micrograd_reference import RefValue, close

import symgrad as sg
from symgrad import Value

HERE = pathlib.Path(__file__).parent


def load_tutorial(engine=None):
    """A fresh copy of tests/tutorial_code.py; ``engine`` replaces its ``Value`` if given."""
    spec = importlib.util.spec_from_file_location("tutorial_code_copy", HERE / "tutorial_code.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if engine is not None:
        mod.Value = engine
    return mod


# -- the tutorial, run unchanged ----------------------------------------------------------------


def test_tutorial_hand_worked_graph_gives_the_tutorials_numbers():
    tut = load_tutorial()
    assert tut.Value is Value
    a, b, c, d, e, f, L = tut.hand_worked_graph()
    assert repr(L) == "Value(data=-8.0)"
    L.backward()
    got = {v.label: v.grad for v in (L, f, d, c, e, b, a)}
    assert got == {"L": 1, "f": 4.0, "d": -2.0, "c": -2.0, "e": -2.0, "b": -4.0, "a": 6.0}
    assert tut.slope_by_hand() == pytest.approx(6.000000000021544, abs=1e-12)


def test_tutorial_manual_backward_sequence():
    # The tutorial first calls each node's _backward by hand, in reverse order.
    a, b, c, d, e, f, L = load_tutorial().hand_worked_graph()
    L.grad = 1
    L._backward()
    assert (d.grad, f.grad) == (-2.0, 4.0)
    for node in (d, f, e, c, b, a):
        node._backward()
    assert (a.grad, b.grad, c.grad, e.grad) == (6.0, -4.0, -2.0, -2.0)


def test_tutorial_network_and_training_loop_match_reference_micrograd(capsys):
    ours, ref = load_tutorial(), load_tutorial(RefValue)
    random.seed(12)
    X, y = ours.make_data()
    X, y = X[:40], y[:40]

    random.seed(3)
    net = ours.MLP(3, [6, 6, 1])
    out = net([2, 3, 4])
    assert isinstance(out, Value) and repr(out).startswith("Value(data=")
    assert len(net.parameters()) == 4 * 6 + 7 * 6 + 7
    layer = ours.Layer(3, 3)
    assert len(layer([2, 3, 4])) == 3 and len(layer.parameters()) == 12

    random.seed(7)
    _, losses = ours.train(X, y, epochs=8)
    printed = capsys.readouterr().out.splitlines()
    random.seed(7)
    _, ref_losses = ref.train(X, y, epochs=8)
    assert printed[0] == f"Epoch 0, Loss: Value(data={losses[0]})"
    assert len(printed) == 8
    assert all(close(a, b, 1e-9) for a, b in zip(losses, ref_losses)), (losses, ref_losses)
    assert losses[-1] < losses[0]  # it trains


# -- micrograd semantics --------------------------------------------------------------------------


def _both(build):
    """Run ``build(Engine)`` -> (leaves, out) with sg.Value and RefValue; backward on each."""
    res = []
    for engine in (Value, RefValue):
        leaves, out = build(engine)
        out.backward()
        res.append((leaves, out))
    return res


@pytest.mark.parametrize(
    "build",
    [
        lambda V: (lambda a, b: ([a, b], a * b + a / b - b**3))(V(1.5), V(-0.7)),
        lambda V: (lambda a, b: ([a, b], 2 - a + 3 / b + 2 * a - (-b)))(V(0.4), V(2.5)),
        lambda V: (lambda a, b: ([a, b], (a * b).tanh() + (a - b).exp() + (a * a).log()))(
            V(0.3), V(-1.2)
        ),
        lambda V: (lambda a, b: ([a, b], (a * b).relu() + (a + b).relu() + (a - b).sigmoid()))(
            V(0.8), V(-1.3)
        ),
        lambda V: (lambda a: ([a], a * a * a + a**0.5 + (a**-2)))(V(1.7)),
    ],
)
def test_operators_and_functions_match_micrograd(build):
    (ours, out), (ref, ref_out) = _both(build)
    assert close(out.data, ref_out.data)
    for v, r in zip(ours, ref):
        assert close(v.grad, r.grad), (v.grad, r.grad)


def test_backward_accumulates_like_micrograd():
    # A second backward() adds again, through intermediate grads too (micrograd's behaviour).
    res = []
    for V in (Value, RefValue):
        a, b, c = V(2.0), V(-3.0), V(0.5)
        L = (a * b) * c
        L.backward()
        L.backward()
        res.append((a.grad, b.grad, c.grad))
    assert res[0] == pytest.approx(res[1], rel=1e-12)
    assert res[0][0] == pytest.approx(3 * -3.0 * 0.5)


def test_relu_kink_and_shared_operand():
    x = Value(0.0)
    y = x.relu()
    y.backward()
    assert x.grad == 0.0  # relu'(0) = 0
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0


def test_reflected_operators_and_repr():
    v = Value(4.0)
    assert repr(v) == "Value(data=4.0)"
    assert (2 + v).data == 6.0 and (2 - v).data == -2.0
    assert (2 * v).data == 8.0 and (2 / v).data == 0.5
    w = 2**v
    assert w.data == 16.0
    w.backward()
    assert v.grad == pytest.approx(16.0 * math.log(2.0), rel=1e-15)
    assert (-v).data == -4.0 and (+v) is v


def test_bad_operands_name_the_problem():
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="real number"):
        Value("2")
    with pytest.raises(TypeError):
        Value(1.0) + "x"


def test_backward_on_a_100000_deep_chain():
    x = Value(0.5, label="x")
    y = x
    for _ in range(100_000):
        y = y + x
    y.backward()
    assert x.grad == 100_001.0
    assert y.data == pytest.approx(0.5 * 100_001)
    # The same graph as IR, built without recursion too.
    assert sg.evaluate(y, {x: 0.25}) == pytest.approx(0.25 * 100_001)


def test_deep_tanh_chain_matches_reference():
    vals = []
    for V in (Value, RefValue):
        x = V(0.7)
        y = x
        for _ in range(20_000):
            y = (y * 1.0001).tanh()
        y.backward()
        vals.append(x.grad)
    assert close(vals[0], vals[1])


# -- the same graph is symgrad's IR --------------------------------------------------------------


def test_leaf_values_are_compile_inputs_and_values_are_outputs():
    a, b = Value(0.3, label="a"), Value(-1.1, label="b")
    L = (a * b).tanh() + a**2 - b.exp() / a
    fn = sg.compile([a, b], [L, sg.gradient(L, [a, b])])
    L.backward()
    value, grads = fn(0.3, -1.1)
    assert close(value, L.data) and close(grads[0], a.grad) and close(grads[1], b.grad)
    # Re-run at new values: the compiled function equals a fresh eager computation there.
    a2, b2 = Value(1.7), Value(0.4)
    L2 = (a2 * b2).tanh() + a2**2 - b2.exp() / a2
    L2.backward()
    value, grads = fn(1.7, 0.4)
    assert close(value, L2.data) and close(grads[0], a2.grad) and close(grads[1], b2.grad)
    assert "def f(a, b)" in fn.source


def test_numbers_are_constants_not_inputs():
    x = Value(2.0, label="x")
    y = 3 * x + 1.5
    assert sg.evaluate(y, {x: 1.0}) == 4.5
    assert [s.name for s in sg.ir.free_symbols(y._expr)] == ["x"]


def test_each_leaf_is_its_own_symbol():
    a, b = Value(1.0, label="w"), Value(1.0, label="w")
    assert a._expr is not b._expr and a._expr.is_symbol
    assert a._expr is a._expr  # stable once made
    s = a + b
    assert sg.gradient(s, [a, b]) == [sg.ir.const(1.0), sg.ir.const(1.0)]


@pytest.mark.parametrize("k", [0, 0.0, 1, 2, -1, 0.5, 3.0])
def test_pow_backward_matches_the_ir_at_zero_and_edges(k):
    """Value ** k back-propagates what sg.gradient gives (another implementation: the IR's
    rule table), at 0 and -0 too: d/da a**0 is 0 everywhere, not 0 * 0**-1 = nan. Where the
    power is not a real number (or 0 ** -1), the forward is IEEE's and backward raises."""
    x = sg.Symbol("x")
    g = sg.compile([x], sg.gradient(x**k, x))
    for v in (0.0, -0.0, 1.5, -2.0, 4.0):
        a = sg.Value(v)
        out = a**k
        if not math.isfinite(out.data):  # (-2) ** 0.5, 0 ** -1: invalid, named at backward
            with pytest.raises(ValueError, match=r"\*\*"):
                out.backward()
            assert a.grad == 0.0
            continue
        out.backward()
        want = g(v)
        assert a.grad == want or (math.isnan(a.grad) and math.isnan(want)), (v, a.grad, want)


def test_log_at_zero_is_ieee_forward_and_named_at_backward():
    """log(0) is -inf forward (IEEE, so that a where can compute it in a branch it does not
    take); backward of a result that depends on it raises ValueError naming it, rather than
    returning a gradient computed from an infinity. Elsewhere it is the IR's gradient."""
    x = sg.Symbol("x")
    want = sg.compile([x], sg.gradient(sg.log(x), x))
    for v in (0.0, -0.0, -1.0):
        a = sg.Value(v)
        out = a.log()
        assert out.data == -math.inf if v == 0 else math.isnan(out.data)
        with pytest.raises(ValueError, match=r"log\(-?[01]\.0\) is"):
            out.backward()
    a = sg.Value(2.0)
    a.log().backward()
    assert a.grad == want(2.0) == 0.5


def _programs():
    """(name, f) with f(x, y) written once for Values and for symbols alike."""
    return [
        ("sqrt-or-neg", lambda x, y: sg.where(x > 0, (x * x + 1e-300) ** 0.5 * x.log(), -x)),
        ("xlogx", lambda x, y: sg.where(x > 0, x * x.log(), 0.0) + y),
        ("nested", lambda x, y: sg.where((x > 0) & ~(y > 1), x / y, sg.where(y >= 0, y * y, x))),
        ("either", lambda x, y: sg.where(sg.logical_or(x < -1, sg.eq(y, 2.0)), x * y, y.exp())),
        ("isnan", lambda x, y: sg.where(sg.isnan(x.log()), y, x.log() * y)),
        ("shared", lambda x, y: sg.where(x > 0, x.log(), -x) + x * y),
    ]


@pytest.mark.parametrize("name, f", _programs(), ids=[n for n, _ in _programs()])
def test_where_and_conditions_on_values_match_the_ir(name, f):
    """Values take comparisons, &, |, ~, sg.eq / isnan / logical_* and sg.where; backward
    gives what sg.gradient of the same program gives (the IR's masks: exactly 0 through the
    branch not taken, where that branch's derivative is inf or NaN)."""
    xs, ys = sg.symbols("x y")
    e = f(xs, ys)
    fn = sg.compile([xs, ys], [e, *sg.gradient(e, [xs, ys])])
    for a in (0.0, -1.0, 2.0, -2.5, 1e-300):
        for b in (0.0, 2.0, -3.0):
            x, y = sg.Value(a), sg.Value(b)
            out = f(x, y)  # never raises: an invalid operation is IEEE's nan or inf ...
            want = fn(a, b)
            try:
                out.backward()
            except ValueError:  # ... named at backward, where the IR has a nan or an inf
                assert not all(map(math.isfinite, want)), (name, a, b, want)
                continue
            for got, w in zip((out.data, x.grad, y.grad), want):
                assert got == w or (math.isnan(got) and math.isnan(w)), (name, a, b, got, w)


def test_value_conditions_are_eager_and_compile():
    x = sg.Value(3.0, label="x")
    assert bool(x > 1) and not bool(x > 5) and (x >= 3).data == 1.0 and (x < 3).data == 0.0
    assert bool((x > 1) & ~(x > 5)) and bool((x > 5) | (x < 4))
    assert sg.ne(x, 3.0).data == 0.0 and sg.isfinite(x).data == 1.0
    y = sg.where(x > 0, x * x, -x)
    fn = sg.compile([x], [y, sg.gradient(y, x)])  # the same graph as IR
    assert fn(3.0) == [9.0, 6.0] and fn(-2.0) == [2.0, -1.0]
    assert len({x, sg.Value(3.0)}) == 2  # Values still hash and compare by identity


def test_functions_outside_the_op_table_are_refused():
    with pytest.raises(TypeError, match="only the functions of the op table"):
        sg.deg2rad(sg.Value(1.0))
    with pytest.raises(TypeError, match="a plain bool is not a condition"):
        sg.where(True, sg.Value(1.0), 2.0)
