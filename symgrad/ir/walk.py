"""Walks over the IR and its nested outputs, all iterative: counts, free symbols, and the
reference interpreter ``evaluate``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .. import structure as _structure
from ..ops import INFO, Op
from .methods import as_expr
from .node import Expr
from .traverse import topo_order


def leaves(structure: Any) -> list[Any]:
    """The leaves of a nested list/tuple structure, in order (see ``symgrad.structure``)."""
    return _structure.leaves(structure, is_leaf=_structure.dict_leaf)


def flatten(outputs: Any) -> list[Expr]:
    """The expressions of a nested list/tuple/array structure, in order (numbers become
    constants)."""
    items = _structure.leaves(outputs, arrays=True, is_leaf=_structure.dict_leaf)
    if set(map(type, items)) <= {Expr}:  # expressions already (a gradient): nothing to convert
        return items
    return [as_expr(getattr(x, "_expr", x), "output") for x in items]


def map_leaves(structure: Any, fn: Callable[[Any], Any]) -> Any:
    """``structure`` (nested lists/tuples) rebuilt with ``fn(leaf)`` for each leaf, in order."""
    return _structure.map(fn, structure, is_leaf=_structure.dict_leaf)


def unflatten(structure: Any, values: Iterable) -> Any:
    """Rebuild ``structure`` (nested lists/tuples) with its leaves replaced by ``values``."""
    it = iter(values)
    return map_leaves(structure, lambda _: next(it))


def free_symbols(outputs: Any) -> list[Expr]:
    """The symbols that ``outputs`` depend on, oldest first."""
    return [n for n in topo_order(flatten(outputs)) if n.op is Op.SYMBOL]


def count_ops(outputs: Any) -> int:
    """The number of operation nodes (not leaves) that computing ``outputs`` takes (a walk
    without topo_order's sort: a count needs no order)."""
    stack = flatten(outputs)
    seen: set[int] = set()
    mark, pop, push = seen.add, stack.pop, stack.extend
    ops = 0
    while stack:
        node = pop()
        if node.serial in seen:
            continue
        mark(node.serial)
        if node.args:
            ops += 1
            push(node.args)
    return ops


def evaluate(outputs: Any, env: dict) -> Any:
    """The reference interpreter: ``outputs`` (an expression or nested list/tuple of them)
    evaluated with IEEE-754 semantics at ``env`` (symbol -> number); same structure of floats."""
    roots = flatten(outputs)
    values: dict[int, float] = {}
    for key, v in env.items():
        k = getattr(key, "_expr", key)
        if not isinstance(k, Expr) or k.op is not Op.SYMBOL:
            raise TypeError(f"env keys must be symbols, got {key!r:.60}")
        try:
            if isinstance(v, str | bytes):  # float("2") parses text: a value must be a number
                raise TypeError
            values[k.serial] = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"env[{k.payload!r}] must be a real number, not {v!r:.60}") from None
    for node in topo_order(roots):
        if node.serial in values:
            continue
        if node.op is Op.CONST:
            values[node.serial] = node.payload
        elif node.op is Op.SYMBOL:
            raise ValueError(f"env has no value for the symbol {node.payload!r}")
        else:
            values[node.serial] = INFO[node.op].on_floats(*(values[a.serial] for a in node.args))
    result = [float(values[r.serial]) for r in roots]
    return unflatten(outputs, result) if isinstance(outputs, list | tuple) else result[0]
