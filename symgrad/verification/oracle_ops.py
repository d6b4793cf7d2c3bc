"""Each op's value and partial derivatives in mpmath, written apart from ``autodiff/rules.py``.

The oracle (``oracle.py``) evaluates expressions with these entries only, so a mistake in a
derivative rule, a pass or a printer cannot reach it. Every entry is written from the
textbook derivative, deliberately not from the rule's form (``sigmoid' = 1/(4 cosh^2(x/2))``
here, ``sigmoid(x) sigmoid(-x)`` there). Values follow IEEE-754's real semantics (a result outside the real
domain is NaN, a pole is inf); kinks follow the contract (API section 2): ``relu'(0) = 0``,
``abs'(0) = 0``, ``maximum``/``minimum`` split evenly on a tie, ``where`` passes the tangent of
the branch taken only. A test fails when an op of the op table has no entry here.

An entry is ``(value, d1, d2)``, each called with the mpmath context ``M`` first:
``value(M, *args)``; ``d1(M, out, *args)`` the tuple of first partials;
``d2(M, out, *args)`` a dict ``{(i, j): second partial}`` for ``i <= j`` (absent keys are 0).
"""

# ruff: noqa: E501  (the table keeps one op a row, so that a column can be scanned)
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Entry(NamedTuple):
    value: Callable[..., Any]
    d1: Callable[..., tuple]
    d2: Callable[..., dict]


def _nan(M):
    return M.nan


def _div(M, a, b):
    if b == 0:  # IEEE: x/0 is a signed inf, 0/0 and nan/0 are NaN
        return M.nan if (a == 0 or M.isnan(a)) else (M.inf if a > 0 else -M.inf)
    return a / b


def _log(M, a):
    if M.isnan(a) or a < 0:
        return M.nan
    return -M.inf if a == 0 else M.log(a)


def _sqrt(M, a):
    return M.nan if (M.isnan(a) or a < 0) else M.sqrt(a)


def _pow(M, a, b):
    if M.isnan(a) or M.isnan(b):
        return M.one if b == 0 else M.nan
    if a == 0:
        if b == 0:
            return M.one
        return M.zero if b > 0 else M.inf
    if a < 0 and not M.isint(b):
        return M.nan
    return M.power(a, b)


def _trig(M, fn, a):
    return M.nan if not M.isfinite(a) else fn(a)


def _inside(M, fn, a, lo, hi):
    return fn(a) if (lo <= a <= hi) else M.nan


def _sign(M, a):
    return M.nan if M.isnan(a) else (M.one if a > 0 else (-M.one if a < 0 else M.zero))


def _sigmoid(M, a):
    return M.one / (M.one + M.exp(-a))


def _softplus(M, a):
    return a + M.log1p(M.exp(-a)) if a > 0 else M.log1p(M.exp(a))


def _choice(a_wins, tie):
    """Partials of max/min: the winner takes the tangent, a tie splits it evenly."""

    def d1(M, out, a, b):
        if a_wins(a, b):
            return (M.one, M.zero)
        if a_wins(b, a):
            return (M.zero, M.one)
        return (M.mpf(0.5), M.mpf(0.5)) if tie(a, b) else (M.nan, M.nan)

    return d1


def _maxv(M, a, b):
    return M.nan if (M.isnan(a) or M.isnan(b)) else (a if a >= b else b)


def _minv(M, a, b):
    return M.nan if (M.isnan(a) or M.isnan(b)) else (a if a <= b else b)


def _truth(c) -> bool:
    return bool(c != 0)  # NaN is true, as in C, Python and NumPy


def _round_half_even(M, a):
    if not M.isfinite(a):
        return a
    f = M.floor(a)
    d = a - f
    if d > 0.5 or (d == 0.5 and M.floor(f / 2) * 2 != f):
        return f + 1
    return f


def _mod(M, a, b):  # Python's and NumPy's %: the result takes the divisor's sign
    if b == 0 or not M.isfinite(a) or M.isnan(b):
        return M.nan
    if M.isinf(b):
        return a if (a >= 0) == (b > 0) else b
    return a - b * M.floor(a / b)


def _fm(pick):
    """fmax/fmin: a NaN argument is ignored."""

    def value(M, a, b):
        if M.isnan(a):
            return b
        if M.isnan(b):
            return a
        return pick(M, a, b)

    return value


