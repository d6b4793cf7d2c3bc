"""The compile front's fast paths against the general ones they replace (an independent
oracle each): a wrong fast path fails here, not only in a benchmark."""

from __future__ import annotations

import random
from collections import Counter

import symgrad as sg
from symgrad.backends import lower_matmul as lm
from symgrad.ir import Expr, topo_order
from symgrad.ops import Op


def _sums_reference(nodes: list[Expr], roots: list[Expr]) -> list[tuple[Expr, list[Expr]]]:
    """The maximal single-use addition trees by definition: use counts, then a walk down
    from every addition that is no other addition's single-use argument."""
    uses = Counter(a.serial for n in nodes for a in n.args)
    for r in roots:
        uses[r.serial] += 2
    inner = {
        a.serial
        for n in nodes
        if n.op is Op.ADD
        for a in n.args
        if a.op is Op.ADD and uses[a.serial] == 1
    }
    out = []
    for n in nodes:
        if n.op is not Op.ADD or n.serial in inner:
            continue
        terms, stack = [], [n]
        while stack:
            m = stack.pop()
            if m is n or m.serial in inner:
                stack.extend(reversed(m.args))
            else:
                terms.append(m)
        out.append((n, terms))
    return out


def _random_graph(rng: random.Random, n_syms: int = 6, n_nodes: int = 60) -> list[Expr]:
    """Random sums and products over a few symbols, with sharing (a node reused by several
    parents, an addition used twice, outputs inside sums)."""
    pool = [getattr(s, "_expr", s) for s in sg.symbols(f"r0:{n_syms}")]
    for _ in range(n_nodes):
        a, b = rng.choice(pool), rng.choice(pool)
        op = rng.choice(["add", "add", "add", "mul", "sin"])
        e = a + b if op == "add" else a * b if op == "mul" else sg.sin(a)
        pool.append(getattr(e, "_expr", e))
    return [e for e in rng.sample(pool[n_syms:], 4) if e.args]


def _key(sums):
    return [(n.serial, [t.serial for t in ts]) for n, ts in sums]


def test_sums_match_the_definition_on_random_graphs() -> None:
    rng = random.Random(7)
    for _ in range(300):
        roots = _random_graph(rng)
        nodes = topo_order(roots)
        assert _key(lm._sums(nodes, roots)) == _key(_sums_reference(nodes, roots))


def test_sums_of_a_long_chain_and_a_shared_subsum() -> None:
    xs = [getattr(s, "_expr", s) for s in sg.symbols("c0:50")]
    acc = xs[0]
    for v in xs[1:]:
        acc = acc + v
    shared = xs[0] + xs[1]
    roots = [getattr(e, "_expr", e) for e in (acc, shared * 2.0 + shared, sg.sin(shared))]
    nodes = topo_order(roots)
    assert _key(lm._sums(nodes, roots)) == _key(_sums_reference(nodes, roots))


def test_live_rebuild_agrees_with_the_full_rebuild() -> None:
    """Rebuilding only what the lowered graph reaches maps every node it reads (roots and the
    products' vectors) as rebuilding the whole graph does."""
    w = sg.symbols("w0:12")
    v = sg.symbols("v0:3")
    b = sg.symbols("b0:4")
    hidden = [sg.tanh(sum(w[3 * j + k] * v[k] for k in range(3)) + b[j]) for j in range(4)]
    out = [getattr(e, "_expr", e) for e in (sum(hidden), hidden[0] * hidden[1])]
    names = {}
    params = []
    for q, group in enumerate((w, v, b)):
        spec = [f"n{q}_{i}" for i in range(len(group))]
        names.update((getattr(s, "_expr", s).serial, nm) for s, nm in zip(group, spec))
        params.append((f"p{q}", spec))
    elements = lm.elements_of(params, names)
    products, replace = lm._products(out, elements, {})
    assert products
    full = lm.rebuild(topo_order(out), replace)
    live = lm.rebuild(lm._live(out, products, replace), replace)
    read = [*out, *(n for m in products for n in m.vectors.nodes)]
    assert [full.get(n.serial, n) for n in read] == [live.get(n.serial, n) for n in read]
