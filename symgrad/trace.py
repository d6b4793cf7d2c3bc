"""``sg.value_and_grad`` and ``sg.grad``: the tracing front end.

A user with an existing Python function should not have to build symbols by hand. The function
is called once per *argument structure* with symbolic stand-ins of the same shape (numbers become
symbols, NumPy arrays object arrays of symbols), differentiated, and compiled with ``sg.compile``;
later calls with the same structure only run the compiled code. Every number and array is an
input of the compiled program, differentiated or not, so new data never retraces. Argument
structures are walked iteratively (a stack), like every graph in symgrad.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import sys
from collections.abc import Callable
from typing import Any

from . import api
from .autodiff import gradient
from .ir import Expr, as_expr, symbol

# Tokens of a flattened argument, in prefix order: containers first, then their items.
_LIST, _TUPLE, _NAMEDTUPLE, _DICT, _SCALAR, _ARRAY, _STATIC = "L", "T", "N", "D", "S", "A", "K"
_STATIC_TYPES = (bool, str, bytes, type(None))


def _numpy():
    return sys.modules.get("numpy")


def _flatten(arg: Any, label: str) -> tuple[list[tuple], list[Any], list[str]]:
    """``arg`` as (tokens, leaf values, leaf labels). Tokens describe the structure and shapes,
    never the numbers, so two arguments that differ only in data give equal tokens."""
    tokens: list[tuple] = []
    leaves: list[Any] = []
    labels: list[str] = []
    np = _numpy()
    stack = [(arg, label)]
    while stack:
        x, path = stack.pop()
        if isinstance(x, _STATIC_TYPES):
            tokens.append((_STATIC, type(x), x))
        elif isinstance(x, numbers.Real):
            tokens.append((_SCALAR,))
            leaves.append(x)
            labels.append(path)
        elif np is not None and isinstance(x, np.ndarray):
            if x.dtype.kind not in "fiu":
                raise TypeError(
                    f"{path} is a NumPy array of dtype {x.dtype}; value_and_grad traces real "
                    "(float or integer) arrays only; convert it with .astype(float)"
                )
            tokens.append((_ARRAY, x.shape))
            leaves.append(x)
            labels.append(path)
        elif isinstance(x, dict):
            keys = tuple(x)
            tokens.append((_DICT, keys))
            stack.extend((x[k], f"{path}[{k!r}]") for k in reversed(keys))
        elif isinstance(x, tuple) and hasattr(x, "_fields"):
            tokens.append((_NAMEDTUPLE, type(x), len(x)))
            stack.extend((v, f"{path}.{k}") for k, v in reversed(list(zip(x._fields, x))))
        elif isinstance(x, list | tuple):
            tokens.append((_LIST if isinstance(x, list) else _TUPLE, len(x)))
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(x))))
        else:
            raise TypeError(
                f"{path} is a {type(x).__name__}; value_and_grad traces numbers, lists, tuples, "
                "dicts and NumPy arrays (plus None, bool and str, which select a trace); pass "
                "other values through a closure or functools.partial"
            )
    return tokens, leaves, labels


def _unflatten(tokens: list[tuple], leaves: Any) -> Any:
    """Rebuild the structure ``tokens`` describe, taking leaf values from ``leaves`` in order."""
    it = iter(leaves)
    stack: list[list] = []  # frames: [token, remaining, items]
    result = None
    for tok in tokens:
        kind = tok[0]
        if kind in (_LIST, _TUPLE, _NAMEDTUPLE, _DICT):
            n = len(tok[1]) if kind == _DICT else tok[-1]
            stack.append([tok, n, []])
            if n:
                continue
            value = _build(*stack.pop()[::2])
        else:
            value = tok[2] if kind == _STATIC else next(it)
        while True:  # hand the finished value to its parent, closing full parents
            if not stack:
                result = value
                break
            frame = stack[-1]
            frame[2].append(value)
            frame[1] -= 1
            if frame[1]:
                break
            value = _build(*stack.pop()[::2])
    return result


def _build(tok: tuple, items: list) -> Any:
    kind = tok[0]
    if kind == _LIST:
        return items
    if kind == _TUPLE:
        return tuple(items)
    if kind == _NAMEDTUPLE:
        return tok[1](*items)
    return dict(zip(tok[1], items))


class _Trace:
    """One argument structure's compiled program and how to feed it and read it."""

    __slots__ = ("compiled", "diff", "grad_tokens", "grad_shapes")

    def __init__(self, compiled, diff, grad_tokens, grad_shapes) -> None:
        self.compiled = compiled
        self.diff = diff  # positions (in the argument list) that are differentiated
        self.grad_tokens = grad_tokens  # per differentiated argument, its tokens
        self.grad_shapes = grad_shapes  # per differentiated argument, None or shape per leaf


