"""The reverse sweep: adjoints flow from outputs to symbols, emitted as IR.

Nodes are visited newest first (serial order is topological), so the sweep is a sort, not a
walk, and never recurses. A zero adjoint is no entry at all: unused paths build nothing.
Adjoints that flow into a ``where`` branch carry that branch's mask down with them and are
masked only where they leave it (``masks.py``), so the branch not taken contributes exactly 0
even where its own derivative is inf or NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import attrgetter
from typing import Any

from ..ir import Expr, as_expr, const, gc_paused
from ..ir.traverse import split_order
from ..ops import Op
from . import masks, provenance
from .rules import RULES

_EXPR, _SYMBOL = {Expr}, {Op.SYMBOL}
_op_of, _serial_of = attrgetter("op"), attrgetter("serial")


def _as_symbol(s: Any, argname: str) -> Expr:
    e = getattr(s, "_expr", s)
    if not isinstance(e, Expr) or e.op is not Op.SYMBOL:
        raise TypeError(
            f"{argname} must be a symbol (from sg.symbols or sg.Symbol), "
            f"got {s!r:.60}; differentiate with respect to symbols only"
        )
    return e


def _symbols(wrt: Any) -> tuple[list[Expr], bool]:
    """``wrt`` as a list of symbols, and whether it was one symbol."""
    if isinstance(wrt, list | tuple):
        # the common case checked by C-level maps, without a Python step per symbol:
        if not wrt or set(map(type, wrt)) == _EXPR and set(map(_op_of, wrt)) == _SYMBOL:
            return list(wrt), False
        return [_as_symbol(s, f"wrt[{i}]") for i, s in enumerate(wrt)], False
    if hasattr(wrt, "shape") and hasattr(wrt, "ravel"):  # an object array of symbols
        return [_as_symbol(s, "wrt element") for s in wrt.ravel()], False
    return [_as_symbol(wrt, "wrt")], True


def adjoints(f: Expr, wrt: list[Expr] | None = None, seed: Expr | None = None) -> dict[int, Expr]:
    """Adjoint of every node under ``f`` (by serial) that leads to a symbol of ``wrt`` (all
    symbols if None), for ``f`` seeded with ``seed`` (1). Nodes that lead to no such symbol (data,
    constants) get no adjoint, and no node is built for them. A node reached only through
    ``where`` branches has its adjoint masked to where one of them is taken (see ``masks``)."""
    adj, masks = _sweep(f, wrt, seed)
    return {s: _wrap(masks.get(s), h) for s, h in adj.items()}


def _dead(ops: list[Expr], leaves: list[Expr], wrt: list[Expr] | None) -> set[int]:
    """The serials of the nodes that lead to no symbol of ``wrt`` (to no symbol at all if
    None): the leaves other than those symbols, and the nodes of ``ops`` (children first)
    all of whose arguments are dead. Few, usually (the data and constants), so this marks
    fewer nodes than the live ones would be; a node whose first argument is live is live,
    which is all most nodes need asking."""
    if wrt is None:
        const_op = Op.CONST
        return {n.serial for n in leaves if n.op is const_op}
    targets = {s.serial for s in wrt}
    dead = {n.serial for n in leaves if n.serial not in targets}
    if not dead:
        return dead
    mark = dead.add
    for node in ops:
        args = node.args
        if args[0].serial in dead:
            for a in args:
                if a.serial not in dead:
                    break
            else:
                mark(node.serial)
    return dead


def _sweep(
    f: Expr, wrt: list[Expr] | None, seed: Expr | None
) -> tuple[dict[int, Expr], dict[int, frozenset]]:
    """The reverse sweep: each node's adjoint ``h``, and for a node reached only through
    ``where`` branches its mask (see ``masks``); the true adjoint is ``_wrap(mask, h)``.
    Only the nodes with arguments are visited (leaves get adjoints, they give none). Until a
    ``where`` makes the first mask, every adjoint is unmasked and ``_unmasked`` runs, which
    accumulates without asking; from there ``_masked`` does, for the nodes left."""
    ops, leaves = split_order([f])
    dead = _dead(ops, leaves, wrt)
    adj: dict[int, Expr] = {f.serial: seed if seed is not None else const(1.0)}
    node_masks: dict[int, frozenset] = {}
    # inline only the rules as shipped (a test may swap one in RULES for a wrong one)
    inline = tuple(op if RULES[op] is _STOCK[op] else None for op in _STOCK)
    rest = reversed(ops)
    if _unmasked(rest, adj, node_masks, dead, inline):
        _masked(rest, adj, node_masks, dead, inline)
    return adj, node_masks


def _unmasked(rest, adj: dict[int, Expr], node_masks: dict, dead: set[int], inline) -> bool:
    """The sweep over ``rest`` (parents first) while no adjoint has a mask, so each
    contribution is added as it comes. Sums, differences and products (most nodes) are
    derived inline, as ``RULES`` does, without a rule call or a ``need`` tuple per node (an
    MLP's gradient: 0.70 -> 0.53 s, measured). True if it stopped at a mask (then the
    caller goes on with ``_masked``)."""
    get, rules, add, mul, neg = adj.get, RULES, Expr.__add__, Expr.__mul__, Expr.__neg__
    add_op, sub_op, mul_op = inline
    where_op, const_op = Op.WHERE, _CONST
    for node in rest:
        g = get(node.serial)
        if g is None:
            continue
        op = node.op
        args = node.args
        if op is add_op or op is sub_op:
            a, b = args
            sa, sb = a.serial, b.serial
            cb = None if sb in dead else g if op is add_op else neg(g)  # built before any sum
            if sa not in dead and (g.op is not const_op or g.payload != 0.0):
                prev = get(sa)
                adj[sa] = g if prev is None else add(prev, g)
            if cb is not None and (cb.op is not const_op or cb.payload != 0.0):
                prev = get(sb)
                adj[sb] = cb if prev is None else add(prev, cb)
            continue
        if op is mul_op:
            a, b = args
            sa, sb = a.serial, b.serial
            ca = mul(g, b) if sa not in dead else None
            cb = mul(g, a) if sb not in dead else None
            if ca is not None and (ca.op is not const_op or ca.payload != 0.0):
                prev = get(sa)
                adj[sa] = ca if prev is None else add(prev, ca)
            if cb is not None and (cb.op is not const_op or cb.payload != 0.0):
                prev = get(sb)
                adj[sb] = cb if prev is None else add(prev, cb)
            continue
        need = tuple([a.serial not in dead for a in args])
        if op is where_op:
            _where(node, g, None, need, adj, node_masks)
            if node_masks:
                return True
            continue
        for child, c, wanted in zip(args, rules[op](node, g, need), need):
            if c is not None and wanted and (c.op is not const_op or c.payload != 0.0):
                s = child.serial
                prev = get(s)
                adj[s] = c if prev is None else add(prev, c)
    return False


def _masked(rest, adj: dict[int, Expr], node_masks: dict, dead: set[int], inline) -> None:
    """The sweep over ``rest`` once masks exist: each contribution goes through ``_give``,
    which merges masks (``masks.add``) where an unmasked sum cannot be taken."""
    get, mget, rules, give = adj.get, node_masks.get, RULES, _give
    mul, neg = Expr.__mul__, Expr.__neg__
    add_op, sub_op, mul_op = inline
    where_op = Op.WHERE
    for node in rest:
        g = get(node.serial)
        if g is None:
            continue
        op = node.op
        args = node.args
        m = mget(node.serial)
        if op is add_op or op is sub_op or op is mul_op:  # RULES' three, inline
            a, b = args
            sa, sb = a.serial, b.serial
            ca = cb = None
            if sa not in dead:
                ca = mul(g, b) if op is mul_op else g
            if sb not in dead:
                cb = g if op is add_op else mul(g, a) if op is mul_op else neg(g)
            if ca is not None and (ca.op is not _CONST or ca.payload != 0.0):
                give(adj, node_masks, sa, m, ca)
            if cb is not None and (cb.op is not _CONST or cb.payload != 0.0):
                give(adj, node_masks, sb, m, cb)
            continue
        need = tuple([a.serial not in dead for a in args])
        if op is where_op:
            _where(node, g, m, need, adj, node_masks)
            continue
        for child, c, wanted in zip(args, rules[op](node, g, need), need):
            if c is not None and wanted and (c.op is not _CONST or c.payload != 0.0):
                give(adj, node_masks, child.serial, m, c)


def _where(node: Expr, g: Expr, m, need: tuple, adj: dict, node_masks: dict) -> None:
    """``where(c, a, b)``'s adjoint ``g`` (under mask ``m``) to each branch, masked by its
    side of the condition; the condition gets none."""
    cond, a, b = node.args
    for child, wanted, pol in ((a, need[1], True), (b, need[2], False)):
        cm = masks.extend(m, cond, pol)
        if wanted and cm is not masks.NEVER:
            masks.add(adj, node_masks, child.serial, cm, g)


_CONST = Op.CONST
_STOCK = {op: RULES[op] for op in (Op.ADD, Op.SUB, Op.MUL)}  # the rules _sweep inlines


def _give(adj: dict[int, Expr], node_masks: dict, s: int, m: frozenset | None, c: Expr) -> None:
    """Add the contribution ``c`` (valid under mask ``m``, None for none) to ``s``'s adjoint."""
    prev = adj.get(s)
    if prev is None:
        adj[s] = c
        if m is not None:
            node_masks[s] = m
    elif m is None and (not node_masks or s not in node_masks):
        adj[s] = prev + c  # the unmasked case: what every graph without where builds
    else:
        masks.add(adj, node_masks, s, m, c)


