"""The node type of the DAG IR: what an ``Expr`` is and what it refuses to be.

A node is immutable: an op, its argument nodes, a payload (a constant's float, a symbol's
label) and a creation serial. Children are always older than their parents, so sorting by
serial is a topological order. Nodes are made by ``ir.intern`` (constants, symbols) and
``ir.build.make`` (operations); the operators and ufunc methods come from ``ir.methods``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import text as _text
from ..ops import INFO, Op
from .traverse import topo_order

CONTROL_FLOW_HINT = (
    "data-dependent control flow (if/while/and/or/bool on an expression) cannot be compiled; "
    "build both branches and choose with sg.where(cond, a, b) (a comparison of NumPy arrays of "
    "expressions asks this too: compare them with np.greater(a, b, dtype=object) and so on)"
)
BOOL_HINT = (
    "a Python bool is not a condition: == and != on expressions compare structure (is it the "
    "same expression?); build the condition with sg.eq(a, b) or sg.ne(a, b) (or a comparison "
    "such as a < b); for a fixed choice, pick the branch yourself or pass 1.0 / 0.0"
)


VIEWS: dict[str, Callable[[Expr], str | None]] = {}  # "latex", "svg": filled by symgrad/__init__


class Expr:
    """A node of the expression DAG. Build with operators and ``sg`` functions, not directly.

    ``==`` and ``hash`` are structural (interning makes them identity); ``<``, ``<=``, ``>``,
    ``>=`` build conditions for ``sg.where``.
    """

    __slots__ = ("op", "args", "payload", "serial", "__weakref__")

    op: Op
    args: tuple[Expr, ...]
    payload: Any  # the float of a CONST, the name of a SYMBOL, else None
    serial: int

    # -- structure ------------------------------------------------------------------------
    def __hash__(self) -> int:
        return self.serial

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    @property
    def is_const(self) -> bool:
        return self.op is Op.CONST

    @property
    def is_symbol(self) -> bool:
        return self.op is Op.SYMBOL

    @property
    def name(self) -> str:
        """A symbol's label (any string); it never becomes code."""
        if self.op is not Op.SYMBOL:
            raise AttributeError("only a symbol has a name")
        return self.payload

    def __bool__(self) -> bool:
        if self.op is Op.CONST:
            return bool(self.payload)
        raise TypeError(
            f"the truth value of the symbolic expression {_short(self)} is "
            f"unknown until run time: {CONTROL_FLOW_HINT}"
        )

    def __float__(self) -> float:
        if self.op is Op.CONST:
            return self.payload
        raise TypeError(
            f"float() needs a constant expression, not {_short(self)}; "
            "evaluate it with sg.evaluate(expr, {symbol: value, ...})"
        )

    def __reduce__(self):
        raise TypeError("symgrad expressions do not pickle; pickle a compiled function instead")

    def __str__(self) -> str:
        return _text.render(topo_order([self]))

    def __repr__(self) -> str:
        return _text.render(topo_order([self]))

    # Notebook views (Jupyter calls these); symgrad/__init__.py fills VIEWS, as this layer
    # imports nothing above it. Each returns None (plain text shown) when it cannot draw.
    def _repr_latex_(self) -> str | None:
        view = VIEWS.get("latex")
        return view(self) if view else None

    def _repr_svg_(self) -> str | None:
        view = VIEWS.get("svg")
        return view(self) if view else None

    # Operators (numbers on either side) and the methods NumPy's object-array ufuncs call
    # (np.exp(array_of_exprs) calls each element's .exp()) come from the op table: see
    # ir/methods.py.
    def __pos__(self):
        return self


def _short(e: Expr) -> str:
    return _text.short(topo_order([e]))


def is_condition(e: Expr) -> bool:
    """Whether ``e`` is made by a condition op (a comparison, eq/ne, and/or/not)."""
    info = INFO.get(e.op)
    return info is not None and info.is_condition
