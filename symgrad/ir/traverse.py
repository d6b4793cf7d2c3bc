"""Topological order of the DAG, iteratively: no traversal of the IR ever recurses.

It reads only ``serial`` and ``args`` of a node, so it sits below the node type itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

_by_serial = attrgetter("serial")
_orders: dict[tuple[int, ...], list[Any]] | None = None  # see orders_shared


@contextmanager
def orders_shared() -> Iterator[None]:
    """Within the block, ``topo_order`` of the same roots is computed once: compiling asks for
    it in its input check, its passes and its printer. The nodes stay alive until the block
    ends, so only a caller that holds the roots anyway should use it."""
    global _orders
    outer = _orders
    if outer is None:
        _orders = {}
    try:
        yield
    finally:
        if outer is None:
            _orders = None


def share_order(roots: list[Any], nodes: list[Any]) -> None:
    """Within an ``orders_shared`` block, take ``nodes`` as ``topo_order(roots)``: a pass that
    derived it from an order it holds (a subgraph's, by filtering) saves the walk. Outside a
    block this does nothing."""
    if _orders is not None:
        _orders[tuple([r.serial for r in roots])] = nodes


def topo_order(roots: Iterable[Any]) -> list[Any]:
    """Every node reachable from ``roots``, children before parents (by serial)."""
    stack = list(roots)
    cache = _orders
    if cache is not None:
        key = tuple([r.serial for r in stack])
        hit = cache.get(key)
        if hit is not None:
            return list(hit)
    seen: set[int] = set()
    mark = seen.add
    nodes: list[Any] = []
    keep = nodes.append
    pop, push = stack.pop, stack.extend
    while stack:
        node = pop()
        s = node.serial
        if s in seen:
            continue
        mark(s)
        keep(node)
        args = node.args
        if args:
            push(args)
    nodes.sort(key=_by_serial)
    if cache is not None:
        cache[key] = nodes
        return list(nodes)
    return nodes


def split_order(roots: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """(the nodes with arguments reachable from ``roots``, children before parents; the
    leaves, in no order): what the reverse sweep reads, without sorting the leaves (a third of
    an MLP's nodes: its weights), which it never visits in order. Within an ``orders_shared``
    block, split from ``topo_order``'s shared order."""
    if _orders is not None:
        nodes = topo_order(roots)
        return [n for n in nodes if n.args], [n for n in nodes if not n.args]
    stack = list(roots)
    seen: set[int] = set()
    mark = seen.add
    ops: list[Any] = []
    leaves: list[Any] = []
    keep_op, keep_leaf = ops.append, leaves.append
    pop, push = stack.pop, stack.extend
    while stack:
        node = pop()
        s = node.serial
        if s in seen:
            continue
        mark(s)
        args = node.args
        if args:
            keep_op(node)
            push(args)
        else:
            keep_leaf(node)
    ops.sort(key=_by_serial)
    return ops, leaves


def order_and_leaves(roots: list[Any]) -> tuple[list[Any], list[Any], int]:
    """(``topo_order(roots)``, the leaves among them, how many nodes with arguments
    ``roots[0]`` alone reaches), from one walk: ``sg.compile``'s input check reads only the
    leaves, and its cost split the forward value's op count (the walk takes ``roots[0]``'s
    subgraph first). Within an ``orders_shared`` block the order is shared as
    ``topo_order``'s."""
    seen: set[int] = set()
    mark = seen.add
    ops: list[Any] = []
    leaves: list[Any] = []
    keep_op, keep_leaf = ops.append, leaves.append
    counts = []
    for part in (roots[:1], roots[1:]):
        stack = list(part)
        pop, push = stack.pop, stack.extend
        while stack:
            node = pop()
            s = node.serial
            if s in seen:
                continue
            mark(s)
            args = node.args
            if args:
                keep_op(node)
                push(args)
            else:
                keep_leaf(node)
        counts.append(len(ops))
    nodes = ops + leaves
    nodes.sort(key=_by_serial)
    share_order(roots, nodes)
    return list(nodes) if _orders is not None else nodes, leaves, counts[0]
