"""Forward mode and derivative products, emitted as IR through the reverse sweep's rule table.

A rule maps an adjoint ``g`` of ``out = op(*args)`` to each argument's contribution, and is linear
in ``g``; so asking it for argument ``i``'s contribution with ``g`` set to that argument's tangent
gives that argument's share of the tangent of ``out``. Forward mode is therefore the same table
read the other way: no second set of derivative formulas. ``where``'s rule gives
``where(c, t_a, 0) + where(c, 0, t_b)``, so nothing from the branch not taken leaks in.
Nodes are visited oldest first (serial order is topological): no recursion, any depth.
"""

from __future__ import annotations

from typing import Any

from ..ir import Expr, as_expr, const, free_symbols, gc_paused, topo_order
from ..ops import INFO, Op
from . import provenance
from .reverse import _symbols, adjoints, gradient
from .rules import RULES

_ONLY: dict[tuple[int, int], tuple[bool, ...]] = {
    (n, i): tuple(j == i for j in range(n)) for n in range(1, 4) for i in range(n)
}


_CONDITIONS = frozenset(op for op, info in INFO.items() if info.is_condition)


def _is_zero(e: Expr) -> bool:
    return e.op is Op.CONST and e.payload == 0.0


def _vector(values: Any, n: int, argname: str) -> list[Expr | None]:
    """``values`` (numbers or expressions, one per symbol) as expressions, None for a zero."""
    if hasattr(values, "ravel") and not isinstance(values, Expr):
        values = values.ravel().tolist()
    elif not isinstance(values, list | tuple):
        values = [values]
    if len(values) != n:
        raise ValueError(f"{argname} needs one entry per symbol of wrt ({n}), got {len(values)}")
    out: list[Expr | None] = []
    for i, v in enumerate(values):
        e = as_expr(getattr(v, "_expr", v), f"{argname}[{i}]")
        out.append(None if _is_zero(e) else e)
    return out


def tangents(roots: list[Expr], seeds: dict[int, Expr]) -> dict[int, Expr]:
    """Tangent of every node under ``roots`` (by serial) given the tangents ``seeds`` of some
    symbols (by serial). A node whose arguments have no tangent gets none, and costs nothing."""
    tan = dict(seeds)
    get = tan.get
    const_op = Op.CONST
    for node in topo_order(roots):
        args = node.args
        if not args or node.op in _CONDITIONS:  # a condition is piecewise constant
            continue
        rule = RULES.get(node.op)
        acc = None
        n = len(args)
        for i in range(n):
            t = get(args[i].serial)
            if t is None:
                continue
            if rule is None:
                raise NotImplementedError(f"no derivative rule for op {node.op.value!r}")
            c = rule(node, t, _ONLY[n, i])[i]
            if c is None or (c.op is const_op and c.payload == 0.0):
                continue
            acc = c if acc is None else acc + c
        if acc is not None:
            tan[node.serial] = acc
    return tan


def _outputs(fs: Any) -> tuple[list[Expr], bool]:
    single = not isinstance(fs, list | tuple) and not hasattr(fs, "ravel")
    items = [fs] if single else (fs.ravel().tolist() if hasattr(fs, "ravel") else list(fs))
    return [as_expr(getattr(f, "_expr", f), f"fs[{i}]") for i, f in enumerate(items)], single


def jvp(fs: Any, wrt: Any, tangents_: Any) -> list[Expr]:
    """Each output's derivative along ``tangents_`` (one per symbol of ``wrt``, numbers or
    expressions): the Jacobian-vector product ``J · t``, in one forward sweep. A symbol listed
    twice has its column repeated in ``J``, so its tangents add up."""
    outs, _ = _outputs(fs)
    syms, _ = _symbols(wrt)
    seeds: dict[int, Expr] = {}
    for s, t in zip(syms, _vector(tangents_, len(syms), "tangents")):
        if t is not None:  # a symbol listed twice moves by the sum of its tangents
            seeds[s.serial] = t if s.serial not in seeds else seeds[s.serial] + t
    with gc_paused():  # the sweep builds no cycles; the collector would rescan every node
        tan = tangents(outs, seeds) if seeds else {}
    zero = const(0.0)
    results = [tan.get(f.serial, zero) for f in outs]
    by_serial = {s.serial: s for s in syms}
    along = provenance.Along(tuple((by_serial[k], t) for k, t in seeds.items()))
    provenance.record_along(outs, along, results)  # what each result is, for sg.verify(fn)
    return results


def vjp(fs: Any, wrt: Any, cotangents: Any) -> list[Expr]:
    """``cotangents · J``, one entry per symbol of ``wrt``: one reverse sweep for all outputs,
    seeded with their weighted sum (when a cotangent depends on ``wrt`` itself, so it must not
    be differentiated, each output is swept from its own seed instead)."""
    outs, _ = _outputs(fs)
    syms, _ = _symbols(wrt)
    cots = _vector(cotangents, len(outs), "cotangents")
    pairs = [(f, c) for f, c in zip(outs, cots) if c is not None]
    zero = const(0.0)
    if not pairs:
        return [zero] * len(syms)
    wrt_serials = {s.serial for s in syms}
    symbolic = [c for _, c in pairs if not c.is_const]
    with gc_paused():
        if any(s.serial in wrt_serials for s in free_symbols(symbolic)):
            sums: dict[int, Expr] = {}
            for f, c in pairs:
                for k, v in adjoints(f, syms, seed=c).items():
                    sums[k] = v if k not in sums else sums[k] + v
            return [sums.get(s.serial, zero) for s in syms]
        total = pairs[0][1] * pairs[0][0]
        for f, c in pairs[1:]:
            total = total + c * f
        adj = adjoints(total, syms)
    return [adj.get(s.serial, zero) for s in syms]


def hvp(f: Any, wrt: Any, v: Any) -> list[Expr]:
    """The Hessian of ``f`` times ``v`` (forward over reverse: the gradient's derivative along
    ``v``), without building the Hessian: a small constant times ``f``'s cost, for any size."""
    syms, _ = _symbols(wrt)
    grads = gradient(f, syms)
    return jvp(grads, syms, v)
