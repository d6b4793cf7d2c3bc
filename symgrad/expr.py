"""The user-facing functions of expressions: ``sg.exp``, ``sg.where``, ``sg.symbols`` ...

Each accepts expressions or real numbers; with numbers only, it folds to a constant. Given NumPy
arrays (of expressions, as ``sg.value_and_grad`` traces them), each applies elementwise.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from .ir import BOOL_HINT, Expr, _is_bool, as_expr, make, symbol, symbols_named
from .ops import INFO, Op


def Symbol(name: str) -> Expr:  # the contract's spelling, like SymPy's
    """One new symbol labelled ``name`` verbatim (any string); distinct from every other."""
    return symbol(name)


_RANGE = re.compile(r"^(.*?)(\d*):(\d+)$")
_LETTERS = re.compile(r"^(.*?)([a-zA-Z]):([a-zA-Z])$")


def symbols(names: str) -> Expr | tuple[Expr, ...]:
    """Symbols from ``names`` split on whitespace and commas; ``"w0:3"`` (or ``"w:3"``) gives
    w0, w1, w2 and ``"a:d"`` gives a, b, c, d, as in SymPy. One name gives an Expr; several, or
    any range, a tuple."""
    if not isinstance(names, str):
        raise TypeError(f"names must be a str such as 'x y' or 'w0:3', not {type(names).__name__}")
    parts = [p for p in re.split(r"[\s,]+", names.strip()) if p]
    if not parts:
        raise ValueError("names is empty; give at least one name, e.g. sg.symbols('x')")
    labels: list[str] = []
    ranged = False
    for p in parts:
        m = _RANGE.match(p)
        if m:
            start, stop = int(m.group(2) or 0), int(m.group(3))
            labels += [f"{m.group(1)}{i}" for i in range(start, stop)]
            ranged = True
            continue
        m = _LETTERS.match(p)
        if m:
            a, b = ord(m.group(2)), ord(m.group(3))
            labels += [f"{m.group(1)}{chr(c)}" for c in range(a, b + 1)]
            ranged = True
            continue
        labels.append(p)
    made = tuple(symbols_named(labels))
    if len(made) == 1 and not ranged and not names.strip().endswith(","):
        return made[0]
    return made


def _elementwise(fn, args: tuple) -> Any:
    """``fn`` over NumPy arrays (of expressions or numbers), elementwise with broadcasting, if
    any argument is an array; ``None`` otherwise. NumPy is only used when already imported.
    A traced value (``symgrad.tracing.Traced``) applies ``fn`` itself, through its
    ``__sg_elementwise__`` hook, so this layer knows nothing of tracing."""
    for a in args:
        hook = getattr(type(a), "__sg_elementwise__", None)
        if hook is not None:
            return hook(fn, args)
    np = sys.modules.get("numpy")
    if np is None or not any(isinstance(a, np.ndarray) for a in args):
        return None
    return np.frompyfunc(fn, len(args), 1)(*args)


def _plain_arg(a: Any, name: str, cond: bool) -> Expr:
    return as_expr(a, name)


def _condition_arg(a: Any, name: str, cond: bool) -> Expr:
    if cond and _is_bool(a):
        raise TypeError(f"{name}: {BOOL_HINT}")
    return as_expr(a, name)


def _function(op: Op) -> Callable[..., Any]:
    """The ``sg.`` function of a row: numbers or expressions in, an expression out (folded to a
    constant when every argument is a number); NumPy arrays apply elementwise."""
    info = INFO[op]
    params = info.params
    # where's condition and and/or/not's operands refuse a Python bool: x == y is one
    conds = tuple(p == "cond" or op.logic for p in params)
    if any(conds):
        arg = _condition_arg
    else:
        arg = _plain_arg
    if info.arity == 1:

        def f(x: Any) -> Expr:
            if type(x) is not Expr:
                mapped = _elementwise(f, (x,))
                if mapped is not None:
                    return mapped
            return make(op, (arg(x, params[0], conds[0]),))

    else:

        def f(*args: Any) -> Expr:
            if len(args) != len(params):
                raise TypeError(
                    f"sg.{info.fn_name}({', '.join(params)}) takes {len(params)} arguments, "
                    f"got {len(args)}"
                )
            mapped = _elementwise(f, args)
            if mapped is not None:
                return mapped
            return make(op, tuple(arg(a, p, c) for a, p, c in zip(args, params, conds)))

        kind = inspect.Parameter.POSITIONAL_ONLY
        f.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(p, kind) for p in params], return_annotation=Expr
        )
    f.__name__ = f.__qualname__ = info.fn_name or op.value
    f.__doc__ = info.doc
    f.__module__ = __name__
    return f


_FUNCTIONS = {i.fn_name: _function(op) for op, i in INFO.items() if i.fn_name}
globals().update(_FUNCTIONS)

_RAD_PER_DEG = math.pi / 180.0


def deg2rad(x: Any) -> Expr:
    """Degrees to radians: ``x * (pi/180)``, as NumPy's np.deg2rad (and np.radians)."""
    return _scaled(x, _RAD_PER_DEG)


