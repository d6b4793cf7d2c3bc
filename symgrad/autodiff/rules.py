"""One derivative rule per op, written with expressions so that it emits IR.

A rule takes the node ``out = op(*args)`` and its adjoint ``g`` and returns each argument's
contribution (``None`` where there is none). Rules reuse the forward result where they can
(``exp' = out``, ``tanh' = 1 - out*out``): the backward pass shares forward work, and the result
can be differentiated again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import expr as E
from ..ir import Expr, const
from ..ops import Op

Rule = Callable[[Expr, Expr], tuple]

_HALF = 0.5
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _split(a: Expr, b: Expr, g: Expr, a_wins: Callable) -> Expr:
    """g where ``a`` is chosen strictly, g/2 on a tie, 0 otherwise (max/min)."""
    return E.where(a_wins(a, b), g, E.where(a_wins(b, a), 0.0, _HALF * g))


def _pow(out: Expr, g: Expr) -> tuple:
    a, b = out.args
    if b.is_const:
        return (g * (b.payload * a ** (b.payload - 1.0)), None)
    return (g * (b * a ** (b - 1.0)), g * (out * E.log(a)))


RULES: dict[Op, Rule] = {
    Op.ADD: lambda out, g: (g, g),  # d(a+b) = da + db
    Op.SUB: lambda out, g: (g, -g),  # d(a-b) = da - db
    Op.MUL: lambda out, g: (g * out.args[1], g * out.args[0]),  # d(ab) = b da + a db
    Op.DIV: lambda out, g: (g / out.args[1], -(g * out) / out.args[1]),  # d(a/b)/db = -out/b
    Op.POW: _pow,
    Op.NEG: lambda out, g: (-g,),
    Op.ABS: lambda out, g: (g * E.sign(out.args[0]),),  # abs'(0) = sign(0) = 0
    Op.SIGN: lambda out, g: (None,),
    Op.EXP: lambda out, g: (g * out,),  # exp' = exp
    Op.EXPM1: lambda out, g: (g * (out + 1.0),),
    Op.LOG: lambda out, g: (g / out.args[0],),
    Op.LOG1P: lambda out, g: (g / (1.0 + out.args[0]),),
    Op.SQRT: lambda out, g: ((_HALF * g) / out,),  # sqrt' = 1 / (2 sqrt)
    Op.SIN: lambda out, g: (g * E.cos(out.args[0]),),
    Op.COS: lambda out, g: (-(g * E.sin(out.args[0])),),
    Op.TAN: lambda out, g: (g * (1.0 + out * out),),  # tan' = 1 + tan^2
    Op.ASIN: lambda out, g: (g / E.sqrt(1.0 - out.args[0] * out.args[0]),),
    Op.ACOS: lambda out, g: (-g / E.sqrt(1.0 - out.args[0] * out.args[0]),),
    Op.ATAN: lambda out, g: (g / (1.0 + out.args[0] * out.args[0]),),
    Op.ATAN2: lambda out, g: _atan2(out, g),
    Op.SINH: lambda out, g: (g * E.cosh(out.args[0]),),
    Op.COSH: lambda out, g: (g * E.sinh(out.args[0]),),
    Op.TANH: lambda out, g: (g * (1.0 - out * out),),  # tanh' = 1 - tanh^2
    Op.ERF: lambda out, g: (g * (_TWO_OVER_SQRT_PI * E.exp(-(out.args[0] * out.args[0]))),),
    Op.SIGMOID: lambda out, g: (g * (out * (1.0 - out)),),  # s' = s (1 - s)
    Op.RELU: lambda out, g: (E.where(out.args[0] > 0.0, g, 0.0),),  # relu'(0) = 0
    Op.SOFTPLUS: lambda out, g: (g * E.sigmoid(out.args[0]),),
    Op.MAX: lambda out, g: (_split(*out.args, g, _gt), _split(out.args[1], out.args[0], g, _gt)),
    Op.MIN: lambda out, g: (_split(*out.args, g, _lt), _split(out.args[1], out.args[0], g, _lt)),
    # where: the branch taken gets g; the condition gets nothing.
    Op.WHERE: lambda out, g: (None, E.where(out.args[0], g, 0.0), E.where(out.args[0], 0.0, g)),
    Op.LT: lambda out, g: (None, None),
    Op.LE: lambda out, g: (None, None),
    Op.GT: lambda out, g: (None, None),
    Op.GE: lambda out, g: (None, None),
}


def _gt(a: Expr, b: Expr) -> Expr:
    return a > b


def _lt(a: Expr, b: Expr) -> Expr:
    return a < b


def _atan2(out: Expr, g: Expr) -> tuple:
    y, x = out.args
    r2 = x * x + y * y
    return (g * x / r2, -(g * y) / r2)


ZERO = const(0.0)