class ValueAndGrad:
    """The callable that ``sg.value_and_grad`` and ``sg.grad`` return.

    ``source`` and ``compiled`` are those of the trace used last; ``traces`` counts how many
    times ``fn`` has been traced (once per argument structure).
    """

    def __init__(
        self, fn: Callable, argnums: int | tuple[int, ...], backend: str, with_value: bool
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be a callable returning a scalar, not {type(fn).__name__}")
        nums = argnums if isinstance(argnums, tuple) else (argnums,)
        if not nums or any(isinstance(a, bool) or not isinstance(a, int) for a in nums):
            raise TypeError(f"argnums must be an int or a non-empty tuple of ints, not {argnums!r}")
        if len(set(nums)) != len(nums):
            raise ValueError(f"argnums {argnums!r} names an argument twice; name each once")
        if backend not in api.BACKENDS:
            raise ValueError(f"backend must be one of {sorted(api.BACKENDS)}, not {backend!r}")
        self.fn = fn
        self.argnums = argnums
        self.backend = backend
        self.with_value = with_value
        self.traces = 0
        self._cache: dict[tuple, _Trace] = {}
        self._last: _Trace | None = None
        self._names = _param_names(fn)
        functools.update_wrapper(self, fn, updated=())

    # -- what users read ------------------------------------------------------------------
    @property
    def compiled(self) -> api.CompiledFunction:
        """The compiled function of the last call's argument structure."""
        if self._last is None:
            raise ValueError("nothing is compiled yet: call the function once to trace it")
        return self._last.compiled

    @property
    def source(self) -> str:
        """The generated module that the last call ran."""
        return self.compiled.source

    def __repr__(self) -> str:
        kind = "value_and_grad" if self.with_value else "grad"
        name = getattr(self.fn, "__name__", "fn")
        return f"<symgrad.{kind}({name}, argnums={self.argnums!r}) [{self.traces} trace(s)]>"

    # -- calling --------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        diff = self._positions(len(args))
        labels = [self._label(i) for i in range(len(args))] + list(sorted(kwargs))
        values = list(args) + [kwargs[k] for k in sorted(kwargs)]
        flat = [_flatten(v, lbl) for v, lbl in zip(values, labels)]
        key = (len(args), tuple(sorted(kwargs)), tuple(tuple(t) for t, _, _ in flat))
        trace = self._cache.get(key)
        if trace is None:
            trace = self._trace(args, kwargs, flat, diff)
            self._cache[key] = trace
        self._last = trace
        inputs = [_as_input(v) for _, leaves, _ in flat for v in leaves if _size(v)]
        out = trace.compiled(*inputs)
        grads_flat = out[1] if self.with_value else out
        grads = self._grads(trace, grads_flat)
        if not self.with_value:
            return grads
        return float(out[0]), grads

    def _positions(self, nargs: int) -> tuple[int, ...]:
        nums = self.argnums if isinstance(self.argnums, tuple) else (self.argnums,)
        out = []
        for a in nums:
            if not -nargs <= a < nargs:
                raise ValueError(
                    f"argnums={self.argnums!r} asks for argument {a}, but the function was "
                    f"called with {nargs} positional argument(s); pass it positionally"
                )
            out.append(a % nargs)
        return tuple(out)

    def _label(self, i: int) -> str:
        return self._names[i] if i < len(self._names) else f"arg{i}"

    def _trace(self, args: tuple, kwargs: dict, flat: list, diff: tuple[int, ...]) -> _Trace:
        np = _numpy()
        sym_values, inputs, wrt = [], [], []
        grad_shapes: list[list] = []
        for pos, (tokens, leaves, labels) in enumerate(flat):
            stand_ins, shapes = [], []
            for v, lbl in zip(leaves, labels):
                if np is not None and isinstance(v, np.ndarray):
                    arr = np.empty(v.shape, dtype=object)
                    for idx in np.ndindex(*v.shape):
                        arr[idx] = symbol(lbl + "".join(f"[{i}]" for i in idx))
                    stand_ins.append(arr)
                    shapes.append(v.shape)
                    if arr.size:
                        inputs.append(arr.item() if arr.ndim == 0 else arr.tolist())
                        if pos in diff:
                            wrt.extend(arr.ravel().tolist())
                else:
                    s = symbol(lbl)
                    stand_ins.append(s)
                    shapes.append(None)
                    inputs.append(s)
                    if pos in diff:
                        wrt.append(s)
            if pos in diff:
                if any(t[0] == _STATIC for t in tokens):
                    raise TypeError(
                        f"argument {labels[0] if labels else pos!r} is differentiated "
                        f"(argnums={self.argnums!r}) but holds None, bool or str values; "
                        "only numbers and arrays can be differentiated: move them to "
                        "another argument"
                    )
                grad_shapes.append(shapes)
            sym_values.append(_unflatten(tokens, stand_ins))
        n = len(args)
        sym_kwargs = dict(zip(sorted(kwargs), sym_values[n:]))
        name = getattr(self.fn, "__name__", "fn")
        try:
            out = self.fn(*sym_values[:n], **sym_kwargs)
        except TypeError as e:
            if hasattr(e, "add_note"):
                e.add_note(f"(raised while tracing {name} with symbolic arguments)")
            raise
        out = _scalar_output(out, name)
        grads = gradient(out, wrt) if wrt else []
        outputs = [out, grads] if self.with_value else grads
        compiled = api.compile(inputs, outputs, backend=self.backend)
        self.traces += 1
        return _Trace(compiled, diff, [flat[p][0] for p in diff], grad_shapes)

    def _grads(self, trace: _Trace, flat_grads: list) -> Any:
        np = _numpy()
        it = iter(flat_grads)
        per_arg = []
        for tokens, shapes in zip(trace.grad_tokens, trace.grad_shapes):
            leaves = []
            for shape in shapes:
                if shape is None:
                    leaves.append(float(next(it)))
                    continue
                size = 1
                for d in shape:
                    size *= d
                g = [next(it) for _ in range(size)] if size else []
                leaves.append(np.array(g, dtype=np.float64).reshape(shape))
            per_arg.append(_unflatten(tokens, leaves))
        return tuple(per_arg) if isinstance(self.argnums, tuple) else per_arg[0]


def _size(v: Any) -> int:
    return getattr(v, "size", 1)


def _as_input(v: Any) -> Any:
    """Integer arrays compute in floating point, as the scalars do."""
    dtype = getattr(v, "dtype", None)
    return v.astype("float64") if dtype is not None and dtype.kind != "f" else v


def _param_names(fn: Callable) -> list[str]:
    """Positional parameter names of ``fn`` (labels for its symbols; never code)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        else:
            break
    return names


def _scalar_output(out: Any, name: str) -> Expr:
    out = getattr(out, "_expr", out)
    if isinstance(out, Expr):
        return out
    shape = getattr(out, "shape", None)
    if shape == () and hasattr(out, "item"):
        return as_expr(getattr(out.item(), "_expr", out.item()), "the result of " + name)
    if shape is not None:
        raise TypeError(
            f"{name} must return a scalar, but returned an array of shape {shape}; "
            "reduce it (for example with .sum()) or pick one element"
        )
    return as_expr(out, f"the result of {name}")


def value_and_grad(
    fn: Callable, argnums: int | tuple[int, ...] = 0, *, backend: str = "python"
) -> ValueAndGrad:
    """``fn`` as a compiled function returning ``(value, grads)``.

    ``fn`` takes numbers, (nested) lists, tuples, dicts and NumPy arrays and returns a scalar;
    it is traced once per argument structure, so a Python ``if`` on an argument raises a
    ``TypeError`` (use ``sg.where``). ``grads`` mirrors argument ``argnums`` (a tuple of such
    when ``argnums`` is a tuple), arrays as float arrays of the same shape. The other arguments
    are inputs too, so calling again with new data runs the compiled code without retracing.
    """
    return ValueAndGrad(fn, argnums, backend, with_value=True)


def grad(fn: Callable, argnums: int | tuple[int, ...] = 0, *, backend: str = "python") -> Any:
    """``fn``'s gradient only, traced and compiled as ``value_and_grad`` does."""
    return ValueAndGrad(fn, argnums, backend, with_value=False)


__all__ = ["value_and_grad", "grad", "ValueAndGrad"]