def rad2deg(x: Any) -> Expr:
    """Radians to degrees: ``x * (180/pi)``, as NumPy's np.rad2deg (and np.degrees)."""
    return _scaled(x, 180.0 / math.pi)


def _scaled(x: Any, c: float) -> Any:
    mapped = _elementwise(lambda v: _scaled(v, c), (x,)) if type(x) is not Expr else None
    return mapped if mapped is not None else as_expr(x, "x") * c


def _hook(x: Any) -> Any:
    """A traced value's ``__sg_elementwise__`` (see ``_elementwise``), or None."""
    return getattr(type(x), "__sg_elementwise__", None)


def logsumexp(xs: Any) -> Expr:
    """log(sum(exp(x) for x in xs)) without overflow, for a sequence (or NumPy array) of terms.

    Built from ops, as SciPy computes it: m + log(sum(exp(x - m))) with m the largest term, or 0
    where that is not finite (all terms -inf, or an inf or nan among them)."""
    if isinstance(xs, Expr) or not hasattr(xs, "__iter__"):
        raise TypeError(
            f"logsumexp takes a sequence of terms, not {type(xs).__name__}; "
            "for two terms sg.logaddexp(a, b) is the same"
        )
    np = sys.modules.get("numpy")
    flat = np is not None and isinstance(xs, np.ndarray) or _hook(xs) is not None
    items = list(xs.ravel()) if flat else list(xs)
    hook = next((h for h in map(_hook, items) if h is not None), None)
    if hook is not None:  # traced terms (inside sg.grad ...): the hook builds a traced result
        for i, x in enumerate(items):
            if getattr(x, "ndim", 0):
                raise TypeError(f"logsumexp takes scalar terms; xs[{i}] is an array")
        return hook(lambda *ts: logsumexp(ts), tuple(items))
    terms = [as_expr(x, f"xs[{i}]") for i, x in enumerate(items)]
    if not terms:
        raise ValueError("logsumexp needs at least one term; xs is empty")
    top = terms[0]
    for x in terms[1:]:
        top = _FUNCTIONS["maximum"](top, x)
    shift = _FUNCTIONS["where"](_FUNCTIONS["isfinite"](top), top, 0.0)
    total = _FUNCTIONS["exp"](terms[0] - shift)
    for x in terms[1:]:
        total = total + _FUNCTIONS["exp"](x - shift)
    return shift + _FUNCTIONS["log"](total)


__all__ = ["Symbol", "symbols", *_FUNCTIONS, "logsumexp", "rad2deg", "deg2rad"]
"""The public names: symbols, one function per row of the op table that names one, and the
functions built from those ops."""

assert all(op in INFO for op in Op if op not in (Op.CONST, Op.SYMBOL))
