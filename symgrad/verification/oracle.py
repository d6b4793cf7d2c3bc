"""The oracle: expressions evaluated in high precision with forward-mode tangents.

Each node gets its value in ``digits``-digit arithmetic (mpmath), its tangents (first
derivatives along each direction: a dual number with many infinitesimal parts) and, when asked,
second-order parts (hyper-dual numbers, for Hessians), from the op's entry in
``oracle_ops.py`` only. It is a different algorithm from symgrad's reverse sweep, written from
different formulas, so the two cannot share a mistake.

The walk goes once over the DAG in serial order (children before parents, no recursion).
Tangents are sparse (a node carries an entry for each direction it depends on) and a node's
tangents are freed after their last use, or reused in place by that use, so a chained sum of
n terms costs O(n), not O(n^2): time and memory are linear in the graph's size for a fixed
number of directions a node depends on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..ir import Expr, topo_order
from ..ops import Op
from .oracle_ops import FIRST_ONLY, SELECTS, entry

_HUGE, _TINY = 1100, 1200
"""Binary exponents past which a value is inf (or 0): every float program has overflowed (or
underflowed) there too, and mpmath, which never overflows, would otherwise carry towers such as
``x**x**x**...`` with exponents of millions of digits."""


class OutOfBudget(Exception):
    """The deadline passed during a pass; the caller reports it (never a silent hang)."""


def context(digits: int):
    """A private mpmath context of ``digits`` decimal digits (the global ``mp`` is untouched)."""
    import mpmath

    M = mpmath.MPContext()
    M.dps = digits
    return M


@dataclass
class Jets:
    """Values, first and second derivatives of the roots of one pass, by root serial.

    ``d1[serial][k]`` is the derivative along direction ``k``; ``d2[serial][(i, j)]`` (``i <= j``)
    the second derivative along directions ``i`` and ``j``. Absent keys are exact zeros.
    """

    value: dict[int, Any] = field(default_factory=dict)
    d1: dict[int, dict] = field(default_factory=dict)
    d2: dict[int, dict] = field(default_factory=dict)


def _uses(order: list[Expr]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for node in order:
        for a in node.args:
            counts[a.serial] = counts.get(a.serial, 0) + 1
    return counts


def _combine(partials: tuple, tangents: list, owned: int, one: Any) -> dict:
    """``sum_k partials[k] * tangents[k]`` as a sparse dict; ``owned`` is the index of a tangent
    dict this use may overwrite (its last use), or -1: it is taken first and updated in place,
    so a chained sum costs the size of each new term, not of the running total. A partial that
    is the context's ``one`` (by identity) multiplies nothing."""
    ks = [k for k, t in enumerate(tangents) if t]
    if owned in ks:
        ks.remove(owned)
        ks.insert(0, owned)
    if not ks:
        return {}
    first = ks[0]
    p, t = partials[first], tangents[first]
    if first == owned:
        out = t
        if p is not one:
            for key in out:
                out[key] *= p
    else:
        out = {key: v * p for key, v in t.items()} if p is not one else dict(t)
    for k in ks[1:]:
        p = partials[k]
        get = out.get
        for key, v in tangents[k].items():
            prev = get(key)
            term = v if p is one else v * p
            out[key] = term if prev is None else prev + term
    return out


def _second(
    partials: tuple, second: dict, tangents: list, hessians: list, pairs: set | None
) -> dict:
    """Second-order parts: ``sum_k p_k H_k + sum_{k<=m} p_km (T_k T_m^T + T_m T_k^T)/(1+[k==m])``
    for the direction pairs ``pairs`` (all if None), as a dict ``{(i, j): value}``, ``i <= j``."""
    out: dict = {}
    for p, h in zip(partials, hessians):
        if h:
            for key, v in h.items():
                out[key] = out.get(key, 0) + p * v
    for (k, m), pkl in second.items():
        tk, tl = tangents[k], tangents[m]
        if not tk or not tl or pkl == 0:
            continue
        for i, vi in tk.items():
            for j, vj in tl.items():
                if k == m and j < i:
                    continue  # the symmetric term T_k[i] T_k[j] is counted once, for i <= j
                key = (i, j) if i <= j else (j, i)
                if pairs is not None and key not in pairs:
                    continue
                term = pkl * vi * vj
                if k != m and i == j:
                    term *= 2
                out[key] = out.get(key, 0) + term
    return out


