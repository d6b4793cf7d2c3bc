"""The DAG IR: immutable, hash-consed nodes with canonical forms and constant folding.

Every node gets a creation serial; children are always older than their parents, so sorting by
serial is a topological order and no traversal here ever recurses. The package reads bottom-up:

- ``traverse``: ``topo_order`` (reads only ``serial`` and ``args``);
- ``node``: the ``Expr`` type;
- ``intern``: constants, symbols and the intern table (CSE for free, swept as it grows);
- ``build``: ``make``, folding and the construction-time rewrite table ``SIMPLIFY``;
- ``methods``: the operators and ufunc methods of ``Expr``, derived from the op table;
- ``walk``: nested outputs, counts, free symbols, the reference ``evaluate``.
"""

from .build import SIMPLIFY, make
from .intern import _SWEEP_MIN, _interned, _sweep, const, gc_paused, symbol, symbols_named
from .methods import _is_bool, as_expr
from .node import BOOL_HINT, CONTROL_FLOW_HINT, VIEWS, Expr, is_condition
from .traverse import orders_shared, share_order, topo_order
from .walk import count_ops, evaluate, flatten, free_symbols, leaves, map_leaves, unflatten

__all__ = [
    "BOOL_HINT",
    "CONTROL_FLOW_HINT",
    "SIMPLIFY",
    "VIEWS",
    "Expr",
    "_SWEEP_MIN",
    "_interned",
    "_is_bool",
    "_sweep",
    "as_expr",
    "const",
    "count_ops",
    "evaluate",
    "flatten",
    "free_symbols",
    "gc_paused",
    "is_condition",
    "leaves",
    "make",
    "map_leaves",
    "orders_shared",
    "share_order",
    "symbol",
    "symbols_named",
    "topo_order",
    "unflatten",
]
