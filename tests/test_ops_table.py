"""Table-driven: every op of the table is printed by every backend, has a derivative rule and a
SymPy twin, evaluates alike everywhere (inf and NaN included), and differentiates correctly."""

import itertools
import math
import random
import re

import numpy as np
import pytest
import sympy as sp
from catalogue import BY_OP, ROWS, TABLE_OPS
from helpers import central, close, smooth_at, sympy_grad, sympy_value

import symgrad as sg
import symgrad.parse
from symgrad import scalar
from symgrad.autodiff.rules import RULES
from symgrad.backends.c.spell import HELPERS
from symgrad.ir import make
from symgrad.ops import BY_NUMPY, BY_SYMPY, INFO, template
from symgrad.spelling import ATOM, BACKENDS, LIBM

SPECIAL = [math.inf, -math.inf, math.nan, 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e308, -1e-310]


def test_catalogue_covers_table():
    assert set(BY_OP) == TABLE_OPS
    assert set(RULES) == set(INFO), "the rule table and the op table name the same ops"


OPS = sorted(INFO, key=lambda o: o.value)
_CALLS = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\(")


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.value)
def test_op_has_every_fact(op):
    """A row lacking a fact some backend, the bridge or the tests need fails here."""
    info = INFO[op]
    for backend in BACKENDS:
        assert backend in info.templates, f"{op} has no {backend} template"
    assert callable(info.on_floats) and callable(info.sympy)
    assert len(info.params) == info.arity
    assert op in RULES, f"{op} has no derivative rule (autodiff/rules.py)"
    assert op in BY_OP, f"{op} has no catalogue row (tests/catalogue.py)"
    args = tuple(sg.symbols(f"a0:{info.arity}"))
    assert len(RULES[op](make(op, args), sg.Symbol("g"), (True,) * info.arity)) == info.arity
    sg.to_sympy(make(op, args))  # the twin builds


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.value)
def test_op_names_resolve(op):
    """fn_name is an exported sg. function; ufunc names NumPy's; SymPy names read back."""
    info = INFO[op]
    if info.fn_name:
        assert getattr(sg, info.fn_name) is getattr(sg.expr, info.fn_name)
        assert info.fn_name in sg.__all__ and info.fn_name in sg.expr.__all__
        assert sg.parse.FUNCTIONS[info.fn_name] is op
    for name in ((info.ufunc,) if info.ufunc else ()) + info.np_names:
        assert callable(getattr(np, name)), name
        assert BY_NUMPY[name] is op
    for name in info.sympy_names:
        assert BY_SYMPY[name] is op
        assert hasattr(sp, name), name
    if info.dunder:
        assert hasattr(sg.Expr, f"__{info.dunder}__")
    if info.ufunc and info.fn_name and info.arity <= 2 and not info.is_condition:
        assert hasattr(sg.Expr, info.ufunc), "NumPy's object loops call this method"


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.value)
def test_op_c_needs_are_row_facts(op):
    """The C spelling calls exactly the row's libm functions (with known arity) and helper."""
    info = INFO[op]
    text = info.templates["c"].text
    called = set(_CALLS.findall(text))
    helpers = {h for h in called if h.startswith("sg_")}
    assert helpers == ({info.c_helper} if info.c_helper else set()), (op, helpers)
    if info.c_helper:
        assert info.c_helper in HELPERS
        body = re.sub(r"/\*.*?\*/", "", HELPERS[info.c_helper], flags=re.S)
        called |= set(_CALLS.findall(body))
    assert set(info.c_libm) <= set(LIBM), info.c_libm
    assert called & set(LIBM) == set(info.c_libm), (op, called & set(LIBM))
    for f in info.c_libm:
        if text.startswith(f + "("):
            assert LIBM[f][0] == info.arity


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.value)
def test_int_closed_is_what_the_python_spelling_does(op):
    """int_closed says whether the python spelling keeps Python ints ints."""
    info = INFO[op]
    if info.is_condition:
        return  # a condition's value is printed through float()
    names = {**vars(math), **vars(scalar)}
    args = {f"_a{i}": a for i, a in enumerate([1, 3, 2][: info.arity])}
    texts = [f"_a{i}" for i in range(info.arity)]
    try:
        out = eval(info.templates["python"].render(texts, [ATOM] * 3), names, args)
    except (ArithmeticError, ValueError):  # the generated code reruns the IEEE spelling
        out = eval(template(op, "python_ieee").render(texts, [ATOM] * 3), names, args)
    assert isinstance(out, int) == info.int_closed, (op, out)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.op.value)
