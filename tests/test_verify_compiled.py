"""sg.verify(fn): the program that runs, on every backend, against the independent oracle.

The acceptance tests corrupt a generated program (a wrong template, a swapped operand, a wrong
constant) and see sg.verify(fn) raise VerificationError naming the output and the point.
"""

import os
import re

import pytest

import symgrad as sg
from symgrad.ops import INFO, Op
from tests.helpers import needs_cc

BACKENDS = ["python", "numpy", pytest.param("c", marks=needs_cc)]


@pytest.fixture(autouse=True)
def _cache(c_cache):
    return c_cache


def _program(backend):
    x, y = sg.symbols("x y")
    f = 2.5 * x * sg.cos(y) - y / x
    return sg.compile([x, y], [f, sg.gradient(f, [x, y])], backend=backend)


def _rebuild(fn, source):
    """The compiled function of ``source`` (by the same path unpickling takes), keeping what
    sg.verify needs from ``fn``."""
    cls, args = fn.__reduce__()
    assert args[0] == fn.source
    new = cls(source, *args[1:])
    new.inputs, new.output_exprs = fn.inputs, fn.output_exprs
    new.output_claims = fn.output_claims
    return new


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_correct_program_verifies_with_ulps_method_and_point(backend):
    x, y = sg.symbols("x y")
    f = sg.tanh(x * y) + x**3 * sg.exp(y) + sg.maximum(x, y) + sg.log(x * x + 1)
    fn = sg.compile([x, y], [f, sg.gradient(f, [x, y]), sg.hessian(f, [x, y])], backend=backend)
    report = sg.verify(fn, points=4)
    assert report.complete and len(report) == 7 and report.points_done == 4
    methods = [c.method for c in report]
    assert methods[0].startswith("value") and "forward mode" in methods[1]
    assert all("hyper-dual" in m for m in methods[3:])
    assert report[1].label == "out[1] = dout[0]/dx"
    assert report[4].label == "out[4] = d^2out[0]/dx/dy"
    assert 0 <= report.max_ulps < 16 and report.max_rel < 1e-14
    assert all(c.points == 4 and "x=" in c.worst_point for c in report)
    assert "ulps" in str(report) and "verified" in str(report)


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_constant_is_caught(backend):
    fn = _program(backend)
    assert fn.source.count("t1*2.5") >= 1  # python: the fast path and its IEEE twin
    bad = _rebuild(fn, fn.source.replace("t1*2.5", "t1*2.50001"))
    with pytest.raises(sg.VerificationError) as info:
        sg.verify(bad)
    msg = str(info.value)
    assert "out[1] = dout[0]/dx" in msg and "x=" in msg and "y=" in msg and "oracle" in msg


@pytest.mark.parametrize("backend", BACKENDS)
def test_swapped_operand_is_caught(backend):
    fn = _program(backend)
    source, n = re.subn(r"\bt2/(v_)?x\b", r"\1x/t2", fn.source)
    assert n >= 1
    with pytest.raises(sg.VerificationError, match=r"out\[1\] = dout\[0\]/dx .* at \{x="):
        sg.verify(_rebuild(fn, source))


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_template_is_caught(backend, monkeypatch):
    wrong = INFO[Op.COS].templates[backend]
    monkeypatch.setitem(INFO[Op.SIN].templates, backend, wrong)  # sin printed as cos
    fn = _program(backend)
    with pytest.raises(sg.VerificationError, match=r"out\[2\] = dout\[0\]/dy .* at \{x="):
        sg.verify(fn)


def test_the_oracle_does_not_trust_the_reverse_sweep(monkeypatch):
    """A wrong derivative rule gives a wrong gradient expression; compiling it faithfully still
    fails verification, because the oracle differentiates the original expression itself."""
    from symgrad.autodiff import rules

    monkeypatch.setitem(rules.RULES, Op.TANH, lambda out, g, need: (g * (1.0 + out * out),))
    x, y = sg.symbols("x y")
    f = sg.tanh(x * y)
    fn = sg.compile([x, y], sg.gradient(f, [x, y]))
    with pytest.raises(sg.VerificationError, match=r"out\[0\] = df/dx"):
        sg.verify(fn)


def test_plain_outputs_are_checked_by_value_and_list_inputs_work():
    w = list(sg.symbols("w0:3"))
    x = sg.Symbol("x")
    outs = [w[0] * x + sg.sin(w[1]), sg.exp(w[2]) - x]
    fn = sg.compile([w, x], outs, backend="numpy")
    report = sg.verify(fn, points=[{"w0": 1.0, "w1": 2.0, "w2": -1.0, x: 0.5}], seed=3)
    assert [c.method.split()[0] for c in report] == ["value", "value"]
    assert report.points_done == 1


