"""``Traced.__array_function__``'s handlers: the NumPy functions that trace.

Three kinds, each a table below:
- reductions and arithmetic (``np.sum``, ``np.var``, ``np.where``, ``np.dot`` ...), written
  here on the kernels, so ``np.var`` never asks an expression for ``conjugate()`` and
  ``np.max`` builds ``maximum`` nodes instead of Python comparisons;
- functions that only move elements or combine them with ``+``, ``-``, ``*`` (``reshape``,
  ``concatenate``, ``einsum``, ``trace`` ...): NumPy's own code run on the object arrays of
  expressions, which is exact because expressions' operators are;
- everything else is unsupported: ``array.py`` raises ``TypeError`` naming the function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..ir import Expr, const, make
from ..ops import BY_NUMPY, Op
from . import kernels, ufuncs
from .array import HANDLERS, Traced, apply, float64_only, is_boolean, to_exprs, wrap


def _obj(x: Any) -> np.ndarray:
    return np.asarray(to_exprs(x), dtype=object)


def implements(*funcs: Callable) -> Callable:
    def register(handler: Callable) -> Callable:
        for f in funcs:
            HANDLERS[f] = handler
        return handler

    return register


def _no(name: str, **given: Any) -> None:
    for k, v in given.items():
        if v is not None and v is not False and v is not np._NoValue:
            raise TypeError(f"numpy.{name} with {k}= is not supported on traced values")


# -- reductions ---------------------------------------------------------------------------
def _reducer(op: Op, name: str) -> Callable:
    def handler(
        a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=np._NoValue
    ):
        _no(name, out=out)
        float64_only(f"numpy.{name}", dtype)
        if where is not np._NoValue:  # NumPy's where=: the excluded elements do not count
            a = _masked(a, where, _IDENTITY.get(op, initial), name)
        r = wrap(kernels.reduce(op, _obj(a), axis, keepdims))
        if initial is not np._NoValue:
            r = apply(lambda x, y: make(op, (x, y)), (r, initial))
        return r

    return handler


_IDENTITY = {Op.ADD: 0.0, Op.MUL: 1.0}


def _masked(a: Any, where: Any, fill: Any, name: str) -> Any:
    """``a`` with the elements ``where`` excludes replaced by ``fill`` (a reduction's where=)."""
    if fill is np._NoValue:
        raise ValueError(
            f"numpy.{name}: reduction operation {name!r} does not have an identity, so to use "
            "a where mask one has to specify 'initial'"
        )
    a = _obj(a)
    return np.where(np.broadcast_to(where, a.shape), wrap(a), fill)


implements(np.sum)(_reducer(Op.ADD, "sum"))
implements(np.prod)(_reducer(Op.MUL, "prod"))


def _extreme(op: Op, name: str) -> Callable:
    """np.max / np.min: NumPy's parameters (no dtype, so ``out`` is the third)."""
    reducer = _reducer(op, name)

    def handler(a, axis=None, out=None, keepdims=False, initial=np._NoValue, where=np._NoValue):
        return reducer(a, axis, None, out, keepdims, initial, where)

    return handler


implements(np.max, np.amax)(_extreme(Op.MAX, "max"))
implements(np.min, np.amin)(_extreme(Op.MIN, "min"))


@implements(np.ptp)
def _ptp(a, axis=None, out=None, keepdims=False):
    """np.ptp: the maximum minus the minimum, as NumPy computes it."""
    if out is not None:
        raise TypeError("np.ptp with out= is not supported on traced values; use the result")
    return np.subtract(np.max(a, axis, keepdims=keepdims), np.min(a, axis, keepdims=keepdims))


def _count(a: np.ndarray, axis: Any) -> int:
    axes = kernels._axes(axis, a.ndim)
    n = 1
    for d in axes:
        n *= a.shape[d]
    return n


@implements(np.mean)
def _mean(a, axis=None, dtype=None, out=None, keepdims=False, where=np._NoValue):
    _no("mean", out=out)
    float64_only("numpy.mean", dtype)
    arr = _obj(a)
    if where is not np._NoValue:  # the sum of the elements taken over how many are taken
        mask = np.broadcast_to(where, arr.shape)
        total = np.sum(_masked(arr, mask, 0.0, "mean"), axis=axis, keepdims=keepdims)
        return total / np.sum(mask, axis=axis, keepdims=keepdims)
    total = wrap(kernels.reduce(Op.ADD, arr, axis, keepdims))
    return total / float(_count(arr, axis))


@implements(np.var)
def _var(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof=0,
    keepdims=False,
    where=np._NoValue,
    mean=np._NoValue,
    correction=np._NoValue,
):
    _no("var", out=out, where=where, mean=mean)
    float64_only("numpy.var", dtype)
    if correction is not np._NoValue:
        ddof = correction
    arr = _obj(a)
    m = _mean(Traced(arr), axis, keepdims=True)
    d = Traced(arr) - m
    total = wrap(kernels.reduce(Op.ADD, (d * d).exprs(), axis, keepdims))
    return total / float(max(_count(arr, axis) - ddof, 0))


@implements(np.std)
def _std(*args: Any, **kwargs: Any) -> Any:
    """np.std: the square root of np.var, with np.var's parameters."""
    return np.sqrt(_var(*args, **kwargs))


@implements(np.average)
def _average(a, axis=None, weights=None, returned=False, keepdims=False):
    _no("average", returned=returned)
    if weights is None:
        return _mean(a, axis, keepdims=keepdims)
    w = Traced(_obj(weights)) if np.ndim(weights) == np.ndim(a) else None
    if w is None:
        raise TypeError(
            "numpy.average with weights of another shape is not supported on traced values"
        )
    return np.sum(Traced(_obj(a)) * w, axis=axis, keepdims=keepdims) / np.sum(
        w, axis=axis, keepdims=keepdims
    )


@implements(np.cumsum)
def _cumsum(a, axis=None, dtype=None, out=None):
    _no("cumsum", out=out)
    float64_only("numpy.cumsum", dtype)
    return wrap(kernels.accumulate(Op.ADD, _obj(a), axis))


@implements(np.cumprod)
def _cumprod(a, axis=None, dtype=None, out=None):
    _no("cumprod", out=out)
    float64_only("numpy.cumprod", dtype)
    return wrap(kernels.accumulate(Op.MUL, _obj(a), axis))


@implements(np.all)
def _all(a, axis=None, out=None, keepdims=False, where=np._NoValue):
    _no("all", axis=axis, out=out, keepdims=keepdims, where=where)
    return np.logical_and.reduce(Traced(_obj(a)).ravel() if np.ndim(a) else a, axis=None)


@implements(np.any)
def _any(a, axis=None, out=None, keepdims=False, where=np._NoValue):
    _no("any", axis=axis, out=out, keepdims=keepdims, where=where)
    return np.logical_or.reduce(Traced(_obj(a)).ravel() if np.ndim(a) else a, axis=None)


# -- products -----------------------------------------------------------------------------
@implements(np.dot)
def _dot(a, b, out=None):
    _no("dot", out=out)
    r = kernels.dot(_obj(a), _obj(b))
    return wrap(ufuncs.bool_product(r, is_boolean(a) and is_boolean(b)))


@implements(np.matmul)
def _matmul(a, b, **kw):
    return np.matmul.__call__(a, b)


@implements(np.vdot)
def _vdot(a, b):
    r = kernels.dot(_obj(a).ravel(), _obj(b).ravel())
    return wrap(ufuncs.bool_product(r, is_boolean(a) and is_boolean(b)))


@implements(np.inner)
def _inner(a, b):
    A, B = _obj(a), _obj(b)
    if A.ndim == 0 or B.ndim == 0:
        return Traced(A) * Traced(B)
    # np.dot contracts b's second-to-last axis: swapping b's last two makes it inner's last
    r = kernels.dot(A, np.swapaxes(B, -1, -2) if B.ndim > 1 else B)
    return wrap(ufuncs.bool_product(r, is_boolean(a) and is_boolean(b)))


@implements(np.outer)
def _outer(a, b, out=None):
    _no("outer", out=out)
    return np.multiply.outer(Traced(_obj(a).ravel()), Traced(_obj(b).ravel()))


# -- selection ----------------------------------------------------------------------------
@implements(np.where)
def _where(cond, x=None, y=None):
    if x is None or y is None:
        raise TypeError(
            "numpy.where(cond) with one argument gives indices, a shape known only at run time; "
            "give both branches: np.where(cond, a, b)"
        )
    return apply(lambda c, a, b: make(Op.WHERE, (ufuncs.truth(c), a, b)), (cond, x, y))


@implements(np.clip)
def _clip(a, a_min=None, a_max=None, out=None, **kw):
    _no("clip", out=out)
    a_min = kw.pop("min", a_min)
    a_max = kw.pop("max", a_max)
    r = Traced(_obj(a))
    if a_min is not None:
        r = np.maximum(r, a_min)
    if a_max is not None:
        r = np.minimum(r, a_max)
    return r


def _filled(a: Any, value: Any) -> Traced:
    """A traced array of ``a``'s shape holding ``value``: a buffer that takes traced values."""
    return apply(lambda _, v: v, (Traced(_obj(a)) if np.ndim(a) else wrap(_obj(a)), value))


def _like(value_of):
    """zeros_like / ones_like / full_like / empty_like: ``shape=`` is honoured (NumPy's fifth
    parameter); order and subok do not change a traced buffer, a dtype other than float64
    would (NumPy converts what is written into it), so it raises."""

    def handler(a, *args, **kw):
        value = value_of(args, kw)
        rest = args[1:] if value_of is _fill and args else args
        float64_only(
            "numpy.zeros_like/ones_like/full_like", kw.get("dtype", rest[0] if rest else None)
        )
        shape = kw.get("shape", rest[3] if len(rest) > 3 else None)
        if shape is None:
            return _filled(a, value)
        shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)
        n = int(np.prod(shape, dtype=np.int64))
        return _filled(kernels.obj_array([const(0.0)] * n, shape), value)

    return handler


