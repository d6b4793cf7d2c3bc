"""Reciprocal and constant folding: identities exact for every float, inf and NaN.

(Moving a negation into a constant factor, -(c*a) -> (-c)*a and c*(-a) -> (-c)*a, happens at
construction: ``ir.SIMPLIFY``.) c1*(c2*a) -> (c1*c2)*a when the inner c2 is a power of two
and |c1|, |c2| >= 1 (scaling up by 2**k is exact, subnormals included, so one rounding either
way, and both overflow alike; an outer power of two is not enough: 4*(1.1*a) rounds twice
when 1.1*a is subnormal); a/c -> a*(1/c) when c is a power of two whose reciprocal is a
normal float (bit-identical; a multiply is cheaper than a divide). Not a*(1/b) -> a/b: where
1/b overflows (b = 1e-310) the two differ (0*inf is nan, 0/1e-310 is 0).
"""

from __future__ import annotations

import math

from ..ir import Expr, const, make
from ..ops import Op

FOLD_OPS = frozenset({Op.MUL, Op.DIV})


def _pow2(c: float) -> bool:
    if not math.isfinite(c) or c == 0.0:
        return False
    m, _ = math.frexp(c)
    return abs(m) == 0.5


_CONST = Op.CONST


def _split_const(args: tuple[Expr, ...]) -> tuple[Expr, Expr] | None:
    """(constant, other) of a product with exactly one constant factor."""
    a, b = args
    ac, bc = a.op is _CONST, b.op is _CONST  # op tests, not the property: every product
    if ac is not bc:
        return (a, b) if ac else (b, a)
    return None


def fold(node: Expr, args: tuple[Expr, ...]) -> Expr | None:
    op = node.op
    if op is Op.MUL:
        split = _split_const(args)
        if split:
            c, a = split
            if a.op is Op.MUL:
                inner = _split_const(a.args)
                if inner:
                    c2, b = inner
                    c1v, c2v = c.payload, c2.payload
                    ok = abs(c1v) >= 1.0 and abs(c2v) >= 1.0 and _pow2(c2v)
                    prod = c1v * c2v
                    if ok and math.isfinite(prod):  # c1*(c2*b) -> (c1*c2)*b
                        return make(Op.MUL, (const(prod), b))
            return None
    if op is Op.DIV:
        a, b = args
        if b.op is _CONST and _pow2(b.payload):
            r = 1.0 / b.payload
            if _pow2(r) and abs(r) >= 2.2250738585072014e-308:  # a/2**k -> a*2**-k
                return make(Op.MUL, (a, const(r)))
    return None
