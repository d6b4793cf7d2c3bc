"""One derivative rule per op, written with expressions so that it emits IR.

A rule takes the node ``out = op(*args)``, its adjoint ``g`` and ``need`` (which arguments lead
to a variable being differentiated) and returns each argument's contribution (``None`` where
there is none, or where it is not needed: no node is built for the gradient of a constant or
of data). Rules reuse the forward result where they can
(``exp' = out``, ``sech2' = -2 tanh * out``): the backward pass shares forward work, and the result
can be differentiated again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import expr as E
from ..ir import Expr
from ..ops import Op

Rule = Callable[[Expr, Expr, tuple[bool, ...]], tuple]

_HALF = 0.5
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _split(a: Expr, b: Expr, g: Expr, a_wins: Callable) -> Expr:
    """g where ``a`` is chosen strictly, g/2 on a tie, 0 otherwise (max/min)."""
    return E.where(a_wins(a, b), g, E.where(a_wins(b, a), 0.0, _HALF * g))


def _pow(out: Expr, g: Expr, need: tuple[bool, ...]) -> tuple:
    """d(a**b) = b a**(b-1) da + a**b log(a) db, at the edges by their limits:
    d/da is 0 at b == 0 with a == 0 or NaN (a**0 == 1: not 0 * inf); d/db is 0 at a == 0 with
    a**b == 0 (b > 0: not 0 * -inf); a positive constant base's log folds, and a base of 1
    gives nothing (1**b == 1). Each guard holds on those points alone, not on the whole line
    b == 0 or wherever a**b underflows: there the formula is finite, and a guard's constant 0
    would make the second derivatives through it 0 (d/db d/da at b = 0 is 1/a, not 0)."""
    a, b = out.args
    if b.is_const:
        return (g * (b.payload * a ** (b.payload - 1.0)), None)
    da = None
    if need[0]:
        edge = E.logical_and(E.eq(b, 0.0), E.logical_or(E.eq(a, 0.0), E.isnan(a)))
        da = g * E.where(edge, 0.0, b * a ** (b - 1.0))
    if not need[1] or (a.is_const and a.payload == 1.0):
        return (da, None)
    if a.is_const and a.payload > 0.0:
        return (da, g * (out * E.log(a)))
    edge = E.logical_and(E.eq(a, 0.0), E.eq(out, 0.0))
    return (da, g * E.where(edge, 0.0, out * E.log(a)))


RULES: dict[Op, Rule] = {
    Op.ADD: lambda out, g, need: (g, g),  # d(a+b) = da + db
    Op.SUB: lambda out, g, need: (g, -g if need[1] else None),  # d(a-b) = da - db
    Op.MUL: lambda out, g, need: (  # d(ab) = b da + a db
        g * out.args[1] if need[0] else None,
        g * out.args[0] if need[1] else None,
    ),
    Op.DIV: lambda out, g, need: (  # d(a/b)/db = -out/b
        g / out.args[1] if need[0] else None,
        -(g * out) / out.args[1] if need[1] else None,
    ),
    Op.POW: _pow,
    Op.NEG: lambda out, g, need: (-g,),
    Op.ABS: lambda out, g, need: (g * E.sign(out.args[0]),),  # abs'(0) = sign(0) = 0
    Op.SIGN: lambda out, g, need: (None,),
    Op.EXP: lambda out, g, need: (g * out,),  # exp' = exp
    # expm1' = exp, not out + 1 (which is 0 below x = -37: expm1 rounds to -1 there)
    Op.EXPM1: lambda out, g, need: (g * E.exp(out.args[0]),),
    Op.LOG: lambda out, g, need: (g / out.args[0],),
    Op.LOG1P: lambda out, g, need: (g / (1.0 + out.args[0]),),
    Op.SQRT: lambda out, g, need: ((_HALF * g) / out,),  # sqrt' = 1 / (2 sqrt)
    Op.SIN: lambda out, g, need: (g * E.cos(out.args[0]),),
    Op.COS: lambda out, g, need: (-(g * E.sin(out.args[0])),),
    Op.TAN: lambda out, g, need: (g * (1.0 + out * out),),  # tan' = 1 + tan^2
    Op.ASIN: lambda out, g, need: (g / E.sqrt(1.0 - out.args[0] * out.args[0]),),
    Op.ACOS: lambda out, g, need: (-g / E.sqrt(1.0 - out.args[0] * out.args[0]),),
    Op.ATAN: lambda out, g, need: (g / (1.0 + out.args[0] * out.args[0]),),
    Op.ATAN2: lambda out, g, need: _atan2(out, g, need),
    Op.SINH: lambda out, g, need: (g * E.cosh(out.args[0]),),
    Op.COSH: lambda out, g, need: (g * E.sinh(out.args[0]),),
    # tanh' = sech^2, not 1 - tanh^2 (which cancels to 0 from |x| ~ 19; the truth there is 1e-16)
    Op.TANH: lambda out, g, need: (g * E.sech2(out.args[0]),),
    Op.SECH2: lambda out, g, need: (g * (-2.0 * E.tanh(out.args[0]) * out),),  # = -2 tanh sech^2
    Op.ERF: lambda out, g, need: (g * (_TWO_OVER_SQRT_PI * E.exp(-(out.args[0] * out.args[0]))),),
    # s' = s(x) s(-x): 1 - s rounds to 0 from x = 37 on, s(-x) keeps every digit
    Op.SIGMOID: lambda out, g, need: (g * (out * E.sigmoid(-out.args[0])),),
    Op.RELU: lambda out, g, need: (E.where(out.args[0] > 0.0, g, 0.0),),  # relu'(0) = 0
    Op.SOFTPLUS: lambda out, g, need: (g * E.sigmoid(out.args[0]),),
    Op.MAX: lambda out, g, need: _minmax(out, g, need, _gt),
    Op.MIN: lambda out, g, need: _minmax(out, g, need, _lt),
    # where: the branch taken gets g; the condition gets nothing.
    Op.WHERE: lambda out, g, need: (
        None,
        E.where(out.args[0], g, 0.0) if need[1] else None,
        E.where(out.args[0], 0.0, g) if need[2] else None,
    ),
    Op.LT: lambda out, g, need: (None, None),
    Op.LE: lambda out, g, need: (None, None),
    Op.GT: lambda out, g, need: (None, None),
    Op.GE: lambda out, g, need: (None, None),
    Op.LOG2: lambda out, g, need: (g / (out.args[0] * math.log(2.0)),),  # log2' = 1/(x ln 2)
    Op.FLOOR: lambda out, g, need: (None,),  # piecewise constant: 0 almost everywhere
    Op.CEIL: lambda out, g, need: (None,),
    Op.ROUND: lambda out, g, need: (None,),
    Op.MOD: lambda out, g, need: (  # a mod b = a - b floor(a/b): d/da = 1, d/db = -floor(a/b)
        g if need[0] else None,
        -(g * E.floor(out.args[0] / out.args[1])) if need[1] else None,
    ),
    Op.FMAX: lambda out, g, need: _fminmax(out, g, need, _gt),
    Op.FMIN: lambda out, g, need: _fminmax(out, g, need, _lt),
    Op.LOGADDEXP: lambda out, g, need: (  # d/da = exp(a - out) (<= 1: never overflows)
        g * E.exp(out.args[0] - out) if need[0] else None,
        g * E.exp(out.args[1] - out) if need[1] else None,
    ),
    Op.LOG10: lambda out, g, need: (g / (out.args[0] * math.log(10.0)),),
    Op.EXP2: lambda out, g, need: (g * (out * math.log(2.0)),),  # exp2' = exp2 ln 2
    Op.ASINH: lambda out, g, need: (g / E.sqrt(out.args[0] * out.args[0] + 1.0),),
    Op.ACOSH: lambda out, g, need: (g / (E.sqrt(out.args[0] - 1.0) * E.sqrt(out.args[0] + 1.0)),),
    Op.ATANH: lambda out, g, need: (g / (1.0 - out.args[0] * out.args[0]),),
    Op.ISNAN: lambda out, g, need: (None,),
    Op.ISFINITE: lambda out, g, need: (None,),
    Op.NAN_TO_NUM: lambda out, g, need: (E.where(E.isfinite(out.args[0]), g, 0.0),),
    Op.EQ: lambda out, g, need: (None, None),  # conditions pass no gradient
    Op.NE: lambda out, g, need: (None, None),
    Op.AND: lambda out, g, need: (None, None),
    Op.OR: lambda out, g, need: (None, None),
    Op.NOT: lambda out, g, need: (None,),
}


def _gt(a: Expr, b: Expr) -> Expr:
    return a > b


def _lt(a: Expr, b: Expr) -> Expr:
    return a < b


def _atan2(out: Expr, g: Expr, need: tuple[bool, ...]) -> tuple:
    """d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2), scaled by m = max(|x|, |y|) so that
    the sum of squares neither overflows (|x| > 1e154) nor underflows (< 1e-154): both are
    (x/m) / ((x/m)^2 + (y/m)^2) / m, the same function for every m."""
    y, x = out.args
    m = E.maximum(abs(x), abs(y))
    xs, ys = x / m, y / m
    d = (xs * xs + ys * ys) * m
    return (g * xs / d if need[0] else None, -(g * ys) / d if need[1] else None)


def _fminmax(out: Expr, g: Expr, need: tuple[bool, ...], wins: Callable) -> tuple:
    """fmax/fmin: as maximum/minimum, except that a nan argument loses: the other gets g."""
    a, b = out.args

    def part(x: Expr, y: Expr) -> Expr:
        return E.where(E.isnan(x), 0.0, E.where(E.isnan(y), g, _split(x, y, g, wins)))

    return (part(a, b) if need[0] else None, part(b, a) if need[1] else None)


def _minmax(out: Expr, g: Expr, need: tuple[bool, ...], wins: Callable) -> tuple:
    a, b = out.args
    return (_split(a, b, g, wins) if need[0] else None, _split(b, a, g, wins) if need[1] else None)
