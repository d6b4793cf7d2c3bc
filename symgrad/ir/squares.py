"""Whether an expression is a sum of squares: what lets ``sqrt(s)**2`` be ``s``.

``np.linalg.norm(w)**2`` is ``sqrt(sum(w*w))**2``. Differentiated as written, its gradient at
``w = 0`` is ``2*sqrt(0) * 0.5/sqrt(0) = 0 * inf = NaN``, though the true gradient (``2w``)
is 0 there; and zero is where weights often start. A sum of squares is never negative (nor
``-0.0``), so ``sqrt(s)**2`` and ``sqrt(s)*sqrt(s)`` equal ``s`` up to the rounding of the
square root and the square (``s`` itself is the exact value), and the rewrite gives the right
derivative of every order. The check walks the sum's tree iteratively and gives up past a
bound, so a rewrite never costs more than the sum took to build.
"""

from __future__ import annotations

import math

from ..ops import Op
from .node import Expr

LIMIT = 1 << 20
"""Nodes looked at before giving up (the rewrite is then not made: still correct, as built)."""


def is_sum_of_squares(s: Expr) -> bool:
    """``s`` is a sum (``+`` only) of squares (``x*x``, ``x**2``) and constants >= +0.0."""
    stack, seen = [s], set()
    while stack:
        n = stack.pop()
        if n.serial in seen:
            continue
        seen.add(n.serial)
        if len(seen) > LIMIT:
            return False
        op = n.op
        if op is Op.ADD:
            stack.extend(n.args)
        elif op is Op.MUL:
            if n.args[0] is not n.args[1]:
                return False
        elif op is Op.POW:
            b = n.args[1]
            if not (b.op is Op.CONST and b.payload == 2.0):
                return False
        elif op is Op.CONST:
            v = n.payload
            if not math.copysign(1.0, v) > 0.0 or v != v:  # negatives, -0.0, NaN: no
                return False
        else:
            return False
    return True
