"""The gradient's fast paths agree with plain definitions: ``split_order`` with ``topo_order``,
the sweep's dead set with reachability, the unmasked-then-masked sweep with a sweep that sends
every contribution through the rules and ``_give`` (same nodes, built in the same order), and
provenance's bulk entries with one claim at a time."""

from __future__ import annotations

import gc
import math
import random
import weakref

import pytest

import symgrad as sg
from symgrad import ir
from symgrad.autodiff import masks, provenance, reverse
from symgrad.autodiff.rules import RULES
from symgrad.ir import topo_order, traverse
from symgrad.ir.traverse import orders_shared, split_order
from symgrad.ops import Op

_STEPS = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a * a,
    lambda a, b: sg.tanh(a),
    lambda a, b: a / (1.0 + b * b),
    lambda a, b: sg.maximum(a, b),
    lambda a, b: abs(a) ** 1.5,
    lambda a, b: sg.exp(-a * a),
    lambda a, b: -a,
    lambda a, b: sg.where(a > b, sg.log(abs(a) + 1.0), b * b),
    lambda a, b: sg.where(b < 0.0, sg.where(a > 1.0, a, b), a * b),
]


def _graph(seed: int, n: int = 5, steps: int = 60, where: bool = True):
    """A random DAG over fresh symbols: sums, differences, products (repeated operands and
    constants among them), unary ops, divisions, powers, max, abs, and where (nested)."""
    rnd = random.Random(seed)
    xs = list(sg.symbols(f"x0:{n}"))
    data = list(sg.symbols(f"d0:{n}"))  # not differentiated: dead unless mixed in
    pool = xs + data + [ir.const(2.0), ir.const(-1.5), ir.const(0.0)]
    for _ in range(steps):
        a, b = rnd.choice(pool), rnd.choice(pool)
        k = rnd.randrange(len(_STEPS) if where else len(_STEPS) - 2)
        e = _STEPS[k](a, b)
        pool.append(e)
    f = pool[-1]
    for e in pool[-6:-1]:
        f = f + e * e
    return f, xs, data


def _reference_sweep(f, wrt, seed):
    """The sweep by definition: children first by ``topo_order``, dead nodes by reachability,
    every contribution from ``RULES`` (where: masked per branch) through ``_give``."""
    order = topo_order([f])
    dead = _dead_by_reachability(order, wrt)
    adj = {f.serial: seed if seed is not None else ir.const(1.0)}
    node_masks: dict = {}
    for node in reversed(order):
        g = adj.get(node.serial)
        if g is None or not node.args:
            continue
        need = tuple(a.serial not in dead for a in node.args)
        m = node_masks.get(node.serial)
        if node.op is Op.WHERE:
            reverse._where(node, g, m, need, adj, node_masks)
            continue
        for child, c, wanted in zip(node.args, RULES[node.op](node, g, need), need):
            if c is not None and wanted and not (c.op is Op.CONST and c.payload == 0.0):
                reverse._give(adj, node_masks, child.serial, m, c)
    return adj, node_masks


def _dead_by_reachability(order, wrt):
    """Nodes with no symbol of ``wrt`` (no symbol at all for None, i.e. constants) below."""
    if wrt is None:
        return {n.serial for n in order if n.op is Op.CONST}
    targets = {s.serial for s in wrt}
    reach: dict[int, bool] = {}
    for n in order:
        reach[n.serial] = n.serial in targets or any(reach[a.serial] for a in n.args)
    return {s for s, r in reach.items() if not r}


def _shape(nodes):
    """Each node's structure (op, payload, argument structures), interned to small ints, in
    the order given: equal lists mean the same expressions, arguments in the same order."""
    ids: dict = {}
    out = []
    for n in topo_order(nodes):
        pay = n.payload.hex() if isinstance(n.payload, float) else None
        key = (n.op, pay, tuple(ids[a.serial] for a in n.args))
        ids[n.serial] = hash(key) if n.op is not Op.SYMBOL else ("sym", n.payload)
    out = [ids[n.serial] for n in nodes]
    return out


