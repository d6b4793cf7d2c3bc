"""What a transform returns: a structure whose leaves are traced values, split for compiling.

A transform builds its answer (a value, gradients, a Jacobian, aux data) as a nested structure
of lists, tuples, dicts and namedtuples whose leaves are ``Traced`` values, expressions, or
plain Python objects (aux data that does not depend on the arguments). ``split`` turns it into
a skeleton and the flat list of expressions to compile; ``build`` puts numbers (after a call)
or traced values (inside an enclosing trace) back into the skeleton.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..ir import Expr, make, topo_order
from . import kernels
from .array import Traced, to_exprs

_SEQ, _DICT, _NT, _LEAF, _KEEP = "seq", "dict", "nt", "leaf", "keep"


def _leaf_of(x: Any) -> Traced | None:
    if isinstance(x, Traced):
        return x
    if isinstance(x, Expr):
        return Traced(x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        e = to_exprs(x)
        return Traced(e) if isinstance(e, Expr) or e.ndim else Traced(e.item())
    return None


def split(result: Any) -> tuple[Any, list[Expr]]:
    """(skeleton, expressions): each traced leaf becomes ``(_LEAF, shape, start, size)``."""
    exprs: list[Expr] = []

    def visit(x: Any) -> Any:
        t = _leaf_of(x)
        if t is not None:
            start = len(exprs)
            if t.ndim == 0:
                exprs.append(t.a)
            else:
                exprs.extend(t.a.ravel().tolist())
            return (_LEAF, t.shape, start, t.size)
        if isinstance(x, tuple) and hasattr(x, "_fields"):
            return (_NT, type(x), [visit(v) for v in x])
        if isinstance(x, list | tuple):
            return (_SEQ, type(x), [visit(v) for v in x])
        if isinstance(x, dict):
            return (_DICT, list(x), [visit(v) for v in x.values()])
        return (_KEEP, x)

    # User structures (results, aux data) are shallow; graphs are never walked this way.
    return visit(result), exprs


def build(skeleton: Any, values: list, leaf: Callable[[list, tuple], Any]) -> Any:
    """The structure ``skeleton`` with each leaf ``leaf(values[start:start+size], shape)``."""

    def visit(s: Any) -> Any:
        kind = s[0]
        if kind == _LEAF:
            _, shape, start, size = s
            return leaf(values[start : start + size], shape)
        if kind == _KEEP:
            return s[1]
        if kind == _NT:
            return s[1](*[visit(v) for v in s[2]])
        if kind == _SEQ:
            items = [visit(v) for v in s[2]]
            return items if s[1] is list else tuple(items)
        return dict(zip(s[1], [visit(v) for v in s[2]]))

    return visit(skeleton)


def number_leaf(vals: list, shape: tuple) -> Any:
    """A compiled call's numbers as the user sees them: float, or a float array of ``shape``."""
    if shape == ():
        return float(vals[0])
    return np.array(vals, dtype=np.float64).reshape(shape)


def traced_leaf(vals: list, shape: tuple) -> Traced:
    if shape == ():
        return Traced(vals[0])
    return Traced(kernels.obj_array(vals, shape))


def expr_leaf(vals: list, shape: tuple) -> Any:
    """Outside every trace (symbolic use): an ``Expr``, or an object array of them."""
    if shape == ():
        return vals[0]
    return kernels.obj_array(vals, shape)


def substitute(roots: list[Expr], mapping: dict[int, Expr]) -> list[Expr]:
    """``roots`` with each symbol ``s`` (by serial) replaced by ``mapping[s]``; iterative."""
    if not mapping or not roots:
        return list(roots)
    new: dict[int, Expr] = {}
    get = new.get
    for n in topo_order(roots):
        if n.serial in mapping:
            new[n.serial] = mapping[n.serial]
        elif n.args:
            args = tuple([get(a.serial, a) for a in n.args])
            if any(x is not y for x, y in zip(args, n.args)):
                new[n.serial] = make(n.op, args)
    return [get(r.serial, r) for r in roots]
