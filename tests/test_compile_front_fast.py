"""The compile front's fast paths (input naming, derivative labels, the passes' first-change
scan) against the general paths they shortcut, or an independent definition: a wrong fast
path fails here, not only in a benchmark."""

from __future__ import annotations

import math

import pytest

import symgrad as sg
from symgrad import passes
from symgrad.autodiff import provenance
from symgrad.backends import params as params_mod
from symgrad.backends.naming import NameScope, derivative_labels, sanitize
from symgrad.ir import Expr, const, make, topo_order
from symgrad.ops import Op


def _node(x):
    return getattr(x, "_expr", x)


# -- input naming: the flat-list path against the general walk ------------------------------


def _name_inputs(items, general: bool, monkeypatch):
    """(params, arg_info, names, the scope's later names) or the error, by either path."""
    with monkeypatch.context() as m:
        if general:
            m.setattr(params_mod, "_symbol_nodes", lambda item: None)
        scope, names = NameScope(), {}
        try:
            got = params_mod.parameters(items, scope, names)
        except (TypeError, ValueError) as e:
            return type(e), str(e)
    later = [scope.fresh(lb) for lb in ("p0", "a", "arg0", "w", "x_1")]
    return got, names, later, sorted(scope._taken), sorted(scope._counters.items())


def _cases():
    a, b, c = sg.symbols("a b c")
    p = list(sg.symbols("p0:50"))
    q = list(sg.symbols("p0:3"))  # the same labels, other symbols: deduplicated names
    odd = list(sg.symbols("lambda w[0] _x x_ 0z f np p_1 p"))
    values = [sg.nn.Value(1.0) for _ in range(3)] if hasattr(sg, "nn") else []
    return {
        "flat": [p],
        "two lists, same labels": [p, q],
        "odd labels": [odd],
        "scalar then list": [a, [b, c]],
        "list then its symbol": [[a, b], a],
        "repeat inside a list": [[a, b, a]],
        "repeat across lists": [[a, b], [c, a]],
        "repeat of the first": [[a, a]],
        "non-symbol in list": [[a, a + b]],
        "number in list": [[a, 2.0]],
        "nested": [[[a, b], [c, p[0]]]],
        "ragged": [[[a], [b, c]]],
        "empty list": [[], [a]],
        "tuple": [(a, b)],
        "one long label": [list(sg.symbols("x" * 40 + " y"))],
        "unicode": [list(sg.symbols("α β"))],
        "values": [values] if values else [[a]],
        "mixed values and symbols": [[*values, b]] if values else [[b]],
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_flat_inputs_name_as_the_general_walk_does(case, monkeypatch):
    items = _cases()[case]
    fast = _name_inputs(items, False, monkeypatch)
    general = _name_inputs(items, True, monkeypatch)
    assert fast == general


def test_a_flat_list_of_symbols_takes_the_fast_path():
    p = list(sg.symbols("p0:4"))
    assert params_mod._symbol_nodes(p) == (p, ["p0", "p1", "p2", "p3"])
    a, b = sg.symbols("a b")
    for item in ([], [a, a + b], [a, 1.0], [[a]], (a, b)):
        assert params_mod._symbol_nodes(item) is None


def test_compiled_names_and_errors_unchanged_by_the_fast_path(monkeypatch):
    """Whole compiles: the generated source is the same by either path."""
    p = list(sg.symbols("w0:6"))
    x = list(sg.symbols("x0:6"))
    f = sum(pi * xi for pi, xi in zip(p, x))
    out = []
    for general in (False, True):
        with monkeypatch.context() as m:
            if general:
                m.setattr(params_mod, "_symbol_nodes", lambda item: None)
            fn = sg.compile([p, x], [f, sg.gradient(f, p)])
            out.append(fn.source)
            with pytest.raises(ValueError, match="'w0' is given twice"):
                sg.compile([p, [p[0]]], f)
    assert out[0] == out[1]


# -- derivative labels: the fast path against the per-claim definition ----------------------


def _reference_labels(roots, claims, names):
    """``derivative_labels`` by its definition, one root and one claim at a time."""

    def label(s):
        return names.get(s.serial) or sanitize(s.payload)

    def second(f):
        found = {id(s0): s0 for _, s0 in claims.get(f.serial, ())}
        return next(iter(found.values())) if len(found) == 1 else None

    kinds, firsts = [], {}
    for r in roots:
        cands = set()
        for f, s in claims.get(r.serial, ()):
            s0 = None if f is r else second(f)
            if f is r:
                cands.add(None)
            elif s0 is not None:
                lo, hi = sorted((s0, s), key=lambda e: e.serial)
                cands.add(("h", label(lo), label(hi)))
            else:
                cands.add(("g", id(f), label(s)))
                firsts.setdefault(id(f), len(firsts))
        kinds.append(cands.pop() if len(cands) == 1 else None)
    out = []
    for k in kinds:
        if k is None:
            out.append(None)
        elif k[0] == "h":
            out.append(f"h_{k[1]}_{k[2]}")
        else:
            out.append(f"g_{k[2]}" if len(firsts) <= 1 else f"g{firsts[k[1]]}_{k[2]}")
    return out


def _label_cases():
    a, b, c = sg.symbols("a b c")
    x = list(sg.symbols("x0:4"))
    f = sg.tanh(x[0] * x[1]) + x[2] ** 3 * x[3]
    g = sg.gradient(f, x)
    h = sg.hessian(f, x[:2])
    f1, f2 = a * b * c, sg.exp(a) + b
    j = sg.jacobian([f1, f2], [a, b, c])
    u, v, w = sg.symbols("u v w")
    two = sg.jacobian([u * v * w, sg.sin(u * v) * w], [u, v, w])  # entries of two functions
    t = sg.symbols("t")
    e = sg.exp(t)
    ge = sg.gradient(e, [t])  # exp(t) is its own derivative, and has no other claim
    odd = sg.symbols("w[0]")
    godd = sg.gradient(sg.sin(odd * odd), [odd])
    return {
        "gradient": ([f, *g], x),
        "gradient repeated roots": ([*g, *g, f, g[0]], x),
        "hessian": ([f, *g, *(v for row in h for v in row)], x),
        "jacobian": ([v for row in j for v in row], [a, b, c]),
        "jacobian then gradient": ([*j[1], *j[0], *g], [a, b, c, *x]),
        "jacobian of two": ([v for row in two for v in row], [u, v, w]),
        "jacobian of two, by column": ([row[k] for k in range(3) for row in two], [u, v, w]),
        "own derivative": ([e, *ge, *ge], [t]),
        "constants and symbols": ([f, const(0.0), const(math.inf), a, *g], x),
        "label not an input": ([*godd], []),
        "empty": ([], x),
    }


@pytest.mark.parametrize("case", list(_label_cases()))
def test_derivative_labels_match_their_definition(case):
    outs, inputs = _label_cases()[case]
    roots = [_node(o) if isinstance(_node(o), Expr) else const(o) for o in outs]
    claims = provenance.snapshot(roots)
    names = {_node(s).serial: f"n{i}" for i, s in enumerate(inputs)}
    assert derivative_labels(roots, claims, names) == _reference_labels(roots, claims, names)


def test_gradient_labels_name_the_parameters():
    x = list(sg.symbols("x0:3"))
    f = x[0] * x[1] * x[2]
    roots = [_node(v) for v in [f, *sg.gradient(f, x)]]
    names = {_node(s).serial: s.payload for s in x}
    got = derivative_labels(roots, provenance.snapshot(roots), names)
    assert got == [None, "g_x0", "g_x1", "g_x2"]


# -- the passes: the first-change scan against a sweep from the first node -------------------


def _sweep_from_start(roots, rules, guarded, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(passes, "_first_change", lambda order, slots, rules, new: 0)
        return passes._sweep(roots, rules, guarded)


def _pass_cases():
    a, b, c = (_node(s) for s in sg.symbols("a b c"))
    big = a
    for _ in range(300):  # a long chain with nothing to rewrite, then one rewrite at its end
        big = make(Op.ADD, (make(Op.MUL, (big, b)), c))
    late = make(Op.DIV, (big, const(4.0)))
    early = make(Op.ADD, (make(Op.POW, (a, const(2.0))), big))
    return {
        "nothing fires": [big],
        "fires at the end": [late],
        "fires first": [early],
        "fires twice": [early, late, make(Op.MUL, (const(2.0), make(Op.MUL, (const(4.0), a))))],
        "constant first or last": [
            make(Op.MUL, (const(3.0), a)),
            make(Op.DIV, (a, const(3.0))),
            make(Op.POW, (a, const(-1.0))),
        ],
        "inf and nan constants": [
            make(Op.DIV, (a, const(math.inf))),
            make(Op.POW, (b, const(math.nan))),
            make(Op.MUL, (const(math.inf), make(Op.MUL, (const(2.0), c)))),
        ],
        "a constant output": [const(1.5), a],
        "repeated roots": [late, late, big],
        "no roots": [],
    }


@pytest.mark.parametrize("case", list(_pass_cases()))
def test_optimize_equals_a_sweep_from_the_first_node(case, monkeypatch):
    roots = _pass_cases()[case]
    got = passes.optimize(roots)
    rules, guarded = {}, set()
    for _, rule, ops, _needs in passes.PIPELINE:
        for op in ops:
            rules.setdefault(op, []).append(rule)
            guarded.add(op)
    want = _sweep_from_start(roots, rules, frozenset(guarded), monkeypatch)
    assert [r.serial for r in got] == [r.serial for r in want]


def test_a_guarded_op_of_three_arguments_is_tried_with_a_middle_constant(monkeypatch):
    """``where(c, 1.0, b)``: the constant neither first nor last; an unguarded rule on every
    op (``rewrite``) sees leaves too, and skips them."""
    a, b = (_node(s) for s in sg.symbols("a b"))
    cond = make(Op.GT, (a, b))
    w = make(Op.WHERE, (cond, const(1.0), b))
    seen = []

    def rule(node, args):
        seen.append(node.serial)
        return make(Op.WHERE, (args[0], const(2.0), args[2])) if args[1].op is Op.CONST else None

    out = passes._sweep([w], {Op.WHERE: [rule]}, frozenset({Op.WHERE}))
    assert out[0].args[1].payload == 2.0 and seen[0] == w.serial
    assert _sweep_from_start([w], {Op.WHERE: [rule]}, frozenset({Op.WHERE}), monkeypatch) == out
    none = passes._sweep([make(Op.WHERE, (cond, a, b))], {Op.WHERE: [rule]}, frozenset({Op.WHERE}))
    assert none[0].args[1] is a
    every = passes.rewrite([w], lambda node, args: None)
    assert every == [w]


def test_the_slot_table_covers_every_op():
    rules = {op: [lambda n, a: None] for op in Op}
    slots = passes._slots(rules, frozenset({Op.MUL}))
    assert all(slots[op.code] == (rules[op], op is Op.MUL) for op in Op)
    assert topo_order([]) == []


# -- names: the joined-text test of plain labels, lazy labels ------------------------------


def _plain_one_by_one(labels) -> bool:
    """``_all_plain`` by its definition: each label one at a time."""
    return bool(labels) and all(
        type(lb) is str
        and lb.isascii()
        and lb.isidentifier()
        and len(lb) <= 32
        and lb[0] != "_"
        and lb[-1] != "_"
        for lb in labels
    )


@pytest.mark.parametrize(
    "labels",
    [
        [],
        [""],
        ["a", ""],
        ["", "a"],
        ["_a"],
        ["a_"],
        ["a__b"],
        ["0a"],
        ["a", "9"],
        ["x" * 32],
        ["x" * 33],
        ["a\nb"],
        ["a", "b\n"],
        ["é"],
        ["a b"],
        ["w0", "w1", "b"],
        ["a", 1],
        [f"p{i}" for i in range(2000)],
    ],
)
def test_plain_labels_by_joined_text_match_one_by_one(labels):
    from symgrad.backends.naming import _all_plain

    assert _all_plain(labels) == _plain_one_by_one(labels)


def test_lazy_hints_are_made_once_and_only_when_asked():
    from symgrad.backends.naming import LazyHints

    calls = []

    def make():
        calls.append(1)
        return {3: "g_w0"}

    hints = LazyHints(make)
    scope = NameScope(hints=hints)
    other = scope.copy()
    assert calls == [] and other.hints is hints  # shared, not made
    assert other.name_for(3) == "g_w0" and scope.hints.get(4) is None
    assert scope.hints.get(4, "d") == "d" and calls == [1]
    plain = NameScope(hints={1: "g_a"})
    assert plain.copy().hints == {1: "g_a"} and plain.copy().hints is not plain.hints


def test_hint_table_keeps_the_last_label_of_a_node():
    from symgrad.api import _hint_table

    a, b = (_node(s) for s in sg.symbols("a b"))
    roots = [a, b, a, b, a]
    labels = ["g_a", None, "h_a_a", None, None]
    want = {r.serial: lb for r, lb in zip(roots, labels) if lb is not None}
    assert _hint_table(roots, labels) == want
    assert _hint_table([], []) == {}


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_lazy_labels_print_what_eager_labels_print(backend, monkeypatch):
    """Each compile asks for the labels at most once, and prints what labels made before
    the lowering print."""
    from symgrad import api

    x = list(sg.symbols("x0:3"))
    y = sg.symbols("y")
    f = sg.tanh(x[0] * x[1]) * x[2] + y * y
    outs = [f, sg.gradient(f, x), sg.hessian(f, x[:2]), sg.jacobian([f, x[0] * y], [y])]
    real = api.derivative_labels
    calls = []

    def counted(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(api, "derivative_labels", counted)
    lazy = sg.compile([x, y], outs, backend=backend).source
    assert len(calls) == 1

    class Eager(api.LazyHints):
        def __init__(self, make):
            super().__init__(make)
            self.get(-1)

    monkeypatch.setattr(api, "LazyHints", Eager)
    assert sg.compile([x, y], outs, backend=backend).source == lazy
    assert "g0_x0" in lazy and "h_x0_x1" in lazy


@pytest.mark.parametrize("case", list(_pass_cases()))
def test_optimize_with_the_callers_order_equals_its_own_walk(case):
    roots = _pass_cases()[case]
    given = passes.optimize(roots, order=topo_order(roots))
    assert [r.serial for r in given] == [r.serial for r in passes.optimize(roots)]