# -- split_order ------------------------------------------------------------------------------


def _check_split(roots):
    ops, leaves = split_order(roots)
    full = topo_order(roots)
    assert ops == [n for n in full if n.args]
    assert sorted(n.serial for n in leaves) == [n.serial for n in full if not n.args]
    assert len({n.serial for n in leaves}) == len(leaves)


@pytest.mark.parametrize("seed", range(8))
def test_split_order_is_topo_order_split(seed):
    f, xs, data = _graph(seed)
    _check_split([f])
    _check_split([f, f, xs[0], *xs])  # repeated roots, leaf roots
    with orders_shared():
        _check_split([f])
        _check_split([f])  # from the shared order


def test_split_order_edge_cases():
    x = sg.Symbol("x")
    assert split_order([]) == ([], [])
    assert split_order([x]) == ([], [x])
    assert split_order([ir.const(3.0)]) == ([], [ir.const(3.0)])
    y = x
    for _ in range(100_000):  # deep: no recursion
        y = sg.sin(y)
    ops, leaves = split_order([y])
    assert len(ops) == 100_000 and leaves == [x]
    assert all(a.serial < b.serial for a, b in zip(ops, ops[1:]))


# -- the dead set -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_dead_set_is_reachability(seed):
    f, xs, data = _graph(seed)
    order = topo_order([f])
    ops, leaves = split_order([f])
    for wrt in (xs, xs[:1], xs[::2], data, [], None, [sg.Symbol("unused")]):
        assert reverse._dead(ops, leaves, wrt) == _dead_by_reachability(order, wrt)


def test_dead_chain_of_data_above_a_live_node():
    x, d = sg.symbols("x d")
    u = d
    for _ in range(50):
        u = sg.exp(u) * d  # dead all the way, first argument dead
    f = u * x + u
    order = topo_order([f])
    ops, leaves = split_order([f])
    dead = reverse._dead(ops, leaves, [x])
    assert dead == _dead_by_reachability(order, [x])
    assert u.serial in dead and f.serial not in dead


# -- the sweep --------------------------------------------------------------------------------


def _same_sweep(make_graph, wrt_of, seed=None):
    """The fast sweep on one copy of a graph, the reference on another (fresh symbols, so
    every node but the constants is new both times): the same nodes get adjoints of the same
    structure, and the nodes each sweep built come in the same serial order (the same build
    order, so the same program printed)."""
    f1, w1 = make_graph()
    f2, w2 = make_graph()
    top1 = max(n.serial for n in topo_order([f1]))
    adj1, m1 = reverse._sweep(f1, wrt_of(w1), seed)
    top2 = max(n.serial for n in topo_order([f2]))
    adj2, m2 = _reference_sweep(f2, wrt_of(w2), seed)
    results = []
    for f, adj, ms, top in ((f1, adj1, m1, top1), (f2, adj2, m2, top2)):
        nodes = {n.serial: n for n in topo_order([f])}
        keys = sorted(adj)
        held = [reverse._wrap(ms.get(k), adj[k]) for k in keys]
        shapes = _shape([nodes[k] for k in keys] + held)
        by_node = dict(zip(shapes[: len(keys)], shapes[len(keys) :]))
        built = [n for n in topo_order(held) if n.args and n.serial > top]
        results.append((by_node, _shape(built)))
    assert results[0][0] == results[1][0]
    assert results[0][1] == results[1][1]


@pytest.mark.parametrize("seed", range(16))
def test_fast_sweep_builds_what_the_reference_builds(seed):
    def make():
        f, xs, data = _graph(seed)
        return f, xs

    _same_sweep(make, lambda xs: xs)
    _same_sweep(make, lambda xs: xs[::2])
    _same_sweep(make, lambda xs: None)


def test_sweep_switches_to_masks_mid_graph():
    def make():
        x, y, z = sg.symbols("x y z")
        u = x * y + z
        w = sg.where(u > 0.0, sg.log(u) * x, sg.sqrt(z) - y)  # masks start here
        v = w * w + u * (x - z)  # unmasked adjoints above the where
        return v * sg.tanh(v) + u, [x, y, z]

    _same_sweep(make, lambda w: w)
    _same_sweep(make, lambda w: w[:1])


