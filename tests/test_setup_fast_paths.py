"""The fast paths of graph setup agree with the general ones they shortcut: the operators'
inlined ``make``, the reverse sweep's inlined sums/differences/products, the intern table's
counted sweep, many symbols at once, and provenance's one-claim entries."""

from __future__ import annotations

import gc
import itertools
import math
import random
import sys
import threading

import pytest

import symgrad as sg
from symgrad import ir
from symgrad.autodiff import provenance, reverse, rules
from symgrad.ir import make
from symgrad.ops import Op

_BINARY = [Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.POW, Op.MOD, Op.LT, Op.LE, Op.GT, Op.GE]
_DUNDER = {
    Op.ADD: lambda a, b: a + b,
    Op.SUB: lambda a, b: a - b,
    Op.MUL: lambda a, b: a * b,
    Op.DIV: lambda a, b: a / b,
    Op.POW: lambda a, b: a**b,
    Op.MOD: lambda a, b: a % b,
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
}


def _operands() -> list:
    """Expressions of every shape the fast path must hand to ``make``: constants (signed zeros,
    NaN, inf, +-1), negations, products and quotients led by negative constants (one and two
    levels down), plain symbols and sums."""
    x, y = sg.symbols("x y")
    consts = [ir.const(v) for v in (0.0, -0.0, 1.0, -1.0, 2.0, -3.0, math.inf, math.nan)]
    neg = [-x, -(x * y)]
    led = [ir.const(-2.0) * x, ir.const(-2.0) / y, (ir.const(-2.0) * x) * y, (ir.const(2.0) * x)]
    return consts + neg + led + [x, y, x + y, x * y, x / y, sg.exp(x)]


@pytest.mark.parametrize("op", _BINARY)
def test_operators_build_the_node_make_builds(op):
    """Fresh graphs each time, operator first: a fast path that skipped a rewrite or a fold
    would intern a node of its own, which make's would not be."""
    for a, b in itertools.product(_operands(), repeat=2):
        fast = _DUNDER[op](a, b)
        assert fast is make(op, (a, b)), (op, a, b)


@pytest.mark.parametrize("op", [Op.ADD, Op.MUL, Op.SUB])
def test_make_first_then_operators(op):
    for a, b in itertools.product(_operands(), repeat=2):
        general = make(op, (a, b))
        assert _DUNDER[op](a, b) is general, (op, a, b)


def test_operators_with_numbers_and_commuted_operands():
    x, y = sg.symbols("x y")
    assert x * y is y * x and x + y is y + x and (x - y) is not (y - x)
    assert x + 0 is x and 0.0 + x is x and x * 1 is x and 2 * x is make(Op.MUL, (ir.const(2.0), x))
    assert (x + y).args == (x, y) and (y + x).args == (x, y)  # args as first built
    with pytest.raises(TypeError, match="one scalar"):
        _ = x - [1, 2]
    assert x.__add__("a") is NotImplemented


def _randomized_graph(seed: int, n: int = 12, steps: int = 60):
    """A random DAG of sums, differences, products (and a few others) over ``n`` symbols, with
    constants mixed in: exercises every branch of the sweep's inline rules."""
    rnd = random.Random(seed)
    xs = list(sg.symbols(f"x0:{n}"))
    pool = list(xs) + [ir.const(2.0), ir.const(-1.5), ir.const(0.5), ir.const(0.0)]
    for _ in range(steps):
        a, b = rnd.choice(pool), rnd.choice(pool)
        kind = rnd.random()
        if kind < 0.3:
            e = a + b
        elif kind < 0.55:
            e = a - b
        elif kind < 0.85:
            e = a * b
        elif kind < 0.9:
            e = sg.tanh(a)
        elif kind < 0.95:
            e = sg.where(a > b, a, b * 0.5)
        else:
            e = -a
        pool.append(e)
    f = pool[-1]
    for e in pool[-8:-1]:
        f = f + e * e
    return f, xs


def _general_rules(monkeypatch) -> None:
    """The same three rules, as new objects: the sweep then takes the general path."""
    monkeypatch.setitem(rules.RULES, Op.ADD, lambda out, g, need: (g, g))
    monkeypatch.setitem(rules.RULES, Op.SUB, lambda out, g, need: (g, -g if need[1] else None))
    monkeypatch.setitem(
        rules.RULES,
        Op.MUL,
        lambda out, g, need: (
            g * out.args[1] if need[0] else None,
            g * out.args[0] if need[1] else None,
        ),
    )


@pytest.mark.parametrize("seed", range(12))
def test_inline_sweep_builds_the_general_sweeps_nodes(seed, monkeypatch):
    f, xs = _randomized_graph(seed)
    fast = sg.gradient(f, xs)
    wrt_half = xs[::2]
    fast_half = sg.gradient(f, wrt_half)
    fast_all = reverse.adjoints(f)
    _general_rules(monkeypatch)
    assert all(a is b for a, b in zip(sg.gradient(f, xs), fast))
    assert all(a is b for a, b in zip(sg.gradient(f, wrt_half), fast_half))
    assert reverse.adjoints(f) == fast_all


@pytest.mark.parametrize("seed", range(6))
def test_inline_sweep_matches_finite_differences(seed):
    f, xs = _randomized_graph(seed, n=6, steps=30)
    rnd = random.Random(100 + seed)
    env = {x: rnd.uniform(-1.0, 1.0) for x in xs}
    grads = sg.evaluate(sg.gradient(f, xs), env)
    for x, g in zip(xs, grads):
        h = 1e-6
        up = sg.evaluate(f, {**env, x: env[x] + h})
        down = sg.evaluate(f, {**env, x: env[x] - h})
        assert g == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-5)


