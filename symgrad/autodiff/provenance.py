"""What each derivative expression is the derivative of, so a checker can judge it apart.

``gradient`` records, for each result ``g = d f / d s``, the claim ``(f, s)``. ``sg.verify(fn)``
reads the claims of a compiled function's outputs and recomputes each derivative from ``f``
alone with an independent algorithm (forward mode in high precision), instead of trusting the
expression ``g`` that the reverse sweep built. Claims are held weakly by the derivative (a
freed expression forgets its claims); an expression shared by several derivatives (interning
makes equal results one node) keeps its few latest claims, each of them a true statement.
"""

from __future__ import annotations

import weakref

from ..ir import Expr

_KEEP = 4
_claims: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def record(f: Expr, wrt: list[Expr], grads: list[Expr]) -> None:
    """Note that ``grads[i]`` is the derivative of ``f`` with respect to ``wrt[i]``."""
    for s, g in zip(wrt, grads):
        held = _claims.get(g)
        if held is None:
            _claims[g] = [(f, s)]
        else:
            held.append((f, s))
            del held[:-_KEEP]


def claims(g: Expr) -> list[tuple[Expr, Expr]]:
    """The claims ``(f, s)`` (``g = d f / d s``) recorded for ``g``, latest last."""
    return list(_claims.get(g, ()))