def _fill(args, kw):
    return args[0] if args else kw["fill_value"]


HANDLERS[np.zeros_like] = _like(lambda args, kw: 0.0)
HANDLERS[np.empty_like] = _like(lambda args, kw: 0.0)
HANDLERS[np.ones_like] = _like(lambda args, kw: 1.0)
HANDLERS[np.full_like] = _like(_fill)


@implements(np.shape)
def _shape(a):
    return np.shape(_obj(a))


@implements(np.ndim)
def _ndim(a):
    return np.ndim(_obj(a))


@implements(np.size)
def _size(a, axis=None):
    return np.size(_obj(a), axis)


@implements(np.iscomplexobj)
def _iscomplexobj(x):
    return False


@implements(np.isrealobj)
def _isrealobj(x):
    return True


@implements(np.real)
def _real(x):
    return wrap(_obj(x))


# -- NumPy's own code on object arrays (moves elements, or combines them with + - *) -----
_STRUCTURAL = [
    np.reshape,
    np.ravel,
    np.transpose,
    np.swapaxes,
    np.moveaxis,
    np.expand_dims,
    np.squeeze,
    np.concatenate,
    np.stack,
    np.hstack,
    np.vstack,
    np.dstack,
    np.column_stack,
    np.atleast_1d,
    np.atleast_2d,
    np.atleast_3d,
    np.broadcast_to,
    np.broadcast_arrays,
    np.flip,
    np.fliplr,
    np.flipud,
    np.roll,
    np.rot90,
    np.tile,
    np.repeat,
    np.take,
    np.take_along_axis,
    np.diag,
    np.diagonal,
    np.trace,
    np.tril,
    np.triu,
    np.copy,
    np.split,
    np.array_split,
    np.append,
    np.delete,
    np.insert,
    np.diff,
    np.ediff1d,
    np.kron,
    np.cross,
    np.einsum,
    np.tensordot,
    np.polyval,
    np.block,
    np.meshgrid,
]