def evaluate_jets(
    roots: list[Expr],
    env: dict[int, Any],
    directions: dict[int, dict[int, Any]],
    M: Any,
    *,
    second: bool = False,
    pairs: set | None = None,
    deadline: float | None = None,
    tick: Callable[[int, int], None] | None = None,
    absolute: bool = False,
) -> Jets:
    """One forward pass over ``roots``: ``env`` maps symbol serials to numbers, ``directions``
    maps a symbol serial to its tangent entries (``{direction: component}``; a coordinate
    direction is ``{k: 1}``). With ``second``, second-order parts for the direction pairs in
    ``pairs`` (all pairs if None). Raises ``OutOfBudget`` after ``deadline`` (time.monotonic);
    ``absolute``: first-order magnitudes instead (see ``magnitudes``)."""
    order = topo_order(roots)
    keep = {r.serial for r in roots}
    uses = _uses(order)
    val: dict[int, Any] = {}
    tan: dict[int, dict] = {}
    hes: dict[int, dict] = {}
    mpf, one = M.mpf, M.one
    entries: dict = {}
    for n, node in enumerate(order):
        if n & 2047 == 0:
            if deadline is not None and time.monotonic() > deadline:
                raise OutOfBudget(f"{n} of {len(order)} nodes")
            if tick is not None:
                tick(n, len(order))
        s = node.serial
        op = node.op
        if op is Op.CONST:
            val[s] = mpf(node.payload)
            continue
        if op is Op.SYMBOL:
            val[s] = mpf(env[s])
            d = directions.get(s)
            if d:
                tan[s] = {
                    k: (one if v == 1 else mpf(abs(v) if absolute else v)) for k, v in d.items()
                }
            continue
        _apply(node, val, tan, hes, uses, keep, entries, M, second, pairs, absolute)
        args = node.args
        for a in args:  # free what has no use left (roots stay)
            a_s = a.serial
            left = uses[a_s] - 1
            uses[a_s] = left
            if left == 0 and a_s not in keep:
                val.pop(a_s, None)
                tan.pop(a_s, None)
                hes.pop(a_s, None)
    jets = Jets()
    for r in roots:
        jets.value[r.serial] = val[r.serial]
        jets.d1[r.serial] = tan.get(r.serial, {})
        jets.d2[r.serial] = hes.get(r.serial, {})
    return jets


def _apply(node, val, tan, hes, uses, keep, entries, M, second, pairs, absolute=False) -> None:
    """One operation node: its value, and its tangents (and second-order parts) from its
    arguments' through the op's partials (``where``: the taken branch's, copied)."""
    s, op, args = node.serial, node.op, node.args
    avals = [val[a.serial] for a in args]
    facts = entries.get(op)
    if facts is None:  # per op, once: its entry, cheaper partials, whether it selects
        facts = entries[op] = (entry(op), FIRST_ONLY.get(op.value), op.value in SELECTS)
    e, first_only, selects = facts
    out = e.value(M, *avals)
    sign, man, exp, bc = out._mpf_
    if man and not -_TINY < exp + bc < _HUGE:  # far outside the float range: as a float would
        out = (-M.inf if sign else M.inf) if exp + bc > 0 else M.zero
    val[s] = out
    ts = [tan.get(a.serial) for a in args]
    if not any(ts):
        return
    hs = [hes.get(a.serial) for a in args] if second else None
    if first_only is not None and not ts[-1]:
        d1 = first_only(M, out, *avals)
    else:
        d1 = e.d1(M, out, *avals)
    if selects:  # the branch not taken contributes nothing (no 0 * NaN)
        pick = 1 if d1[1] == 1 else 2
        tan[s] = dict(ts[pick] or {})
        if second and hs[pick]:
            hes[s] = dict(hs[pick])
        return
    if absolute:
        d1 = tuple(abs(q) for q in d1)
    if second:
        h = _second(d1, e.d2(M, out, *avals), ts, hs, pairs)
        if h:
            hes[s] = h
    t = tan[s] = _combine(d1, ts, _owned(args, uses, keep), M.one)
    if M.isnan(out):  # no value, no derivative (log's partial exists where log does not)
        for key in t:
            t[key] = M.nan
        if second and s in hes:
            hes[s] = dict.fromkeys(hes[s], M.nan)


def _owned(args: tuple, uses: dict[int, int], keep: set) -> int:
    """The index of an argument whose tangents this node may overwrite (its last use), or -1."""
    for k, a in enumerate(args):
        if uses[a.serial] == 1 and a.serial not in keep and a.op is not Op.SYMBOL:
            if sum(1 for b in args if b is a) == 1:
                return k
    return -1


def magnitudes(
    roots: list[Expr], env: dict[int, Any], directions: dict[int, dict[int, Any]], M: Any, **kw
) -> dict[int, dict]:
    """Per root serial, the first-order magnitudes along each direction,
    ``sum_k |partial_k| |tangent_k|`` through the graph: the size of the chain rule's terms
    before they cancel. Where they cancel to an exact 0 (``x/(2.5*x)``), a float program's
    derivative is a rounding error of that size, not a wrong rule."""
    return evaluate_jets(roots, env, directions, M, absolute=True, **kw).d1


def values(roots: Iterable[Expr], env: dict[int, Any], M: Any, deadline: float | None = None):
    """The roots' values alone (no tangents), by serial."""
    roots = list(roots)
    return evaluate_jets(roots, env, {}, M, deadline=deadline).value
