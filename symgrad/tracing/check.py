"""The trace check: a new path's result against ``fn`` run in plain NumPy at the same call.

NumPy hands symgrad every operation on a traced array, but not every operation on what the
function builds from one: a buffer made by hand with ``dtype=object`` (``b = np.zeros(n,
dtype=object); b[i] = x[i]``) is NumPy's own object array, and NumPy computes on it element
by element without asking symgrad (``np.nan_to_num`` hands it back unchanged, ``np.max``
compares NaN as Python does); ``np.frombuffer`` of one reads pointers. Nothing can intercept
that. So each time a ``TracedFunction`` traces a new path it runs ``fn`` once more in plain
NumPy, on the numbers of the call being traced, and compares that with what the trace
computed at the same numbers (the values of its output and aux expressions): a NaN or
infinity where the other has none, or numbers apart by more than rounding explains, raise
``TraceMismatchError`` (a ``TypeError``, as every "NumPy did not hand this to symgrad"
refusal here) naming the function, the output, both values and what to write instead.

When it is skipped: a plain call that raises (an error of the function itself, which the
trace did not reach; NumPy's warnings are silenced), results of another structure (nothing to
compare element by element), values the trace cannot know (symbols passed by the user), a
trace that called another transform on traced values (``grad(grad(f))``: the inner one
checks ``f``), and ``check_trace=False``. A ``batch_argnums`` function is checked on its
first sample. A cached path is never checked again: the cost is one plain call per trace.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..errors import TraceMismatchError
from ..ir import Expr
from .args import as_input, flatten, unflatten
from .array import Traced

RTOL = 1e-6  # rounding of another summation order stays far below this
ATOL = 1e-8  # ... times the largest magnitude among the arguments and results

HINT = (
    "The trace computed something other than NumPy does. Likely causes: code that reads an "
    "array's bytes or dtype (np.frombuffer, .tobytes(), .view(), a branch on .dtype or on "
    "isinstance(v, float)) of an array that holds traced values (np.asarray(x) or np.array(x) "
    "of a traced x, np.array([a, b]), a buffer made with dtype=object): inside a trace it "
    "holds traced values, not floats; a NumPy function that bypasses NumPy's dispatch; or a "
    "function that draws random numbers or keeps state, so that two calls differ by "
    "themselves. Keep values traced arrays: drop np.asarray(x) (x already is an array), "
    "build arrays with np.stack([a, b]), make buffers with np.zeros_like(x, shape=(n,)); "
    "seed random numbers, or pass check_trace=False to keep the trace's results"
)


def plain_arguments(tf: Any, args: tuple, kwargs: dict, flat: list) -> tuple[list, dict]:
    """The call's own numbers as plain arguments: arrays copied (``fn`` may write into them)
    and in floating point as the compiled program takes them; a batch argument's first
    sample."""
    n = len(args)
    names = sorted(kwargs)
    out = []
    for i, f in enumerate(flat):
        if f is None:
            out.append(args[i] if i < n else kwargs[names[i - n]])
            continue
        tokens, leaves, _ = f
        if tf._is_batched(i, n):
            leaves = [v[0] for v in leaves]
        copies = [np.array(as_input(v)) if isinstance(v, np.ndarray) else v for v in leaves]
        out.append(unflatten(tokens, copies))
    return out[:n], dict(zip(names, out[n:]))


def evaluated_arguments(ctx: Any, args: tuple, kwargs: dict, static: set) -> tuple[list, dict]:
    """Traced arguments (a transform called inside another one's trace) as the numbers they
    have at the enclosing call; raises ``TypeError`` where the trace knows none."""
    names = sorted(kwargs)
    out = []
    for i, v in enumerate(list(args) + [kwargs[k] for k in names]):
        if i in static:
            out.append(v)
            continue
        tokens, leaves, _ = flatten(v, "arg")
        out.append(unflatten(tokens, [_number(ctx, x) for x in leaves]))
    return out[: len(args)], dict(zip(names, out[len(args) :]))


def _number(ctx: Any, x: Any) -> Any:
    if isinstance(x, Traced | Expr) or (isinstance(x, np.ndarray) and x.dtype == object):
        exprs, shape = _exprs_of(x)
        vals = np.array([ctx.value(e, "the trace check") for e in exprs], dtype=np.float64)
        return vals.reshape(shape) if shape is not None else float(vals[0])
    return x


def _exprs_of(x: Any) -> tuple[list, tuple | None]:
    if isinstance(x, Traced):
        x = x.a
    if isinstance(x, Expr):
        return [x], None
    items = [getattr(e, "a", e) for e in x.ravel().tolist()]
    return items, tuple(x.shape)


def _leaves(result: Any, value: Any) -> list[tuple[str, np.ndarray]] | None:
    """``result``'s numbers, one float array per leaf (with its label), in a fixed order;
    ``value`` evaluates an expression. None if a leaf has no number to compare."""
    out = []
    stack = [(result, "the result")]
    while stack:  # user structures are shallow; graphs are never walked here
        v, where = stack.pop()
        if isinstance(v, dict):
            stack.extend((v[k], f"{where}[{k!r}]") for k in reversed(list(v)))
        elif isinstance(v, list | tuple):
            stack.extend((x, f"{where}[{i}]") for i, x in reversed(list(enumerate(v))))
        elif isinstance(v, Traced | Expr) or (isinstance(v, np.ndarray) and v.dtype == object):
            exprs, _ = _exprs_of(v)
            try:
                vals = [value(e) if isinstance(e, Expr) else float(e) for e in exprs]
            except (TypeError, ValueError):
                return None
            out.append((where, np.array(vals, dtype=np.float64)))
        elif isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
            out.append((where, v.astype(np.float64).ravel()))
        elif isinstance(v, numbers.Real | np.bool_):
            out.append((where, np.array([float(v)])))
    return out


def compare(name: str, ctx: Any, out: Any, plain: tuple | None, fn: Any) -> None:
    """Raise ``TraceMismatchError`` if ``out`` (traced, at ``ctx``'s call) and ``fn`` run on
    ``plain`` (its arguments) disagree; skip as the module docstring says."""
    if plain is None:
        return
    p_args, p_kwargs = plain
    try:
        with np.errstate(all="ignore"):
            want_out = fn(*p_args, **p_kwargs)
    except Exception:  # the function's own error: nothing to compare with
        return
    got = _leaves(out, lambda e: ctx.value(e, "the trace check"))
    want = _leaves(want_out, None)
    if got is None or want is None or [g.size for _, g in got] != [w.size for _, w in want]:
        return
    scale = _scale([a for _, a in got] + [a for _, a in want] + _arrays(p_args, p_kwargs))
    for (where, g), (_, w) in zip(got, want):
        bad = _differ(g, w, scale)
        if bad.size:
            k = int(bad[0])
            at = f"{where}, element {k} of {g.size}," if g.size > 1 else where
            raise TraceMismatchError(
                f"{name}: the trace and {name} run in plain NumPy at the same arguments "
                f"disagree: {at} is {float(g[k])!r} traced but {float(w[k])!r} in NumPy "
                f"({bad.size} of {g.size} number(s) differ). {HINT}"
            )


def _differ(g: np.ndarray, w: np.ndarray, scale: float) -> np.ndarray:
    """Indices where ``g`` and ``w`` differ: NaN pattern, infinities, or beyond rounding."""
    g_nan, w_nan = np.isnan(g), np.isnan(w)
    finite = np.isfinite(g) & np.isfinite(w)
    with np.errstate(all="ignore"):
        far = np.abs(g - w) > RTOL * np.maximum(np.abs(g), np.abs(w)) + ATOL * scale
    bad = (g_nan != w_nan) | (~finite & ~g_nan & ~w_nan & (g != w)) | (finite & far)
    return np.flatnonzero(bad)


def _arrays(args: list, kwargs: dict) -> list[np.ndarray]:
    leaves = _leaves([args, kwargs], None) or []
    return [a for _, a in leaves]


def _scale(arrays: list[np.ndarray]) -> float:
    top = 0.0
    for a in arrays:
        fin = a[np.isfinite(a)]
        if fin.size:
            top = max(top, float(np.max(np.abs(fin))))
    return top if math.isfinite(top) else 0.0


__all__ = ["compare", "plain_arguments", "evaluated_arguments"]
