"""Arguments of a traced call: flattened to leaves, rebuilt, and given symbolic stand-ins.

A call's arguments are walked iteratively (a stack) into tokens (the structure and shapes,
never the numbers: two calls that differ only in data give equal tokens) and leaves (numbers
and arrays). Each leaf gets a stand-in: a ``Traced`` of new symbols of the same shape, labelled
after the argument (``W[0][1]``); labels are never code.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import structure as _structure
from ..ir import Expr, symbol
from ..structure import DICT, LIST, NAMEDTUPLE, TUPLE
from . import kernels
from .array import Traced

# Tokens of a flattened argument, in prefix order: containers first, then their items. The
# containers' tokens are symgrad.structure's own, so that module rebuilds them.
SCALAR, ARRAY, STATIC = "S", "A", "K"
_CONTAINERS = (LIST, TUPLE, NAMEDTUPLE, DICT)
_LEAF = (_structure.LEAF,)
_STATIC_TYPES = (bool, str, bytes, type(None))


def flatten(arg: Any, label: str) -> tuple[list[tuple], list[Any], list[str]]:
    """``arg`` as (tokens, leaf values, leaf labels). Tokens describe the structure and shapes,
    never the numbers, so two arguments that differ only in data give equal tokens."""
    tokens: list[tuple] = []
    leaves: list[Any] = []
    labels: list[str] = []
    stack = [(arg, label)]
    while stack:
        x, path = stack.pop()
        if isinstance(x, Traced):  # a transform called inside another one's trace
            tokens.append((SCALAR,) if x.ndim == 0 else (ARRAY, x.shape))
            leaves.append(x)
            labels.append(path)
        elif isinstance(x, Expr):
            tokens.append((SCALAR,))
            leaves.append(x)
            labels.append(path)
        elif isinstance(x, _STATIC_TYPES):
            tokens.append((STATIC, type(x), x))
        elif isinstance(x, numbers.Real):
            tokens.append((SCALAR,))
            leaves.append(x)
            labels.append(path)
        elif isinstance(x, np.ndarray):
            if x.dtype.kind not in "fiuO":
                raise TypeError(
                    f"{path} is a NumPy array of dtype {x.dtype}; value_and_grad traces real "
                    "(float or integer) arrays only; convert it with .astype(float)"
                )
            tokens.append((ARRAY, x.shape))
            leaves.append(x)
            labels.append(path)
        elif isinstance(x, dict):
            keys = tuple(x)
            tokens.append((DICT, keys))
            stack.extend((x[k], f"{path}[{k!r}]") for k in reversed(keys))
        elif isinstance(x, tuple) and hasattr(x, "_fields"):
            tokens.append((NAMEDTUPLE, type(x), len(x)))
            stack.extend((v, f"{path}.{k}") for k, v in reversed(list(zip(x._fields, x))))
        elif isinstance(x, list | tuple):
            tokens.append((LIST if isinstance(x, list) else TUPLE, len(x)))
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(x))))
        else:
            raise TypeError(
                f"{path} is a {type(x).__name__}; value_and_grad traces numbers, lists, tuples, "
                "dicts and NumPy arrays (plus None, bool and str, which select a trace); pass "
                "other values through a closure or functools.partial"
            )
    return tokens, leaves, labels


def unflatten(tokens: list[tuple], leaves: Any) -> Any:
    """Rebuild the structure ``tokens`` describe, taking leaf values from ``leaves`` in order.

    The containers' tokens are ``symgrad.structure``'s; a number or array is a leaf there, and a
    static value is a leaf that brings its own value."""
    it = iter(leaves)
    treedef, values = [], []
    for tok in tokens:
        if tok[0] in _CONTAINERS:
            treedef.append(tok)
        else:
            treedef.append(_LEAF)
            values.append(tok[2] if tok[0] == STATIC else next(it))
    return _structure.unflatten(treedef, values)


def labels_of(label: str, shape: tuple[int, ...]) -> list[str]:
    """``label[i][j]...`` for every index of ``shape``, in C order (built level by level)."""
    out = [label]
    for d in shape:
        out = [f"{p}[{i}]" for p in out for i in range(d)]
    return out


class Leaf:
    """One leaf's stand-in: its symbols (flat, C order), shape (None for a number) and the
    ``Traced`` the function sees."""

    __slots__ = ("syms", "shape", "traced")

    def __init__(self, label: str, shape: tuple[int, ...] | None) -> None:
        self.shape = shape
        if shape is None:
            self.syms = [symbol(label)]
            self.traced = Traced(self.syms[0])
        else:
            self.syms = list(map(symbol, labels_of(label, shape)))
            self.traced = (
                Traced(kernels.obj_array(self.syms, shape)) if shape else Traced(self.syms[0])
            )

    def input_item(self) -> Any:
        """This leaf as one item of ``sg.compile``'s inputs (a symbol or nested lists)."""
        if self.shape is None or self.shape == ():
            return self.syms[0]
        return self.traced.a.tolist()


def leaf_shape(v: Any) -> tuple[int, ...] | None:
    return tuple(v.shape) if isinstance(v, np.ndarray) else None


def leaf_values(v: Any) -> list[float]:
    if isinstance(v, np.ndarray):
        return v.astype(np.float64, copy=False).ravel().tolist()
    return [float(v)]


def as_input(v: Any) -> Any:
    """Integer arrays compute in floating point, as the scalars do."""
    dtype = getattr(v, "dtype", None)
    return v.astype("float64") if dtype is not None and dtype.kind != "f" else v


def is_traced(x: Any) -> bool:
    """Whether ``x`` (at any depth of lists/tuples/dicts) holds a traced value or expression."""
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, Traced) or isinstance(v, Expr):
            return True
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
        elif isinstance(v, np.ndarray) and v.dtype == object:
            return True
    return False
