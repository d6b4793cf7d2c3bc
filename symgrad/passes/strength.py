"""Strength reduction: small integer powers become products, which are exact and cheaper.

x**2 -> x*x, x**-1 -> 1/x (bit-identical); x**3 -> x*x*x, x**4 -> (x*x)*(x*x),
x**-2 -> 1/(x*x) (within a few ulps). Each keeps inf and NaN where pow gives them.
x**0.5 is not rewritten to sqrt(x): they differ at -inf (pow gives inf, sqrt nan) and at -0.0
(pow gives 0.0, sqrt -0.0); the guard that would fix both (a ``where`` on ``x == -inf`` plus
an ``abs``) costs more in Python than the ``pow`` call it replaces.
"""

from __future__ import annotations

from ..ir import Expr, const, make
from ..ops import Op

STRENGTH_OPS = frozenset({Op.POW})


def _mul(a: Expr, b: Expr) -> Expr:
    return make(Op.MUL, (a, b))


def strength_reduce(node: Expr, args: tuple[Expr, ...]) -> Expr | None:
    if node.op is not Op.POW or not args[1].is_const:
        return None
    base, k = args[0], args[1].payload
    if k == 2.0:  # x**2 -> x*x
        return _mul(base, base)
    if k == 3.0:  # x**3 -> (x*x)*x
        return _mul(_mul(base, base), base)
    if k == 4.0:  # x**4 -> (x*x)*(x*x)
        sq = _mul(base, base)
        return _mul(sq, sq)
    if k == -1.0:  # x**-1 -> 1/x
        return make(Op.DIV, (const(1.0), base))
    if k == -2.0:  # x**-2 -> 1/(x*x)
        return make(Op.DIV, (const(1.0), _mul(base, base)))
    return None
