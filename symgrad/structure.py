"""Nested structures, in one place: flatten, rebuild, map and measure them.

A structure is lists, tuples, named tuples and dicts nested to any depth (and, when asked,
arrays: their elements in C order); everything else is a leaf. ``flatten`` returns the leaves
and a ``Treedef``, a hashable description of the containers that never holds a leaf, so two
structures that differ only in their leaves have equal treedefs. Every walk is a loop over an
explicit stack: depth is bounded by memory, not by Python's recursion limit.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Callable, Iterable
from typing import Any

# Token kinds: a treedef is the tuple of tokens of a pre-order walk.
LEAF, LIST, TUPLE, NAMEDTUPLE, DICT, ARRAY = "*", "L", "T", "N", "D", "A"

Treedef = tuple
"""The tokens of a structure, pre-order: ``("*",)`` a leaf, ``("L", n)`` a list of n items,
``("T", n)`` a tuple, ``("N", type, n)`` a named tuple, ``("D", keys)`` a dict (in its
insertion order), ``("A", shape)`` an array whose elements follow in C order."""


def is_array(x: Any) -> bool:
    """A NumPy-like array of at least one axis (duck-typed: no NumPy import here)."""
    return (
        hasattr(x, "shape")
        and hasattr(x, "ravel")
        and not isinstance(x, numbers.Number)
        and x.shape != ()
    )


def _children(
    x: Any, arrays: bool, is_leaf: Callable[[Any], bool] | None
) -> tuple[tuple, list] | None:
    """(token, items) for a container, ``None`` for a leaf."""
    if is_leaf is not None and is_leaf(x):
        return None
    if isinstance(x, list):
        return (LIST, len(x)), x
    if isinstance(x, tuple):
        if hasattr(x, "_fields"):
            return (NAMEDTUPLE, type(x), len(x)), list(x)
        return (TUPLE, len(x)), x
    if isinstance(x, dict):
        keys = tuple(x)
        return (DICT, keys), [x[k] for k in keys]
    if arrays and is_array(x):
        return (ARRAY, tuple(int(d) for d in x.shape)), x.ravel().tolist()
    return None


_LEAF_TOKEN = (LEAF,)
_plain_types: dict[type, bool] = {}


def _plain(t: type) -> bool:
    """Whether every instance of ``t`` is a leaf whatever the options (no container, no
    array-like): such items of a list are taken in one step (a list of 100,000 expressions
    is one ``extend``, not 100,000 visits)."""
    plain = _plain_types.get(t)
    if plain is None:
        plain = _plain_types[t] = not (
            issubclass(t, list | tuple | dict) or hasattr(t, "shape") or hasattr(t, "ravel")
        )
    return plain


def flatten(
    tree: Any, *, arrays: bool = False, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], Treedef]:
    """(leaves in order, treedef) of ``tree``. ``arrays=True`` opens arrays into their
    elements; ``is_leaf(x)`` true stops the walk at ``x`` (checked before anything else)."""
    leaves: list[Any] = []
    tokens: list[tuple] = []
    stack = [tree]
    while stack:
        x = stack.pop()
        kids = _children(x, arrays, is_leaf)
        if kids is None:
            tokens.append(_LEAF_TOKEN)
            leaves.append(x)
            continue
        tokens.append(kids[0])
        items = kids[1]
        # a plain item is a leaf whatever is_leaf says (it has nothing to open)
        if kids[0][0] in (LIST, ARRAY) and all(_plain(t) for t in {type(e) for e in items}):
            leaves.extend(items)  # a flat list of leaves: the common case, in one step
            tokens.extend([_LEAF_TOKEN] * len(items))
        else:
            stack.extend(reversed(items))
    return leaves, tuple(tokens)


def leaves(
    tree: Any, *, arrays: bool = False, is_leaf: Callable[[Any], bool] | None = None
) -> list[Any]:
    """The leaves of ``tree``, in order (see ``flatten``)."""
    return flatten(tree, arrays=arrays, is_leaf=is_leaf)[0]


def num_leaves(treedef: Treedef) -> int:
    return sum(1 for tok in treedef if tok[0] == LEAF)


def _size(tok: tuple) -> int:
    kind = tok[0]
    if kind == DICT:
        return len(tok[1])
    if kind == ARRAY:
        n = 1
        for d in tok[1]:
            n *= d
        return n
    return tok[-1]


def _build(tok: tuple, items: list) -> Any:
    kind = tok[0]
    if kind == LIST:
        return items
    if kind == TUPLE:
        return tuple(items)
    if kind == NAMEDTUPLE:
        return tok[1](*items)
    if kind == DICT:
        return dict(zip(tok[1], items))
    np = sys.modules.get("numpy")
    if np is None:  # an array was flattened, so NumPy is loaded; keep the core NumPy-free
        raise TypeError("rebuilding an array needs NumPy")
    out = np.empty(len(items), dtype=object)
    out[:] = items
    try:
        return out.astype(np.float64).reshape(tok[1])
    except (TypeError, ValueError):
        return out.reshape(tok[1])


def unflatten(treedef: Treedef, values: Iterable) -> Any:
    """The structure ``treedef`` describes, its leaves taken from ``values`` in order."""
    it = iter(values)
    stack: list[list] = []  # frames: [token, items still to come, items]
    result = None
    for tok in treedef:
        if tok[0] == LEAF:
            value = next(it)
        else:
            n = _size(tok)
            stack.append([tok, n, []])
            if n:
                continue
            value = _build(tok, stack.pop()[2])
        while True:  # hand the finished value to its parent, closing full parents
            if not stack:
                result = value
                break
            frame = stack[-1]
            frame[2].append(value)
            frame[1] -= 1
            if frame[1]:
                break
            value = _build(frame[0], stack.pop()[2])
    return result


def map(  # structure.map, like the builtin but over a structure's leaves
    fn: Callable[[Any], Any],
    tree: Any,
    *,
    arrays: bool = False,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """``tree`` rebuilt with ``fn(leaf)`` for each leaf, in order."""
    values, treedef = flatten(tree, arrays=arrays, is_leaf=is_leaf)
    return unflatten(treedef, [fn(v) for v in values])


def shape(tree: Any, where: str = "the argument") -> tuple[int, ...]:
    """The rectangular shape of nested lists/tuples (``()`` for a leaf); ``ValueError``
    naming ``where`` if it is ragged. Level by level, so any depth."""
    dims: list[int] = []
    level = [tree]
    while level and isinstance(level[0], list | tuple):
        n = len(level[0])
        if any(not isinstance(x, list | tuple) or len(x) != n for x in level):
            raise ValueError(f"{where} is a ragged nested list; give a rectangular one")
        dims.append(n)
        level = [y for x in level for y in x]
    if not all(_plain(t) for t in {type(x) for x in level}) and any(
        isinstance(x, list | tuple) for x in level
    ):  # the leaves' types first: 100,000 symbols are one type to look at
        raise ValueError(f"{where} is a ragged nested list; give a rectangular one")
    return tuple(dims)


def dict_leaf(x: Any) -> bool:
    """``is_leaf`` for walks that open lists and tuples only (a dict is a leaf): the
    structures of ``sg.compile``'s inputs and outputs."""
    return isinstance(x, dict)
