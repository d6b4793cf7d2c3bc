"""The reverse sweep of ``sg.Value``: micrograd's local chain rules and ``backward``'s loop.

The rules of micrograd's own ops (+ - * / **, neg, tanh, exp, log, relu, sigmoid) are written
by hand: they are the tutorial's arithmetic and the hot path of eager training. Every other op
with a derivative rule gets its rule from ``derived.py`` (the IR's rule, compiled). A rule reads
``out.grad`` and adds into ``out._prev``'s grads; none of them recurses, nor does the sweep.
"""

from __future__ import annotations

from typing import Any

from .. import scalar
from ..ops import INFO, Op
from .derived import derived_rules

Value = Any  # a Value (value.py imports this module; the rules need only its attributes)

# -- local chain rules: out.grad flows into out._prev ------------------------------------------


def _add(out: Value) -> None:
    a, b = out._prev
    a.grad += out.grad
    b.grad += out.grad


def _sub(out: Value) -> None:
    a, b = out._prev
    a.grad += out.grad
    b.grad -= out.grad


def _mul(out: Value) -> None:
    a, b = out._prev
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


def _div(out: Value) -> None:
    a, b = out._prev
    a.grad += scalar._div(out.grad, b.data)  # IEEE: b == 0 with an inf or nan numerator
    b.grad -= scalar._div(out.grad * out.data, b.data)


def _pow(out: Value) -> None:
    a, k = out._prev
    if k._kind is Op.CONST:  # Value ** number (0 ** -0.5 is inf, as in the IR, not an error)
        k = k.data
        if k != 0.0:  # a ** 0 is 1 everywhere: no contribution (not 0 * 0**-1 = nan at a = 0)
            a.grad += k * scalar._pow(float(a.data), k - 1.0) * out.grad
    elif out.data != 0.0:  # number ** Value; d/dy 0**y = 0 (y > 0), never 0 * log(0)
        k.grad += out.data * scalar._log(a.data) * out.grad


def _neg(out: Value) -> None:
    out._prev[0].grad -= out.grad


def _tanh(out: Value) -> None:
    # sech^2, not 1 - t*t: that cancels to 0 from |x| ~ 19 where the truth is a normal float
    out._prev[0].grad += scalar._sech2(out._prev[0].data) * out.grad


def _exp(out: Value) -> None:
    out._prev[0].grad += out.data * out.grad


def _log(out: Value) -> None:
    a = out._prev[0]
    a.grad += scalar._div(out.grad, a.data)  # IEEE as the forward log(0) = -inf: 1/0 is inf


def _relu(out: Value) -> None:
    if out.data > 0:  # relu'(0) = 0, as in micrograd; the flat side adds exactly 0 (no 0*nan)
        out._prev[0].grad += out.grad


def _sigmoid(out: Value) -> None:
    # s(x) s(-x), not s (1 - s): 1 - s rounds to 0 from x = 37 on
    out._prev[0].grad += out.data * scalar._sigmoid(-out._prev[0].data) * out.grad


def _where(out: Value) -> None:
    # only the branch taken receives the gradient: exactly 0 to the other, even where its
    # own derivative is inf or nan (no mask multiplied in)
    c, a, b = out._prev
    (a if c.data else b).grad += out.grad


HAND_WRITTEN = {
    Op.WHERE: _where,
    Op.ADD: _add,
    Op.SUB: _sub,
    Op.MUL: _mul,
    Op.DIV: _div,
    Op.POW: _pow,
    Op.NEG: _neg,
    Op.TANH: _tanh,
    Op.EXP: _exp,
    Op.LOG: _log,
    Op.RELU: _relu,
    Op.SIGMOID: _sigmoid,
}
RULES = {**HAND_WRITTEN, **derived_rules(set(HAND_WRITTEN))}
"""op -> its eager rule; an op that passes no gradient (a condition, floor ...) has none."""

# ops that stop or select the gradient: with one of them in the graph, the sweep runs only the
# rules of nodes the gradient reaches (through the branches taken, never into a condition)
MASKING = frozenset(op for op in INFO if op not in RULES) | {Op.WHERE}


def sweep(root: Value) -> None:
    """``root.backward()`` once ``root`` is known to be valid: grad 1 at the root, then each
    node's rule, newest first, over an iterative topological order."""
    topo = _topo(root)
    root.grad = 1.0
    rules = RULES
    masking = MASKING
    if any(v._kind in masking for v in topo):
        _masked_sweep(root, topo)
        return
    for v in reversed(topo):
        rule = rules.get(v._kind)
        if rule is not None:
            rule(v)


def _masked_sweep(root: Value, topo: list[Value]) -> None:
    """The sweep where the graph has a ``where``, a condition or an op that passes no gradient:
    a node reached only through branches not taken (or only through a condition) runs no rule,
    so its infinite or NaN local derivative never meets the zero it would be multiplied by
    (the IR's masks, eagerly: the gradient there is exactly 0)."""
    reached = {root}
    rules = RULES
    for v in reversed(topo):
        if v not in reached:
            continue
        rule = rules.get(v._kind)
        if rule is None:
            continue
        rule(v)
        if v._kind is Op.WHERE:
            c, a, b = v._prev
            reached.add(a if c.data else b)
        else:
            reached.update(v._prev)


def _topo(root: Value) -> list[Value]:
    """Every Value reachable from ``root``, children before parents (iterative DFS)."""
    topo: list[Value] = []
    visited: set[Value] = set()  # Values hash by identity
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            topo.append(v)
            continue
        if v in visited:
            continue
        visited.add(v)
        stack.append((v, True))
        for c in v._prev:
            if c not in visited:
                stack.append((c, False))
    return topo
