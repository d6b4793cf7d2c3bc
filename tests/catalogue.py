"""The catalogue of ops for table-driven tests: one row per op of the table.

Each row builds the op from arbitrary real arguments in a way that keeps it inside its domain
(log of ``1 + a*a``, division by ``1 + b*b`` ...), so random compositions stay finite and
smooth almost everywhere, and says whether the op has kinks (where finite differences are not
expected to match).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import symgrad as sg
from symgrad.ops import INFO, Op


@dataclass(frozen=True)
class Row:
    op: Op
    arity: int
    build: Callable[..., sg.Expr]
    kinked: bool = False


def _pos(a):
    return 1.0 + a * a


ROWS: list[Row] = [
    Row(Op.ADD, 2, lambda a, b: a + b),
    Row(Op.SUB, 2, lambda a, b: a - b),
    Row(Op.MUL, 2, lambda a, b: a * b),
    Row(Op.DIV, 2, lambda a, b: a / _pos(b)),
    Row(Op.POW, 2, lambda a, b: _pos(a) ** sg.tanh(b)),
    Row(Op.NEG, 1, lambda a: -a),
    Row(Op.ABS, 1, lambda a: abs(a), kinked=True),
    Row(Op.SIGN, 1, lambda a: sg.sign(a) * a, kinked=True),
    Row(Op.EXP, 1, lambda a: sg.exp(sg.tanh(a) * 3.0)),
    Row(Op.EXPM1, 1, lambda a: sg.expm1(sg.sin(a))),
    Row(Op.LOG, 1, lambda a: sg.log(_pos(a))),
    Row(Op.LOG1P, 1, lambda a: sg.log1p(a * a)),
    Row(Op.SQRT, 1, lambda a: sg.sqrt(_pos(a))),
    Row(Op.SIN, 1, lambda a: sg.sin(a)),
    Row(Op.COS, 1, lambda a: sg.cos(a)),
    Row(Op.TAN, 1, lambda a: sg.tan(sg.tanh(a))),
    Row(Op.ASIN, 1, lambda a: sg.asin(0.9 * sg.tanh(a))),
    Row(Op.ACOS, 1, lambda a: sg.acos(0.9 * sg.tanh(a))),
    Row(Op.ATAN, 1, lambda a: sg.atan(a)),
    Row(Op.ATAN2, 2, lambda a, b: sg.atan2(a, _pos(b))),
    Row(Op.SINH, 1, lambda a: sg.sinh(sg.tanh(a))),
    Row(Op.COSH, 1, lambda a: sg.cosh(sg.tanh(a))),
    Row(Op.TANH, 1, lambda a: sg.tanh(a)),
    Row(Op.SECH2, 1, lambda a: sg.sech2(a)),
    Row(Op.ERF, 1, lambda a: sg.erf(a)),
    Row(Op.SIGMOID, 1, lambda a: sg.sigmoid(a)),
    Row(Op.RELU, 1, lambda a: sg.relu(a), kinked=True),
    Row(Op.SOFTPLUS, 1, lambda a: sg.softplus(a)),
    Row(Op.MAX, 2, lambda a, b: sg.maximum(a, b), kinked=True),
    Row(Op.MIN, 2, lambda a, b: sg.minimum(a, b), kinked=True),
    Row(Op.WHERE, 2, lambda a, b: sg.where(a < b, a * b, a + b), kinked=True),
    Row(Op.LT, 2, lambda a, b: sg.where(a < b, a, b), kinked=True),
    Row(Op.LE, 2, lambda a, b: sg.where(a <= b, sg.sin(a), b), kinked=True),
    Row(Op.GT, 2, lambda a, b: sg.where(a > b, a, sg.cos(b)), kinked=True),
    Row(Op.GE, 2, lambda a, b: sg.where(a >= b, a * a, b), kinked=True),
    Row(Op.LOG2, 1, lambda a: sg.log2(_pos(a))),
    Row(Op.FLOOR, 1, lambda a: sg.floor(2.0 * a) * sg.sin(a), kinked=True),
    Row(Op.CEIL, 1, lambda a: sg.ceil(a) * a, kinked=True),
    Row(Op.ROUND, 1, lambda a: sg.round(1.5 * a) + a * a, kinked=True),
    # a divisor of either sign, at least 3 away from 0
    Row(Op.MOD, 2, lambda a, b: sg.mod(3.0 * a, b + 3.0 * sg.sign(b)), kinked=True),
    Row(Op.FMAX, 2, lambda a, b: sg.fmax(a, b), kinked=True),
    Row(Op.FMIN, 2, lambda a, b: sg.fmin(a, b * b), kinked=True),
    Row(Op.LOGADDEXP, 2, lambda a, b: sg.logaddexp(a, 2.0 * b)),
    Row(Op.LOG10, 1, lambda a: sg.log10(_pos(a))),
    Row(Op.EXP2, 1, lambda a: sg.exp2(sg.tanh(a) * 3.0)),
    Row(Op.ASINH, 1, lambda a: sg.asinh(a)),
    Row(Op.ACOSH, 1, lambda a: sg.acosh(1.0 + _pos(a))),
    Row(Op.ATANH, 1, lambda a: sg.atanh(0.9 * sg.tanh(a))),
    Row(Op.ISNAN, 2, lambda a, b: sg.where(sg.isnan(a), b, a * b)),
    Row(Op.ISFINITE, 2, lambda a, b: sg.where(sg.isfinite(a), sg.sin(a), b)),
    Row(Op.NAN_TO_NUM, 2, lambda a, b: sg.nan_to_num(a * b)),
    Row(Op.EQ, 2, lambda a, b: sg.where(sg.eq(a, b), a * a, a * b), kinked=True),
    Row(Op.NE, 2, lambda a, b: sg.where(sg.ne(a, b), sg.sin(a), b), kinked=True),
    Row(Op.AND, 2, lambda a, b: sg.where((a > 0) & (b < 1), a * b, b), kinked=True),
    Row(Op.OR, 2, lambda a, b: sg.where((a > 0) | (b < 1), a, a * b), kinked=True),
    Row(Op.NOT, 1, lambda a: sg.where(~(a > 0.5), sg.exp(a), a), kinked=True),
]

BY_OP = {r.op: r for r in ROWS}

# Every op of the table has a row: a new op without one fails test_catalogue_covers_table.
TABLE_OPS = set(INFO)
