"""Optimizing passes: each a pure function from output roots to equivalent output roots.

Construction already folds constants, applies the IEEE-safe identities and shares equal
subexpressions (interning). The passes here do what construction cannot know to do. Each is
a named rule ``rule(node, new_args) -> Expr | None`` for the ops it lists; ``optimize`` runs
them all in one bottom-up sweep (one rebuild of the graph, not one per pass), trying a node's
rules in pipeline order until none fires (at most ``MAX_FIRES`` times per node). Dead code
never reaches a printer (``dce.live``). The Python backend's evaluation order for huge
programs is a lowering step of that backend (``backends/schedule.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from ..ir import Expr, gc_paused, make, topo_order
from ..ops import Op
from .algebra import FOLD_OPS, fold
from .strength import STRENGTH_OPS, strength_reduce

Rule = Callable[[Expr, tuple[Expr, ...]], Expr | None]

PIPELINE: list[tuple[str, Rule, frozenset[Op], bool]] = [
    ("strength", strength_reduce, STRENGTH_OPS, True),  # x**k: k a constant
    ("fold", fold, FOLD_OPS, True),  # c1*(c2*a), a/c: a constant factor
]
"""(name, rule, the ops it rewrites, whether it fires only on a node with a constant
argument), in the order they are tried on a node. Where every rule of an op needs a constant,
the sweep skips that op's nodes without one (most products of a model: weight * value)."""

MAX_FIRES = 4


def rewrite(roots: list[Expr], rule: Rule, ops: frozenset[Op] | None = None) -> list[Expr]:
    """Rebuild ``roots`` bottom-up, letting ``rule(node, new_args)`` replace any node whose op
    is in ``ops`` (all ops if None); None keeps it. Iterative; unchanged subgraphs are kept."""
    if ops is None:
        ops = frozenset(Op)
    return _sweep(roots, {op: [rule] for op in ops}, frozenset())


def _sweep(
    roots: list[Expr],
    rules: dict[Op, list[Rule]],
    guarded: frozenset[Op],
    order: list[Expr] | None = None,
) -> list[Expr]:
    """One bottom-up rebuild trying ``rules`` per op; an op in ``guarded`` is tried only on a
    node with a constant argument. ``order`` is ``topo_order(roots)``, if the caller has it."""
    new: dict[int, Expr] = {}  # only the nodes that changed
    get = new.get
    const_op = Op.CONST
    if order is None:
        order = topo_order(roots)
    slots = _slots(rules, guarded)
    with gc_paused():
        start = _first_change(order, slots, rules, new)
        for node in islice(order, start, None):
            old = node.args
            if not old:
                continue
            cur = node
            if new:  # rebuild only if an argument changed (a plain loop: this is the hot path)
                for a in old:
                    if a.serial in new:
                        cur = make(node.op, tuple([get(b.serial, b) for b in old]))
                        break
            slot = slots[cur.op.code]
            node_rules = None if slot is None else slot[0]
            if node_rules is not None and slot[1]:
                for a in cur.args:
                    if a.op is const_op:
                        break
                else:
                    node_rules = None
            if node_rules is None:
                if cur is not node:
                    new[node.serial] = cur
                continue
            cur = _fire(cur, node_rules, rules)
            if cur is not node:
                new[node.serial] = cur
    return [get(r.serial, r) for r in roots] if new else list(roots)


def _fire(cur: Expr, node_rules: list[Rule], rules: dict[Op, list[Rule]]) -> Expr:
    """``cur`` after its rules (``node_rules``, then those of the op it becomes) fire, at
    most ``MAX_FIRES`` times."""
    op = cur.op
    for _ in range(MAX_FIRES):
        fired = None
        for rule in node_rules if cur.op is op else rules.get(cur.op, ()):
            fired = rule(cur, cur.args)
            if fired is not None:
                break
        if fired is None or fired is cur:
            break
        cur = fired
        if not cur.args:
            break
    return cur


def _slots(rules: dict[Op, list[Rule]], guarded: frozenset[Op]) -> list:
    """``(rules, guarded)`` of each op, by its ``code`` (``ir.build``'s small int per op),
    None for an op without rules: the sweeps look a node's op up in a list, which costs
    half what a dict lookup and a set test did per node."""
    slots: list[tuple[list[Rule], bool] | None] = [None] * (1 + max(op.code for op in Op))
    for op, op_rules in rules.items():
        slots[op.code] = (op_rules, op in guarded)
    return slots


def _first_change(order: list[Expr], slots: list, rules: dict[Op, list[Rule]], new: dict) -> int:
    """Where ``_sweep``'s loop must start: after the first node a rule rewrites, which goes
    into ``new`` (``len(order)`` if none). Before it no argument has changed, so only a node
    a rule may fire on can change, and this loop looks at nothing else: most graphs have few
    such nodes (a model's ``0.5 * ...``), and often none fires (then this loop is the whole
    pass: one list lookup per node; arguments are read only for an op with rules)."""
    c = Op.CONST
    for i, node in enumerate(order):
        slot = slots[node.op.code]
        if slot is None:
            continue
        a = node.args
        if not a:
            continue
        if slot[1] and a[0].op is not c and a[-1].op is not c:
            if len(a) < 3 or all(x.op is not c for x in a):
                continue
        cur = _fire(node, slot[0], rules)
        if cur is not node:
            new[node.serial] = cur
            return i + 1
    return len(order)


def optimize(
    roots: list[Expr], passes: list[str] | None = None, *, order: list[Expr] | None = None
) -> list[Expr]:
    """Run the pipeline (or only the named ``passes`` of it) over ``roots`` in one sweep;
    ``order`` is ``topo_order(roots)`` if the caller has it (``sg.compile``'s input check
    walked the graph: looking the order up again costs a key of every root's serial)."""
    rules: dict[Op, list[Rule]] = {}
    unguarded: set[Op] = set()
    for name, rule, ops, needs_const in PIPELINE:
        if passes is None or name in passes:
            for op in ops:
                rules.setdefault(op, []).append(rule)
                if not needs_const:
                    unguarded.add(op)
    guarded = frozenset(rules) - unguarded
    return _sweep(roots, rules, guarded, order) if rules else list(roots)


__all__ = ["optimize", "rewrite", "PIPELINE", "gc_paused", "Op"]