def _fm_d1(inner):
    def d1(M, out, a, b):
        if M.isnan(a):
            return (M.zero, M.one)
        if M.isnan(b):
            return (M.one, M.zero)
        return inner(M, out, a, b)

    return d1


def _logaddexp(M, a, b):
    if M.isinf(a) and a < 0:
        return b
    if M.isinf(b) and b < 0:
        return a
    m = a if a >= b else b
    return m + M.log1p(M.exp(-abs(a - b)))


def _nan_to_num(M, a):
    if M.isnan(a):
        return M.zero
    if M.isinf(a):
        big = M.mpf(1.7976931348623157e308)
        return big if a > 0 else -big
    return a


def _cond(fn):
    """A condition: 1 or 0, with no derivative (it passes no tangent)."""
    return Entry(
        lambda M, *a: M.one if fn(M, *a) else M.zero,
        lambda M, out, *a: (M.zero,) * len(a),
        _none,
    )


def _none(M, out, *args) -> dict:
    return {}


def _one(M, out, a):
    return (M.one,)


def _unary(value, d1, d2=None) -> Entry:
    """An entry of a one-argument op from ``d1(M, out, a)`` and ``d2(M, out, a)`` scalars."""
    return Entry(
        value,
        lambda M, out, a: (d1(M, out, a),),
        (lambda M, out, a: {(0, 0): d2(M, out, a)}) if d2 else _none,
    )


def _sech2(M, a):
    return M.one / M.cosh(a) ** 2


def _atan2_d1(M, out, y, x):
    r2 = x * x + y * y
    return (_div(M, x, r2), _div(M, -y, r2))


def _atan2_d2(M, out, y, x):
    r4 = (x * x + y * y) ** 2
    return {(0, 0): _div(M, -2 * x * y, r4), (0, 1): _div(M, y * y - x * x, r4),
            (1, 1): _div(M, 2 * x * y, r4)}  # fmt: skip


def _pow_d1(M, out, a, b, need_b=True):
    da = b * _pow(M, a, b - 1) if b != 0 else M.zero
    if not need_b:  # a constant exponent (x**2): no logarithm to compute
        db = M.nan
    elif a == 0 and b > 0:
        db = M.zero  # d/db 0**b = 0 for b > 0 (the limit of a**b log a)
    else:
        db = out * _log(M, a)
    return (da, db)


def _pow_d2(M, out, a, b):
    la = M.zero if (a == 0 and b > 0) else _log(M, a)
    daa = b * (b - 1) * _pow(M, a, b - 2) if b not in (0, 1) else M.zero
    dab = _pow(M, a, b - 1) * (1 + b * la) if not (a == 0 and b > 1) else M.zero
    return {(0, 0): daa, (0, 1): dab, (1, 1): out * la * la}


def _sq(x):
    return x * x


