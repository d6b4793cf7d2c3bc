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


def _label(rng: random.Random) -> str:
    alphabet = "ab_Z09 é\n-"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 5))) + rng.choice(
        ["", "0", "1", "_", "x" * 30]
    )


def test_fresh_all_names_as_fresh_does_one_by_one() -> None:
    from symgrad.backends.naming import NameScope

    rng = random.Random(3)
    for _ in range(400):
        labels = [_label(rng) for _ in range(rng.randrange(0, 6))]
        if rng.random() < 0.5:  # a regular list, the fast path's case
            labels = [f"w{i}" for i in range(rng.randrange(1, 30))] + labels[:1]
        fast, slow = NameScope(), NameScope()
        slow.reserve("w3")
        fast.reserve("w3")
        assert fast.fresh_all(labels) == [slow.fresh(lb) for lb in labels]
        assert fast._taken == slow._taken
        assert fast.fresh_all(labels) == [slow.fresh(lb) for lb in labels]  # all taken now


def _runs_reference(values: list[int]) -> list[tuple[int, int, int]]:
    runs: list[list[int]] = []
    for v in values:
        if runs:
            r = runs[-1]
            if r[1] == 1 or v - (r[0] + r[2] * (r[1] - 1)) == r[2]:
                if r[1] == 1:
                    r[2] = v - r[0]
                r[1] += 1
                continue
        runs.append([v, 1, 1])
    return [tuple(r) for r in runs]


def test_runs_match_one_pass_greedy_runs() -> None:
    from symgrad.backends.numpy_steps import runs

    rng = random.Random(5)
    for _ in range(2000):
        vals: list[int] = []
        while len(vals) < rng.randrange(0, 80):
            start, step = rng.randrange(-5, 50), rng.randrange(-3, 4)
            vals += [start + step * j for j in range(rng.randrange(1, 40))]
        assert runs(vals) == _runs_reference(vals)
    assert runs(list(range(0, 300000, 3))) == [(0, 100000, 3)]


def test_elements_of_matches_a_lookup_by_name() -> None:
    names = {10: "a0", 11: "a1", 12: "b", 13: "c0", 14: "c1", 15: "c2"}
    params = [("a", ["a0", "a1"]), ("b", None), ("c", [["c0", "c1"], ["c2", "a0"]])]
    params[2] = ("c", [["c2", "c0"], ["c1"]])  # out of order: looked up by name
    by_name = {v: k for k, v in names.items()}
    want = {}
    for q, (_, spec) in enumerate(params):
        if spec is not None:
            for i, nm in enumerate(sg.structure.leaves(spec)):
                want[by_name[nm]] = (q, i)
    assert lm.elements_of(params, names) == want


def test_a_list_input_holding_an_expression_is_refused_by_name() -> None:
    a, b = sg.symbols("a b")
    for bad in ([a, a + b], [a + b, a]):
        try:
            sg.compile([bad], a)
        except TypeError as e:
            assert "inputs[0] must be a symbol" in str(e)
        else:
            raise AssertionError("compiled a non-symbol input")


def test_a_symbol_twice_in_a_list_input_is_refused() -> None:
    a, b = sg.symbols("a b")
    for inputs in ([[a, b, a]], [[a, b], [b]], [a, [b, a]]):
        try:
            sg.compile(inputs, a + b)
        except ValueError as e:
            assert "given twice" in str(e)
        else:
            raise AssertionError("compiled a repeated input")


def test_order_and_leaves_is_one_walk_of_topo_order() -> None:
    from symgrad.ir import count_ops
    from symgrad.ir.traverse import order_and_leaves

    rng = random.Random(11)
    for _ in range(200):
        roots = _random_graph(rng)
        nodes, leaves, first = order_and_leaves(roots)
        assert [n.serial for n in nodes] == [n.serial for n in topo_order(roots)]
        assert sorted(n.serial for n in leaves) == [n.serial for n in nodes if not n.args]
        assert first == count_ops(roots[:1])
    assert order_and_leaves([])[2] == 0


def test_forward_ops_count_the_first_output_after_the_passes() -> None:
    from symgrad.ir import count_ops
    from symgrad.passes import optimize

    a, b = sg.symbols("a b")
    for outs in ([a**2 + b, a * b], [sg.sin(a) * 3.0, a**3], [a, a * b], [(a * 2.0) * 3.0]):
        for passes in (True, False):
            fn = sg.compile([a, b], outs, optimize_passes=passes)
            roots = [getattr(e, "_expr", e) for e in sg.ir.flatten(outs)]
            want = count_ops((optimize(roots) if passes else roots)[:1])
            assert fn.stats["forward_ops"] == want


def test_missing_symbols_are_named_oldest_first() -> None:
    a, b, c = sg.symbols("a b c")
    try:
        sg.compile([a], c * a + b)
    except ValueError as e:
        assert "'b', 'c'" in str(e)
    else:
        raise AssertionError("compiled with free symbols")


def test_labels_of_one_gradient_with_its_hessian() -> None:
    """One function differentiated: every first derivative is ``g_``, second ``h_``."""
    from symgrad.autodiff import provenance
    from symgrad.backends.naming import derivative_labels

    x, y = sg.symbols("x y")
    f = sg.sin(x * y) + x**3
    outs = [
        getattr(e, "_expr", e)
        for e in sg.ir.flatten([sg.gradient(f, [x, y]), sg.hessian(f, [x, y])])
    ]
    names = {getattr(s, "_expr", s).serial: n for s, n in ((x, "x"), (y, "y"))}
    labels = derivative_labels(outs, provenance.snapshot(outs), names)
    assert labels == ["g_x", "g_y", "h_x_x", "h_x_y", "h_x_y", "h_y_y"]
