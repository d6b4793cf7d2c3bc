"""Masks of adjoints under ``where``: the branch not taken contributes exactly 0, by construction.

``where(c, a, b)`` sends its adjoint ``g`` to ``a`` only where ``c`` holds. Writing that as
``where(c, g, 0)`` and letting it flow on is not enough: ``a``'s own rule then multiplies it by
its local derivative (``0 * inf``, ``0 * nan`` outside ``a``'s domain) and the NaN reaches the
result. So the sweep keeps the mask apart: a node's adjoint is a pair (mask, h), ``h`` valid
wherever the mask holds and computed as if it always did, and the mask is applied (``where``)
only where the adjoint leaves the branch: where it meets an adjoint with another mask, and at
the symbols. A mask is a conjunction of literals ``(cond, polarity)``, a frozenset.

Merging (mask p, h) and (mask q, k) into one node:
    p == q                  -> (p, h + k)
    p ⊂ q                   -> (p, h + where(q \\ p, k))       q implies p; symmetric for q ⊂ p
    p = r ∧ c, q = r ∧ ¬c   -> (r, where(c, h, 0) + where(c, 0, k))
    otherwise               -> (p ∩ q ∧ (p' ∨ q'), where(p', h) + where(q', k))  p' = p \\ q ...
An unmasked adjoint is the empty mask (None), so it absorbs every masked one.
"""

from __future__ import annotations

from .. import expr as E
from ..ir import Expr

Mask = frozenset  # of (condition Expr, polarity bool)
NEVER = frozenset({None})  # a contradiction (c and not c): the branch is never taken
MAX_LITERALS = 4  # a longer mask is folded into one literal: long where-chains stay linear


def extend(m: Mask | None, cond: Expr, pol: bool) -> Mask | None:
    """``m`` and ``cond`` (or its negation): the mask of a ``where`` branch under ``m``."""
    lit = (cond, pol)
    if m is None:
        return frozenset((lit,))
    if lit in m:
        return m
    if (cond, not pol) in m:
        return NEVER
    m = m | {lit}
    if len(m) > MAX_LITERALS:
        return frozenset(((condition(m), True),))
    return m


def _sorted(m: Mask) -> list[tuple[Expr, bool]]:
    return sorted(m, key=lambda lit: (lit[0].serial, lit[1]))


def condition(m: Mask) -> Expr:
    """The mask as one condition expression (a conjunction)."""
    out = None
    for c, pol in _sorted(m):
        lit = c if pol else E.logical_not(c)  # and/or/not read a number c as c != 0
        out = lit if out is None else E.logical_and(out, lit)
    return out  # type: ignore[return-value]


def wrap(m: Mask | None, h: Expr) -> Expr:
    """``h`` where ``m`` holds, exactly 0 elsewhere (whatever ``h`` is there)."""
    if not m:
        return h
    for c, pol in _sorted(m):
        h = E.where(c, h, 0.0) if pol else E.where(c, 0.0, h)
    return h


def add(adj: dict[int, Expr], masks: dict[int, Mask], s: int, m: Mask | None, c: Expr) -> None:
    """Add the contribution ``c``, valid under mask ``m``, to node ``s``'s adjoint."""
    prev = adj.get(s)
    if prev is None:
        adj[s] = c
        if m:
            masks[s] = m
        return
    p = masks.get(s)
    if p == m or (not p and not m):
        adj[s] = prev + c
        return
    p, m = p or frozenset(), m or frozenset()
    if p <= m:  # m implies p
        merged, h = p, prev + wrap(m - p, c)
    elif m <= p:
        merged, h = m, wrap(p - m, prev) + c
    else:
        common, rp, rm = p & m, p - m, m - p
        h = wrap(rp, prev) + wrap(rm, c)
        if len(rp) == 1 and len(rm) == 1 and _complementary(next(iter(rp)), next(iter(rm))):
            merged = common
        else:
            merged = extend(common or None, E.logical_or(condition(rp), condition(rm)), True)
    adj[s] = h
    if merged:
        masks[s] = merged
    else:
        masks.pop(s, None)


def _complementary(a: tuple, b: tuple) -> bool:
    return a[0] is b[0] and a[1] is not b[1]
