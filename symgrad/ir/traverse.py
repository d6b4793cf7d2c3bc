"""Topological order of the DAG, iteratively: no traversal of the IR ever recurses.

It reads only ``serial`` and ``args`` of a node, so it sits below the node type itself.
"""

from __future__ import annotations

import weakref
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
    nodes: list[Any] = []
    leaves: list[Any] = []
    _walk(stack, set(), nodes, leaves)
    nodes += leaves
    nodes.sort(key=_by_serial)
    if cache is not None:
        cache[key] = nodes
        return list(nodes)
    return nodes


def split_order(roots: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """(the nodes with arguments reachable from ``roots``, children before parents; the
    leaves, in no order): what the reverse sweep reads, without sorting the leaves (a third of
    an MLP's nodes: its weights), which it never visits in order. Within an ``orders_shared``
    block, split from ``topo_order``'s shared order. The split of one root is remembered
    while that root lives (see ``_remember``)."""
    roots = list(roots)
    if _orders is not None:
        nodes = topo_order(roots)
        return [n for n in nodes if n.args], [n for n in nodes if not n.args]
    if len(roots) == 1:
        hit = _recall(roots[0])
        if hit is not None:
            return hit[0] + [roots[0]], list(hit[1])
    ops: list[Any] = []
    leaves: list[Any] = []
    _walk(roots, set(), ops, leaves)
    ops.sort(key=_by_serial)
    if len(roots) == 1 and ops:
        _remember(roots[0], ops, leaves)
    return ops, leaves


# The last single root split, its nodes with arguments but itself, and its leaves in the walk's
# order (see `_remember`).
_memo: tuple[weakref.ref, list[Any], list[Any]] | None = None


def _remember(root: Any, ops: list[Any], leaves: list[Any]) -> None:
    """Keep ``root``'s split while ``root`` lives: ``sg.compile`` of a loss and its gradient
    walks the loss's graph again (``order_and_leaves``), which this saves. Only nodes under
    ``root`` are held, never ``root`` itself (the last of ``ops``): when the caller lets go of
    it, the weak reference's callback drops the rest, so nothing outlives the caller's hold."""
    global _memo
    _memo = (weakref.ref(root, _forget), ops[:-1], list(leaves))  # copies: callers may edit


def _forget(ref: weakref.ref) -> None:
    global _memo
    memo = _memo
    if memo is not None and memo[0] is ref:
        _memo = None


def _recall(root: Any) -> tuple[list[Any], list[Any]] | None:
    """(``root``'s nodes with arguments but itself, sorted; its leaves) if remembered."""
    memo = _memo
    if memo is None or memo[0]() is not root:
        return None
    return memo[1], memo[2]


def _walk(roots: Iterable[Any], seen: set[int], ops: list[Any], leaves: list[Any]) -> None:
    """Every node reachable from ``roots`` not in ``seen`` (serials, updated): those with
    arguments appended to ``ops``, the others to ``leaves``, in walk order (a stack, no
    recursion)."""
    stack = list(roots)
    mark, keep_op, keep_leaf = seen.add, ops.append, leaves.append
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


def order_and_leaves(roots: list[Any]) -> tuple[list[Any], list[Any], int]:
    """(``topo_order(roots)``, the leaves among them, how many nodes with arguments
    ``roots[0]`` alone reaches), from one walk: ``sg.compile``'s input check reads only the
    leaves, and its cost split the forward value's op count (the walk takes ``roots[0]``'s
    subgraph first). Within an ``orders_shared`` block the order is shared as
    ``topo_order``'s."""
    seen: set[int] = set()
    ops: list[Any] = []
    leaves: list[Any] = []
    counts = []
    parts = [roots[:1], roots[1:]]
    hit = _recall(roots[0]) if roots else None
    if hit is not None:  # the first root's walk, as the gradient's sweep made it
        ops, leaves = hit[0] + [roots[0]], list(hit[1])
        seen.update(map(_by_serial, ops))
        seen.update(map(_by_serial, leaves))
        counts.append(len(ops))
        del parts[0]
    for part in parts:
        _walk(part, seen, ops, leaves)
        counts.append(len(ops))
    nodes = ops + leaves
    nodes.sort(key=_by_serial)
    share_order(roots, nodes)
    return list(nodes) if _orders is not None else nodes, leaves, counts[0]
