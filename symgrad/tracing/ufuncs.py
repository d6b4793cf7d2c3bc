"""NumPy ufunc names -> symgrad ops, read from the op table's ``ufunc`` column.

A ufunc that is one op is a row of the op table (``INFO[op].ufunc``, ``ops.BY_NUMPY``); this
module only adds the ufuncs that are a short composition of ops (``square``, ``deg2rad`` ...)
and the logic of conditions (``equal``, ``logical_and`` ...), each used only while the op table
has no row of that name. Every name in neither table is unsupported: applying it to a traced
value raises ``TypeError`` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import expr as _expr
from ..ir import Expr, const, make
from ..ops import BY_NUMPY, INFO, Op


def _op_map() -> dict[str, Op]:
    """NumPy ufunc name -> op, for every row of the op table naming a ufunc (``np.where``, a
    function, is answered by ``functions.py``)."""
    return {n: op for n, op in BY_NUMPY.items() if isinstance(getattr(np, n, None), np.ufunc)}


UFUNC_OPS: dict[str, Op] = _op_map()
"""NumPy ufunc name -> the op it is (derived from the op table at import)."""


# -- conditions --------------------------------------------------------------------------
# sg.eq / sg.ne / sg.logical_* when the op table has them; else the same truth built from
# the order comparisons, with where's "non-zero is true" (NaN compares unequal, as in IEEE).
def _has(name: str) -> Callable | None:
    return getattr(_expr, name, None)


def eq(a: Expr, b: Expr) -> Expr:
    f = _has("eq")
    if f is not None:
        return f(a, b)
    one, zero = const(1.0), const(0.0)
    return make(
        Op.WHERE, (make(Op.LE, (a, b)), make(Op.WHERE, (make(Op.GE, (a, b)), one, zero)), zero)
    )


def ne(a: Expr, b: Expr) -> Expr:
    f = _has("ne")
    if f is not None:
        return f(a, b)
    one, zero = const(1.0), const(0.0)
    return make(
        Op.WHERE, (make(Op.LE, (a, b)), make(Op.WHERE, (make(Op.GE, (a, b)), zero, one)), one)
    )


def logical_and(a: Expr, b: Expr) -> Expr:
    a, b = truth(a), truth(b)
    f = _has("logical_and")
    if f is not None:
        return f(a, b)
    one, zero = const(1.0), const(0.0)
    return make(Op.WHERE, (a, make(Op.WHERE, (b, one, zero)), zero))


def logical_or(a: Expr, b: Expr) -> Expr:
    a, b = truth(a), truth(b)
    f = _has("logical_or")
    if f is not None:
        return f(a, b)
    one, zero = const(1.0), const(0.0)
    return make(Op.WHERE, (a, one, make(Op.WHERE, (b, one, zero))))


def logical_not(a: Expr) -> Expr:
    a = truth(a)
    f = _has("logical_not")
    if f is not None:
        return f(a)
    return make(Op.WHERE, (a, const(0.0), const(1.0)))


def is_condition(e: Expr) -> bool:
    info = INFO.get(e.op)
    return bool(info and info.is_condition)


def bool_product(r: Any, booleans: bool) -> Any:
    """``r``, a sum of products, as NumPy has it when both factors are boolean arrays:
    ``np.dot`` / ``@`` of bools is a bool (any of the ands), not a count."""
    if not booleans:
        return r
    if isinstance(r, np.ndarray):
        return np.frompyfunc(truth, 1, 1)(r) if r.size else r
    return truth(r)


def truth(e: Expr) -> Expr:
    """``e`` as a condition: itself if it is one, else ``e != 0`` (NaN is true, as in Python)."""
    return e if is_condition(e) else ne(e, const(0.0))


def _xor(a: Expr, b: Expr) -> Expr:
    return ne(
        make(Op.WHERE, (a, const(1.0), const(0.0))), make(Op.WHERE, (b, const(1.0), const(0.0)))
    )


def _cbrt(x: Expr) -> Expr:
    # sign(x) * |x|**(1/3): a negative base keeps its real cube root
    return make(Op.MUL, (make(Op.SIGN, (x,)), make(Op.POW, (make(Op.ABS, (x,)), const(1.0 / 3.0)))))


def _hypot(a: Expr, b: Expr) -> Expr:
    # sqrt(a*a + b*b) where max(|a|, |b|) = m is moderate; else libm's scaling, m * sqrt((a/m)
    # ** 2 + (b/m) ** 2), so hypot(1e200, 1e200) does not overflow (nor 1e-200 underflow); 0
    # where m is 0, inf where a or b is infinite (beside NaN too, as C's hypot), NaN where
    # one is NaN (MAX propagates it)
    m = make(Op.MAX, (make(Op.ABS, (a,)), make(Op.ABS, (b,))))
    plain = make(Op.SQRT, (make(Op.ADD, (make(Op.MUL, (a, a)), make(Op.MUL, (b, b)))),))
    sq = lambda v: make(Op.MUL, (make(Op.DIV, (v, m)), make(Op.DIV, (v, m))))
    r = make(Op.MUL, (m, make(Op.SQRT, (make(Op.ADD, (sq(a), sq(b))),))))
    r = make(Op.WHERE, (make(Op.EQ, (m, const(0.0))), const(0.0), r))
    moderate = make(Op.AND, (make(Op.GT, (m, const(1e-140))), make(Op.LT, (m, const(1e140)))))
    r = make(Op.WHERE, (moderate, plain, r))
    inf = const(float("inf"))
    is_inf = lambda v: make(Op.EQ, (make(Op.ABS, (v,)), inf))
    return make(Op.WHERE, (make(Op.OR, (is_inf(a), is_inf(b))), inf, r))


def _scale(c: float) -> Callable[[Expr], Expr]:
    return lambda x: make(Op.MUL, (x, const(c)))


def _log_base(b: float) -> Callable[[Expr], Expr]:
    return lambda x: make(Op.DIV, (make(Op.LOG, (x,)), const(math.log(b))))


def _logaddexp(a: Expr, b: Expr) -> Expr:
    # max(a, b) + log1p(exp(-|a - b|)): no overflow for any finite a, b
    d = make(Op.ABS, (make(Op.SUB, (a, b)),))
    return make(
        Op.ADD, (make(Op.MAX, (a, b)), make(Op.LOG1P, (make(Op.EXP, (make(Op.NEG, (d,)),)),)))
    )


def _asinh(x: Expr) -> Expr:
    # sign(x) * log(|x| + sqrt(x*x + 1))
    ax = make(Op.ABS, (x,))
    inner = make(Op.ADD, (ax, make(Op.SQRT, (make(Op.ADD, (make(Op.MUL, (x, x)), const(1.0))),))))
    return make(Op.MUL, (make(Op.SIGN, (x,)), make(Op.LOG, (inner,))))


def _acosh(x: Expr) -> Expr:
    inner = make(Op.SQRT, (make(Op.SUB, (make(Op.MUL, (x, x)), const(1.0))),))
    return make(Op.LOG, (make(Op.ADD, (x, inner)),))


def _atanh(x: Expr) -> Expr:
    ratio = make(Op.DIV, (make(Op.ADD, (const(1.0), x)), make(Op.SUB, (const(1.0), x))))
    return make(Op.MUL, (const(0.5), make(Op.LOG, (ratio,))))


# Ufuncs that are a composition of ops. A name here is used only while the op table has no
# row for it (the op table's own row wins: one exact op beats a composition).
COMPOSITE: dict[str, Callable[..., Expr]] = {
    "true_divide": lambda a, b: make(Op.DIV, (a, b)),
    "float_power": lambda a, b: make(Op.POW, (a, b)),
    "positive": lambda x: x,
    "conjugate": lambda x: x,  # real numbers: np.var/np.std ask for it
    "fabs": lambda x: make(Op.ABS, (x,)),
    "square": lambda x: make(Op.MUL, (x, x)),
    "reciprocal": lambda x: make(Op.DIV, (const(1.0), x)),
    "cbrt": _cbrt,
    "hypot": _hypot,
    "deg2rad": _scale(math.pi / 180.0),
    "radians": _scale(math.pi / 180.0),
    "rad2deg": _scale(180.0 / math.pi),
    "degrees": _scale(180.0 / math.pi),
    "log2": _log_base(2.0),
    "log10": _log_base(10.0),
    "exp2": lambda x: make(Op.POW, (const(2.0), x)),
    "logaddexp": _logaddexp,
    "arcsinh": _asinh,
    "arccosh": _acosh,
    "arctanh": _atanh,
    "equal": eq,
    "not_equal": ne,
    "logical_and": logical_and,
    "logical_or": logical_or,
    "logical_xor": _xor,
    "logical_not": logical_not,
    "bitwise_and": logical_and,  # `&`, `|`, `^`, `~` on conditions
    "bitwise_or": logical_or,
    "bitwise_xor": _xor,
    "invert": logical_not,
}


def _floor_divide(a: Expr, b: Expr) -> Expr:
    """NumPy's ``a // b`` step for step (npy_divmod), not ``floor(a / b)``: that rounds the
    quotient first, so ``0.5 // 0.1`` would be 5.0, where NumPy and Python give 4.0."""
    zero, one = const(0.0), const(1.0)
    r = make(Op.MOD, (make(Op.ABS, (a,)), make(Op.ABS, (b,))))  # fmod(|a|, |b|), exactly
    mod = make(Op.WHERE, (make(Op.LT, (a, zero)), make(Op.NEG, (r,)), r))  # fmod(a, b)
    div = make(Op.DIV, (make(Op.SUB, (a, mod)), b))
    signs = ne(make(Op.LT, (b, zero)), make(Op.LT, (mod, zero)))
    div = make(Op.WHERE, (logical_and(ne(mod, zero), signs), make(Op.SUB, (div, one)), div))
    fl = make(Op.FLOOR, (div,))
    up = make(Op.GT, (make(Op.SUB, (div, fl)), const(0.5)))
    fl = make(Op.WHERE, (up, make(Op.ADD, (fl, one)), fl))
    q = make(Op.DIV, (a, b))
    fl = make(Op.WHERE, (eq(div, zero), make(Op.MUL, (zero, q)), fl))  # 0 with a / b's sign
    return make(Op.WHERE, (eq(b, zero), q, fl))


