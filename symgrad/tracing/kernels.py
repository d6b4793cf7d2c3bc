"""Loops over object arrays of expressions: reductions, running sums, dot and matrix products.

They build the same graphs NumPy's object loops build (a linear chain ``((a0 + a1) + a2) ...``,
a dot product starting from its first product), so generated programs do not change with the
front end, but call ``make`` directly instead of going through ``Expr``'s operators: tracing a
784x128 matrix-vector product is one Python loop of 200,000 node constructions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Expr, const, make
from ..ops import Op

_ADD, _MUL = Op.ADD, Op.MUL
IDENTITY = {Op.ADD: 0.0, Op.MUL: 1.0}


def obj_array(items: list, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(shape)


def chain(op: Op, items: list[Expr]) -> Expr:
    """``items[0] op items[1] op ...`` left to right (an empty sum is 0, product 1)."""
    if not items:
        if op not in IDENTITY:
            raise ValueError(
                "zero-size array to reduction operation which has no identity (as NumPy says)"
            )
        return const(IDENTITY[op])
    acc = items[0]
    for x in items[1:]:
        acc = make(op, (acc, x))
    return acc


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def reduce(op: Op, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
    """``op`` folded over ``axis`` of the object array ``a``: an Expr or an object array."""
    axes = _axes(axis, a.ndim)
    keep = [d for d in range(a.ndim) if d not in axes]
    moved = np.transpose(a, keep + list(axes))
    out_shape = tuple(a.shape[d] for d in keep)
    rows = moved.reshape((int(np.prod(out_shape, dtype=np.int64)), -1)) if a.size else None
    if rows is None:
        flat = [chain(op, []) for _ in range(int(np.prod(out_shape, dtype=np.int64)))]
    else:
        flat = [chain(op, r) for r in rows.tolist()]
    if keepdims:
        out_shape = tuple(1 if d in axes else a.shape[d] for d in range(a.ndim))
    if not out_shape:
        return flat[0]
    return obj_array(flat, out_shape)


def accumulate(op: Op, a: np.ndarray, axis: int | None) -> np.ndarray:
    """Running ``op`` along ``axis`` (flattened when None), as ``np.cumsum`` / ``np.cumprod``."""
    if axis is None:
        a, axis = a.ravel(), 0
    axis = _axes(axis, a.ndim)[0]
    moved = np.moveaxis(a, axis, -1)
    shape = moved.shape
    out = []
    for row in moved.reshape((-1, shape[-1])).tolist() if moved.size else []:
        acc = None
        for x in row:
            acc = x if acc is None else make(op, (acc, x))
            out.append(acc)
    return np.moveaxis(obj_array(out, shape), -1, axis)


def _dot(u: list[Expr], v: list[Expr], make=make, mul=_MUL, add=_ADD) -> Expr:
    """u[0]*v[0] + u[1]*v[1] + ... left to right (names bound locally: the hot loop)."""
    if not u:
        return const(0.0)
    it = zip(u, v)
    a, b = next(it)
    acc = make(mul, (a, b))
    for a, b in it:
        acc = make(add, (acc, make(mul, (a, b))))
    return acc


def matmul(a: np.ndarray, b: np.ndarray) -> Any:
    """``a @ b`` for object arrays with NumPy's rules (1-D operands, stacked matrices)."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: an operand is a scalar; use * for scalars (as NumPy says)")
    va, vb = a.ndim == 1, b.ndim == 1
    A = a[None, :] if va else a
    B = b[:, None] if vb else b
    if A.shape[-1] != B.shape[-2]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not align ({A.shape[-1]} != {B.shape[-2]})"
        )
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    A = np.broadcast_to(A, batch + A.shape[-2:])
    B = np.broadcast_to(B, batch + B.shape[-2:])
    out = []
    for Am, Bm in zip(A.reshape((-1,) + A.shape[-2:]), B.reshape((-1,) + B.shape[-2:])):
        cols = Bm.T.tolist()
        for row in Am.tolist():
            out.extend(_dot(row, col) for col in cols)
    shape = batch + (A.shape[-2], B.shape[-1])
    res = obj_array(out, shape)
    if va:
        res = res[..., 0, :]
    if vb:
        res = res[..., 0]
    return res if res.ndim else res.item()


def dot(a: np.ndarray, b: np.ndarray) -> Any:
    """``np.dot``: products for a scalar operand, else the sum over a's last axis and b's
    second-to-last (b's only axis when 1-D)."""
    if a.ndim == 0 or b.ndim == 0:
        from . import ufuncs  # noqa: F401  (kept local: dot of scalars is rare)

        return np.frompyfunc(lambda x, y: make(_MUL, (x, y)), 2, 1)(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b)
    bm = np.moveaxis(b, -2 if b.ndim > 1 else 0, 0) if b.ndim > 1 else b
    k = a.shape[-1]
    if bm.shape[0] != k:
        raise ValueError(f"shapes {a.shape} and {b.shape} not aligned (as NumPy says)")
    rows = a.reshape((-1, k)).tolist()
    cols = bm.reshape((k, -1)).T.tolist()
    out = [_dot(r, c) for r in rows for c in cols]
    return obj_array(out, a.shape[:-1] + bm.shape[1:])
