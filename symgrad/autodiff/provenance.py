"""What each derivative expression is the derivative of, so a checker can judge it apart.

``gradient`` records, for each result ``g = d f / d s``, the claim ``(f, s)``; ``jvp`` (and so
``hvp``, ``linearize``) the claim ``(f, t)`` with ``t`` an ``Along``: ``g`` is the derivative
of ``f`` along the tangents ``t``. ``sg.verify(fn)``
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
from collections.abc import Iterable
from itertools import repeat
from operator import attrgetter

from ..ir import Expr

_KEEP = 4
_SWEEP_MIN = 1 << 16
# g's serial -> (a weak reference to g, its claims): a plain dict, without a
# WeakKeyDictionary's Python-level callback per key (``gradient`` records with the collector
# paused too; together, a 101,770-parameter gradient's claims took 0.5 s before, 0.13 s now).
# Serials are never reused, so an entry whose g died can never be found again;
# `_forget_dead` drops those as the table doubles (amortized O(1), like the intern table).
_claims: dict[int, tuple[weakref.ref, tuple | list]] = {}
_sweep_at = _SWEEP_MIN


class Along:
    """A direction of differentiation: a tangent expression for each of some symbols (a
    ``jvp``'s seeds). It stands where a claim names a symbol; its ``serial`` is negative, so it
    never meets a node's, and ``payload`` is the label it gives (``d f/dt``). It holds its
    symbols and tangents weakly, as claims do: once one has died, the claim is dropped."""

    _count = 0
    payload = "t"
    _pinned = False  # a pinned copy holds its own (``pinned``): alive without asking

    def __init__(self, pairs: tuple[tuple[Expr, Expr], ...]) -> None:
        Along._count += 1
        self.serial = -9 - Along._count
        self._refs = tuple((weakref.ref(s), weakref.ref(t)) for s, t in pairs)

    @property
    def pairs(self) -> tuple[tuple[Expr, Expr], ...]:
        return tuple((s(), t()) for s, t in self._refs)

    def __call__(self) -> Along | None:  # a claim's weak-reference protocol
        if self._pinned:
            return self
        return self if all(s() is not None and t() is not None for s, t in self._refs) else None

    def pinned(self) -> Along:
        """The same direction holding its symbols and tangents strongly (a compiled
        function's snapshot keeps what verifying it needs)."""
        out = object.__new__(Along)
        out.serial = self.serial
        out._refs = tuple(((lambda e=s: e), (lambda e=t: e)) for s, t in self.pairs)
        out._pinned = True
        return out


def record(f: Expr, wrt: list[Expr], grads: list[Expr]) -> None:
    """Note that ``grads[i]`` is the derivative of ``f`` with respect to ``wrt[i]``."""
    _note(repeat(weakref.ref(f)), list(map(weakref.ref, wrt)), grads)


def record_along(fs: list[Expr], along: Along, results: list[Expr]) -> None:
    """Note that ``results[i]`` is the derivative of ``fs[i]`` along ``along``."""
    _note([weakref.ref(f) for f in fs], [along] * len(fs), results)


def _note(frefs: Iterable, srefs: Iterable, grads: list[Expr]) -> None:
    """An entry's claims are a 1-tuple for one claim, the usual case, and a list once a second
    comes: a tuple is one allocation, a list two (a 101,770-parameter gradient's claims took
    0.075 s before, 0.063 s now, measured). When no result has an entry yet and none comes
    twice (a gradient's entries are distinct new nodes, usually), the entries are made in
    one ``dict.update`` of zipped iterators, with no Python-level step per entry (a result
    that came twice shows as fewer new keys: then they are redone one by one, so ``frefs``
    and ``srefs`` are lists or a ``repeat``, read twice). The table is swept before the new
    entries go in: they are alive (the caller holds them)."""
    table = _claims
    if len(table) + len(grads) >= _sweep_at:
        _forget_dead(len(grads))
    serials = list(map(_serial, grads))
    if table.keys().isdisjoint(serials):
        size = len(table)
        pairs = zip(frefs, srefs)
        table.update(zip(serials, zip(map(weakref.ref, grads), zip(pairs))))
        if len(table) - size == len(serials):
            return
        for s in serials:  # a result came twice, and kept only its last claim: redo them all
            table.pop(s, None)
    get, ref = table.get, weakref.ref
    for fref, sref, g, s in zip(frefs, srefs, grads, serials):
        held = get(s)
        if held is None:
            table[s] = (ref(g), ((fref, sref),))
        elif type(held[1]) is tuple:
            table[s] = (held[0], [*held[1], (fref, sref)])
        else:
            kept = held[1]
            kept.append((fref, sref))
            del kept[:-_KEEP]


_serial = attrgetter("serial")


def _forget_dead(coming: int = 0) -> None:
    """Drop the entries whose gradient has died; the next sweep when the table, with the
    ``coming`` entries about to be added, has doubled."""
    global _sweep_at
    for serial in [k for k, (gref, _) in _claims.items() if gref() is None]:
        del _claims[serial]
    _sweep_at = max(_SWEEP_MIN, 2 * (len(_claims) + coming))


def claims(g: Expr) -> list[tuple[Expr, Expr]]:
    """The live claims ``(f, s)`` (``g = d f / d s``) recorded for ``g``, latest last."""
    held = _claims.get(g.serial)
    if held is None:
        return []
    out = []
    for fref, sref in held[1]:
        f, s = fref(), sref()
        if f is not None and s is not None:
            out.append((f, s))
    return out


def _pinned(along: Along, pins: dict[int, Along | None]) -> Along | None:
    """``along`` pinned if it is alive, else None, asked once per direction: its liveness
    check and its copy are O(its symbols), and an hvp's n entries share one direction of n
    symbols (O(n^2) per snapshot otherwise: 10 s at n = 5,000, out of memory at 100,000)."""
    key = along.serial
    if key not in pins:
        pins[key] = along.pinned() if along() is not None else None
    return pins[key]


def snapshot(roots: list[Expr]) -> dict[int, list[tuple[Expr, Expr]]]:
    """The claims of ``roots`` and of the expressions they claim to derive from (two levels:
    Hessians), by serial, held strongly: a compiled function keeps what verifying it needs."""
    out: dict[int, list] = {}
    level = list(roots)
    table = _claims
    pins: dict[int, Along | None] = {}  # each direction once: an hvp's n entries share one
    for _ in range(2):
        nxt: dict[int, Expr] = {}  # the f's claimed, once each (a gradient's entries share one)
        for g in level:
            s = g.serial
            if s in out:
                continue
            held = table.get(s)
            found = []
            if held is not None:  # claims(g), inlined: this runs once per output
                for fref, sref in held[1]:
                    f, x = fref(), _pinned(sref, pins) if type(sref) is Along else sref()
                    if f is not None and x is not None:
                        found.append((f, x))
                        nxt[f.serial] = f
            out[s] = found
        level = [f for f in nxt.values() if f.serial not in out]
    return out
