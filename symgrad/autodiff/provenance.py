"""What each derivative expression is the derivative of, so a checker can judge it apart.

``gradient`` records, for each result ``g = d f / d s``, the claim ``(f, s)``. ``sg.verify(fn)``
reads the claims of a compiled function's outputs and recomputes each derivative from ``f``
alone with an independent algorithm (forward mode in high precision), instead of trusting the
expression ``g`` that the reverse sweep built. Claims hold both sides weakly, so they keep no
graph alive (a gradient that is the constant 0 or a symbol lives long); ``sg.compile`` takes a
``snapshot`` of its outputs' claims, which the compiled function holds. An expression shared by
several derivatives (interning makes equal results one node) keeps its few latest claims, each
of them a true statement.
"""

from __future__ import annotations

import weakref

from ..ir import Expr

_KEEP = 4
_claims: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def record(f: Expr, wrt: list[Expr], grads: list[Expr]) -> None:
    """Note that ``grads[i]`` is the derivative of ``f`` with respect to ``wrt[i]``."""
    fref = weakref.ref(f)
    for s, g in zip(wrt, grads):
        claim = (fref, weakref.ref(s))
        held = _claims.get(g)
        if held is None:
            _claims[g] = [claim]
        else:
            held.append(claim)
            del held[:-_KEEP]


def claims(g: Expr) -> list[tuple[Expr, Expr]]:
    """The live claims ``(f, s)`` (``g = d f / d s``) recorded for ``g``, latest last."""
    out = []
    for fref, sref in _claims.get(g, ()):
        f, s = fref(), sref()
        if f is not None and s is not None:
            out.append((f, s))
    return out


def snapshot(roots: list[Expr]) -> dict[int, list[tuple[Expr, Expr]]]:
    """The claims of ``roots`` and of the expressions they claim to derive from (two levels:
    Hessians), by serial, held strongly: a compiled function keeps what verifying it needs."""
    out: dict[int, list] = {}
    level = list(roots)
    for _ in range(2):
        nxt = []
        for g in level:
            if g.serial not in out:
                out[g.serial] = found = claims(g)
                nxt.extend(f for f, _ in found)
        level = nxt
    return out
