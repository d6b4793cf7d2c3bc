"""Making leaves and interning nodes: the weak-by-sweeping table that gives CSE for free.

Nodes are interned in a table keyed by (op, child serials) or a constant's bit pattern:
building the same expression twice gives the same object (common-subexpression elimination
for free). The table is swept as it grows, so nodes that nothing else holds are freed (a weak
table, without the cost of weakrefs). Symbols are never interned: every ``symbol`` is a new
variable, whatever its name.
"""

from __future__ import annotations

import gc
import itertools
import math
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..ops import Op
from .node import Expr

_serials = itertools.count()

# The intern table: key -> node. A plain dict (fast, C-level), kept from growing without bound
# by `_sweep`, which drops the nodes nothing but the table still holds.
_interned: dict = {}
_SWEEP_MIN = 1 << 16
_lock = threading.Lock()  # held to create (and sweep): equal nodes built in threads are one
_sweep_at = _SWEEP_MIN
acquire, release = _lock.acquire, _lock.release
_alloc = object.__new__
_keep = _interned.setdefault
_isnan = math.isnan


def _new(op: Op, args: tuple[Expr, ...], payload: Any) -> Expr:
    node = _alloc(Expr)
    node.op = op
    node.args = args
    node.payload = payload
    node.serial = next(_serials)
    return node


def const(value: float) -> Expr:
    """The constant ``value`` (interned by bit pattern, so 0.0 and -0.0 stay distinct)."""
    value = float(value)
    # Nonzero floats other than NaN are equal exactly when their bits are, so the value keys
    # them; 0.0 and -0.0 (equal, distinct) and NaNs (payloads) are keyed by their bits.
    # isnan, not value == value: CPython 3.11's specialized float compare evaluates >= and
    # <=, which raise the invalid flag on a NaN, and NumPy reports it as a RuntimeWarning when
    # this runs inside np.frompyfunc (tracing a NaN-holding constant array).
    key = (-1, value) if value and not _isnan(value) else (-1, value.hex())
    node = _interned.get(key)
    if node is None:
        node = _intern(key, Op.CONST, (), value)
    return node


def _intern(key: tuple, op: Op, args: tuple[Expr, ...], payload: Any) -> Expr:
    """The miss path: under the lock, make the node and keep it, unless another thread has
    just made one (``setdefault`` returns that one: one lookup, where a second look then an
    insert were two). Hits never lock (a dict lookup is atomic), so the lock costs only where
    a node is created anyway. ``_new`` is inlined and the lock taken by method, not ``with``:
    this runs once per node built (0.17 -> 0.08 µs for the lock alone, measured).
    ``build.binary_builder`` inlines this again for the operators."""
    acquire()
    try:
        new = _alloc(Expr)
        new.op = op
        new.args = args
        new.payload = payload
        new.serial = next(_serials)
        node = _keep(key, new)
        if node is new and len(_interned) >= _sweep_at:
            _sweep()
    finally:
        release()
    return node


def _sweep() -> None:
    """Forget the interned nodes that only the table still references.

    Newest first: a parent is always newer than its children, so dropping it first lets its
    children go in the same pass. Doubling the threshold keeps the cost amortized O(1).
    Runs under ``_lock`` (no other thread creates nodes meanwhile); a lock-free hit in another
    thread between the count and the delete is seen by a second count, and the node stays.
    """
    global _sweep_at
    table, refcount = _interned, sys.getrefcount
    # Positional lists, not a lookup per key: a key tuple's hash is recomputed on every
    # lookup, and at a million entries those lookups cost four times this loop (measured).
    keys = list(table)
    nodes = list(table.values())
    node = None
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        nodes[i] = None  # so a dropped parent is freed when `node` moves on, freeing children
        if refcount(node) <= 3:  # the table's, `node`'s and refcount's argument's
            del table[keys[i]]
            if refcount(node) > 2:  # another thread's hit took it meanwhile: keep it
                table[keys[i]] = node
    del node
    _sweep_at = max(_SWEEP_MIN, 2 * len(table))


def symbol(name: str) -> Expr:
    """A new variable labelled ``name``; never equal to any other symbol."""
    if not isinstance(name, str):
        raise TypeError(f"a symbol's name must be a str, not {type(name).__name__}")
    return _new(Op.SYMBOL, (), name)


def symbols_named(labels: list[str]) -> list[Expr]:
    """A new symbol for each label (strings), in one loop, and the collector paused for many:
    ``sg.symbols("p0:101770")`` is one call making 10^5 nodes, no cycles (0.137 -> 0.049 s)."""
    if len(labels) < 4096:
        return [symbol(n) for n in labels]
    with gc_paused():
        out: list[Expr] = []
        keep, alloc, serials, sym = out.append, _alloc, _serials, Op.SYMBOL
        for name in labels:
            node = alloc(Expr)
            node.op = sym
            node.args = ()
            node.payload = name
            node.serial = next(serials)
            keep(node)
    return out


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: IR nodes never form cycles, and on a million-node graph the
    collector's passes over every live node cost as much as the work (measured)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            _promote()
            gc.enable()


def _promote() -> None:
    """Move every tracked object into the oldest generation without a scan. On leaving a pause,
    the youngest generation holds all the nodes the block made; the first collection after
    would walk them all (50 ms after a 10^5-weight gradient, measured) only to find no garbage,
    as nodes make no cycles. ``freeze`` then ``unfreeze`` does the move in O(1); skipped when
    objects are already frozen (a caller preparing a fork), whose freeze must stay."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
