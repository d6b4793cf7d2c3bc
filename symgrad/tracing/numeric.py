"""NumPy's numeric helpers that trace by composition: padding, convolution, the trapezoid rule,
the NaN-ignoring reductions and ``isclose``.

Each is written here as NumPy defines it, on functions that already trace (``np.where``,
``np.sum``, comparisons) or as NumPy's own code run on object arrays of expressions (only moving
elements, ``+`` and ``*``: exact), so results are NumPy's and derivatives come from the op
table's rules. What would need a comparison NumPy makes in Python (``np.pad`` with
``mode="maximum"``, ``np.interp``, ``np.percentile``) stays unsupported: ``TypeError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .array import HANDLERS, Traced, to_exprs, wrap
from .functions import _ARITH, _delegate, _obj, implements

# np.pad's modes that only move or copy elements (NumPy's code on object arrays is exact);
# "symmetric"/"reflect" with reflect_type="odd" add 2*edge - x, also exact.
_PAD_MODES = {"constant", "edge", "reflect", "symmetric", "wrap"}
_PAD_OPTIONS = {"constant": {"constant_values"}, "reflect": {"reflect_type"}}
_PAD_OPTIONS["symmetric"] = _PAD_OPTIONS["reflect"]


_RUN_PAD = _delegate(np.pad)


@implements(np.pad)
def _pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise TypeError(
            f"numpy.pad with mode={mode!r} is not supported on traced values (it compares or "
            f"averages elements); use one of {sorted(_PAD_MODES)}"
        )
    for k in kwargs:
        if k not in _PAD_OPTIONS.get(mode, ()):
            raise TypeError(f"numpy.pad with mode={mode!r} takes no {k}= on traced values")
    return _RUN_PAD(_obj(array), pad_width, mode=mode, **kwargs)


for _f in (np.convolve, np.correlate):  # products and sums: NumPy's object loop is exact
    _ARITH.add(_f)  # number arrays beside expressions become constants
    HANDLERS[_f] = _delegate(_f)


@implements(np.trapezoid)
def _trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """NumPy's rule: sum of d * (y[1:] + y[:-1]) / 2 along ``axis``, d = diff(x) or dx."""
    y = Traced(_obj(y)) if not isinstance(y, Traced) else y
    n = y.shape[axis]
    lo = np.take(y, np.arange(n - 1), axis=axis)
    hi = np.take(y, np.arange(1, n), axis=axis)
    if x is None:
        d = dx
    else:
        d = np.diff(x, axis=axis) if np.ndim(x) > 1 else np.diff(x)
        if np.ndim(x) == 1:  # NumPy reshapes a 1-d x to lie along axis
            shape = [1] * y.ndim
            shape[axis] = d.shape[0]
            d = np.reshape(d, shape)
    return np.sum(d * (hi + lo) / 2.0, axis=axis)


def _given(**kw: Any) -> dict:
    return {k: v for k, v in kw.items() if v is not np._NoValue}


def _nan_to(a: Any, fill: float) -> Any:
    return np.where(np.isnan(a), fill, a)


@implements(np.nansum)
def _nansum(
    a, axis=None, dtype=None, out=None, keepdims=np._NoValue, initial=np._NoValue, where=np._NoValue
):
    kw = _given(keepdims=keepdims, initial=initial, where=where)
    return np.sum(_nan_to(a, 0.0), axis=axis, dtype=dtype, out=out, **kw)


@implements(np.nanprod)
def _nanprod(
    a, axis=None, dtype=None, out=None, keepdims=np._NoValue, initial=np._NoValue, where=np._NoValue
):
    kw = _given(keepdims=keepdims, initial=initial, where=where)
    return np.prod(_nan_to(a, 1.0), axis=axis, dtype=dtype, out=out, **kw)


@implements(np.nanmean)
def _nanmean(a, axis=None, dtype=None, out=None, keepdims=np._NoValue, *, where=np._NoValue):
    """The sum of the numbers over their count: 0/0 = NaN on an all-NaN slice, as NumPy."""
    kw = _given(keepdims=keepdims, where=where)
    if out is not None:
        raise TypeError("numpy.nanmean with out= is not supported on traced values")
    kept = np.logical_not(np.isnan(a))
    total = np.sum(_nan_to(a, 0.0), axis=axis, dtype=dtype, **kw)
    return total / np.sum(np.where(kept, 1.0, 0.0), axis=axis, **kw)


def _nan_extreme(fold: Any, fill: float, name: str) -> Any:
    """NaN skipped as np.where skips it (its derivative 0 there, not 0 * NaN), and NaN again
    where a slice holds nothing else, as NumPy gives."""

    def handler(a, axis=None, out=None, keepdims=np._NoValue, initial=np._NoValue, where=None):
        if out is not None or where is not None:
            raise TypeError(f"numpy.{name} with out= or where= is not supported on traced values")
        kw = _given(keepdims=keepdims)
        numbers = np.sum(np.where(np.isnan(a), 0.0, 1.0), axis=axis, **kw)
        best = fold(_nan_to(a, fill), axis=axis, **kw, **_given(initial=initial))
        if initial is not np._NoValue:
            return best
        return np.where(numbers == 0.0, np.nan, best)

    return handler


HANDLERS[np.nanmax] = _nan_extreme(np.max, -np.inf, "nanmax")
HANDLERS[np.nanmin] = _nan_extreme(np.min, np.inf, "nanmin")


@implements(np.isclose)
def _isclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: bool = False):
    """NumPy's definition: |a - b| <= atol + rtol |b| where b is finite, or a == b."""
    a, b = (x if isinstance(x, Traced) else wrap(to_exprs(x)) for x in (a, b))
    with np.errstate(invalid="ignore"):  # inf - inf of constants, as NumPy silences it
        near = np.logical_and(np.abs(a - b) <= atol + rtol * np.abs(b), np.isfinite(b))
        result = np.logical_or(near, np.equal(a, b))
        if equal_nan:
            result = np.logical_or(result, np.logical_and(np.isnan(a), np.isnan(b)))
    return result


@implements(np.allclose)
def _allclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: bool = False):
    """A Python bool, as NumPy's: a decision the trace follows and later calls check."""
    return bool(np.all(_isclose(a, b, rtol, atol, equal_nan)))
