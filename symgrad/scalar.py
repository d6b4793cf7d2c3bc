"""Scalar functions with IEEE-754 semantics on Python floats.

Python's ``math`` raises where IEEE-754 returns inf or NaN (``1/0``, ``log(-1)``, ``exp(1000)``).
symgrad's semantics are IEEE's, so that every backend (Python, NumPy, C) and the reference
interpreter agree. These functions are that semantics for Python floats: ``evaluate`` calls them,
and the Python backend pastes their source into generated modules (so each may use only ``math``
names and the other functions of this module).
"""

from math import (
    acos,
    acosh,
    asin,
    atanh,
    ceil,
    copysign,
    cos,
    cosh,
    exp,
    expm1,
    floor,
    inf,
    log,
    log1p,
    log10,
    nan,
    pow,
    sin,
    sinh,
    sqrt,
    tan,
)

# --- helpers used by the fast path too (they never raise) ------------------------------------


def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + exp(-x))
    z = exp(x)
    return z / (1.0 + z)


def _sech2(x):
    # sech(x)^2 = 4e / (1 + e)^2 with e = exp(-2|x|) <= 1: no cancellation, no overflow
    e = exp(-2.0 * abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def _softplus(x):
    return (x if x > 0.0 else 0.0) + log1p(exp(-abs(x)))


def _maximum(a, b):
    return a if a >= b else (b if b > a else a + b)


def _minimum(a, b):
    return a if a <= b else (b if b < a else a + b)


def _sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else x * 0.0)


# --- IEEE versions of the operations that raise in Python ------------------------------------


def _div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return nan
        return copysign(inf, a) * copysign(1.0, b)


def _pow(a, b):
    try:
        return pow(a, b)
    except OverflowError:
        return -inf if (a < 0.0 and b % 2.0 == 1.0) else inf
    except ValueError:
        if a == 0.0:
            return copysign(inf, a) if b % 2.0 == 1.0 else inf
        return nan


def _exp(x):
    try:
        return exp(x)
    except OverflowError:
        return inf


def _expm1(x):
    try:
        return expm1(x)
    except OverflowError:
        return inf


def _log(x):
    if x > 0.0:
        return log(x)
    return -inf if x == 0.0 else nan


def _log1p(x):
    if x > -1.0:
        return log1p(x)
    return -inf if x == -1.0 else nan


def _sqrt(x):
    return sqrt(x) if x >= 0.0 else nan


def _sin(x):
    return sin(x) if -inf < x < inf else nan


def _cos(x):
    return cos(x) if -inf < x < inf else nan


def _tan(x):
    return tan(x) if -inf < x < inf else nan


def _asin(x):
    return asin(x) if -1.0 <= x <= 1.0 else nan


def _acos(x):
    return acos(x) if -1.0 <= x <= 1.0 else nan


def _sinh(x):
    try:
        return sinh(x)
    except OverflowError:
        return copysign(inf, x)


def _cosh(x):
    try:
        return cosh(x)
    except OverflowError:
        return inf


# --- NumPy's functions that math spells differently or not at all (never raise) ------------


def _integral(r, x):
    # r (floor, ceil, round) of x as a float, keeping x's sign (floor(-0.0) and ceil(-0.5)
    # are -0.0); from 2**52 on every float is an integer, and inf and nan are themselves
    if -4503599627370496.0 < x < 4503599627370496.0:
        return copysign(float(r(x)), x)
    return float(x)


def _floor(x):
    return _integral(floor, x)


def _ceil(x):
    return _integral(ceil, x)


def _round(x):
    return _integral(round, x)  # half to even, as NumPy's rint and C's rint


def _mod(a, b):
    # NumPy's np.mod and Python's %: the result has the divisor's sign; nan for b == 0
    return a % b if b != 0.0 else nan


def _fmax(a, b):
    # NumPy's np.fmax: a nan loses to a number
    return a if a >= b or b != b else b


def _fmin(a, b):
    return a if a <= b or b != b else b


def _logaddexp(a, b):
    # NumPy's np.logaddexp: log(exp(a) + exp(b)) without overflow; a == b (inf too) gives
    # a + log(2)
    if a == b:
        return a + 0.6931471805599453
    d = a - b
    if d > 0.0:
        return a + log1p(exp(-d))
    if d <= 0.0:
        return b + log1p(exp(d))
    return d  # nan


def _nan_to_num(x):
    # NumPy's defaults: nan -> 0, +-inf -> the largest finite float of that sign
    if -inf < x < inf:
        return x
    return 0.0 if x != x else copysign(1.7976931348623157e308, x)


def _log10(x):
    if x > 0.0:
        return log10(x)
    return -inf if x == 0.0 else nan


def _exp2(x):
    try:
        return pow(2.0, x)
    except OverflowError:
        return inf


def _acosh(x):
    return acosh(x) if x >= 1.0 else nan


def _atanh(x):
    if -1.0 < x < 1.0:
        return atanh(x)
    return copysign(inf, x) if x == 1.0 or x == -1.0 else nan
