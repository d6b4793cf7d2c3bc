"""The reverse sweep: adjoints flow from outputs to symbols, emitted as IR.

Nodes are visited newest first (serial order is topological), so the sweep is a sort, not a
walk, and never recurses. A zero adjoint is no entry at all: unused paths build nothing.
Adjoints that flow into a ``where`` branch carry that branch's mask down with them and are
masked only where they leave it (``masks.py``), so the branch not taken contributes exactly 0
even where its own derivative is inf or NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..ir import Expr, as_expr, const, gc_paused, topo_order
from ..ops import Op
from . import masks, provenance
from .rules import RULES


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


def _sweep(
    f: Expr, wrt: list[Expr] | None, seed: Expr | None
) -> tuple[dict[int, Expr], dict[int, frozenset]]:
    """The reverse sweep: each node's adjoint ``h``, and for a node reached only through
    ``where`` branches its mask (see ``masks``); the true adjoint is ``_wrap(mask, h)``."""
    order = topo_order([f])
    const_op, where_op = Op.CONST, Op.WHERE
    if wrt is None:  # every node but a constant leads somewhere
        live = {n.serial for n in order if n.op is not const_op}
    else:
        live = {s.serial for s in wrt}
        mark = live.add
        for node in order:  # children first: a node is live if it has a live argument
            for a in node.args:
                if a.serial in live:
                    mark(node.serial)
                    break
    adj: dict[int, Expr] = {f.serial: seed if seed is not None else const(1.0)}
    node_masks: dict[int, frozenset] = {}
    get, mget, rules = adj.get, node_masks.get, RULES
    for node in reversed(order):
        args = node.args
        if not args:
            continue
        g = get(node.serial)
        if g is None:
            continue
        if len(args) == 2:  # most nodes: no list built
            need = (args[0].serial in live, args[1].serial in live)
        else:
            need = tuple([a.serial in live for a in args])
        m = mget(node.serial) if node_masks else None
        if node.op is where_op:  # each branch is masked by its side of the condition
            cond = args[0]
            for child, wanted, pol in ((args[1], need[1], True), (args[2], need[2], False)):
                cm = masks.extend(m, cond, pol)
                if wanted and cm is not masks.NEVER:
                    masks.add(adj, node_masks, child.serial, cm, g)
            continue
        contribs = rules[node.op](node, g, need)
        for child, c, wanted in zip(args, contribs, need):
            if c is None or not wanted or (c.op is const_op and c.payload == 0.0):
                continue
            s = child.serial
            prev = get(s)
            if prev is None:
                adj[s] = c
                if m is not None:
                    node_masks[s] = m
            elif m is None and (not node_masks or s not in node_masks):
                adj[s] = prev + c  # the unmasked case: what every graph without where builds
            else:
                masks.add(adj, node_masks, s, m, c)
    return adj, node_masks


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
        zero = const(0.0)
        grads = [_wrap(node_masks.get(s.serial), adj.get(s.serial, zero)) for s in syms]
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