def test_where_whose_masks_merge_away_stays_unmasked():
    def make():
        x, c = sg.symbols("x c")
        f = sg.where(c > 0.0, x, x * 2.0) + x * x  # both branches and an unmasked use
        return f * x, [x]

    _same_sweep(make, lambda w: w)
    f, (x,) = make()
    adj, node_masks = reverse._sweep(f, [x], None)
    assert x.serial not in node_masks


def test_sweep_with_a_dead_where_branch_and_zero_seeds():
    def make():
        x, d = sg.symbols("x d")
        return sg.where(d > 1.0, d * d, x * 3.0) * x - d, [x]

    _same_sweep(make, lambda w: w)
    _same_sweep(make, lambda w: w, seed=ir.const(0.0))
    _same_sweep(make, lambda w: w, seed=ir.const(-0.0))
    _same_sweep(make, lambda w: w, seed=ir.const(math.nan))
    _same_sweep(make, lambda w: w, seed=ir.const(math.inf))


def test_sweep_of_a_leaf_and_of_a_constant():
    x = sg.Symbol("x")
    assert reverse._sweep(x, [x], None) == ({x.serial: ir.const(1.0)}, {})
    c = ir.const(2.0)
    assert reverse._sweep(c, [x], None) == ({c.serial: ir.const(1.0)}, {})
    assert sg.gradient(c, [x]) == [ir.const(0.0)]


def test_fast_sweep_on_a_deep_chain():
    def make():
        x = sg.Symbol("x")
        y = x
        for i in range(20_000):
            y = y - 0.001 * sg.tanh(y) if i % 2 else y * 0.999 + x
        return y, [x]

    _same_sweep(make, lambda w: w)


def test_sweep_values_with_inf_and_nan():
    x, y = sg.symbols("x y")
    f = sg.where(x > 0.0, sg.log(x) * y, y - x) + x * y
    g = sg.gradient(f, [x, y])
    assert sg.evaluate(g, {x: -1.0, y: 2.0}) == [1.0, 0.0]
    vals = sg.evaluate(g, {x: math.inf, y: 1.0})
    assert math.isnan(vals[0]) or vals[0] == 1.0  # 1/inf * 1 + 1: 1
    assert vals[1] == math.inf


# -- provenance -------------------------------------------------------------------------------


def _claims_one_at_a_time(entries):
    """What ``claims`` gives after noting ``entries`` ((f, s, g) triples) one by one."""
    out: dict[int, list] = {}
    for f, s, g in entries:
        kept = out.setdefault(g.serial, [])
        kept.append((f, s))
        del kept[: -provenance._KEEP]
    return out


@pytest.mark.parametrize("case", ["distinct", "repeated_wrt", "known", "zeros"])
def test_bulk_claims_match_one_at_a_time(case):
    xs = list(sg.symbols("x0:6"))
    f = sum(sg.sin(x) * x for x in xs)
    wrt = {"repeated_wrt": [xs[0], xs[1], xs[0], xs[0]], "zeros": list(sg.symbols("u0:7"))}
    wrt = wrt.get(case, xs)
    entries = []
    if case == "known":  # the entries already have claims: another f with the same gradient
        f0 = f + sg.Symbol("c")
        entries += [(f0, s, g) for s, g in zip(wrt, sg.gradient(f0, wrt))]
    grads = sg.gradient(f, wrt)
    entries += [(f, s, g) for s, g in zip(wrt, grads)]
    expect = _claims_one_at_a_time(entries)
    for g in grads:  # the constant 0 has older claims too: 7 new ones push them out
        assert provenance.claims(g) == expect[g.serial][-provenance._KEEP :]


