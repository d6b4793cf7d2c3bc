"""IEEE ``pow`` on the NumPy backend, a graph rewrite before printing.

NumPy's ``power`` takes ``sqrt`` where the exponent is 0.5, which differs from IEEE ``pow``
(and so from every other backend and ``sg.evaluate``) at two bases: -inf (nan, not inf) and
-0.0 (-0.0, not 0.0). IEEE gives ``|x|`` at both, so each ``pow`` whose exponent is 0.5 or not
a constant chooses ``|x|`` there. Other constant exponents print as they are.
"""

from __future__ import annotations

import math

from ..ir import Expr, const, make, topo_order
from ..ops import Op


def ieee_pow(roots: list[Expr]) -> list[Expr]:
    """``roots`` with every such ``pow`` guarded (the same roots when there is none)."""
    nodes = topo_order(roots)
    pow_op = Op.POW  # a local: an enum member's lookup per node would cost more than the test
    if not any(_may_be_half(n.args[1]) for n in nodes if n.op is pow_op):
        return roots
    new: dict[int, Expr] = {}
    for n in nodes:
        if not n.args:
            continue
        args = tuple([new.get(a.serial, a) for a in n.args])
        cur = n if all(x is y for x, y in zip(args, n.args)) else make(n.op, args)
        if cur.op is Op.POW and _may_be_half(cur.args[1]):
            cur = _guarded(cur)
        if cur is not n:
            new[n.serial] = cur
    return [new.get(r.serial, r) for r in roots]


def _may_be_half(b: Expr) -> bool:
    return b.op is not Op.CONST or b.payload == 0.5


def _guarded(p: Expr) -> Expr:
    """where(x is -inf or ±0 [and y == 0.5], |x|, x**y) for ``p = x**y``."""
    a, b = p.args
    edge = make(Op.OR, (make(Op.EQ, (a, const(-math.inf))), make(Op.EQ, (a, const(0.0)))))
    if b.op is not Op.CONST:
        edge = make(Op.AND, (make(Op.EQ, (b, const(0.5))), edge))
    return make(Op.WHERE, (edge, make(Op.ABS, (a,)), p))
