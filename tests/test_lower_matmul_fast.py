"""The lowering's fast paths (backends/lower_matmul.py) against independent definitions: a
chain of additions kept at hand, a sum's products split in whole-list steps, the reduced
outputs' pairs, columns, picks and scalar order from one loop over the roots. A wrong fast
path fails here, not only in the source checksums of a benchmark."""

from __future__ import annotations

import math
import random
from collections import Counter

import symgrad as sg
from symgrad.backends import lower_matmul as lm
from symgrad.backends.lowered import Dot, Lowered, OuterSum, Total
from symgrad.ir import Expr, const, topo_order
from symgrad.ops import Op


def _x(e) -> Expr:
    return getattr(e, "_expr", e)


def _syms(name: str, n: int) -> list[Expr]:
    return [_x(s) for s in sg.symbols(f"{name}0:{n}")]


# -- sums -----------------------------------------------------------------------------------


def _sums_by_definition(nodes: list[Expr], roots: list[Expr]) -> list[tuple[int, list[int]]]:
    """Maximal single-use addition trees, walked down from every addition no other addition
    absorbs (use counts over every argument), in serial order of the tops."""
    uses = Counter(a.serial for n in nodes for a in n.args)
    root_set = {r.serial for r in roots}
    inner = {
        a.serial
        for n in nodes
        if n.op is Op.ADD
        for a in n.args
        if a.op is Op.ADD and uses[a.serial] == 1 and a.serial not in root_set
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
                terms.append(m.serial)
        out.append((n.serial, terms))
    return out


def _key(sums) -> list[tuple[int, list[int]]]:
    return [(n.serial, [t.serial for t in ts]) for n, ts in sums]


def _interleaved_chains(rng: random.Random) -> list[Expr]:
    """Several chains grown in turns (no chain's additions consecutive), some partial sums
    reused (by another chain, a product, twice in one sum, as an output), right-nested sums,
    constants (inf and nan among them) as terms."""
    xs = _syms("c", 8)
    consts = [const(v) for v in (2.0, math.inf, math.nan)]
    chains = [rng.choice(xs) for _ in range(4)]
    extra: list[Expr] = []
    for _ in range(60):
        j = rng.randrange(4)
        t = rng.choice(xs + consts)
        pick = rng.random()
        if pick < 0.5:
            chains[j] = _x(chains[j] + t * rng.choice(xs))
        elif pick < 0.65:
            chains[j] = _x(chains[j] + chains[(j + 1) % 4])  # a chain absorbs another
        elif pick < 0.75:
            chains[j] = _x(t + chains[j])  # the chain as right argument
        elif pick < 0.85:
            extra.append(_x(sg.sin(chains[j])))  # a partial sum used elsewhere
        elif pick < 0.9:
            chains[j] = _x(chains[j] + chains[j])
        else:
            chains[j] = _x(chains[j] + (t + rng.choice(xs)))
    return chains + extra[:3] + [chains[0]]


def test_sums_match_the_definition_on_interleaved_chains() -> None:
    rng = random.Random(3)
    for _ in range(200):
        roots = _interleaved_chains(rng)
        nodes = topo_order(roots)
        assert _key(lm._sums(nodes, roots)) == _sums_by_definition(nodes, roots)


def test_sums_of_a_deep_chain_and_of_nothing() -> None:
    xs = _syms("d", 7)
    acc = xs[0]
    for i in range(100_000):
        acc = _x(acc + xs[1 + i % 6] * xs[i % 5])
    nodes = topo_order([acc])
    ((top, terms),) = lm._sums(nodes, [acc])
    assert top is acc and len(terms) == 100_001 and terms[0] is xs[0]
    assert lm._sums([], []) == []
    assert lm._sums(xs, xs) == []


# -- splitting a sum into products ----------------------------------------------------------


def _split_by_definition(terms, elements, count):
    """The term-by-term rule as a plain list of (weight, vector) products and the rest."""
    prods, rest = [], []
    for t in terms:
        if t.op is Op.MUL:
            u, v = t.args
            eu, ev = u.serial in elements, v.serial in elements
            if eu and (not ev or count[u.serial] < count[v.serial]):
                prods.append((u, v))
                continue
            if ev and (not eu or count[v.serial] < count[u.serial]):
                prods.append((v, u))
                continue
        rest.append(t)
    if len(prods) < 2 or len({elements[w.serial][0] for w, _ in prods}) > 1:
        return False
    if len({a.serial for _, a in prods}) < len(prods):
        return False
    vec = {a.serial: elements[w.serial] for w, a in prods}
    return (
        elements[prods[0][0].serial][0],
        vec,
        rest,
        [a.serial for _, a in prods],
        [a for _, a in prods],
    )


def _random_sum(rng: random.Random, pools: list[list[Expr]], free: list[Expr]) -> list[Expr]:
    """Terms of one sum: products of parameter elements with free nodes or with each other
    (either order), sometimes a repeated vector or a weight of another parameter, constants
    and bare symbols."""
    terms = []
    side = rng.random() < 0.5
    for _ in range(rng.randrange(0, 7)):
        r = rng.random()
        w = rng.choice(pools[0] if rng.random() < 0.85 else pools[1])
        if r < 0.55:
            v = rng.choice(free)
        elif r < 0.8:
            v = rng.choice(pools[2])  # both factors elements: the counts decide
        elif r < 0.9:
            terms.append(rng.choice([const(math.inf), const(1.5), w]))
            continue
        else:
            v = w  # w*w: neither side wins
        a, b = (w, v) if side or rng.random() < 0.2 else (v, w)
        terms.append(_x(a * b))
    return terms


def test_whole_list_split_agrees_with_the_term_by_term_rule() -> None:
    rng = random.Random(11)
    pools = [_syms("w", 6), _syms("u", 3), _syms("x", 4)]
    free = [_x(sg.tanh(s)) for s in _syms("f", 4)]
    elements = {s.serial: (q, i) for q, pool in enumerate(pools) for i, s in enumerate(pool)}
    fast_taken = 0
    for _ in range(3000):
        sums = [_random_sum(rng, pools, free) for _ in range(3)]
        count = Counter(a.serial for ts in sums for t in ts if t.op is Op.MUL for a in t.args)
        for terms in sums:
            uv = [t.args for t in terms if t.op is Op.MUL]
            su, sv = [u.serial for u, _ in uv], [v.serial for _, v in uv]
            want = _split_by_definition(terms, elements, count)
            assert lm._split(terms, elements, count) == want
            if len(uv) > 1:
                fast = lm._split_all(terms, uv, su, sv, elements, count)
                if fast is not None:
                    fast_taken += 1
                    assert fast == want
    assert fast_taken > 500  # the whole-list path was exercised, not only its fallback


# -- reduced outputs ------------------------------------------------------------------------


def _reduced_by_definition(roots: list[Expr]):
    """Picks by definition: a product no node uses (newer factor as row), else the root with
    no column; rows grouped by their column sets; plus the scalar graph's fresh walk."""
    used = {a.serial for n in topo_order(roots) for a in n.args}
    pairs = []
    for r in roots:
        if r.op is Op.MUL and r.serial not in used:
            a, b = r.args
            pairs.append((a, b) if a.serial >= b.serial else (b, a))
        else:
            pairs.append((r, None))
    return pairs


def _check_reduced(roots: list[Expr]) -> None:
    items, picks, dots, order = lm._reduced(roots)
    pairs = _reduced_by_definition(roots)
    assert len(picks) == len(roots)
    for (row, col), pick in zip(pairs, picks):
        it = items[pick[0]]
        if isinstance(it, Total):
            assert len(pick) == 1 and it.node is row and col is None
        elif isinstance(it, Dot):
            assert len(pick) == 1 and (it.a, it.b) == (row, col)
        else:
            assert isinstance(it, OuterSum) and it.rows.nodes[pick[1]] is row
            j = pick[2]
            if col is None:
                assert it.ones and j == len(it.cols.nodes)
            else:
                assert it.cols.nodes[j] is col
    distinct = {(row.serial, -1 if col is None else col.serial) for row, col in pairs}
    assert dots == sum(1 for _, c in distinct if c >= 0)
    scalar = Lowered(roots, [], items, picks, dots).output_nodes()
    if any(c is not None for _, c in pairs):
        assert [n.serial for n in order] == [n.serial for n in topo_order(scalar)]
    else:
        assert order is None


def test_reduced_picks_on_interleaved_rows_repeats_and_constants() -> None:
    rng = random.Random(5)
    g = [_x(sg.tanh(s)) for s in _syms("g", 4)]
    x = _syms("v", 5)
    for _ in range(300):
        roots: list[Expr] = []
        for _ in range(rng.randrange(0, 25)):
            r = rng.random()
            a, b = rng.choice(g), rng.choice(x + g)
            if r < 0.6:
                roots.append(_x(a * b) if rng.random() < 0.5 else _x(b * a))
            elif r < 0.7 and roots:
                roots.append(rng.choice(roots))  # the same output twice
            elif r < 0.8:
                roots.append(_x(a * a))
            elif r < 0.9:
                roots.append(rng.choice([a, const(math.nan), const(2.0)]))
            elif roots:
                roots.append(_x(roots[-1] + a))  # a product another output uses
        if roots:
            _check_reduced(roots)


def test_reduced_outer_sum_of_a_layer_in_runs_and_shuffled() -> None:
    x = _syms("i", 9)
    g = [_x(sg.tanh(s)) for s in _syms("h", 6)]  # newer than x: the rows
    roots = [_x(gj * xk) for gj in g for xk in x] + g  # weight gradients, then biases
    _check_reduced(roots)
    random.Random(2).shuffle(roots)
    _check_reduced(roots)
    items, *_ = lm._reduced(roots)
    assert [type(it) for it in items] == [OuterSum]
