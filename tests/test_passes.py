"""The optimizing passes keep values (inf, NaN and signed zeros included), and they fire."""

from __future__ import annotations

import math
import struct

import pytest

import symgrad as sg
from symgrad.backends import python as py_backend
from symgrad.backends.schedule import schedule
from symgrad.ir import count_ops, evaluate, topo_order
from symgrad.ops import Op
from symgrad.passes import optimize
from symgrad.passes.dce import dead_count, live

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-310, -1e-310, 3.3e-321, 1e300, -1e300,
           math.inf, -math.inf, math.nan]  # fmt: skip


def _bits(v: float) -> bytes:
    return b"nan" if math.isnan(v) else struct.pack("<d", v)


def _same(a: float, b: float, exact: bool) -> bool:
    if exact:
        return _bits(a) == _bits(b)
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b) or a == 0 or b == 0:
        return _bits(a) == _bits(b) or (a == b)
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b))


x, y = sg.symbols("x y")

# (expression, exact: bit-identical?, the op the pass must remove)
CASES = [
    (x**2, True, Op.POW),
    (x**-1, True, Op.POW),
    (x**3, False, Op.POW),
    (x**4, False, Op.POW),
    (x**-2, False, Op.POW),
    (-(3.0 * x), True, Op.NEG),  # -(c*a) -> (-c)*a
    (3.0 * (-x), True, Op.NEG),  # c*(-a) -> (-c)*a
    (100.0 * (2.0 * x), True, None),  # c1*(c2*a) -> (c1*c2)*a, c2 a power of two
    (1.1 * (4.0 * x), True, None),  # c2 a power of two: exact even for subnormal x
    (x / 4.0, True, Op.DIV),  # a/2**k -> a*2**-k
    (y * x**-1, True, Op.POW),  # strength: y*(1/x), never folded to y/x (see below)
]


@pytest.mark.parametrize("expr,exact,gone", CASES, ids=[str(c[0]) for c in CASES])
def test_pass_keeps_values_and_fires(expr, exact, gone):
    (opt,) = optimize([expr])
    if gone is not None:  # the op is gone (replaced by cheaper ones)
        assert all(n.op is not gone for n in topo_order([opt]))
    else:
        assert count_ops(opt) < count_ops(expr), "the pass should have removed an op"
    fn = sg.compile([x, y], expr)
    for a in SPECIAL:
        for b in (2.0, -0.0, math.inf, math.nan):
            want = evaluate(expr, {x: a, y: b})
            assert _same(evaluate(opt, {x: a, y: b}), want, exact), (a, b)
            assert _same(fn(a, b), want, exact), (a, b)


@pytest.mark.parametrize(
    "expr",
    [
        0.5 * (3.0 * x),
        4.0 * (1.1 * x),
        3.0 * (5.0 * x),
        1e308 * (4.0 * x),
        x / 3.0,
        x**0.5,
        x / 2.0**-1074,
        y * (1.0 / x),
    ],
    ids=[
        "c1<1",
        "outer-pow2",
        "no-pow2",
        "overflow",
        "not-pow2",
        "sqrt",
        "huge-reciprocal",
        "a*(1/b)",
    ],
)
def test_unsafe_rewrites_are_left_alone(expr):
    """Rewrites that could change a value do not fire: rounding, overflow, x**0.5 at -inf,
    and a*(1/b) -> a/b, which differs where 1/b overflows (b = 1e-310, a = 0: nan vs 0)."""
    (opt,) = optimize([expr])
    assert opt is expr
    for a in SPECIAL:
        for b in (0.0, 1e-310):
            assert _same(evaluate(opt, {x: a, y: b}), evaluate(expr, {x: a, y: b}), True)


def test_guarded_rules_need_a_constant_argument():
    """The sweep skips a guarded op's nodes without a constant argument: each rule marked so
    must indeed leave every such node alone (the guard only saves the call)."""
    import symgrad.passes as passes
    from symgrad.ir import make

    u, v = sg.symbols("u v")
    shapes = [u, v, u * v, u / v, u**v, -u, sg.tanh(v)]
    for name, rule, ops, needs_const in passes.PIPELINE:
        if not needs_const:
            continue
        for op in ops:
            for a in shapes:
                for b in shapes:
                    node = make(op, (a, b))
                    if node.op is op:
                        assert rule(node, node.args) is None, (name, str(node))


def test_unguarded_rule_still_runs(monkeypatch):
    """A rule not marked as needing a constant is tried on every node of its op."""
    import symgrad.passes as passes
    from symgrad.ir import make

    def to_sum(node, args):  # no constant anywhere: a guard would never let it run
        return make(Op.ADD, args) if args[1].op is Op.POW else None

    monkeypatch.setattr(passes, "PIPELINE", [("to_sum", to_sum, frozenset({Op.MUL}), False)])
    e = x * (x**y)
    (opt,) = passes.optimize([e])
    assert opt.op is Op.ADD


