"""The user-facing functions of expressions: ``sg.exp``, ``sg.where``, ``sg.symbols`` ...

Each accepts expressions or real numbers; with numbers only, it folds to a constant. Given NumPy
arrays (of expressions, as ``sg.value_and_grad`` traces them), each applies elementwise.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from .ir import Expr, as_expr, make, symbol
from .ops import INFO, Op

__all__ = [
    "Symbol",
    "symbols",
    "exp",
    "log",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "relu",
    "softplus",
    "maximum",
    "minimum",
    "where",
    "expm1",
    "log1p",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "erf",
    "sign",
]


def Symbol(name: str) -> Expr:  # noqa: N802 - the contract's spelling, like SymPy's
    """One new symbol labelled ``name`` verbatim (any string); distinct from every other."""
    return symbol(name)


_RANGE = re.compile(r"^(.*?)(\d*):(\d+)$")
_LETTERS = re.compile(r"^(.*?)([a-zA-Z]):([a-zA-Z])$")


def symbols(names: str) -> Expr | tuple[Expr, ...]:
    """Symbols from ``names`` split on whitespace and commas; ``"w0:3"`` (or ``"w:3"``) gives
    w0, w1, w2 and ``"a:d"`` gives a, b, c, d, as in SymPy. One name gives an Expr; several, or
    any range, a tuple."""
    if not isinstance(names, str):
        raise TypeError(f"names must be a str such as 'x y' or 'w0:3', not {type(names).__name__}")
    parts = [p for p in re.split(r"[\s,]+", names.strip()) if p]
    if not parts:
        raise ValueError("names is empty; give at least one name, e.g. sg.symbols('x')")
    labels: list[str] = []
    ranged = False
    for p in parts:
        m = _RANGE.match(p)
        if m:
            start, stop = int(m.group(2) or 0), int(m.group(3))
            labels += [f"{m.group(1)}{i}" for i in range(start, stop)]
            ranged = True
            continue
        m = _LETTERS.match(p)
        if m:
            a, b = ord(m.group(2)), ord(m.group(3))
            labels += [f"{m.group(1)}{chr(c)}" for c in range(a, b + 1)]
            ranged = True
            continue
        labels.append(p)
    made = tuple(symbol(n) for n in labels)
    if len(made) == 1 and not ranged and not names.strip().endswith(","):
        return made[0]
    return made


def _elementwise(fn, args: tuple) -> Any:
    """``fn`` over NumPy arrays (of expressions or numbers), elementwise with broadcasting, if
    any argument is an array; ``None`` otherwise. NumPy is only used when already imported."""
    np = sys.modules.get("numpy")
    if np is None or not any(isinstance(a, np.ndarray) for a in args):
        return None
    return np.frompyfunc(fn, len(args), 1)(*args)


def _unary(op: Op):
    def fn(x: Any) -> Expr:
        if type(x) is not Expr:
            mapped = _elementwise(fn, (x,))
            if mapped is not None:
                return mapped
        return make(op, (as_expr(x, "x"),))

    fn.__name__ = op.value
    return fn


exp = _unary(Op.EXP)
exp.__doc__ = "e**x."
expm1 = _unary(Op.EXPM1)
expm1.__doc__ = "e**x - 1, accurate near 0."
log = _unary(Op.LOG)
log.__doc__ = "Natural logarithm (-inf at 0, nan below)."
log1p = _unary(Op.LOG1P)
log1p.__doc__ = "log(1 + x), accurate near 0."
sqrt = _unary(Op.SQRT)
sqrt.__doc__ = "Square root (nan below 0)."
sin = _unary(Op.SIN)
sin.__doc__ = "Sine."
cos = _unary(Op.COS)
cos.__doc__ = "Cosine."
tan = _unary(Op.TAN)
tan.__doc__ = "Tangent."
asin = _unary(Op.ASIN)
asin.__doc__ = "Arcsine (nan outside [-1, 1])."
acos = _unary(Op.ACOS)
acos.__doc__ = "Arccosine (nan outside [-1, 1])."
atan = _unary(Op.ATAN)
atan.__doc__ = "Arctangent."
sinh = _unary(Op.SINH)
sinh.__doc__ = "Hyperbolic sine."
cosh = _unary(Op.COSH)
cosh.__doc__ = "Hyperbolic cosine."
tanh = _unary(Op.TANH)
tanh.__doc__ = "Hyperbolic tangent."
erf = _unary(Op.ERF)
erf.__doc__ = "The error function."
sign = _unary(Op.SIGN)
sign.__doc__ = "-1, 0 or 1 by the sign of x (nan for nan)."
sigmoid = _unary(Op.SIGMOID)
sigmoid.__doc__ = "1 / (1 + exp(-x)), evaluated so that no finite x overflows."
relu = _unary(Op.RELU)
relu.__doc__ = "max(x, 0); its derivative at 0 is 0."
softplus = _unary(Op.SOFTPLUS)
softplus.__doc__ = "log(1 + exp(x)), evaluated so that no finite x overflows."


def maximum(a: Any, b: Any) -> Expr:
    """The larger of a and b (nan if either is nan); a tie splits the gradient evenly."""
    mapped = _elementwise(
        maximum,
        (
            a,
            b,
        ),
    )
    if mapped is not None:
        return mapped
    return make(Op.MAX, (as_expr(a, "a"), as_expr(b, "b")))


def minimum(a: Any, b: Any) -> Expr:
    """The smaller of a and b (nan if either is nan); a tie splits the gradient evenly."""
    mapped = _elementwise(
        minimum,
        (
            a,
            b,
        ),
    )
    if mapped is not None:
        return mapped
    return make(Op.MIN, (as_expr(a, "a"), as_expr(b, "b")))


def atan2(y: Any, x: Any) -> Expr:
    """The angle of the point (x, y), as math.atan2(y, x)."""
    mapped = _elementwise(
        atan2,
        (
            y,
            x,
        ),
    )
    if mapped is not None:
        return mapped
    return make(Op.ATAN2, (as_expr(y, "y"), as_expr(x, "x")))


def where(cond: Any, a: Any, b: Any) -> Expr:
    """``a`` where ``cond`` holds (is non-zero), else ``b``: the compilable form of ``if``.

    The gradient flows only through the branch taken, never through the condition.
    """
    mapped = _elementwise(
        where,
        (
            cond,
            a,
            b,
        ),
    )
    if mapped is not None:
        return mapped
    return make(Op.WHERE, (as_expr(cond, "cond"), as_expr(a, "a"), as_expr(b, "b")))


assert all(op in INFO for op in Op if op not in (Op.CONST, Op.SYMBOL))
