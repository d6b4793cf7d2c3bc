"""Conversion between symgrad expressions and SymPy expressions, both ways, iteratively.

Each symgrad symbol maps to one SymPy symbol for the life of the program: the first symbol of a
name (while it lives) becomes ``sympy.Symbol(name, real=True)``; other symbols of that name become
``sympy.Dummy(name, real=True)`` (a Symbol never equal to another), so distinct stays distinct.
They are real because symgrad's variables are floats (SymPy then differentiates ``Abs``).
"""

from __future__ import annotations

import math
import weakref
from fractions import Fraction
from typing import Any

from ..ir import Expr, as_expr, const, flatten, make, symbol, topo_order, unflatten
from ..ops import BY_SYMPY, INFO, Op

_sympy_of: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_claims: dict[str, weakref.ref] = {}  # name -> the live symbol that owns Symbol(name)


def _sympy():
    try:
        import sympy
    except ImportError as exc:  # pragma: no cover - sympy is a dependency
        raise ImportError("the SymPy bridge needs sympy: pip install sympy") from exc
    return sympy


def _symbol_for(sp, e: Expr):
    s = _sympy_of.get(e)
    if s is None:
        holder = _claims.get(e.payload)
        if holder is not None and holder() is not None:
            s = sp.Dummy(e.payload, real=True)  # the name is taken by a live symbol
        else:
            s = sp.Symbol(e.payload, real=True)
            _claims[e.payload] = weakref.ref(e)
        _sympy_of[e] = s
    return s


def _number(sp, v: float):
    if math.isnan(v):
        return sp.nan
    if math.isinf(v):
        return sp.oo if v > 0 else -sp.oo
    frac = Fraction(v)
    if frac.denominator <= 1024:
        return sp.Rational(frac.numerator, frac.denominator)
    return sp.Float(v, 17)


def to_sympy(e: Any) -> Any:
    """The SymPy expression of ``e`` (a nested list/tuple maps to the same structure)."""
    sp = _sympy()
    roots = flatten(e)
    conv: dict[int, Any] = {}
    for node in topo_order(roots):
        if node.op is Op.CONST:
            conv[node.serial] = _number(sp, node.payload)
        elif node.op is Op.SYMBOL:
            conv[node.serial] = _symbol_for(sp, node)
        else:
            conv[node.serial] = _sympy_op(sp, node, conv)
    out = [conv[r.serial] for r in roots]
    return unflatten(e, out) if isinstance(e, list | tuple) else out[0]


def _sympy_op(sp, node: Expr, conv: dict[int, Any]) -> Any:
    """The op's SymPy twin of its converted arguments. SymPy raises ZeroDivisionError where
    its exact arithmetic meets a modulo by 0 (``Mod(1.5, x - x)``: it folds ``x - x``, which
    symgrad keeps, as x may be inf); symgrad's value there is NaN, and so is the twin's."""
    try:
        return INFO[node.op].sympy(sp, *(conv[a.serial] for a in node.args))
    except ZeroDivisionError:
        return sp.nan


def _fold(fn, items: list[Expr]) -> Expr:
    acc = items[0]
    for x in items[1:]:
        acc = fn(acc, x)
    return acc


def _convert(sp, mapping: dict, node: Any, args: tuple[Expr, ...]) -> Expr:
    """One SymPy node, its arguments already converted; ops by the op table's SymPy names."""
    name = type(node).__name__
    if node.is_Symbol:
        hit = mapping.get(node, mapping.get(node.name))
        if hit is None:
            hit = mapping[node] = symbol(node.name)
        return hit
    if node.is_Number or node.is_NumberSymbol:
        if node is sp.zoo or node is sp.nan:
            return const(math.nan)
        return const(float(node))
    if node.is_Pow and node.exp == sp.Rational(1, 2):
        return make(Op.SQRT, args[:1])
    if node.is_Pow and node.exp == -1:
        return 1.0 / args[0]
    op = BY_SYMPY.get(name)
    if op is not None:  # the op table's twin, read back (n-ary Add, Mul, Max, Min fold)
        return _fold(lambda a, b: make(op, (a, b)), args) if len(args) > 2 else make(op, args)
    if name == "BooleanTrue":
        return const(1.0)
    if name == "BooleanFalse":
        return const(0.0)
    if name == "Piecewise":
        return _piecewise(args)
    raise NotImplementedError(
        f"from_sympy does not support SymPy's {name} (in {str(node)[:60]}); supported: "
        "numbers, symbols, Add, Mul, Pow, exp, log, sqrt, sin, cos, tan, tanh, Abs, Max, "
        "Min, Piecewise and comparisons"
    )


def _piecewise(args: tuple[Expr, ...]) -> Expr:
    """Piecewise((v0, c0), (v1, c1) ...) as nested wheres; nan where no condition holds."""
    acc: Expr | None = None
    for value, cond in reversed(list(zip(args[0::2], args[1::2]))):
        if acc is None:
            acc = (
                value
                if (cond.is_const and cond.payload)
                else make(Op.WHERE, (cond, value, const(math.nan)))
            )
        else:
            acc = make(Op.WHERE, (cond, value, acc))
    return acc  # type: ignore[return-value]


def _children(node: Any) -> list:
    if type(node).__name__ == "Piecewise":
        return [x for pair in node.args for x in pair]
    if node.is_Symbol or node.is_Number or node.is_NumberSymbol:
        return []
    return list(node.args)


def from_sympy(expr: Any, symbols: dict | None = None) -> Expr:
    """A symgrad expression for the SymPy expression ``expr``.

    ``symbols`` maps SymPy symbols (or their names) to symgrad symbols; any other SymPy symbol
    becomes a new symgrad symbol (the same one wherever it occurs). Supports numbers, Add, Mul,
    Pow, exp, log, sqrt, the trigonometric and hyperbolic functions, Abs, Max, Min, Piecewise,
    comparisons and a few more; anything else raises ``NotImplementedError`` naming it.
    """
    if isinstance(expr, str | bytes):  # sympify would eval it: a string is never parsed here
        raise TypeError(
            "from_sympy takes a SymPy expression, not a string (SymPy's sympify evaluates "
            "strings as Python code); build it with sympy, or parse a formula with "
            "symgrad.parse.parse"
        )
    sp = _sympy()
    mapping: dict = {}
    for k, v in (symbols or {}).items():
        target = getattr(v, "_expr", v)
        if not isinstance(target, Expr) or not target.is_symbol:
            raise TypeError(f"symbols[{k!r}] must be a symgrad symbol, got {v!r:.60}")
        mapping[k] = target
    expr = sp.sympify(expr)

    # Iterative post-order with memo (SymPy trees share subtrees).
    done: dict = {}
    stack = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        kids = _children(node)
        if expanded or not kids:
            done[node] = _convert(sp, mapping, node, tuple(done[k] for k in kids))
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if k not in done)
    return as_expr(done[expr], "expr")