_wrap = masks.wrap


def gradient(f: Any, wrt: Any) -> Expr | list[Expr]:
    """∂f/∂wrt in one reverse sweep: an Expr for one symbol, a list for a sequence of them.

    The result shares ``f``'s nodes, so it can be compiled with ``f`` at little extra cost, or
    differentiated again. A symbol that ``f`` does not depend on gets the constant 0.
    """
    syms, single = _symbols(wrt)
    f = as_expr(getattr(f, "_expr", f), "f")
    with gc_paused():  # the sweep builds no cycles; the collector would rescan every node
        adj, node_masks = _sweep(f, syms, None)
        zero, get = const(0.0), adj.get
        if node_masks:
            grads = [_wrap(node_masks.get(s.serial), get(s.serial, zero)) for s in syms]
        else:
            grads = list(map(get, map(_serial_of, syms), repeat(zero)))
        provenance.record(f, syms, grads)  # what each result claims to be, for sg.verify(fn)
    return grads[0] if single else grads


def jacobian(fs: Sequence[Any], wrt: Any) -> list[list[Expr]]:
    """Rows ∂fs[i]/∂wrt[j], one reverse sweep per output."""
    if not isinstance(fs, list | tuple):
        fs = [fs]
    syms, _ = _symbols(wrt)
    return [list(gradient(f, syms)) for f in fs]


def hessian(f: Any, wrt: Any) -> list[list[Expr]]:
    """Second derivatives ∂²f/∂wrt[i]∂wrt[j]: the Jacobian of the gradient, in the same IR."""
    syms, _ = _symbols(wrt)
    return jacobian(gradient(f, syms), syms)
