"""sg.Value under sg.where and the whole op table (the contract's section 6 on Values).

Each result is checked twice: against the same expression built from sg.symbols and
differentiated by sg.gradient (another implementation: the IR's masks), and against an
independent oracle (the analytic derivative, mpmath, or finite differences). Invalid eager
operations: IEEE's nan or inf forward, never an exception; backward of a result that depends on
one (through the branches taken) raises ValueError naming it.
"""

from __future__ import annotations

import math

import mpmath as mp
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import symgrad as sg
from symgrad.ops import INFO, Op

POINTS = (-1.0, 0.0, 0.5, 2.0)


def _same(got: float, want: float) -> bool:
    return got == want or (math.isnan(got) and math.isnan(want))


# -- section 6's examples, on Values ----------------------------------------------------------


def _log(x):
    """x.log() for a Value (micrograd's method), sg.log(x) for a symbol."""
    return x.log() if isinstance(x, sg.Value) else sg.log(x)


def _dsqrt(t):
    return 0.5 / math.sqrt(t) if t > 0 else -1.0


# name: (program of x, analytic derivative)
SECTION_6 = {
    "sqrt": (lambda x: sg.where(x > 0, sg.sqrt(x), -x), _dsqrt),
    "pow": (lambda x: sg.where(x > 0, x**0.5, -x), _dsqrt),
    "xlogx": (
        lambda x: sg.where(x > 0, x * sg.log(x), 0.0),
        lambda t: math.log(t) + 1 if t > 0 else 0.0,
    ),
    "xlogx-method": (
        lambda x: sg.where(x > 0, x * _log(x), 0),
        lambda t: math.log(t) + 1 if t > 0 else 0.0,
    ),
    "reciprocal": (
        lambda x: sg.where(sg.ne(x, 0), 1 / x, 0.0),
        lambda t: -1 / (t * t) if t != 0 else 0.0,
    ),
    "log-negative": (
        lambda x: sg.where(x > 0, _log(x), x * x),
        lambda t: 1 / t if t > 0 else 2 * t,
    ),
    "asin": (
        lambda x: sg.where(abs(x) < 0.75, sg.asin(x), 3 * x),
        lambda t: 1 / math.sqrt(1 - t * t) if abs(t) < 0.75 else 3.0,
    ),
}


@pytest.mark.parametrize("name", list(SECTION_6))
@pytest.mark.parametrize("t", POINTS)
def test_section_6_on_values_matches_the_ir_and_the_analytic_derivative(name, t):
    f, df = SECTION_6[name]
    xs = sg.Symbol("x")
    e = f(xs)
    ir = sg.compile([xs], [e, sg.gradient(e, xs)])
    x = sg.Value(t)
    y = f(x)  # the untaken branch is computed, and raises nothing
    y.backward()
    want_y, want_g = ir(t)
    assert _same(y.data, want_y) and x.grad == want_g, (name, t, y.data, x.grad, want_y, want_g)
    assert x.grad == pytest.approx(df(t), rel=1e-14, abs=0.0)
    assert math.isfinite(x.grad)  # 0 * inf never appears: the untaken branch adds exactly 0


@pytest.mark.parametrize("name", list(SECTION_6))
@pytest.mark.parametrize("t", [-1.0, 0.5, 2.0])  # away from the kink at 0
def test_section_6_on_values_matches_finite_differences(name, t):
    f = SECTION_6[name][0]
    h = 1e-6
    x = sg.Value(t)
    f(x).backward()
    fd = (f(sg.Value(t + h)).data - f(sg.Value(t - h)).data) / (2 * h)
    assert x.grad == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_the_contracts_numbers():
    for t in (-1.0, 0.0):
        x = sg.Value(t)
        sg.where(x > 0, sg.sqrt(x), -x).backward()
        assert x.grad == -1.0
        x = sg.Value(t)
        sg.where(x > 0, x * sg.log(x), 0).backward()
        assert x.grad == 0.0


