"""Table-driven: every op of the table is printed by every backend, has a derivative rule and a
SymPy twin, evaluates alike everywhere (inf and NaN included), and differentiates correctly."""

import itertools
import math
import random

import numpy as np
import pytest
from catalogue import BY_OP, ROWS, TABLE_OPS
from helpers import central, close, smooth_at, sympy_grad, sympy_value

import symgrad as sg
from symgrad.autodiff.rules import RULES
from symgrad.ir import make
from symgrad.ops import INFO

SPECIAL = [math.inf, -math.inf, math.nan, 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e308, -1e-310]


def test_catalogue_covers_table():
    assert set(BY_OP) == TABLE_OPS


@pytest.mark.parametrize("op", sorted(INFO, key=lambda o: o.value), ids=lambda o: o.value)
def test_op_has_every_fact(op):
    info = INFO[op]
    for backend in ("math", "python", "numpy"):
        assert backend in info.templates, f"{op} has no {backend} template"
    assert op in RULES, f"{op} has no derivative rule"
    assert info.sympy is not None
    assert (
        len(
            RULES[op](
                make(op, tuple(sg.symbols(f"a0:{info.arity}"))),
                sg.Symbol("g"),
                (True,) * info.arity,
            )
        )
        == info.arity
    )


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


@pytest.mark.parametrize("op", sorted(INFO, key=lambda o: o.value), ids=lambda o: o.value)
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