def _op(name: str) -> Op | None:
    return getattr(Op, name, None)


def _with_ops() -> dict[str, Callable[..., Expr]]:
    """Compositions of ops that not every op table has (floor, isnan ...): only those whose
    ops exist."""
    out: dict[str, Callable[..., Expr]] = {}
    floor, ceil, isnan, isfinite = _op("FLOOR"), _op("CEIL"), _op("ISNAN"), _op("ISFINITE")
    if floor is not None and _op("MOD") is not None:
        out["floor_divide"] = _floor_divide
    if floor is not None and ceil is not None:
        out["trunc"] = lambda x: make(
            Op.WHERE, (make(Op.LT, (x, const(0.0))), make(ceil, (x,)), make(floor, (x,)))
        )
        out["fix"] = out["trunc"]
    if isnan is not None and isfinite is not None:
        out["isinf"] = lambda x: logical_not(logical_or(make(isnan, (x,)), make(isfinite, (x,))))
    return out


COMPOSITE.update({k: v for k, v in _with_ops().items() if k not in COMPOSITE})


def scalar_fn(name: str) -> Callable[..., Expr] | None:
    """The function of expressions that the ufunc ``name`` is, or None if unsupported."""
    op = UFUNC_OPS.get(name)
    if op is not None:
        if op.arity == 1:
            return lambda a: make(op, (a,))
        if op.arity == 2:
            return lambda a, b: make(op, (a, b))
        return lambda *xs: make(op, xs)
    return COMPOSITE.get(name)


def supported() -> list[str]:
    """Every ufunc name that traces (for docs and the catalogue test)."""
    return sorted(set(UFUNC_OPS) | set(COMPOSITE))