def test_claims_along_a_direction():
    xs = list(sg.symbols("x0:3"))
    ts = list(sg.symbols("t0:3"))
    fs = [sg.sin(xs[0]) * xs[1], xs[1] * xs[2] + xs[0]]
    outs = sg.autodiff.jvp(fs, xs, ts)
    for f, out in zip(fs, outs):
        ((claimed, along),) = provenance.claims(out)
        assert claimed is f and isinstance(along, provenance.Along)
        assert [s for s, _ in along.pairs] == xs


def test_bulk_claims_of_fresh_nodes_are_exact():
    xs = list(sg.symbols("x0:50"))
    f = sum(sg.exp(x) * x for x in xs)
    grads = sg.gradient(f, xs)
    assert len({g.serial for g in grads}) == 50
    assert [provenance.claims(g) for g in grads] == [[(f, x)] for x in xs]
    again = sg.gradient(f, xs)  # the same nodes: a second claim each
    assert all(a is b for a, b in zip(grads, again))
    assert [provenance.claims(g) for g in grads] == [[(f, x), (f, x)] for x in xs]


def test_repeated_entries_in_one_call_keep_each_claim():
    x, y = sg.symbols("x y")
    f = x * y
    grads = sg.gradient(f, [x, x, y])
    assert grads[0] is grads[1]
    assert provenance.claims(grads[0]) == [(f, x), (f, x)]
    assert provenance.claims(grads[2]) == [(f, y)]


def test_claims_table_is_swept_before_it_grows():
    xs = list(sg.symbols("x0:200"))
    for k in range(40):  # new gradient nodes each round; the old ones die
        f = sum(sg.sin(x) * (x + float(k)) for x in xs)
        sg.gradient(f, xs)
        del f
    ir._sweep()
    provenance._forget_dead()
    assert len(provenance._claims) < provenance._SWEEP_MIN + 200
    assert provenance._sweep_at >= provenance._SWEEP_MIN


def test_sweep_of_masks_is_the_masks_module():
    assert reverse._wrap is masks.wrap


# -- the remembered split ---------------------------------------------------------------------


def _fresh_order_and_leaves(roots):
    """``order_and_leaves`` with nothing remembered (the general walk)."""
    saved, traverse._memo = traverse._memo, None
    try:
        return traverse.order_and_leaves(roots)
    finally:
        traverse._memo = saved


@pytest.mark.parametrize("seed", range(6))
def test_order_and_leaves_after_a_gradient_is_the_walks(seed):
    f, xs, data = _graph(seed)
    grads = sg.gradient(f, xs)  # remembers f's split
    assert traverse._recall(f) is not None
    for roots in ([f, *grads], [f], [f, f, *xs], [f, *grads[::-1], *data]):
        got = traverse.order_and_leaves(roots)
        want = _fresh_order_and_leaves(roots)
        assert got[0] == want[0] and got[1] == want[1] and got[2] == want[2]
        assert got[0] == topo_order(roots)
    other = grads[0] + 1.0  # another first root: the memo does not apply
    assert traverse.order_and_leaves([other, f]) == _fresh_order_and_leaves([other, f])


def test_remembered_split_is_a_copy_and_dies_with_its_root():
    x, y = sg.symbols("x y")
    f = sg.exp(x * y) + x
    ops, leaves = split_order([f])
    ops.clear()
    leaves.append(None)  # editing the results does not edit what is remembered
    again = split_order([f])
    assert again[0] == [n for n in topo_order([f]) if n.args]
    assert sorted(n.serial for n in again[1]) == [x.serial, y.serial]
    ref = weakref.ref(f)
    del f, ops, leaves, again
    gc.collect()
    ir._sweep()  # the intern table lets go of what nothing else holds
    assert ref() is None  # the memo held only what is under f, not f
    assert traverse._memo is None


def test_split_of_several_roots_or_a_leaf_is_not_remembered():
    x, y = sg.symbols("x y")
    f, g = x * y, x + y
    traverse._memo = None
    split_order([f, g])
    split_order([x])
    assert traverse._memo is None
    split_order([f])
    assert traverse._recall(f) is not None and traverse._recall(g) is None


# -- the symbols differentiated against -------------------------------------------------------


