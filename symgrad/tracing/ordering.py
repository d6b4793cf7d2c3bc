"""Functions that order values: ``np.sort``, ``np.argsort``, ``np.argmax``, ``np.argmin``,
``np.median``. They are decisions on the values, so they work inside a trace only.

The order is taken from the call being traced and guarded like a Python branch: for sorted
values ``v[p0] <= v[p1] <= ...`` each adjacent comparison is a guard, which proves the whole
order (by transitivity), so a later call with another order retraces. The sorted values are
the elements themselves, so the gradient flows to where each value came from (the derivative
of a sort, away from ties). NaN has no place in such a chain: it raises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import make
from ..ops import Op
from . import ufuncs
from .array import HANDLERS, to_exprs, wrap
from .context import current


def _order(row: list, what: str, kind: Any = "stable") -> list[int]:
    """Indices sorting ``row`` (expressions) at the call being traced, guarded.

    A stable sort's order is fixed by which values are smaller (``v[a] <= v[b]`` for ``a <
    b``); NumPy's default sort is not stable, so its order of ties is taken from NumPy at this
    call and guarded by which neighbours are equal and which strictly smaller: a comparison
    sort given the same comparisons answers alike, and other ties retrace."""
    ctx = current()
    if ctx is None:
        raise TypeError(
            f"numpy.{what} orders values, which are known only inside a trace (sg.grad, "
            "sg.value_and_grad ...)"
        )
    vals = [ctx.value(e, f"numpy.{what}") for e in row]
    if any(v != v for v in vals):
        raise TypeError(f"numpy.{what} of a traced array holding NaN cannot be guarded")
    if kind in ("stable", "mergesort"):
        perm = sorted(range(len(row)), key=lambda i: vals[i])
        for a, b in zip(perm, perm[1:]):
            ctx.record(make(Op.LE if a < b else Op.LT, (row[a], row[b])), True)
        return perm
    perm = np.argsort(np.array(vals, dtype=np.float64), kind=kind).tolist()
    for a, b in zip(perm, perm[1:]):
        tie = vals[a] == vals[b]
        ctx.record(ufuncs.eq(row[a], row[b]) if tie else make(Op.LT, (row[a], row[b])), True)
    return perm


def _rows(a: Any, axis: Any) -> tuple[np.ndarray, int]:
    arr = np.asarray(to_exprs(a), dtype=object)
    if axis is None:
        return arr.ravel(), 0
    return np.moveaxis(arr, axis, -1), int(axis)


def _no(name: str, **given: Any) -> None:
    for k, v in given.items():
        if v is not None:
            raise TypeError(f"numpy.{name} with {k}= is not supported on traced values")


def _sort(a, axis=-1, kind=None, order=None, *, stable=None):
    _no("sort", order=order)
    arr, ax = _rows(a, axis)
    flat = arr.reshape(-1, arr.shape[-1]) if arr.ndim else arr.reshape(1, 1)
    out = []
    for row in flat.tolist():
        out.append([row[i] for i in _order(row, "sort")])
    res = np.array(out, dtype=object).reshape(arr.shape)
    return wrap(res if axis is None else np.moveaxis(res, -1, ax))


def _argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    _no("argsort", order=order)
    kind = "stable" if stable else kind
    arr, ax = _rows(a, axis)
    flat = arr.reshape(-1, arr.shape[-1])
    res = np.array([_order(row, "argsort", kind) for row in flat.tolist()], dtype=np.intp)
    res = res.reshape(arr.shape)
    return res if axis is None else np.moveaxis(res, -1, ax)


def _arg_extreme(name: str, largest: bool):
    """argmax/argmin: the first index of the extreme value, guarded by exactly what makes it
    NumPy's answer (strictly beyond every earlier element, at least as far as every later)."""

    def handler(a, axis=None, out=None, *, keepdims=False):
        _no(name, axis=axis, out=out)
        row = np.asarray(to_exprs(a), dtype=object).ravel().tolist()
        ctx = current()
        if ctx is None:
            raise TypeError(f"numpy.{name} of traced values works inside a trace only")
        vals = [ctx.value(e, f"numpy.{name}") for e in row]
        if any(v != v for v in vals):
            raise TypeError(f"numpy.{name} of a traced array holding NaN cannot be guarded")
        k = int(np.argmax(vals) if largest else np.argmin(vals))
        strict, loose = (Op.GT, Op.GE) if largest else (Op.LT, Op.LE)
        for j, e in enumerate(row):
            if j != k:
                ctx.record(make(strict if j < k else loose, (row[k], e)), True)
        return np.intp(k)

    return handler


def _median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _no("median", axis=axis, out=out)
    s = _sort(a, axis=None)
    n = s.size
    if n == 0:
        raise ValueError("median of an empty array")
    mid = s[n // 2]
    return mid if n % 2 else (s[n // 2 - 1] + mid) / 2.0


HANDLERS[np.sort] = _sort
HANDLERS[np.argsort] = _argsort
HANDLERS[np.argmax] = _arg_extreme("argmax", True)
HANDLERS[np.argmin] = _arg_extreme("argmin", False)
HANDLERS[np.median] = _median