def test_gradient_ops_shrink_and_keep_values():
    """On a real gradient the folds remove negations and constant products."""
    z = sg.symbols("z0:6")
    f = sum(100.0 * (z[i + 1] - z[i] ** 2) ** 2 + (1.0 - z[i]) ** 2 for i in range(5))
    g = sg.gradient(f, list(z))
    plain = optimize([f, *g], passes=["strength"])
    full = optimize([f, *g])
    assert count_ops(full) < count_ops(plain)
    for v in ([0.3, -1.2, 2.0, 0.0, -0.0, 5.0], [math.inf, 1.0, math.nan, -math.inf, 2.0, 1.0]):
        env = dict(zip(z, v))
        for a, b in zip(evaluate(full, env), evaluate([f, *g], env)):
            assert _same(a, b, False)


def _rosen(n: int):
    z = list(sg.symbols(f"z0:{n}"))
    f = sum((100 * (z[i + 1] - z[i] ** 2) ** 2 + (1 - z[i]) ** 2 for i in range(n - 1)), 0.0)
    return z, f, sg.gradient(f, z)


def test_schedule_is_topological_and_local():
    z, f, g = _rosen(30)
    roots = optimize([f, *g])
    order = schedule(roots, min_nodes=0)
    assert {n.serial for n in order} == {n.serial for n in live(roots)}
    pos = {n.serial: i for i, n in enumerate(order)}
    assert all(pos[a.serial] < pos[n.serial] for n in order for a in n.args)
    # Local: the first gradient entry is ready long before the forward sum ends.
    assert pos[roots[1].serial] < pos[roots[0].serial] / 4
    assert schedule(roots) is None  # small graphs keep serial order


def test_split_module_matches_and_maps_lines(monkeypatch):
    monkeypatch.setattr(py_backend, "SPLIT_LINES", 20)
    monkeypatch.setattr(py_backend, "PART_LINES", 7)
    z, f, g = _rosen(12)
    h = f / (z[0] - 1.0)  # a division, so the IEEE rerun runs the parts as well
    fn = sg.compile([z], [f, g, h])
    assert "def _part0(" in fn.source and "_rerun(f, (z,)" in fn.source
    monkeypatch.setattr(py_backend, "SPLIT_LINES", 10**9)
    ref = sg.compile([z], [f, g, h])
    assert "_part0" not in ref.source
    for v in ([0.5] * 12, [1.0] + [2.0] * 11, [math.inf] + [0.0] * 11):
        assert repr(fn(v)) == repr(ref(v))
        env = dict(zip(z, v))
        want = evaluate([f, g, h], env)
        assert repr(fn(v)) == repr(want)
    # Each part is compiled on its own, yet reports its line in the whole module.
    import inspect

    part = fn._fn.__globals__["_part1"]
    src_line = fn.source.splitlines()[part.__code__.co_firstlineno - 1]
    assert src_line.startswith("def _part1(")
    assert inspect.getsource(part).startswith("def _part1(")


def test_dead_code_is_measured_and_never_printed():
    w = list(sg.symbols("w0:3"))
    d = list(sg.symbols("d0:3"))
    loss = sg.tanh(sum(wi * di for wi, di in zip(w, d))) ** 2
    grads_all = sg.gradient(loss, w + d)  # the sweep builds the data's adjoints too
    grads = grads_all[:3]
    assert dead_count([loss, *grads_all], [loss, *grads]) > 0
    fn = sg.compile([w, d], [loss, grads])
    assert fn.stats["ops"] == count_ops(optimize([loss, *grads]))


def test_stats_split_forward_from_gradient():
    z, f, g = _rosen(10)
    both = sg.compile([z], [f, g])
    alone = sg.compile([z], f)
    assert both.stats["forward_ops"] == alone.stats["ops"]
    assert both.stats["rest_ops"] == both.stats["ops"] - alone.stats["ops"]
    assert 1.0 < both.stats["ratio_to_forward"] <= 3.0


@pytest.mark.slow
def test_million_node_graph_compiles_split_and_runs():
    n = 60_000  # about 1,000,000 nodes of value+gradient
    z, f, g = _rosen(n)
    fn = sg.compile([z], [f, g])
    assert "def _part0(" in fn.source
    value, grad = fn([0.5] * n)
    assert value == pytest.approx(6.5 * (n - 1))
    assert grad[0] == pytest.approx(-51.0) and grad[-1] == pytest.approx(50.0)
    assert set(grad[1:-1]) == {-1.0}