def _unwrap(x: Any) -> Any:
    """Traced values (at any depth of lists/tuples) as object arrays of expressions."""
    if isinstance(x, Traced):
        return x.exprs()
    if isinstance(x, list | tuple):
        return type(x)(_unwrap(v) for v in x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        return _obj(x)
    return x


def _rewrap(r: Any) -> Any:
    if isinstance(r, np.ndarray):  # NumPy's own zeros (np.diag, np.triu) become constants
        if r.dtype == object and r.ndim and all(type(e) is Expr for e in r.flat):
            return Traced(r)  # NumPy's view stays one (x.reshape(2, 2)[0, 0] = v writes x)
        return wrap(to_exprs(r)) if r.dtype == object else r
    if isinstance(r, list | tuple):
        return type(r)(_rewrap(v) for v in r)
    if type(r) is Expr:
        return Traced(r)
    return r


def _delegate(func: Callable) -> Callable:
    def handler(*args: Any, **kwargs: Any) -> Any:
        args = tuple(_unwrap(a) for a in args)
        kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
        for i, a in enumerate(args):  # numbers beside expressions become constants
            if isinstance(a, np.ndarray) and a.dtype.kind in "fiub" and func in _ARITH:
                args = args[:i] + (_obj(a),) + args[i + 1 :]
        return _rewrap(func(*args, **kwargs))

    return handler


_ARITH = {np.diff, np.ediff1d, np.kron, np.cross, np.einsum, np.tensordot, np.polyval, np.trace}
for _f in _STRUCTURAL:
    HANDLERS.setdefault(_f, _delegate(_f))


# -- NumPy functions (not ufuncs) that are one op of the op table: np.round, np.nan_to_num --
_DEFAULTS = {"decimals": 0, "copy": True, "nan": 0.0, "posinf": None, "neginf": None, "out": None}


def _op_function(name: str, op: Op) -> Callable:
    def handler(x, *args, **kwargs):
        given = dict(zip(("decimals",) if name in ("round", "around") else (), args), **kwargs)
        for k, v in given.items():
            if k not in _DEFAULTS or (v is not _DEFAULTS[k] and v != _DEFAULTS[k]):
                raise TypeError(f"numpy.{name} with {k}={v!r} is not supported on traced values")
        return apply(lambda e: make(op, (e,)), (x,))

    return handler


for _name, _op in BY_NUMPY.items():
    _f = getattr(np, _name, None)
    if callable(_f) and not isinstance(_f, np.ufunc) and _f not in HANDLERS and _op.arity == 1:
        HANDLERS[_f] = _op_function(_name, _op)
