"""Eager chain rules for ``sg.Value``, derived from the IR's rules (``autodiff/rules.py``).

``value.py`` writes micrograd's rules by hand (fast, and the tutorial's own arithmetic). Every
other op of the table with a derivative rule gets its eager rule here, from that one rule: the
rule is applied once to symbols ``x0, x1, ...`` and an adjoint ``g``, and the contributions it
returns are compiled (on first use, Python backend, IEEE-754) into one function of the operands'
data and the adjoint. So ``sg.sqrt``, ``sg.maximum`` ... of Values back-propagate exactly what
``sg.gradient`` gives, guards included (``where`` in a rule is lazy: its untaken side adds an
exact 0), and adding an op to the table needs nothing here.

Also here: the reason an eager operation records when it produces nan or inf from finite
operands (see ``Value``'s docstring for what ``where`` and ``backward`` do with it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..api import compile
from ..autodiff.rules import RULES
from ..ir import make, symbol
from ..ops import INFO, Op

EagerRule = Callable[[Any], None]


def derived_rules(skip: set[Op]) -> dict[Op, EagerRule]:
    """An eager rule for every op (not in ``skip``) whose IR rule passes any gradient.

    An op whose rule passes none (conditions, floor, sign ...) has no entry: the backward sweep
    then neither runs a rule for it nor reaches its operands through it."""
    out: dict[Op, EagerRule] = {}
    for op, rule in RULES.items():
        if op in skip or INFO[op].arity > 2:
            continue
        n = INFO[op].arity
        xs = tuple(symbol(f"x{i}") for i in range(n))
        g = symbol("g")
        parts = rule(make(op, xs), g, (True,) * n)
        which = tuple(i for i, p in enumerate(parts) if p is not None)
        if which:
            out[op] = _eager(op, (*xs, g), [parts[i] for i in which], which)
    return out


def _eager(op: Op, params: tuple, parts: list, which: tuple[int, ...]) -> EagerRule:
    """The rule of one op on a Value node: ``out.grad`` times the local derivatives, added into
    the operands' grads; compiled on the first call (import stays cheap)."""
    compiled: list[Any] = []

    def rule(out: Any) -> None:
        if not compiled:
            compiled.append(compile(list(params), parts, backend="python"))
        kids = out._prev
        got = compiled[0](*(float(k.data) for k in kids), float(out.grad))
        for i, d in zip(which, got):
            kids[i].grad += d

    rule.__name__ = f"_{op.value}"
    return rule


def _number(x: float) -> str:
    return repr(float(x))


def invalid_reason(name: str, args: tuple, result: float) -> str:
    """Why an eager op's nan or inf result from finite operands is not a number to trust,
    e.g. ``sqrt(-1.0) is nan (not a real number)``."""
    if name in ("+", "-", "*", "/", "**"):
        text = f"{_number(args[0])} {name} {_number(args[1])}"
    else:
        text = f"{name}({', '.join(_number(a) for a in args)})"
    if result != result:
        why = "not a real number"
    elif name == "/" or (name == "**" and args[0] == 0.0):
        why = "division by zero"
    else:
        why = "infinite at a finite argument: a pole or an overflow"
    return f"{text} is {result} ({why})"


def all_finite(values: Any) -> bool:
    return all(math.isfinite(v) for v in values)