# -- every sg. function of the table on Values -------------------------------------------------

# name: (mpmath reference, domain for hypothesis)
UNARY = {
    "exp": (mp.exp, (-50, 50)),
    "expm1": (mp.expm1, (-50, 50)),
    "log": (mp.log, (0.01, 100)),
    "log1p": (mp.log1p, (-0.99, 100)),
    "log2": (lambda t: mp.log(t, 2), (0.01, 100)),
    "log10": (lambda t: mp.log(t, 10), (0.01, 100)),
    "sqrt": (mp.sqrt, (0.01, 100)),
    "sin": (mp.sin, (-20, 20)),
    "cos": (mp.cos, (-20, 20)),
    "tan": (mp.tan, (-1.5, 1.5)),
    "asin": (mp.asin, (-0.99, 0.99)),
    "acos": (mp.acos, (-0.99, 0.99)),
    "atan": (mp.atan, (-20, 20)),
    "sinh": (mp.sinh, (-20, 20)),
    "cosh": (mp.cosh, (-20, 20)),
    "tanh": (mp.tanh, (-20, 20)),
    "sech2": (lambda t: mp.sech(t) ** 2, (-20, 20)),
    "erf": (mp.erf, (-5, 5)),
    "sigmoid": (lambda t: 1 / (1 + mp.exp(-t)), (-30, 30)),
    "softplus": (lambda t: mp.log(1 + mp.exp(t)), (-30, 30)),
    "relu": (lambda t: max(t, 0), (-20, 20)),
    "exp2": (lambda t: mp.mpf(2) ** t, (-50, 50)),
    "asinh": (mp.asinh, (-20, 20)),
    "acosh": (mp.acosh, (1.01, 100)),
    "atanh": (mp.atanh, (-0.99, 0.99)),
    "nan_to_num": (lambda t: t, (-20, 20)),
    "sign": (mp.sign, (-20, 20)),
    "floor": (mp.floor, (-20, 20)),
    "ceil": (mp.ceil, (-20, 20)),
    "round": (mp.nint, (-20, 20)),
}
BINARY = {
    "atan2": (mp.atan2, (-20, 20)),
    "maximum": (max, (-20, 20)),
    "minimum": (min, (-20, 20)),
    "fmax": (max, (-20, 20)),
    "fmin": (min, (-20, 20)),
    "logaddexp": (lambda a, b: mp.log(mp.exp(a) + mp.exp(b)), (-30, 30)),
    "mod": (lambda a, b: a - b * mp.floor(a / b), (0.5, 20)),
}
STEPS = {"sign", "floor", "ceil", "round", "relu"}  # derivative 0 (or 1) away from the kinks


def test_every_differentiable_function_of_the_table_is_covered():
    named = {
        i.fn_name
        for op, i in INFO.items()
        if i.fn_name and not i.is_condition and op is not Op.WHERE
    }
    assert named == set(UNARY) | set(BINARY)


def _check_against_ir_and_mpmath(name: str, ref, args: tuple[float, ...]) -> None:
    fn = getattr(sg, name)
    syms = sg.symbols(" ".join(f"s{i}" for i in range(len(args))) + ",")
    e = fn(*syms)
    ir = sg.compile(list(syms), [e, *sg.gradient(e, list(syms))])
    vals = [sg.Value(a) for a in args]
    y = fn(*vals)
    assert isinstance(y, sg.Value)
    want = ir(*args)
    y.backward()
    assert y.data == want[0], (name, args)
    for v, w in zip(vals, want[1:]):
        assert v.grad == pytest.approx(w, rel=1e-14, abs=1e-300), (name, args, v.grad, w)
    with mp.workdps(40):
        assert y.data == pytest.approx(float(ref(*map(mp.mpf, args))), rel=1e-13, abs=1e-300)
        for i, v in enumerate(vals):
            if name in STEPS:
                d = 0.0 if name != "relu" else float(args[0] > 0)
            else:

                def part(t, i=i):
                    at = [mp.mpf(a) for a in args]
                    at[i] = t
                    return ref(*at)

                d = float(mp.diff(part, mp.mpf(args[i])))
            assert v.grad == pytest.approx(d, rel=1e-9, abs=1e-12), (name, args, i, v.grad, d)


