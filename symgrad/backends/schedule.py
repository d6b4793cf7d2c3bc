"""Scheduling, the Python backend's lowering: an evaluation order that keeps each value close
to its uses on large graphs.

Serial order (the default) prints the whole forward pass, then the whole backward pass, so a
forward value lives until the far end of the program. This order is Kahn's algorithm with a
stack: after a node, the consumers it made ready come next, so each term's gradient follows
its forward work (for a sum like Rosenbrock's, value i and its gradient sit side by side). It
is applied only past ``MIN_NODES``, where a program is split into parts and a value that
crosses parts costs a store and a load; small programs keep the serial order, which reads
forward-then-backward.
"""

from __future__ import annotations

from ..ir import Expr, gc_paused, topo_order

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
    nodes = topo_order(roots)
    n = len(nodes)
    if n < min_nodes:
        return None
    with gc_paused():
        return _schedule(roots, nodes)


def _schedule(roots: list[Expr], nodes: list[Expr]) -> list[Expr]:
    # Flat per-position tables built in one pass over the (children first) order, and a walk
    # with its work inlined: at a million nodes this is the largest part of printing in order.
    tables = _tables(nodes)
    order = _walk(roots, nodes, *tables)
    assert len(order) == len(nodes), "a DAG always schedules completely"
    return order


def _tables(nodes: list[Expr]) -> tuple:
    """(index, args, leaf, free, consumers, pending) by position in ``nodes``: each node's
    distinct argument positions, whether it is a leaf or free, who waits for it, and for how
    many arguments it still waits."""
    n = len(nodes)
    index = {v.serial: i for i, v in enumerate(nodes)}
    args: list = [()] * n  # distinct argument positions
    # leaf: no arguments. free: a node whose arguments are all leaves (2*x, 1 - x); printed on
    # demand, just before the first node that reads it, so it never holds a consumer back.
    leaf = bytearray(n)
    free = bytearray(n)
    consumers: list = [None] * n
    pending = [0] * n
    for i, v in enumerate(nodes):  # one pass: children come before parents
        va = v.args
        if not va:
            leaf[i] = 1
            continue
        if len(va) == 1:
            a = (index[va[0].serial],)
        elif len(va) == 2:
            j, k = index[va[0].serial], index[va[1].serial]
            a = (j, k) if j != k else (j,)
        else:
            a = tuple(dict.fromkeys([index[x.serial] for x in va]))
        args[i] = a
        p = 0
        for j in a:
            if not leaf[j] and not free[j]:
                cs = consumers[j]
                if cs is None:
                    consumers[j] = [i]
                else:
                    cs.append(i)
                p += 1
        if p:
            pending[i] = p  # waits for its non-leaf, non-free arguments
        elif all(leaf[j] for j in a):
            free[i] = 1
        else:  # reads only leaves and free nodes: its first free argument readies it
            for j in a:
                if free[j]:
                    cs = consumers[j]
                    if cs is None:
                        consumers[j] = [i]
                    else:
                        cs.append(i)
    return index, args, leaf, free, consumers, pending


def _walk(roots, nodes, index, args, leaf, free, consumers, pending) -> list[Expr]:
    """Leaves first, then the roots' demand in post-order, each printed node followed by the
    consumers it made ready (depth first)."""
    order = [v for i, v in enumerate(nodes) if leaf[i]]
    keep = order.append
    done = leaf[:]
    ready: list = []
    rpush, rpop = ready.append, ready.pop
    for r in roots:
        todo = [index[r.serial]]
        push, pop = todo.append, todo.pop
        while todo:
            x = pop()
            if x >= 0:
                if done[x]:
                    continue
                push(~x)
                for j in reversed(args[x]):
                    if not done[j]:
                        push(j)
                continue
            x = ~x
            if done[x]:
                continue
            rpush(x)
            while ready:  # print x, then every consumer that becomes ready, depth first
                k = rpop()
                if done[k] or pending[k]:
                    continue
                for j in args[k]:
                    if not done[j]:  # a free argument, on demand
                        done[j] = 1
                        keep(nodes[j])
                        cs = consumers[j]
                        if cs is not None:
                            ready.extend(reversed(cs))
                done[k] = 1
                keep(nodes[k])
                cs = consumers[k]
                if cs is not None:
                    if free[k]:
                        ready.extend(reversed(cs))
                    else:
                        for c in reversed(cs):
                            c_p = pending[c] - 1
                            pending[c] = c_p
                            if not c_p:
                                rpush(c)
    return order
