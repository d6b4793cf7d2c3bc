"""The ndarray methods that are NumPy functions (``x.sum()`` is ``np.sum(x)``), for the
traced array type: each sends itself through ``__array_function__`` like any NumPy call."""

from __future__ import annotations

from typing import Any

import numpy as np


class ArrayMethods:
    """Mixed into ``Traced``; holds no state."""

    __slots__ = ()

    def sum(self, *a: Any, **k: Any) -> Any:
        return np.sum(self, *a, **k)

    def prod(self, *a: Any, **k: Any) -> Any:
        return np.prod(self, *a, **k)

    def mean(self, *a: Any, **k: Any) -> Any:
        return np.mean(self, *a, **k)

    def var(self, *a: Any, **k: Any) -> Any:
        return np.var(self, *a, **k)

    def std(self, *a: Any, **k: Any) -> Any:
        return np.std(self, *a, **k)

    def max(self, *a: Any, **k: Any) -> Any:
        return np.max(self, *a, **k)

    def min(self, *a: Any, **k: Any) -> Any:
        return np.min(self, *a, **k)

    def all(self, *a: Any, **k: Any) -> Any:
        return np.all(self, *a, **k)

    def any(self, *a: Any, **k: Any) -> Any:
        return np.any(self, *a, **k)

    def cumsum(self, *a: Any, **k: Any) -> Any:
        return np.cumsum(self, *a, **k)

    def cumprod(self, *a: Any, **k: Any) -> Any:
        return np.cumprod(self, *a, **k)

    def dot(self, other: Any) -> Any:
        return np.dot(self, other)

    def clip(self, *a: Any, **k: Any) -> Any:
        return np.clip(self, *a, **k)

    def reshape(self, *shape: Any, **k: Any) -> Any:
        shape = shape[0] if len(shape) == 1 else shape
        return np.reshape(self, shape, **k)

    def transpose(self, *axes: Any) -> Any:
        return np.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def ravel(self, *a: Any) -> Any:
        return np.ravel(self, *a)

    def squeeze(self, *a: Any, **k: Any) -> Any:
        return np.squeeze(self, *a, **k)

    def conjugate(self) -> Any:
        return self

    # -- more ndarray methods that are NumPy functions of the array (x.repeat(2) ...)
    def repeat(self, *a: Any, **k: Any) -> Any:
        return np.repeat(self, *a, **k)

    def take(self, *a: Any, **k: Any) -> Any:
        return np.take(self, *a, **k)

    def swapaxes(self, *a: Any) -> Any:
        return np.swapaxes(self, *a)

    def diagonal(self, *a: Any, **k: Any) -> Any:
        return np.diagonal(self, *a, **k)

    def trace(self, *a: Any, **k: Any) -> Any:
        return np.trace(self, *a, **k)

    def round(self, *a: Any, **k: Any) -> Any:
        return np.round(self, *a, **k)

    def argmax(self, *a: Any, **k: Any) -> Any:
        return np.argmax(self, *a, **k)

    def argmin(self, *a: Any, **k: Any) -> Any:
        return np.argmin(self, *a, **k)

    def argsort(self, *a: Any, **k: Any) -> Any:
        return np.argsort(self, *a, **k)

    def sort(self, axis: Any = -1, **k: Any) -> None:
        """In place, as ndarray.sort: the sorted traced values replace the array's."""
        self[...] = np.sort(self, axis=axis, **k)

    def fill(self, value: Any) -> None:
        self[...] = value

    conj = conjugate

    # -- the bytes of an array: a traced value has none (its numbers exist only when the
    # compiled code runs), so these refuse instead of handing out the pointers of expressions
    def tobytes(self, *a: Any, **k: Any) -> Any:
        raise TypeError(bytes_message("x.tobytes()"))

    def tofile(self, *a: Any, **k: Any) -> Any:
        raise TypeError(bytes_message("x.tofile()"))

    def view(self, *a: Any, **k: Any) -> Any:
        raise TypeError(bytes_message("x.view()"))


def _in_place_method(fn: np.ufunc) -> Any:
    def method(self: Any, other: Any) -> Any:
        return _in_place(self, fn, other)

    return method


# in-place arithmetic writes the array (and so every view of it), as NumPy's does
for _name, _fn in [
    ("add", np.add),
    ("sub", np.subtract),
    ("mul", np.multiply),
    ("truediv", np.true_divide),
    ("floordiv", np.floor_divide),
    ("mod", np.mod),
    ("pow", np.power),
    ("matmul", np.matmul),
    ("and", np.bitwise_and),
    ("or", np.bitwise_or),
    ("xor", np.bitwise_xor),
]:
    setattr(ArrayMethods, f"__i{_name}__", _in_place_method(_fn))


def _in_place(x: Any, fn: Any, other: Any) -> Any:
    """``x op= other``: a traced array's elements are replaced (views of it see the new
    values); a traced scalar is immutable, so the name is bound to the result."""
    r = fn(x, other)
    if not x.ndim:
        return r
    if np.shape(r) != x.shape:
        raise ValueError(
            f"non-broadcastable output operand with shape {x.shape} doesn't match the "
            f"broadcast shape {np.shape(r)}"
        )
    x[...] = r
    return x


NDARRAY_ONLY = "is an ndarray attribute that symgrad's traced arrays do not have"


def attribute_message(name: str) -> str:
    """Why a traced array has no attribute ``name`` (an ndarray's or a typo)."""
    if not hasattr(np.ndarray, name):
        return f"'Traced' object has no attribute {name!r}"
    fn = getattr(np, name, None)
    hint = f"; np.{name}(x, ...) traces if docs/numpy.md lists it" if callable(fn) else ""
    return f"x.{name} {NDARRAY_ONLY} (see docs/numpy.md for what traces){hint}"


def bytes_message(what: str) -> str:
    return (
        f"{what} of a traced array is not supported by symgrad: a traced value has no bytes "
        "(its numbers exist only when the compiled code runs; np.frombuffer, memoryview and "
        ".tobytes() would read the addresses of expressions). Compute on the array itself: "
        "x.copy() copies it, x.reshape(...) and x.T rearrange it, and the result's numbers "
        "are what the compiled function returns"
    )
