"""The reverse sweep: adjoints flow from outputs to symbols, emitted as IR.

Nodes are visited newest first (serial order is topological), so the sweep is a sort, not a
walk, and never recurses. A zero adjoint is no entry at all: unused paths build nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..ir import Expr, as_expr, const, gc_paused, topo_order
from ..ops import Op
from . import provenance
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
    constants) get no adjoint, and no node is built for them."""
    order = topo_order([f])
    const_op = Op.CONST
    if wrt is None:  # every node but a constant leads somewhere
        live = {n.serial for n in order if n.op is not const_op}
    else:
        live = {s.serial for s in wrt}
        for node in order:  # children first: a node is live if it has a live argument
            for a in node.args:
                if a.serial in live:
                    live.add(node.serial)
                    break
    adj: dict[int, Expr] = {f.serial: seed if seed is not None else const(1.0)}
    get = adj.get
    for node in reversed(order):
        args = node.args
        if not args:
            continue
        g = get(node.serial)
        if g is None:
            continue
        need = tuple([a.serial in live for a in args])
        contribs = RULES[node.op](node, g, need)
        for child, c, wanted in zip(args, contribs, need):
            if c is None or not wanted or (c.op is const_op and c.payload == 0.0):
                continue
            prev = get(child.serial)
            adj[child.serial] = c if prev is None else prev + c
    return adj


def gradient(f: Any, wrt: Any) -> Expr | list[Expr]:
    """∂f/∂wrt in one reverse sweep: an Expr for one symbol, a list for a sequence of them.

    The result shares ``f``'s nodes, so it can be compiled with ``f`` at little extra cost, or
    differentiated again. A symbol that ``f`` does not depend on gets the constant 0.
    """
    syms, single = _symbols(wrt)
    f = as_expr(getattr(f, "_expr", f), "f")
    with gc_paused():  # the sweep builds no cycles; the collector would rescan every node
        adj = adjoints(f, syms)
    zero = const(0.0)
    grads = [adj.get(s.serial, zero) for s in syms]
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