def test_backends_agree_with_evaluate(row):
    syms = sg.symbols(f"a0:{row.arity}")
    f = row.build(*syms)
    g = sg.gradient(f, list(syms))
    fn_py = sg.compile([list(syms)], [f, g])
    fn_np = sg.compile([list(syms)], [f, g], backend="numpy")
    rng = random.Random(row.op.value)
    pts = [[rng.uniform(-3, 3) for _ in syms] for _ in range(20)]
    batch = fn_np(np.array(pts))
    for i, p in enumerate(pts):
        want = sg.evaluate([f, g], dict(zip(syms, p)))
        got = fn_py(p)
        flat_w = [want[0], *want[1]]
        flat_p = [got[0], *got[1]]
        flat_n = [batch[0][i], *(b[i] for b in batch[1])]
        assert all(close(a, b, 1e-12, 1e-300) for a, b in zip(flat_w, flat_p)), (p, want, got)
        assert all(close(a, float(b), 1e-12, 1e-15) for a, b in zip(flat_w, flat_n)), (p, want)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.op.value)
def test_gradient_matches_sympy_and_finite_differences(row):
    syms = list(sg.symbols(f"a0:{row.arity}"))
    f = row.build(*syms)
    grad = sg.gradient(f, syms)
    rng = random.Random(17)
    checked = 0
    for _ in range(12):
        point = {s: rng.uniform(-2.5, 2.5) for s in syms}
        if row.kinked and not smooth_at(f, syms, point):
            continue
        ours = [sg.evaluate(gi, point) for gi in grad]
        ref = sympy_grad(f, syms, point)
        fd = central(f, syms, point, 1e-6)
        for a, b, c in zip(ours, ref, fd):
            assert close(a, b, 1e-10, 1e-12), (row.op, point, a, b)
            assert close(a, c, 1e-5, 1e-6), (row.op, point, a, c)
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.value)
def test_ieee_special_values_agree(op):
    """The raw op on inf, nan, signed zeros and huge values: both backends equal evaluate."""
    arity = INFO[op].arity
    syms = sg.symbols(f"a0:{arity}")
    f = make(op, tuple(syms))
    fn_py = sg.compile([list(syms)], f)
    fn_np = sg.compile([list(syms)], f, backend="numpy")
    combos = list(itertools.product(SPECIAL, repeat=arity))
    if len(combos) > 400:
        combos = random.Random(0).sample(combos, 400)
    got_np = fn_np(np.array(combos))
    for i, args in enumerate(combos):
        want = sg.evaluate(f, dict(zip(syms, args)))
        assert close(want, fn_py(list(args)), 1e-15, 0.0), (op, args)
        assert close(want, float(got_np[i]), 1e-15, 0.0), (op, args, got_np[i])


def test_ieee_sympy_twin_agrees_on_finite_points():
    """Each op's float evaluation matches its SymPy twin (the table's two definitions)."""
    rng = random.Random(3)
    for op, info in INFO.items():
        if info.is_condition:
            continue  # SymPy's relations are booleans, not numbers
        syms = sg.symbols(f"a0:{info.arity}")
        f = make(op, tuple(syms))
        for _ in range(5):
            point = {s: rng.uniform(-0.9, 0.9) for s in syms}
            want = sympy_value(sg.to_sympy(f), point)
            assert close(sg.evaluate(f, point), want, 1e-13, 1e-15), (op, point)


def test_sigmoid_and_softplus_do_not_overflow():
    x = sg.Symbol("x")
    for f in (sg.sigmoid(x), sg.softplus(x), sg.gradient(sg.softplus(x), x)):
        py = sg.compile([x], f)
        npf = sg.compile([x], f, backend="numpy")
        with np.errstate(over="raise"):
            vals = npf(np.array([-1e308, -800.0, -30.0, 0.0, 30.0, 800.0, 1e308]))
        assert np.all(np.isfinite(vals))
        for v in (-1e308, -800.0, 800.0, 1e308):
            assert math.isfinite(py(v))
    assert sg.compile([x], sg.softplus(x))(1000.0) == 1000.0
    assert sg.compile([x], sg.sigmoid(x))(-1000.0) == 0.0


def test_to_sympy_of_a_modulo_by_what_sympy_folds_to_zero_is_nan():
    """SymPy folds ``x - x`` to 0 (symgrad keeps it: x may be inf) and its Mod then raises
    ZeroDivisionError; the twin is NaN, symgrad's own value there, not an exception."""
    x = sg.symbols("x")
    e = sg.mod(1.5, x - x + 3 * sg.sign(x - x))
    assert sg.to_sympy(e) is sp.nan
    assert math.isnan(sg.evaluate(e, {x: 0.7}))
    assert sg.to_sympy(sg.mod(x, 2.0)) == sp.Mod(sg.to_sympy(x), 2)