def _nonkink(t: float) -> bool:
    return abs(t - round(t)) > 1e-3 and abs(abs(t - math.floor(t)) - 0.5) > 1e-3 and t != 0


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_unary_functions_of_values(name, data):
    ref, (lo, hi) = UNARY[name]
    t = data.draw(st.floats(lo, hi).filter(_nonkink))
    _check_against_ir_and_mpmath(name, ref, (t,))


@pytest.mark.parametrize("name", list(BINARY))
@given(data=st.data())
def test_binary_functions_of_values(name, data):
    ref, (lo, hi) = BINARY[name]
    a = data.draw(st.floats(lo, hi))
    b = data.draw(st.floats(lo, hi).filter(lambda b: abs(b - a) > 1e-3))  # no ties
    if name == "mod":
        a = a * 3.7
        assume(abs(a / b - round(a / b)) > 1e-6)  # away from mod's jumps
    assume(name != "atan2" or b > 0 or abs(a) > 1e-3)  # away from atan2's branch cut
    _check_against_ir_and_mpmath(name, ref, (a, b))


def test_ties_and_kinks_match_the_ir():
    """maximum's tie splits the gradient, relu'(0) = 0, abs'(0) = 0, floor's 0: as the IR."""
    cases = [
        ("maximum", (1.5, 1.5)),
        ("minimum", (-2.0, -2.0)),
        ("relu", (0.0,)),
        ("sign", (0.0,)),
        ("floor", (2.0,)),
        ("fmax", (math.nan, 1.0)),
    ]
    for name, args in cases:
        fn = getattr(sg, name)
        syms = sg.symbols(" ".join(f"s{i}" for i in range(len(args))) + ",")
        e = fn(*syms)
        want = sg.compile(list(syms), [e, *sg.gradient(e, list(syms))])(*args)
        vals = [sg.Value(a) for a in args]
        y = fn(*vals)
        y.backward()
        got = [y.data, *(v.grad for v in vals)]
        assert all(map(_same, got, want)), (name, got, want)


def test_operators_of_the_table_on_values():
    """abs(v), v % w, w % v, math.floor / ceil / round(v): Values, back-propagating as the IR."""
    x, y = sg.Value(-2.5), sg.Value(0.75)
    out = abs(x) * (x % y) + 7.0 % y + math.floor(x) + math.ceil(y) * round(x)
    assert isinstance(out, sg.Value)
    out.backward()
    xs, ys = sg.symbols("x y")
    e = abs(xs) * (xs % ys) + 7.0 % ys + math.floor(xs) + math.ceil(ys) * round(xs)
    want = sg.compile([xs, ys], [e, *sg.gradient(e, [xs, ys])])(-2.5, 0.75)
    assert [out.data, x.grad, y.grad] == want


def test_functions_compose_and_compile_from_values():
    x = sg.Value(0.7, label="x")
    y = sg.maximum(sg.sin(x) * sg.sqrt(x), sg.atan2(x, 2.0)) + sg.logaddexp(x, -x)
    y.backward()
    fn = sg.compile([x], [y, sg.gradient(y, x)])  # the Values' graph is the IR
    assert fn(0.7) == [y.data, pytest.approx(x.grad, rel=1e-15)]


def test_deep_chain_of_derived_rules_is_iterative():
    x = sg.Value(0.3)
    y = x
    for _ in range(100_000):
        y = sg.where(y > 0, sg.sin(y), sg.sqrt(y))
    y.backward()
    assert 0.0 < x.grad <= 1.0


# -- invalid eager operations ------------------------------------------------------------------