ENTRIES: dict[str, Entry] = {
    # op name: (value, first partials, second partials)  -- the textbook derivative beside each
    "add": Entry(lambda M, a, b: a + b, lambda M, o, a, b: (M.one, M.one), _none),
    "sub": Entry(lambda M, a, b: a - b, lambda M, o, a, b: (M.one, -M.one), _none),
    "mul": Entry(lambda M, a, b: a * b, lambda M, o, a, b: (b, a), lambda M, o, a, b: {(0, 1): M.one}),
    "div": Entry(_div, lambda M, o, a, b: (_div(M, M.one, b), _div(M, -a, b * b)),  # (1/b, -a/b^2)
                 lambda M, o, a, b: {(0, 1): _div(M, -M.one, b * b), (1, 1): _div(M, 2 * a, b ** 3)}),
    "pow": Entry(_pow, _pow_d1, _pow_d2),  # (b a^(b-1), a^b ln a)
    "neg": Entry(lambda M, a: -a, lambda M, o, a: (-M.one,), _none),
    "abs": _unary(lambda M, a: abs(a), lambda M, o, a: _sign(M, a), lambda M, o, a: M.zero),
    "sign": _unary(_sign, lambda M, o, a: M.zero),
    "exp": _unary(lambda M, a: M.exp(a), lambda M, o, a: M.exp(a), lambda M, o, a: M.exp(a)),
    "expm1": _unary(lambda M, a: M.expm1(a), lambda M, o, a: M.exp(a), lambda M, o, a: M.exp(a)),
    "log": _unary(_log, lambda M, o, a: _div(M, M.one, a), lambda M, o, a: _div(M, -M.one, a * a)),
    "log1p": _unary(lambda M, a: _log(M, 1 + a), lambda M, o, a: _div(M, M.one, 1 + a),
                    lambda M, o, a: _div(M, -M.one, _sq(1 + a))),
    "sqrt": _unary(_sqrt, lambda M, o, a: _div(M, M.one, 2 * _sqrt(M, a)),  # 1/(2 sqrt a)
                   lambda M, o, a: _div(M, -M.one, 4 * _sqrt(M, a) ** 3)),
    "sin": _unary(lambda M, a: _trig(M, M.sin, a), lambda M, o, a: M.cos(a), lambda M, o, a: -M.sin(a)),
    "cos": _unary(lambda M, a: _trig(M, M.cos, a), lambda M, o, a: -M.sin(a), lambda M, o, a: -M.cos(a)),
    "tan": _unary(lambda M, a: _trig(M, M.tan, a), lambda M, o, a: M.sec(a) ** 2,  # sec^2
                  lambda M, o, a: 2 * M.tan(a) * M.sec(a) ** 2),
    "asin": _unary(lambda M, a: _inside(M, M.asin, a, -1, 1),
                   lambda M, o, a: _div(M, M.one, _sqrt(M, 1 - a * a)),
                   lambda M, o, a: _div(M, a, _sqrt(M, 1 - a * a) ** 3)),
    "acos": _unary(lambda M, a: _inside(M, M.acos, a, -1, 1),
                   lambda M, o, a: _div(M, -M.one, _sqrt(M, 1 - a * a)),
                   lambda M, o, a: _div(M, -a, _sqrt(M, 1 - a * a) ** 3)),
    "atan": _unary(lambda M, a: M.atan(a), lambda M, o, a: 1 / (1 + a * a),
                   lambda M, o, a: -2 * a / _sq(1 + a * a)),
    "atan2": Entry(lambda M, y, x: M.atan2(y, x), _atan2_d1, _atan2_d2),
    "sinh": _unary(lambda M, a: M.sinh(a), lambda M, o, a: M.cosh(a), lambda M, o, a: M.sinh(a)),
    "cosh": _unary(lambda M, a: M.cosh(a), lambda M, o, a: M.sinh(a), lambda M, o, a: M.cosh(a)),
    "tanh": _unary(lambda M, a: M.tanh(a), lambda M, o, a: _sech2(M, a),  # sech^2
                   lambda M, o, a: -2 * M.tanh(a) * _sech2(M, a)),
    "sech2": _unary(_sech2, lambda M, o, a: -2 * M.tanh(a) * _sech2(M, a),
                    lambda M, o, a: _sech2(M, a) * (4 * M.tanh(a) ** 2 - 2 * _sech2(M, a))),
    "erf": _unary(lambda M, a: M.erf(a), lambda M, o, a: 2 / M.sqrt(M.pi) * M.exp(-a * a),
                  lambda M, o, a: -4 * a / M.sqrt(M.pi) * M.exp(-a * a)),
    "sigmoid": _unary(_sigmoid, lambda M, o, a: 1 / (4 * M.cosh(a / 2) ** 2),  # 1/(4 cosh^2(a/2))
                      lambda M, o, a: -M.sinh(a / 2) / (4 * M.cosh(a / 2) ** 3)),
    "relu": _unary(lambda M, a: a if a > 0 else (M.nan if M.isnan(a) else M.zero),
                   lambda M, o, a: M.one if a > 0 else M.zero, lambda M, o, a: M.zero),
    "softplus": _unary(_softplus, lambda M, o, a: _sigmoid(M, a),
                       lambda M, o, a: 1 / (4 * M.cosh(a / 2) ** 2)),
    "maximum": Entry(_maxv, _choice(lambda a, b: a > b, lambda a, b: a == b), _none),
    "minimum": Entry(_minv, _choice(lambda a, b: a < b, lambda a, b: a == b), _none),
    # where: handled by selection in oracle.py (the branch not taken contributes nothing)
    "where": Entry(lambda M, c, a, b: a if _truth(c) else b,
                   lambda M, o, c, a, b: (M.zero, M.one, M.zero) if _truth(c) else (M.zero, M.zero, M.one),
                   _none),
    "lt": _cond(lambda M, a, b: a < b),
    "le": _cond(lambda M, a, b: a <= b),
    "gt": _cond(lambda M, a, b: a > b),
    "ge": _cond(lambda M, a, b: a >= b),
    "eq": _cond(lambda M, a, b: a == b),
    "ne": _cond(lambda M, a, b: not (a == b)),
    "and": _cond(lambda M, a, b: _truth(a) and _truth(b)),
    "or": _cond(lambda M, a, b: _truth(a) or _truth(b)),
    "not": _cond(lambda M, a: not _truth(a)),
    # the ops of API section 8 (piecewise-constant ones have derivative 0 almost everywhere)
    "floor": _unary(lambda M, a: M.floor(a) if M.isfinite(a) else a, lambda M, o, a: M.zero),
    "ceil": _unary(lambda M, a: M.ceil(a) if M.isfinite(a) else a, lambda M, o, a: M.zero),
    "round": _unary(_round_half_even, lambda M, o, a: M.zero),
    "mod": Entry(_mod, lambda M, o, a, b: (M.one, -M.floor(a / b) if b != 0 else M.nan), _none),
    "fmax": Entry(_fm(_maxv), _fm_d1(_choice(lambda a, b: a > b, lambda a, b: a == b)), _none),
    "fmin": Entry(_fm(_minv), _fm_d1(_choice(lambda a, b: a < b, lambda a, b: a == b)), _none),
    "logaddexp": Entry(_logaddexp,
                       lambda M, o, a, b: (_sigmoid(M, a - b), _sigmoid(M, b - a)),
                       lambda M, o, a, b: {(0, 0): (s := _sigmoid(M, a - b)) * (1 - s),
                                           (0, 1): -s * (1 - s), (1, 1): s * (1 - s)}),
    "log2": _unary(lambda M, a: _div(M, _log(M, a), M.ln2), lambda M, o, a: _div(M, M.one, a * M.ln2),
                   lambda M, o, a: _div(M, -M.one, a * a * M.ln2)),
    "log10": _unary(lambda M, a: _div(M, _log(M, a), M.ln10), lambda M, o, a: _div(M, M.one, a * M.ln10),
                    lambda M, o, a: _div(M, -M.one, a * a * M.ln10)),
    "exp2": _unary(lambda M, a: M.power(2, a), lambda M, o, a: M.power(2, a) * M.ln2,
                   lambda M, o, a: M.power(2, a) * M.ln2 ** 2),
    "asinh": _unary(lambda M, a: M.asinh(a), lambda M, o, a: 1 / M.sqrt(a * a + 1),
                    lambda M, o, a: -a / M.sqrt(a * a + 1) ** 3),
    "acosh": _unary(lambda M, a: M.acosh(a) if a >= 1 else M.nan,
                    lambda M, o, a: _div(M, M.one, _sqrt(M, a * a - 1)),
                    lambda M, o, a: _div(M, -a, _sqrt(M, a * a - 1) ** 3)),
    "atanh": _unary(lambda M, a: _inside(M, M.atanh, a, -1, 1) if abs(a) != 1 else M.inf * a,
                    lambda M, o, a: _div(M, M.one, 1 - a * a),
                    lambda M, o, a: _div(M, 2 * a, _sq(1 - a * a))),
    "isnan": _cond(lambda M, a: M.isnan(a)),
    "isfinite": _cond(lambda M, a: M.isfinite(a)),
    "nan_to_num": _unary(_nan_to_num, lambda M, o, a: M.one if M.isfinite(a) else M.zero,
                         lambda M, o, a: M.zero),
}  # fmt: skip

FIRST_ONLY = {"pow": lambda M, out, a, b: _pow_d1(M, out, a, b, need_b=False)}
"""Cheaper partials for when only the first argument carries tangents (``x**2``)."""

SELECTS = frozenset({"where"})
"""Ops whose tangent is the chosen argument's, copied rather than multiplied (no 0 * NaN)."""


def entry(op: Any) -> Entry:
    """The oracle's entry for ``op`` (an ``Op``); ``NotImplementedError`` names a missing one."""
    hit = ENTRIES.get(op.value)
    if hit is None:
        raise NotImplementedError(
            f"the verification oracle has no entry for op {op.value!r}; add its mpmath value "
            "and partials to symgrad/verification/oracle_ops.py"
        )
    return hit
