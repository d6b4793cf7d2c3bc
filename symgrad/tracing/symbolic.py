"""A transform called with traced arguments: built as expressions, not compiled.

Inside another transform's trace (``sg.grad(sg.grad(f))``) or with expressions (``sg.grad(f)
(x)`` for a symbol ``x``), the differentiated arguments get fresh symbols, ``fn`` runs on them
in a child ``TraceContext`` (which asks its parent for values, so Python branches still follow
the outer call), the answer is built as expressions, and the fresh symbols are substituted by
the arguments' own expressions. The child's guards, substituted alike, become the parent's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import check, results
from .args import Leaf, flatten, unflatten
from .array import Traced, to_exprs
from .builders import Group
from .context import TraceContext, current


def _actual(v: Any) -> tuple[list, tuple | None]:
    """A leaf's expressions (flat, C order) and shape (None for a scalar)."""
    e = to_exprs(v)
    if isinstance(e, np.ndarray):
        return e.ravel().tolist(), tuple(e.shape)
    return [e], None


class _Given:
    """A leaf passed as it is (not differentiated): its own expressions."""

    __slots__ = ("syms", "shape", "traced")

    def __init__(self, v: Any) -> None:
        self.syms, self.shape = _actual(v)
        self.traced = v


def call_symbolic(tf: Any, args: tuple, kwargs: dict) -> Any:
    parent = current()
    n = len(args)
    diff = tf._positions(n)
    static = {a % n for a in tf.static if -n <= a < n}
    ctx = TraceContext(parent=parent, name=tf.__name__)
    mapping: dict[int, Any] = {}
    values, groups = [], []
    names = sorted(kwargs)
    for i, v in enumerate(list(args) + [kwargs[k] for k in names]):
        if i in static:
            values.append(v)
            groups.append(None)
            continue
        lbl = tf.label(i) if i < n else names[i - n]
        tokens, leaves, labels = flatten(v, lbl)
        if i not in diff:
            groups.append(Group(tokens, [_Given(x) for x in leaves]))
            values.append(v)
            continue
        stand = []
        for x, leaf_label in zip(leaves, labels):
            exprs, shape = _actual(x)
            leaf = Leaf(leaf_label, shape)
            for s, e in zip(leaf.syms, exprs):
                mapping[s.serial] = e
            ctx.diff.update(s.serial for s in leaf.syms)
            stand.append(leaf)
        groups.append(Group(tokens, stand))
        values.append(unflatten(tokens, [leaf.traced for leaf in stand]))
    ctx.subst = mapping
    if parent is not None:
        parent.nested = True  # this trace checks fn; the enclosing one need not
    plain = _plain(ctx, args, kwargs, static) if tf.check_trace else None
    answer = tf.run_traced(ctx, values[:n], dict(zip(names, values[n:])), groups, diff, plain)
    skeleton, exprs = results.split(answer)
    exprs = results.substitute(exprs, mapping)
    if parent is not None and ctx.guards:
        conds = results.substitute([c for c, _ in ctx.guards], mapping)
        for c, (_, outcome) in zip(conds, ctx.guards):
            parent.record(c, outcome)
    leaf = results.traced_leaf if parent is not None or _any_traced(args) else results.expr_leaf
    return results.build(skeleton, exprs, leaf)


def _plain(ctx: TraceContext, args: tuple, kwargs: dict, static: set):
    """The trace check's plain arguments: the traced ones' numbers at the enclosing call
    (None where it knows none, as for symbols passed by the user)."""

    def make() -> tuple | None:
        try:
            return check.evaluated_arguments(ctx, args, kwargs, static)
        except TypeError:
            return None

    return make


def _any_traced(args: tuple) -> bool:
    return any(isinstance(a, Traced) for a in args)
