"""The ``Expr`` operators and ufunc methods, and how numbers become expressions.

Python's operators (``a + b``, ``2 * x`` ...) and the methods NumPy's object-array ufuncs call
(``np.exp(array_of_exprs)`` calls each element's ``.exp()``) are derived from the op table's
rows (``dunder``, ``ufunc``) when this module is imported; ``&``, ``|``, ``~`` are written by
hand, as they refuse numeric operands.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from ..ops import INFO, Op
from .build import binary_builder, make
from .intern import const
from .node import BOOL_HINT, Expr, is_condition


def as_expr(x: Any, argname: str | None = "argument") -> Expr | None:
    """``x`` as an Expr: expressions pass through, real numbers become constants.

    With ``argname=None`` an unsupported type gives ``None`` (for operators to return
    NotImplemented); otherwise a ``TypeError`` naming the argument.
    """
    t = type(x)
    if t is Expr:
        return x
    if t is float or t is int:
        return const(x)
    if isinstance(x, Expr):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool | complex) or t is bool:
        return const(float(x))
    if argname is None:
        return None
    raise TypeError(
        f"{argname} must be a symgrad expression or a real number, not {t.__name__} ({x!r:.60})"
    )


def _binary(op: Op, a: Any, b: Any) -> Expr:
    x = a if type(a) is Expr else as_expr(a, None)
    y = b if type(b) is Expr else as_expr(b, None)
    if x is None or y is None:
        return _not_numbers(op, a, b)
    return make(op, (x, y))


_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "pow": "**", "mod": "%"}


def _not_numbers(op: Op, a: Any, b: Any) -> Any:
    """NotImplemented (Python then tries the other operand, e.g. a NumPy array's), except for
    a list or tuple: an expression is a scalar, so ``x - [1, 2]`` has no meaning of its own
    (as in SymPy and JAX) and the error says what to write instead."""
    seq = a if isinstance(a, list | tuple) else b if isinstance(b, list | tuple) else None
    if seq is None:
        return NotImplemented
    sym, kind = _SYMBOL.get(INFO[op].dunder, op.name.lower()), type(seq).__name__
    arr, each = (f"np.array({kind}) {sym} x", f"v {sym} x") if seq is a else (
        f"x {sym} np.array({kind})", f"x {sym} v")  # fmt: skip
    raise TypeError(
        f"unsupported operand for {sym}: a symgrad expression and a {kind} ({seq!r:.60}); an "
        f"expression is one scalar. Elementwise, write {arr} (an object array of "
        f"expressions) or [{each} for v in {kind}]; inside sg.grad / sg.value_and_grad, "
        "traced arrays broadcast with lists as NumPy does"
    )


def _is_bool(x: Any) -> bool:
    return isinstance(x, bool) or type(x).__name__ in ("bool", "bool_")  # NumPy 2 and 1


def _logic(op: Op, *args: Any) -> Expr:
    """``&``, ``|``, ``~``: of conditions and constants only (on a numeric expression they would
    read as bitwise operations)."""
    for a in args:
        if _is_bool(a):
            raise TypeError(f"{BOOL_HINT}")
        if not isinstance(a, Expr) and hasattr(a, "shape"):
            return NotImplemented  # a NumPy array (of conditions): elementwise, by NumPy
        e = as_expr(a, None)
        if e is None or not (is_condition(e) or e.op is Op.CONST):  # a folded comparison is 0/1
            sym = {Op.AND: "&", Op.OR: "|", Op.NOT: "~"}[op]
            raise TypeError(
                f"{sym} combines conditions (comparisons, sg.eq, sg.ne ...), not {a!r:.60}; "
                f"for a number x write x != 0 as sg.ne(x, 0), or use sg.logical_and/or/not"
            )
    return make(op, tuple(as_expr(a, None) for a in args))


# & | ~ combine conditions (Python's and/or/not cannot be overloaded); by hand, as they
# refuse numeric operands (the table's rows AND, OR, NOT name these dunders).
_LOGIC_DUNDERS: dict[str, Callable] = {
    "__and__": lambda self, o: _logic(Op.AND, self, o),
    "__rand__": lambda self, o: _logic(Op.AND, o, self),
    "__or__": lambda self, o: _logic(Op.OR, self, o),
    "__ror__": lambda self, o: _logic(Op.OR, o, self),
    "__invert__": lambda self: _logic(Op.NOT, self),
}

_REFLECTED = {"add", "sub", "mul", "truediv", "pow", "mod"}  # Python tries __r<name>__ too


def _round_method(op: Op) -> Callable:
    def __round__(self, ndigits=None):
        if ndigits is not None:
            raise TypeError(
                "round(expression, ndigits) is not supported; round to integers and scale: "
                "sg.round(x * 10**n) / 10**n"
            )
        return make(op, (self,))

    return __round__


def _set(name: str, method: Callable) -> None:
    method.__name__ = method.__qualname__ = name
    setattr(Expr, name, method)


def _install_table_methods() -> None:
    """Give ``Expr`` each row's Python operator (``dunder``: ``__add__`` and ``__radd__`` ...)
    and a method named by its NumPy ufunc, which NumPy's object-array loops call."""
    for name, method in _LOGIC_DUNDERS.items():
        _set(name, method)
    for op, info in INFO.items():
        names = []
        if info.dunder:
            names.append(f"__{info.dunder}__")
        if info.ufunc and info.fn_name and info.arity <= 2 and not info.is_condition:
            names.append(info.ufunc)
        for name in names:
            if name in Expr.__dict__:
                continue  # written by hand (the class, or _LOGIC_DUNDERS)
            if name == "__round__":
                method = _round_method(op)
            elif info.arity == 1:
                method = lambda self, _op=op: make(_op, (self,))
            else:  # a + b ...: one call a node on the common path
                method = binary_builder(op, _binary)
            _set(name, method)
        if info.dunder in _REFLECTED:
            rname = f"__r{info.dunder}__"
            if rname not in Expr.__dict__:
                _set(rname, lambda self, o, _op=op: _binary(_op, o, self))


_install_table_methods()
