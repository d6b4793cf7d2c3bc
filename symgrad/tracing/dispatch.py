"""``Traced.__array_ufunc__``: a NumPy ufunc call on traced values, mapped to ops.

``np.exp(x)``, ``x + y``, ``np.add.reduce(x)``, ``np.multiply.accumulate(x)`` and
``np.add.outer(a, b)`` come here. The op comes from the op table's ufunc column (``ufuncs``);
a ufunc or a ufunc method with no meaning here raises ``TypeError`` naming it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import make
from ..ops import Op
from . import kernels, ufuncs
from .array import (
    UFUNC_CALL,
    Traced,
    TracedArray,
    apply,
    float64_only,
    is_boolean,
    to_exprs,
    wrap,
)

_REDUCE_OPS = {
    "add": Op.ADD,
    "multiply": Op.MUL,
    "maximum": Op.MAX,
    "minimum": Op.MIN,
    "fmax": Op.FMAX,
    "fmin": Op.FMIN,
}
_ALIASES = {"mod": "remainder", "divide": "divide", "true_divide": "divide"}


def _fn_of(ufunc: np.ufunc):
    name = ufunc.__name__
    fn = ufuncs.scalar_fn(name) or ufuncs.scalar_fn(_ALIASES.get(name, name))
    if fn is None and name == "remainder":
        fn = ufuncs.scalar_fn("mod")
    if fn is None:
        raise TypeError(
            f"numpy.{name} is not supported on traced values by symgrad (no op answers to it); "
            "docs/numpy.md lists the ufuncs that trace"
        )
    return fn


def _unsupported_kw(name: str, kwargs: dict) -> None:
    for k, v in kwargs.items():
        if k == "dtype":
            float64_only(f"numpy.{name}", v)
            continue
        if k in ("casting", "order", "subok") or (k == "where" and v is True):
            continue
        raise TypeError(f"numpy.{name} with {k}={v!r} is not supported on traced values")


_BOOL_ARITH = {
    "add": None,
    "subtract": "the `-` operator, is not supported, use the bitwise_xor, the `^` operator, "
    "or the logical_xor function instead",
    "negative": "the `-` operator, is not supported, use the `~` operator or the logical_not "
    "function instead",
}


def _flags(x: Any) -> np.ndarray:
    """Which elements of ``x`` NumPy holds as booleans: conditions, bools, bool arrays."""
    if isinstance(x, bool | np.bool_):
        return np.True_
    if isinstance(x, np.ndarray) and x.dtype == np.bool_:
        return np.ones(x.shape, dtype=bool)
    if isinstance(x, Traced):
        if type(x.a) is not np.ndarray:
            return np.bool_(ufuncs.is_condition(x.a))
        return np.frompyfunc(ufuncs.is_condition, 1, 1)(x.a).astype(bool)
    return np.False_


def _boolean(name: str, inputs: tuple) -> Traced | None:
    """NumPy's arithmetic on booleans: bool + bool is logical or (True + True is True), bool
    - bool and -bool raise; None when no element pairs two booleans (plain arithmetic)."""
    both = _flags(inputs[0]) if len(inputs) == 1 else _flags(inputs[0]) & _flags(inputs[1])
    if not np.any(both):
        return None
    if name != "add":
        raise TypeError(f"numpy boolean {name}, {_BOOL_ARITH[name]} (as NumPy says)")
    a, b = (to_exprs(x) for x in inputs)
    return wrap(np.frompyfunc(_or_add, 3, 1)(a, b, both))


def _or_add(a: Any, b: Any, both: bool) -> Any:
    return ufuncs.logical_or(a, b) if both else make(Op.ADD, (a, b))


def _store(out: Any, result: Traced) -> Traced:
    """``out=`` given: write into a traced buffer (a float buffer cannot hold expressions)."""
    target = out[0] if isinstance(out, tuple) else out
    if not isinstance(target, TracedArray):
        from .array import BUFFER_HINT

        raise TypeError(f"out= must be a traced array to receive traced values; {BUFFER_HINT}")
    target[...] = result
    return target


def ufunc_call(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    name = ufunc.__name__
    out = kwargs.pop("out", None)
    if method == "__call__":
        if name == "divmod":  # NumPy's pair: its floor division and its remainder, both exact
            _unsupported_kw(name, kwargs)
            if out is not None:
                raise TypeError("numpy.divmod with out= is not supported on traced values")
            return tuple(apply(_fn_of(u), inputs) for u in (np.floor_divide, np.remainder))
        if name == "matmul":
            _unsupported_kw(name, kwargs)
            a, b = (np.asarray(to_exprs(x), dtype=object) for x in inputs)
            booleans = is_boolean(inputs[0]) and is_boolean(inputs[1])
            result = wrap(ufuncs.bool_product(kernels.matmul(a, b), booleans))
        else:
            fn = _fn_of(ufunc)
            _unsupported_kw(name, kwargs)
            booleans = name in _BOOL_ARITH and kwargs.get("dtype") is None  # dtype=float: numbers
            result = _boolean(name, inputs) if booleans else None
            result = apply(fn, inputs) if result is None else result
    elif method in ("reduce", "accumulate"):
        result = _fold(name, method, inputs[0], kwargs)
    elif method == "at":
        return _at(ufunc, inputs, kwargs)
    elif method == "outer":
        fn = _fn_of(ufunc)
        a, b = (np.asarray(to_exprs(x), dtype=object) for x in inputs)
        result = apply(fn, (Traced(a.reshape(a.shape + (1,) * b.ndim)), Traced(b)))
    else:
        raise TypeError(f"numpy.{name}.{method} is not supported on traced values")
    return result if out is None else _store(out, result)


def _at(ufunc: np.ufunc, inputs: tuple, kwargs: dict) -> None:
    """``np.add.at(a, indices, b)``: unbuffered, in place, so a repeated index applies again
    (``a[[0, 0]] += 1`` adds once). ``a`` must be a traced array (a float array cannot hold
    expressions); the indices must be numbers."""
    name = ufunc.__name__
    a, indices, *rest = inputs
    if kwargs:
        raise TypeError(f"numpy.{name}.at takes no keyword arguments on traced values")
    if not isinstance(a, TracedArray):
        from .array import BUFFER_HINT

        raise TypeError(
            f"numpy.{name}.at into a NumPy array cannot take traced values; {BUFFER_HINT}"
        )
    parts = indices if isinstance(indices, tuple) else (indices,)
    if any(isinstance(k, Traced) for k in parts):
        raise TypeError(f"numpy.{name}.at with traced indices is not supported; use np.where")
    fn = _fn_of(ufunc)
    target = a.a
    positions = np.arange(target.size).reshape(target.shape)[indices]
    if rest:
        values = np.broadcast_to(np.asarray(to_exprs(rest[0]), dtype=object), positions.shape)
        items = values.ravel().tolist()
    for k, p in enumerate(positions.ravel().tolist()):
        at = np.unravel_index(p, target.shape)
        target[at] = fn(to_exprs(target[at]), items[k]) if rest else fn(to_exprs(target[at]))


def _fold(name: str, method: str, x: Any, kwargs: dict) -> Traced:
    if name in ("logical_and", "logical_or", "bitwise_and", "bitwise_or") and method == "reduce":
        combine = ufuncs.logical_and if "and" in name else ufuncs.logical_or
        a = np.asarray(to_exprs(x), dtype=object)
        items = (
            [ufuncs.truth(e) for e in a.ravel().tolist()] if kwargs.get("axis") is None else None
        )
        if items is None:
            raise TypeError(f"numpy.{name}.reduce with an axis is not supported on traced values")
        acc = items[0] if items else None
        for e in items[1:]:
            acc = combine(acc, e)
        return wrap(acc if acc is not None else float("and" in name))
    op = _REDUCE_OPS.get(name)
    if op is None or (method == "accumulate" and op not in (Op.ADD, Op.MUL, Op.MAX, Op.MIN)):
        raise TypeError(f"numpy.{name}.{method} is not supported on traced values")
    a = np.asarray(to_exprs(x), dtype=object)
    axis = kwargs.pop("axis", 0)
    if method == "accumulate":
        float64_only(f"numpy.{name}.accumulate", kwargs.pop("dtype", None))
        return wrap(kernels.accumulate(op, a, axis))
    keepdims = kwargs.pop("keepdims", False)
    initial = kwargs.pop("initial", np._NoValue)
    float64_only(f"numpy.{name}.reduce", kwargs.pop("dtype", None))
    if kwargs.get("where", True) is not True:
        raise TypeError(f"numpy.{name}.reduce with where= is not supported on traced values")
    r = kernels.reduce(op, a, axis, keepdims)
    if initial is not np._NoValue and initial is not None:
        r = apply(
            ufuncs.scalar_fn(name),
            (Traced(r) if not isinstance(r, np.ndarray) else wrap(r), initial),
        )
        return r
    return wrap(r)


UFUNC_CALL.append(ufunc_call)