def test_wrt_fast_check_agrees_with_the_per_symbol_one():
    x, y = sg.symbols("x y")
    assert reverse._symbols([x, y, x]) == ([x, y, x], False)
    assert reverse._symbols((y,)) == ([y], False)
    assert reverse._symbols([]) == ([], False)
    assert reverse._symbols(x) == ([x], True)
    with pytest.raises(TypeError, match=r"wrt\[1\] must be a symbol"):
        reverse._symbols([x, x * y])
    with pytest.raises(TypeError, match=r"wrt\[0\] must be a symbol"):
        reverse._symbols([ir.const(1.0), x])
    v = sg.Value(2.0)  # not an Expr: the per-symbol path reads its symbol
    assert reverse._symbols([x, v]) == ([x, v._expr], False)
    with pytest.raises(TypeError):
        reverse._symbols([x, 3.0])


def test_gradient_entries_and_zeros_for_unused_symbols():
    x, y, z = sg.symbols("x y z")
    f = x * y + sg.sin(x)
    grads = sg.gradient(f, [z, x, y, z])
    assert grads[0] is ir.const(0.0) and grads[3] is ir.const(0.0)
    assert sg.evaluate(grads, {x: 0.0, y: 2.0, z: 1.0}) == [0.0, 3.0, 0.0, 0.0]


# -- the snapshot a compiled function keeps ---------------------------------------------------


def _snapshot_by_definition(roots):
    """``claims`` of each root, then of each claimed f (two levels), by serial."""
    out = {}
    level = list(roots)
    for _ in range(2):
        nxt = {}
        for g in level:
            if g.serial not in out:
                out[g.serial] = provenance.claims(g)
                nxt.update({f.serial: f for f, _ in out[g.serial]})
        level = [f for f in nxt.values() if f.serial not in out]
    return out


def _comparable(snap):
    return {
        k: [(f, (x.serial, x.pairs) if isinstance(x, provenance.Along) else x) for f, x in v]
        for k, v in snap.items()
    }


def test_snapshot_matches_the_claims_it_reads():
    x, y, z = sg.symbols("x y z")
    f = sg.exp(x * y) + x * z
    grads = sg.gradient(f, [x, y, z])
    hess = sg.hessian(f, [x, y])  # second level: the gradient entries' own claims
    twice = sg.gradient(f * 1.0 + y, [y])  # y's entry now has two claims (f's, and this f's)
    gone = sg.gradient(sg.sin(x) * z + 2.0, [z])  # its f dies: that claim is dropped
    del gone
    ir._sweep()
    outs = sg.autodiff.jvp([f], [x, y], [z, z])  # a claim along a direction
    unclaimed = x * y * z
    roots = [f, *grads, *(e for row in hess for e in row), *twice, *outs, unclaimed, grads[0]]
    snap = provenance.snapshot(roots)
    assert _comparable(snap) == _comparable(_snapshot_by_definition(roots))
    assert snap[unclaimed.serial] == []
    along = snap[outs[0].serial][0][1]
    assert isinstance(along, provenance.Along) and along.pairs == ((x, z), (y, z))


def test_snapshot_second_level_and_pinned_directions():
    x, y, w = sg.symbols("x y w")
    f = sg.exp(x * y) + x
    hess = sg.hessian(f, [x, y])
    roots = [e for row in hess for e in row]  # their claims name the gradient's entries
    snap = provenance.snapshot(roots)
    assert _comparable(snap) == _comparable(_snapshot_by_definition(roots))
    assert len(snap) > len({e.serial for e in roots})  # the entries' own claims came too
    t = sg.Symbol("t")
    (out,) = sg.autodiff.jvp([f], [x, w], [y, t])  # f does not read w: t is not in out
    snap = provenance.snapshot([out])
    ref = weakref.ref(t)
    del t
    gc.collect()
    ir._sweep()
    assert ref() is not None  # the snapshot's direction holds its tangents
    ((claimed, along),) = snap[out.serial]
    assert claimed is f and along.pairs[1][1] is ref()