def test_invalid_operations_give_ieee_values_without_raising():
    z, m = sg.Value(0.0), sg.Value(-1.0)
    assert (1 / z).data == math.inf and (-1 / z).data == -math.inf
    assert (1 / sg.Value(-0.0)).data == -math.inf and math.isnan((z / z).data)
    assert math.isnan((m**0.5).data) and (z**-1).data == math.inf
    assert z.log().data == -math.inf and math.isnan(m.log().data)
    assert math.isnan(sg.sqrt(m).data) and math.isnan(sg.asin(sg.Value(2.0)).data)
    assert sg.Value(1000.0).exp().data == math.inf and (sg.Value(1e200) ** 2).data == math.inf
    assert math.isnan(sg.mod(sg.Value(1.0), 0.0).data)


@pytest.mark.parametrize(
    "build, named",
    [
        (lambda x: sg.sqrt(x - 2), r"sqrt\(-1\.0\) is nan \(not a real number\)"),
        (lambda x: (x - 2) ** 0.5, r"-1\.0 \*\* 0\.5 is nan"),
        (lambda x: 1 / (x - 1), r"1\.0 / 0\.0 is inf \(division by zero\)"),
        (lambda x: (x - 1).log(), r"log\(0\.0\) is -inf"),
        (lambda x: sg.log(x - 2), r"log\(-1\.0\) is nan"),
        (lambda x: (x * 1000).exp(), r"exp\(1000\.0\) is inf \(.*overflow\)"),
        (lambda x: (x - 1) ** -1, r"0\.0 \*\* -1\.0 is inf \(division by zero\)"),
        (lambda x: (-(1 / (x - 1))).exp(), r"1\.0 / 0\.0"),  # finite output, invalid inside
        (lambda x: sg.where(x >= 1, sg.sqrt(x - 2), 0.0), r"sqrt\(-1\.0\)"),  # taken branch
        (lambda x: sg.where(x > 5, 0.0, sg.sqrt(x - 2)) * 3 + x, r"sqrt\(-1\.0\)"),
        (lambda x: (lambda s: sg.where(x > 5, s, x) + s)(sg.sqrt(x - 2)), r"sqrt"),  # shared
    ],
)
def test_backward_names_the_invalid_operation_it_depends_on(build, named):
    x = sg.Value(1.0)
    y = build(x)
    with pytest.raises(ValueError, match=named):
        y.backward()
    assert x.grad == 0.0 and y.grad == 0.0  # nothing was changed


def test_what_is_not_an_invalid_operation():
    # the user's own inf or nan propagates by IEEE, unflagged: its gradient is the IR's
    x = sg.Value(math.inf)
    x.exp().backward()
    assert x.grad == math.inf
    # sqrt at 0 is a number (0); its derivative is the IR's inf
    x = sg.Value(0.0)
    sg.sqrt(x).backward()
    assert x.grad == math.inf
    # a condition on an invalid value passes no gradient and keeps no reason
    x = sg.Value(-1.0)
    s = sg.sqrt(x)
    y = sg.where(sg.isnan(s), 2 * x, s)
    y.backward()
    assert (y.data, x.grad) == (-2.0, 2.0)
    # a condition reads nan as IEEE does, and its operand gets no rule run (no 0 * nan)
    x = sg.Value(0.0)
    y = (x.log() > 0) * 1.0 + x
    y.backward()
    assert x.grad == 1.0
    # a gradient-less op (floor) does not reach into its operand's inf derivative
    x = sg.Value(0.0)
    (sg.floor(sg.sqrt(x)) + x).backward()
    assert x.grad == 1.0


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="only the functions of the op table"):
        sg.rad2deg(sg.Value(1.0))
    with pytest.raises(TypeError, match="takes Values and numbers, not str"):
        sg.maximum(sg.Value(1.0), "2")
    with pytest.raises(TypeError, match="a plain bool is not a condition"):
        sg.where(True, sg.Value(1.0), 2.0)
    with pytest.raises(TypeError):
        sg.Value(1.0) % "x"
