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

    conj = conjugate

    # -- the bytes of an array: a traced value has none (its numbers exist only when the
    # compiled code runs), so these refuse instead of handing out the pointers of expressions
    def tobytes(self, *a: Any, **k: Any) -> Any:
        raise TypeError(bytes_message("x.tobytes()"))

    def tofile(self, *a: Any, **k: Any) -> Any:
        raise TypeError(bytes_message("x.tofile()"))

    def view(self, *a: Any, **k: Any) -> Any:
        raise TypeError(bytes_message("x.view()"))


def bytes_message(what: str) -> str:
    return (
        f"{what} of a traced array is not supported by symgrad: a traced value has no bytes "
        "(its numbers exist only when the compiled code runs; np.frombuffer, memoryview and "
        ".tobytes() would read the addresses of expressions). Compute on the array itself: "
        "x.copy() copies it, x.reshape(...) and x.T rearrange it, and the result's numbers "
        "are what the compiled function returns"
    )
