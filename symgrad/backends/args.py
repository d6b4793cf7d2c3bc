"""Argument checks of a compiled function: only real numbers get in, on every backend.

A real number is a Python ``int`` or ``float`` (or any ``numbers.Real``, NumPy's included) that
fits in a double; a list argument is a (nested) list/tuple of them of the declared shape, or a
real NumPy array. A ``bool`` (Python's or NumPy's, bool arrays too) counts as 0.0 or 1.0, as
in Python and NumPy arithmetic, on every backend alike. Everything else (strings, bytes,
``None``, complex numbers even with a zero imaginary part, dates, dicts, sets, generators,
``range``, masked and object arrays of non-numbers) is a ``TypeError`` naming the argument;
a ragged nested list or a number too large for a double is a ``ValueError``. The callers run
these only off their fast paths (floats and float64 arrays go straight in).
"""

from __future__ import annotations

import numbers
from typing import Any

_REAL_KINDS = "fiub"  # NumPy dtype kinds taken as real numbers (bool as 0.0 / 1.0)


def _where(name: str, i: int) -> str:
    return f"argument {name!r} (position {i + 1})"


def real(x: Any, name: str, i: int) -> float:
    """``x`` as a float, or the contract's error naming the argument."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) or _is_bool(x):
        try:
            return float(x)
        except OverflowError:
            raise ValueError(
                f"{_where(name, i)} is a number too large for a float ({x!r:.40}); "
                "scale it into the double range"
            ) from None
    if hasattr(x, "dtype") and getattr(x, "shape", None) == () and x.dtype.kind in _REAL_KINDS:
        return float(x)  # a 0-d real NumPy array
    raise TypeError(f"{_where(name, i)} must be a real number, got {_kind(x)}")


def _is_bool(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and dtype.kind == "b"


def _kind(x: Any) -> str:
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return f"{type(x).__name__} of dtype {dtype}"
    return f"{type(x).__name__} {x!r:.40}"


def _nested_floats(a: Any, shape: tuple[int, ...], name: str, i: int) -> list:
    """``a`` (nested lists/tuples or a real array) as nested lists of floats of ``shape``."""
    if _is_masked(a):
        raise TypeError(f"{_where(name, i)} is a masked array; pass a.filled(np.nan) or a.data")
    if hasattr(a, "dtype") and hasattr(a, "tolist"):
        if a.dtype.kind not in _REAL_KINDS + "O":
            raise TypeError(f"{_where(name, i)} must hold real numbers, got {_kind(a)}")
        if tuple(a.shape) != shape:
            raise ValueError(f"{_where(name, i)} must have shape {shape}, got shape {a.shape}")
        a = a.tolist()
    level: list = [a]
    for depth, d in enumerate(shape):
        for x in level:
            if not isinstance(x, list | tuple):
                raise TypeError(
                    f"{_where(name, i)} must be a list (or tuple or array) of numbers of "
                    f"shape {shape}, got {_kind(x)} at depth {depth}"
                )
            if len(x) != d:
                raise ValueError(
                    f"{_where(name, i)} must have shape {shape}, got a length {len(x)} "
                    f"at depth {depth}"
                )
        level = [y for x in level for y in x]
    flat = [real(x, name, i) for x in level]
    for d in reversed(shape[1:]):  # rebuild, innermost axis first
        flat = [flat[k : k + d] for k in range(0, len(flat), d)]
    return flat


def _is_masked(a: Any) -> bool:
    return type(a).__name__ == "MaskedArray" or hasattr(a, "mask") and hasattr(a, "filled")


def scalar_arg(a: Any, info: tuple, i: int) -> Any:
    """One argument for the Python backend: a float, or nested lists of floats."""
    name, shape = info
    if shape is None:
        return real(a, name, i)
    return _nested_floats(a, tuple(shape), name, i)


def array_arg(a: Any, info: tuple, i: int, batch: bool = True) -> Any:
    """One argument for a batched backend: a float64 array whose trailing axes are the
    argument's shape (any leading batch axes when ``batch``)."""
    import numpy as np

    name, shape = info
    want = tuple(shape or ())
    arr = _real_array(np, a, name, i, want)
    if batch:
        ok = arr.ndim >= len(want) and arr.shape[arr.ndim - len(want) :] == want
    else:
        ok = arr.shape == want
    if not ok:
        where = "trailing " if batch and want else ""
        raise ValueError(f"{_where(name, i)} must have {where}shape {want}, got shape {arr.shape}")
    return arr


def _real_array(np: Any, a: Any, name: str, i: int, want: tuple) -> Any:
    if type(a) is np.ndarray and a.dtype.kind in _REAL_KINDS:
        return a.astype(np.float64, copy=False)
    if _is_masked(a):
        raise TypeError(f"{_where(name, i)} is a masked array; pass a.filled(np.nan) or a.data")
    if not (
        isinstance(a, numbers.Real | list | tuple | np.ndarray | np.generic)
        or hasattr(a, "__array__")
    ):
        what = "a real number" if not want else f"numbers of shape {want}"
        raise TypeError(f"{_where(name, i)} must be {what}, got {_kind(a)}")
    try:
        arr = np.asarray(a)
    except ValueError:
        raise ValueError(
            f"{_where(name, i)} is a ragged nested list; give a rectangular one"
        ) from None
    if arr.dtype.kind == "O":  # Python ints too large for int64, or non-numbers among numbers
        flat = [real(x, name, i) for x in arr.ravel().tolist()]
        return np.array(flat, dtype=np.float64).reshape(arr.shape)
    if arr.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{_where(name, i)} must hold real numbers, got {_kind(arr)}")
    return arr.astype(np.float64, copy=False)
