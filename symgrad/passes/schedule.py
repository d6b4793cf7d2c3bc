"""Scheduling: an evaluation order that keeps each value close to its uses on large graphs.

Serial order (the default) prints the whole forward pass, then the whole backward pass, so a
forward value lives until the far end of the program. This order is Kahn's algorithm with a
stack: after a node, the consumers it made ready come next, so each term's gradient follows
its forward work (for a sum like Rosenbrock's, value i and its gradient sit side by side). It
is applied only past ``MIN_NODES``, where a program is split into parts and a value that
crosses parts costs a store and a load; small programs keep the serial order, which reads
forward-then-backward.
"""

from __future__ import annotations

from ..ir import Expr, topo_order

MIN_NODES = 40_000


def schedule(roots: list[Expr], min_nodes: int = MIN_NODES) -> list[Expr] | None:
    """Every node that ``roots`` reach, children before parents, consumers soon after their
    operands; ``None`` below ``min_nodes`` nodes (keep serial order).

    Leaves come first (they are names and literals, not code). The outputs then demand their
    operands depth first (an iterative post-order), and each printed node is followed at once
    by the consumers it made ready (a stack drained eagerly), so a backward node follows the
    forward values it reads instead of waiting for the whole forward pass. Nodes of leaves
    alone (``2*x``) are printed just before their first reader.
    """
    from . import gc_paused  # the package's helper (imported late: it imports this module)

    nodes = topo_order(roots)
    n = len(nodes)
    if n < min_nodes:
        return None
    with gc_paused():
        return _schedule(roots, nodes)


def _schedule(roots: list[Expr], nodes: list[Expr]) -> list[Expr]:
    n = len(nodes)
    index = {v.serial: i for i, v in enumerate(nodes)}
    args = [tuple(dict.fromkeys(index[a.serial] for a in v.args)) for v in nodes]
    # free: a node whose arguments are all leaves (2*x, 1 - x); printed on demand, just
    # before the first node that reads it, so it never holds a consumer back.
    free = [bool(a) and all(not args[j] for j in a) for a in args]
    consumers: list[list[int]] = [[] for _ in range(n)]
    pending = [0] * n
    done = bytearray(n)
    order: list[Expr] = []
    for i, a in enumerate(args):
        if not a:
            done[i] = 1
            order.append(nodes[i])
        for j in a:
            if args[j] and not free[j]:
                consumers[j].append(i)
                pending[i] += 1
    # A node that reads only leaves and free nodes is readied by its first free argument.
    for i, a in enumerate(args):
        if a and not free[i] and not pending[i]:
            for j in a:
                if free[j]:
                    consumers[j].append(i)
    ready: list[int] = []

    def put(k: int) -> None:
        done[k] = 1
        order.append(nodes[k])
        for c in reversed(consumers[k]):
            if free[k]:
                ready.append(c)
                continue
            pending[c] -= 1
            if not pending[c]:
                ready.append(c)

    for r in roots:
        todo = [(index[r.serial], False)]
        while todo:
            i, expanded = todo.pop()
            if done[i]:
                continue
            if not expanded:
                todo.append((i, True))
                todo.extend((j, False) for j in reversed(args[i]) if not done[j])
                continue
            ready.append(i)
            while ready:  # print i, then every consumer that becomes ready, depth first
                k = ready.pop()
                if done[k] or pending[k]:
                    continue
                for j in args[k]:
                    if not done[j]:  # a free argument, on demand
                        put(j)
                put(k)
    assert len(order) == n, "a DAG always schedules completely"
    return order
