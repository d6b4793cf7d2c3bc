"""Rule certificates: each op's derivative rule (autodiff/rules.py) against SymPy's ``diff``.

For every op of the table, ``op(x, y, ...)`` is built from independent symbols, differentiated
by symgrad, converted to SymPy and compared with SymPy's own derivative (floor and ceiling held
constant, as they are almost everywhere: ``tests/helpers.sympy_diff``): proved when the
difference is structurally 0 or ``simplify`` makes it 0 within two seconds (in a child process
that is killed at the deadline), else checked at many 30-digit points by SymPy's ``evalf``
(points at kinks, where the two conventions may differ, are skipped). With the oracle checking
every compiled program, a certificate per rule is what ties the reverse sweep's building
blocks to the mathematics (docs/verification.md).
"""

import math
import random

import pytest
import sympy as sp

import symgrad as sg
from symgrad.ir import make
from symgrad.ops import INFO, Op
from symgrad.verification.symbolic import prove
from tests.helpers import sympy_diff

OPS = [op for op in INFO if not INFO[op].is_condition]
NUMERIC_POINTS = 40
# Arguments that keep an op inside its real domain (the certificate is about the rule, not
# about where the function exists).
DOMAIN = {
    "log": [(0.1, 3.0)],
    "log2": [(0.1, 3.0)],
    "log10": [(0.1, 3.0)],
    "sqrt": [(0.1, 3.0)],
    "acosh": [(1.1, 3.0)],
    "asin": [(-0.9, 0.9)],
    "acos": [(-0.9, 0.9)],
    "atanh": [(-0.9, 0.9)],
    "log1p": [(-0.9, 3.0)],
    "pow": [(0.1, 3.0), (-2.0, 2.0)],
}


def _build(op):
    arity = INFO[op].arity
    if op is Op.WHERE:
        c, a, b = sg.symbols("c a b")
        return [a, b], sg.where(c > 0, a * 1.0, b), c
    syms = list(sg.symbols("x y z")[:arity])
    return syms, make(op, tuple(syms)), None


def _numeric(f, syms, grads, extra, name):
    """SymPy's diff and symgrad's gradient, both evaluated by SymPy at 30 digits."""
    rng = random.Random(name)
    f_sp = sg.to_sympy(f)
    every = syms + ([extra] if extra is not None else [])
    ranges = DOMAIN.get(name, [(-2.0, 2.0)])
    checked = 0
    for _ in range(NUMERIC_POINTS):
        point = {
            sg.to_sympy(s): sp.Float(rng.uniform(*ranges[min(i, len(ranges) - 1)]), 30)
            for i, s in enumerate(every)
        }
        for s, g in zip(syms, grads):
            want = sympy_diff(f_sp, sg.to_sympy(s)).xreplace(point).evalf(30)
            got = sg.to_sympy(g).xreplace(point).evalf(30)
            try:
                want, got = complex(want), complex(got)
            except TypeError:
                continue  # at a kink (a Heaviside or sign of 0) or not a number
            if not (math.isfinite(abs(want)) and math.isfinite(abs(got))) or want.imag:
                continue
            # 1e-14: a rule's float constants (erf's 2/sqrt(pi)) are exact to float precision only
            assert abs(want - got) <= 1e-14 * max(1.0, abs(want)), (name, s, point, want, got)
            checked += 1
    return checked


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.value)
def test_rule_agrees_with_sympy_diff(op):
    syms, f, extra = _build(op)
    grads = sg.gradient(f, syms)
    f_sp = sg.to_sympy(f)
    structural = all(
        sympy_diff(f_sp, sg.to_sympy(s)) - sg.to_sympy(g) == 0 for s, g in zip(syms, grads)
    )
    if structural:
        return
    if len(prove(f, syms, grads, budget=400, seconds=2.0)) == len(syms):
        return
    assert _numeric(f, syms, grads, extra, op.value) >= NUMERIC_POINTS // 2, op


def test_a_wrong_rule_fails_its_certificate(monkeypatch):
    from symgrad.autodiff import rules

    monkeypatch.setitem(rules.RULES, Op.COS, lambda out, g, need: (g * sg.sin(out.args[0]),))
    x = sg.Symbol("x")
    f = sg.cos(x)
    grads = sg.gradient(f, [x])
    assert not prove(f, [x], grads, budget=400, seconds=4.0)
    with pytest.raises(AssertionError):
        _numeric(f, [x], grads, None, "cos")
