"""Indexing with traced integers (``logp[np.arange(n), labels]``): a gather as a choice.

A traced integer array as an index has a shape known at trace time (the index's own), so the
result is an ordinary traced array; only its values choose. Each element of the result is
``where(k == 0, a_0, where(k == 1, a_1, ...))`` over the ``n`` positions of the indexed axis
(``k == j - n`` too: NumPy's negative indices), so one compiled program serves every call,
batches of samples included, and the gradient reaches exactly the element taken. The layout of
the result (where NumPy puts the index's axes) is NumPy's own: the candidates are NumPy's
answers with the traced index replaced by a constant, and which element of the index each
result element reads comes from indexing an array of codes the same way.

An index that is not an integer in ``[-n, n)`` raises ``IndexError`` while tracing, as NumPy
does; a later call whose index is out of range fails a guard and is traced again (so it raises
too). Where the index is a per-sample value of a batch (``batch_argnums``) nothing can be
checked at trace time, and an out-of-range index gives NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ir import Expr, const, make
from ..ops import Op
from . import ufuncs
from .array import HANDLERS, TRACED_INDEX, Traced, is_boolean, to_exprs, wrap
from .context import current

MAX_CHOICES = 1_000_000
"""The most ``where`` nodes one gather may build (result elements x axis length)."""

_MASK = (
    "indexing with a traced boolean mask gives a shape known only at run time; "
    "use np.where(mask, a, 0) instead"
)


def _width(p: Any) -> int:
    """How many axes of the indexed array an index part consumes (``...`` counted later)."""
    if p is None or p is Ellipsis:
        return 0
    if isinstance(p, np.ndarray) and p.dtype == np.bool_:
        return p.ndim
    return 1


def _axis_of(parts: tuple, at: int, ndim: int) -> int:
    """The axis of the indexed array that ``parts[at]`` indexes."""
    widths = [_width(p) for p in parts]
    for i, p in enumerate(parts):
        if p is Ellipsis:  # identity: ``in`` would compare traced parts with ==
            widths[i] = max(ndim - sum(widths), 0)
            break
    return sum(widths[:at])


def wants(key: Any) -> bool:
    """Whether ``key`` needs a gather: a traced index array, or a traced scalar whose value
    the trace cannot know (a per-sample value of a batch); other traced scalars are guarded
    integers (``Traced.__index__``)."""
    parts = key if isinstance(key, tuple) else (key,)
    for p in parts:
        if isinstance(p, Traced) and (p.ndim > 0 or _batched(p.a)):
            return True
    return False


def _known(p: Any) -> Any:
    if isinstance(p, Traced) and p.ndim == 0 and not _batched(p.a):
        return p.__index__()
    return p


def _batched(e: Expr) -> bool:
    ctx = current()
    return ctx is not None and ctx.depends_on_batch(e)


def gather(a: np.ndarray, key: Any) -> Any:
    """``a[key]`` (``a`` an object array of Expr) where one part of ``key`` is traced."""
    parts = key if isinstance(key, tuple) else (key,)
    # a traced scalar the trace knows is a guarded integer, as on its own (Traced.__index__)
    parts = tuple(_known(p) for p in parts)
    traced = [i for i, p in enumerate(parts) if isinstance(p, Traced)]
    if len(traced) > 1:
        raise TypeError(
            "indexing with more than one traced index array is not supported; combine them "
            "into one flat index: a.reshape(-1)[i * a.shape[1] + j] for a[i, j]"
        )
    at = traced[0]
    k = parts[at]
    if is_boolean(k):
        raise TypeError(_MASK)
    d = _axis_of(parts, at, a.ndim)
    if d >= a.ndim:
        raise IndexError(f"too many indices for array: array is {a.ndim}-dimensional")
    n = a.shape[d]
    ks = np.asarray(k.a, dtype=object)
    with_part = lambda p: parts[:at] + (p,) + parts[at + 1 :]
    codes = _codes(a.shape, d, ks, with_part)
    if codes.size * n > MAX_CHOICES:
        raise TypeError(
            f"indexing an axis of length {n} with a traced integer index of {ks.size} "
            f"elements would build {codes.size * n:,} choices (more than {MAX_CHOICES:,}); "
            "pass the index as a static argument (static_argnums) or use np.where"
        )
    flat_k = ks.ravel().tolist()
    _check_in_range(flat_k, n)
    cands = [a[with_part(np.full(ks.shape, j, dtype=np.intp))] for j in range(n)]
    cands = [np.asarray(c, dtype=object).ravel().tolist() for c in cands]
    conds = [[_is(e, j, n) for j in range(n)] for e in flat_k]
    nan = const(float("nan"))
    out = []
    for r, c in enumerate(codes.ravel().tolist()):
        v = nan
        for j in range(n - 1, -1, -1):
            v = make(Op.WHERE, (conds[c][j], cands[j][r], v))
        out.append(v)
    if codes.ndim == 0:
        return out[0]
    res = np.empty(len(out), dtype=object)
    res[:] = out
    return res.reshape(codes.shape)


def _codes(shape: tuple, d: int, ks: np.ndarray, with_part) -> np.ndarray:
    """For each element of the result, the flat position in the index it reads: the same
    indexing applied to an array whose axis ``d`` holds 0, 1, ... (one code per index
    element), other axes as they are (a broadcast view: nothing is copied)."""
    m = max(ks.size, 1)
    line = np.arange(m, dtype=np.intp).reshape((1,) * d + (m,) + (1,) * (len(shape) - d - 1))
    table = np.broadcast_to(line, shape[:d] + (m,) + shape[d + 1 :])
    return np.asarray(table[with_part(np.arange(ks.size, dtype=np.intp).reshape(ks.shape))])


def _is(e: Expr, j: int, n: int) -> Expr:
    """``e`` names position ``j`` of an axis of length ``n``: ``j`` or ``j - n``."""
    return ufuncs.logical_or(ufuncs.eq(e, const(float(j))), ufuncs.eq(e, const(float(j - n))))


def _check_in_range(flat_k: list[Expr], n: int) -> None:
    """Raise as NumPy does for an index outside ``[-n, n)`` at the call being traced, and
    guard that every index is in range (a later call that is not traces again and raises)."""
    ctx = current()
    if ctx is None:
        return
    checks: list[Expr] = []
    for e in flat_k:
        if e.op is Op.CONST:
            v = e.payload
        else:
            try:
                v = ctx.value(e, "an index")
            except TypeError:  # a per-sample value of a batch: no value at trace time
                continue
        if not (math.isfinite(v) and v == int(v)):
            raise IndexError(f"a traced index is {v!r}, not an integer")
        if not -n <= v < n:
            raise IndexError(f"index {int(v)} is out of bounds for axis with size {n}")
        if e.op is not Op.CONST:
            ok = ufuncs.logical_and(
                make(Op.GE, (e, const(float(-n)))), make(Op.LT, (e, const(float(n))))
            )
            checks.append(ufuncs.logical_and(ok, ufuncs.eq(e, make(Op.FLOOR, (e,)))))
    while len(checks) > 1:  # one guard for the whole index (pairwise: a shallow tree)
        pairs = zip(checks[::2], checks[1::2])
        checks = [ufuncs.logical_and(a, b) for a, b in pairs] + checks[len(checks) & ~1 :]
    if checks:
        ctx.record(checks[0], True)


def _axis(axis: Any, ndim: int) -> int:
    d = int(axis) + ndim if int(axis) < 0 else int(axis)
    if not 0 <= d < ndim:
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return d


def _exprs(a: Any) -> np.ndarray:
    return np.asarray(to_exprs(a), dtype=object)


def _take(structural):
    """np.take: with traced indices, ``a.ravel()[i]`` or ``a[:, ..., i]`` along ``axis``."""

    def take(a, indices, axis=None, out=None, mode="raise"):  # NumPy's names
        if not isinstance(indices, Traced):
            return structural(a, indices, axis=axis, out=out, mode=mode)
        if out is not None or mode != "raise":
            raise TypeError("numpy.take of traced indices supports neither out= nor mode=")
        A = _exprs(a)
        if axis is None:
            return wrap(gather(A.ravel(), indices))
        d = _axis(axis, A.ndim)
        return wrap(gather(A, (slice(None),) * d + (indices,)))

    return take


def _take_along_axis(structural):
    """np.take_along_axis: with traced indices, NumPy's own fancy index (an arange on every
    other axis) around them."""

    def take_along_axis(arr, indices, axis=-1):  # NumPy's names (axis=-1 as NumPy 2.3)
        if not isinstance(indices, Traced):
            return structural(arr, indices, axis)
        A = _exprs(arr)
        if axis is None:
            return wrap(gather(A.ravel(), indices))
        if indices.ndim != A.ndim:
            raise ValueError("`indices` and `arr` must have the same number of dimensions")
        d = _axis(axis, A.ndim)
        key = [
            np.arange(n).reshape((1,) * k + (n,) + (1,) * (A.ndim - k - 1))
            for k, n in enumerate(A.shape)
        ]
        key[d] = indices
        return wrap(gather(A, tuple(key)))

    return take_along_axis


def assign(a: np.ndarray, key: Any, value: Any) -> bool:
    """``a[mask] = v`` with a traced boolean mask: each element becomes ``where(mask, v, a)``,
    in place (a scalar ``v``: how many elements the mask takes is known only at run time).
    False where ``key`` is no traced mask (the caller assigns as NumPy does)."""
    if not (isinstance(key, Traced) and key.ndim > 0 and is_boolean(key)):
        return False
    m = np.asarray(key.a, dtype=object)
    if m.ndim > a.ndim or m.shape != a.shape[: m.ndim]:
        raise IndexError(
            f"boolean index did not match indexed array: the mask has shape {m.shape}, "
            f"the array {a.shape}"
        )
    v = to_exprs(value)
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise TypeError(
                "a[mask] = values with a traced boolean mask is supported for a single value "
                "only (how many elements the mask takes is known only at run time); write "
                "a = np.where(mask, values, a)"
            )
        v = v.ravel()[0]
    m = np.broadcast_to(m.reshape(m.shape + (1,) * (a.ndim - m.ndim)), a.shape)
    for i in np.ndindex(a.shape):
        a[i] = make(Op.WHERE, (m[i], v, a[i]))
    return True


TRACED_INDEX.extend((wants, gather, assign))
HANDLERS[np.take] = _take(HANDLERS[np.take])
HANDLERS[np.take_along_axis] = _take_along_axis(HANDLERS[np.take_along_axis])