def test_out_of_budget_is_reported_not_hung():
    xs = sg.symbols("x0:400")
    f = sum(sg.tanh(a * b) for a, b in zip(xs, xs[1:]))
    fn = sg.compile([list(xs)], [f, sg.gradient(f, list(xs))])
    report = sg.verify(fn, time_budget=0.0, points=2)
    assert not report.complete and "time_budget" in report.out_of_budget
    assert "NOT fully verified" in str(report)


def test_verify_fn_rejects_wrt_and_unpickled_functions():
    import pickle

    fn = _program("python")
    with pytest.raises(TypeError, match="no wrt"):
        sg.verify(fn, [fn.inputs[0]])
    with pytest.raises(TypeError, match="carries no expressions"):
        sg.verify(pickle.loads(pickle.dumps(fn)))


def test_from_sympy_refuses_strings_and_runs_nothing(tmp_path):
    target = tmp_path / "pwned"
    with pytest.raises(TypeError, match="not a string"):
        sg.from_sympy(f"x + __import__('os').system('touch {target}')")
    with pytest.raises(TypeError):
        sg.from_sympy(b"x + 1")
    assert not target.exists() and not os.path.exists("/tmp/pwned")


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_directions_check_every_entry_and_name_a_wrong_one(backend):
    xs = list(sg.symbols("x0:30"))
    f = sum(sg.sin(a) * b for a, b in zip(xs, xs[1:]))
    fn = sg.compile([xs], [f, sg.gradient(f, xs)], backend=backend)
    report = sg.verify(fn, directions="random")
    assert report.complete and "random directions" in report[1].method
    assert report.max_scaled_ulps < 64
    start = max(fn.source.find("def f("), fn.source.find("int sg_f("))  # the code that runs
    head, body = fn.source[:start], fn.source[start:]
    body, n = re.subn(r"\bcos\(", "sin(", body, count=1)  # one gradient entry wrong
    assert n == 1
    source = head + body
    with pytest.raises(sg.VerificationError, match=r"out\[\d+\] = dout\[0\]/dx\d+ .* at \{x0="):
        sg.verify(_rebuild(fn, source), directions="random")


def test_claims_keep_no_graph_alive_but_the_compiled_function_keeps_its_own():
    import gc
    import weakref

    x, y = sg.symbols("x y")
    f = sg.sin(x) * 3.0  # d/dy is the constant 0, which lives for ever
    probe = weakref.ref(f)
    fn = sg.compile([x, y], sg.gradient(f, [x, y]))
    del f
    gc.collect()
    assert probe() is not None  # held by fn.output_claims, so sg.verify(fn) still knows
    report = sg.verify(fn)
    assert "forward mode" in report[1].method and report[1].label == "out[1] = df/dy"
    from symgrad.autodiff import provenance

    held = [(g, *c) for g, claims in provenance._claims.values() for c in claims]
    weak = (weakref.ref, provenance.Along)  # a jvp's direction holds its tangents weakly too
    assert held and all(isinstance(r, weak) for c in held for r in c)  # no strong refs


def test_an_output_that_is_its_own_derivative_is_labelled_plainly():
    """exp(x)*y is its own derivative along x, so the gradient's first entry is the very node
    of the value: the report reads out[0] as a value and out[1] as d out[0]/dx (it said
    d^2out[1]/dx/dx for both), and a wrong value there is still caught."""
    x, y = sg.symbols("x y")
    f = sg.exp(x) * y
    fn = sg.compile([x, y], [f, sg.gradient(f, [x, y])])
    labels = [c.label for c in sg.verify(fn)]
    assert labels == ["out[0]", "out[1] = dout[0]/dx", "out[2] = dout[0]/dy"]
    orig = fn._fn

    def off(*a):
        r = orig(*a)
        r[1][0] *= 1.0001
        return r

    fn._fn, fn._c_fast = off, None
    with pytest.raises(sg.VerificationError, match=r"out\[1\] = dout\[0\]/dx"):
        sg.verify(fn)


def test_out_of_time_says_so_per_output():
    x = sg.Symbol("x")
    fn = sg.compile([x], [sg.exp(x), sg.gradient(sg.sin(x), x)])
    report = sg.verify(fn, time_budget=1e-9)
    assert not report.complete
    assert all("checked at no point" in str(c) for c in report)


def test_an_underflowed_derivative_that_rounds_to_zero_is_right():
    """d/dx x**1e308 at x < 1 is ~1e-3215455: its nearest double is 0.0, which the program
    gives; the relative error against the unrounded oracle is 1, but no double is closer."""
    x = sg.Symbol("x")
    fn = sg.compile([x], sg.gradient(x**1e308, x))
    report = sg.verify(fn, points=[{x: 0.9286358505850891}, {x: 0.5}])
    assert report.complete and report.max_ulps == 0