def test_sweep_special_cases_square_zero_adjoint_and_signed_zero():
    x, y = sg.symbols("x y")
    assert sg.evaluate(sg.gradient(x * x, x), {x: 3.0}) == 6.0  # both args the same node
    d = sg.gradient((x - y) * 0.0 + y, [x, y])  # 1 * 0.0 folds to 0: no adjoint, no node
    assert d[0] is ir.const(0.0) and sg.evaluate(d, {x: math.inf, y: 1.0}) == [0.0, 1.0]
    assert sg.gradient((x * y) * 0.0, x) is ir.const(0.0)  # no 0*y built below a zero
    a, b = sg.symbols("a b")  # new: 0.0 * (a*b) is not the node (x*y) * 0.0 with its args
    assert sg.gradient(0.0 * (a * b), a) is ir.const(0.0)
    u = x * y
    assert sg.gradient(y + (u * 2.0 - u * 2.0), x) is ir.const(0.0)  # adjoints 1 + -1 fold to 0
    nz = sg.evaluate(sg.gradient((x * -0.0) * y, x), {x: 1.0, y: 2.0})  # y * -0.0
    assert nz == 0.0 and math.copysign(1.0, nz) == -1.0
    g = sg.gradient(x - y, y)
    assert sg.evaluate(g, {x: 0.0, y: 0.0}) == -1.0
    masked = sg.gradient(sg.where(x > 0, sg.log(x) * y, y - x), [x, y])
    assert sg.evaluate(masked, {x: -1.0, y: 2.0}) == [-1.0, 1.0]


def test_the_sweep_honours_a_swapped_product_rule(monkeypatch):
    x, y = sg.symbols("x y")
    monkeypatch.setitem(rules.RULES, Op.MUL, lambda out, g, need: (g * 2.0, g * 3.0))
    assert sg.evaluate(sg.gradient(x * y, [x, y]), {x: 5.0, y: 7.0}) == [2.0, 3.0]


def test_sweep_frees_garbage_older_than_live_nodes():
    x = sg.Symbol("x")
    junk = x
    for i in range(300):
        junk = sg.sin(junk) + (i + 0.25)
    old_key_count = len(ir._interned)
    del junk  # dead, and older than what follows
    live = [sg.cos(x) * (i + 0.75) for i in range(300)]
    dead_chain = sg.exp(x)
    for i in range(50):
        dead_chain = sg.exp(dead_chain) - (i + 0.125)
    del dead_chain  # only its root is unheld at first: the rest goes as the root does
    ir._sweep()
    assert len(ir._interned) < old_key_count
    assert all(sg.cos(x) * (i + 0.75) is e for i, e in enumerate(live))
    assert not any(n.op is Op.SIN for n in ir._interned.values() if n.args and n.args[0] is x)


def test_sweep_with_nothing_dead_keeps_everything():
    x = sg.Symbol("x")
    ir._sweep()
    held = [sg.sin(x) * (i + 0.5) for i in range(200)]
    n = len(ir._interned)
    ir._sweep()
    assert len(ir._interned) == n
    assert all(sg.sin(x) * (i + 0.5) is e for i, e in enumerate(held))


def test_many_symbols_at_once():
    was = gc.isenabled()
    ps = sg.symbols("p0:10000")
    assert gc.isenabled() == was
    assert len(ps) == 10000 and ps[0].name == "p0" and ps[-1].name == "p9999"
    assert len({p.serial for p in ps}) == 10000
    assert all(a.serial < b.serial for a, b in zip(ps, ps[1:]))
    assert all(p.op is Op.SYMBOL and p.args == () for p in ps)
    assert ps[5] is not sg.Symbol("p5") and ps[5] is not sg.symbols("p0:10000")[5]
    assert sg.evaluate(ps[3] * 2, {ps[3]: 4.0}) == 8.0
    assert [s.name for s in sg.symbols("a0:2 b")] == ["a0", "a1", "b"]


def test_provenance_keeps_one_then_several_claims():
    x, y = sg.symbols("x y")
    f1, f2 = x * y, x * y + 1.0
    g = sg.gradient(f1, [x])[0]  # y
    assert provenance.claims(g) == [(f1, x)]
    assert sg.gradient(f2, [x])[0] is g
    assert provenance.claims(g) == [(f1, x), (f2, x)]
    fs = [x * y + float(k) for k in range(6)]
    for fk in fs:
        sg.gradient(fk, [x])
    assert provenance.claims(g) == [(fk, x) for fk in fs[-provenance._KEEP :]]


def test_equal_products_built_in_threads_are_one_object():
    """The operators' inlined path keeps the lock on a miss."""
    xs = list(sg.symbols("a0:64"))
    ys = list(sg.symbols("b0:400"))
    k = 4
    out: list = [None] * k
    barrier = threading.Barrier(k)

    def work(j: int) -> None:
        barrier.wait()
        out[j] = [(xs[i % 64] * ys[i % 400]) + ys[(i * 7) % 400] for i in range(20_000)]

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(j,)) for j in range(k)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert all(o[i] is out[0][i] for o in out for i in range(len(out[0])))
