"""The generated function's parameters, from ``sg.compile``'s inputs: one parameter per input
(a symbol, or a nested list of symbols), its name, its elements' names and the shape a call
checks. Names come from the symbols' labels through a ``NameScope`` (never raw strings), and
a bad input is refused here with what to write instead.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from .. import structure
from ..ir import Expr
from ..ops import Op
from .naming import NameScope


def _leaf(x: Any, where: str) -> Expr:
    e = getattr(x, "_expr", x)
    if not isinstance(e, Expr) or e.op is not Op.SYMBOL:
        raise TypeError(f"{where} must be a symbol (or a list of symbols), got {x!r:.60}")
    return e


def _spec_names(item: Any, scope: NameScope, names: dict[int, str], where: str) -> Any:
    """The nested list of element names for a list input; each symbol named once."""

    def name(x: Any) -> str:
        e = _leaf(x, where)
        if e.serial in names:
            _given_twice(e)
        names[e.serial] = scope.fresh(e.payload)
        return names[e.serial]

    return structure.map(name, item, is_leaf=structure.dict_leaf)


_op_of, _payload, _serial = attrgetter("op"), attrgetter("payload"), attrgetter("serial")


def _symbol_nodes(item: Any) -> tuple[list[Expr], list] | None:
    """(nodes, labels) of a flat, non-empty list of symbols (``p0 ... p101769``, the common
    input), else None: such a list is named in one pass over its labels and serials, where
    anything else (nested, tuples, non-symbols) takes the general walk, which also says what
    is wrong. A list of nodes is its own list of nodes (no ``_expr`` to look for)."""
    if type(item) is not list or not item:
        return None
    types = set(map(type, item))
    exprs = item if types == {Expr} else [getattr(x, "_expr", x) for x in item]
    if exprs is not item and not all(issubclass(t, Expr) for t in set(map(type, exprs))):
        return None
    if set(map(_op_of, exprs)) != {Op.SYMBOL}:
        return None
    return exprs, list(map(_payload, exprs))


def _flat_names(
    exprs: list[Expr], labels: list, scope: NameScope, names: dict[int, str]
) -> list[str]:
    """``_spec_names`` of a list of symbol nodes and their ``labels``: one ``fresh_all``,
    and the serials added in one step unless a symbol is given twice (then the general
    path's loop raises for the first repeat, in order)."""
    out = scope.fresh_all(labels)
    serials = list(map(_serial, exprs))
    if not names or names.keys().isdisjoint(serials):
        size = len(names)
        names.update(zip(serials, out))
        if len(names) - size == len(serials):  # each symbol once
            return out
        for s in serials:  # a repeat within the list: undo, and find it in order
            names.pop(s, None)
    for e, nm in zip(exprs, out):
        if e.serial in names:
            _given_twice(e)
        names[e.serial] = nm
    return out


def _given_twice(e: Expr) -> None:
    raise ValueError(
        f"the symbol {e.payload!r} is given twice in inputs; each input symbol must appear once"
    )


def _param_label(item: Any, position: int, labels: list | None = None) -> str:
    """A list input's parameter name: the stem its labels share (``w`` for ``w0, w1``), else
    its position (``arg0``). Only symbols have labels (anything else is refused later);
    ``labels`` are the item's, if known (``_symbol_nodes``)."""
    if labels is None:
        symbol = Op.SYMBOL
        exprs = [getattr(x, "_expr", x) for x in structure.leaves(item)]
        labels = [e.payload for e in exprs if isinstance(e, Expr) and e.op is symbol]
    if labels:
        stem = labels[0].rstrip("0123456789_[]() ")
        # every label starts with stem iff the smallest and largest do (sorted order)
        if stem and min(labels).startswith(stem) and max(labels).startswith(stem):
            return stem
    return f"arg{position}"


def parameters(
    items: list, scope: NameScope, names: dict[int, str]
) -> tuple[list[tuple[str, Any]], list[tuple[str, tuple | None]]]:
    """(params, arg_info): each input's parameter name and, for a list, its nested element
    names; and the name and shape a call checks. List parameters are named first, so a list
    ``w`` keeps ``w`` and its items ``w0, w1 ...``."""
    params: list[tuple[str, Any]] = []
    arg_info: list[tuple[str, tuple | None]] = []
    flat: dict[int, tuple] = {}  # item -> (nodes, labels), for a flat list of symbols
    for i, item in enumerate(items):
        if isinstance(item, list | tuple):
            labels = None
            if (found := _symbol_nodes(item)) is not None:
                flat[i], labels = found, found[1]
                shape = (len(item),)  # what structure.shape says of a flat list of leaves
            else:
                shape = structure.shape(item, f"inputs[{i}]")
            pname = scope.fresh(_param_label(item, i, labels))
            params.append((pname, None))
            arg_info.append((pname, shape))
        else:
            _leaf(item, f"inputs[{i}]")
            params.append((None, None))
            arg_info.append((None, None))
    for i, item in enumerate(items):
        if i in flat:
            params[i] = (params[i][0], _flat_names(*flat[i], scope, names))
        elif isinstance(item, list | tuple):
            params[i] = (params[i][0], _spec_names(item, scope, names, f"inputs[{i}]"))
        else:
            e = _leaf(item, f"inputs[{i}]")
            pname = _spec_names(item, scope, names, f"inputs[{i}]")
            params[i] = (pname, None)
            arg_info[i] = (e.payload, None)
    return params, arg_info
