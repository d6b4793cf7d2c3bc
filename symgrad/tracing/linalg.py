"""``np.linalg.norm`` of traced values, following NumPy's own case analysis step for step.

Each case is the formula NumPy evaluates (vector norms over one axis, matrix norms over two),
so the value is NumPy's; the norms that need a singular value decomposition (matrix ord 2,
-2, 'nuc') have no exact formula here and raise ``TypeError`` saying so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .array import HANDLERS, Traced, to_exprs, wrap


def _axes(axis: Any, nd: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(nd))
    if not isinstance(axis, tuple):
        try:
            axis = int(axis)
        except Exception as e:
            raise TypeError("'axis' must be None, an integer or a tuple of integers") from e
        return (axis,)
    return axis


def _max(r: Traced, axis: Any, keepdims: bool = False) -> Traced:
    """``r.max(axis, initial=0)`` as NumPy writes it: ``initial`` only changes an empty axis."""
    if r.size == 0:  # an axis of length 0: NumPy's zeros, of its shape
        return wrap(np.max(np.zeros(r.shape), axis=axis, keepdims=keepdims, initial=0.0))
    return np.max(r, axis=axis, keepdims=keepdims)


def _vector(X: Traced, ord: Any, axis: Any, keepdims: bool) -> Traced:
    if ord == np.inf:
        return _max(abs(X), axis, keepdims)
    if ord == -np.inf:
        return np.min(abs(X), axis=axis, keepdims=keepdims)
    if ord == 0:  # the number of non-zeros: piecewise constant, derivative 0
        return np.sum(np.where(X != 0, 1.0, 0.0), axis=axis, keepdims=keepdims)
    if ord == 1:
        return np.sum(abs(X), axis=axis, keepdims=keepdims)
    if ord is None or ord == 2:
        return np.sqrt(np.sum(X * X, axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    p = float(ord)
    return np.sum(abs(X) ** p, axis=axis, keepdims=keepdims) ** (1.0 / p)


def _matrix(X: Traced, ord: Any, axis: tuple, keepdims: bool) -> Traced:
    nd = X.ndim
    row, col = (int(a) % nd if -nd <= int(a) < nd else _bad_axis(a, nd) for a in axis)
    if row == col:
        raise ValueError("Duplicate axes given.")
    if isinstance(ord, str) and ord == "nuc" or not isinstance(ord, str) and ord in (2, -2):
        raise TypeError(
            f"numpy.linalg.norm with ord={ord!r} of a matrix needs singular values, which "
            "symgrad does not trace; write the Frobenius norm (ord='fro') or ord=1/inf if "
            "that is what you mean"
        )
    A = abs(X)
    if ord == 1 or ord == -1:  # the largest/smallest column sum
        sums, rest = np.sum(A, axis=row), col - (col > row)
    elif ord == np.inf or ord == -np.inf:  # the largest/smallest row sum
        sums, rest = np.sum(A, axis=col), row - (row > col)
    elif ord is None or ord in ("fro", "f"):
        sums, rest = None, None
    else:
        raise ValueError("Invalid norm order for matrices.")
    if sums is None:
        r = np.sqrt(np.sum(X * X, axis=(row, col)))
    elif ord > 0:
        r = _max(sums, rest)
    else:
        r = np.min(sums, axis=rest)
    if keepdims:
        shape = list(X.shape)
        shape[row] = shape[col] = 1
        r = np.reshape(r, shape)
    return r


def _bad_axis(a: Any, nd: int) -> int:
    raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension {nd}")


def _norm(x, ord=None, axis=None, keepdims=False):  # NumPy's names
    """np.linalg.norm: NumPy's cases (its fast path for the 2-norm of everything first)."""
    X = Traced(np.asarray(to_exprs(x), dtype=object))
    nd = X.ndim
    if axis is None and (
        ord is None
        or (isinstance(ord, str) and ord in ("f", "fro") and nd == 2)
        or (not isinstance(ord, str) and ord == 2 and nd == 1)
    ):
        r = np.sqrt(np.sum(X * X))
        return np.reshape(r, nd * [1]) if keepdims else r
    axes = _axes(axis, nd)
    if len(axes) == 1:
        return _vector(X, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix(X, ord, axes, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


HANDLERS[np.linalg.norm] = _norm
