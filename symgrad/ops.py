"""The closed table of operations: every fact about an op lives in its one record here.

An op's record says how many arguments it takes, whether they commute, how to evaluate it on
floats (with IEEE-754 semantics), how each backend spells it, and what its SymPy twin is. Its
derivative rule lives beside the reverse sweep (``autodiff/rules.py``) because it is written with
expressions; a test holds the two tables in step.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from . import scalar

# Precedence levels shared by the printers (Python's, which C's agree with where we use them).
TERNARY, CMP, SUM, PROD, UNARY, POWER, ATOM = 1, 4, 10, 11, 12, 13, 20


@dataclass(frozen=True)
class Template:
    """How a backend spells an op: ``text`` with ``{0}, {1} ...`` for the arguments.

    ``prec`` is the precedence of the whole result; ``arg_prec[i]`` is the least precedence the
    i-th argument may have without parentheses. An argument written more than once in ``text``
    must be an atom (a name or a literal), so the printer gives it a name first.
    """

    text: str
    prec: int = ATOM
    arg_prec: tuple[int, ...] = ()

    def render(self, texts: list[str], precs: list[int]) -> str:
        parts = []
        for i, (t, p) in enumerate(zip(texts, precs)):
            need = self.arg_prec[i] if i < len(self.arg_prec) else 0
            parts.append(f"({t})" if p < need else t)
        return self.text.format(*parts)

    def repeats(self, i: int) -> bool:
        return self.text.count("{%d}" % i) > 1


def infix(sym: str, prec: int, right_assoc: bool = False) -> Template:
    """A binary operator; operands of equal precedence keep their grouping (no reassociation)."""
    left, right = (prec + 1, prec) if right_assoc else (prec, prec + 1)
    return Template("{0}%s{1}" % sym, prec, (left, right))


def call(name: str, arity: int = 1) -> Template:
    return Template(f"{name}(" + ", ".join("{%d}" % i for i in range(arity)) + ")")


class Op(Enum):
    """Every operation of the IR. Leaves are CONST and SYMBOL."""

    CONST = "const"
    SYMBOL = "symbol"
    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    POW = "pow"
    NEG = "neg"
    ABS = "abs"
    SIGN = "sign"
    EXP = "exp"
    EXPM1 = "expm1"
    LOG = "log"
    LOG1P = "log1p"
    SQRT = "sqrt"
    SIN = "sin"
    COS = "cos"
    TAN = "tan"
    ASIN = "asin"
    ACOS = "acos"
    ATAN = "atan"
    ATAN2 = "atan2"
    SINH = "sinh"
    COSH = "cosh"
    TANH = "tanh"
    ERF = "erf"
    SIGMOID = "sigmoid"
    RELU = "relu"
    SOFTPLUS = "softplus"
    MAX = "maximum"
    MIN = "minimum"
    WHERE = "where"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"


# Identity hashing (C-level) instead of Enum's Python-level hash of the name: ops key every
# table lookup on the hot paths (construction, the reverse sweep, printing).
Op.__hash__ = object.__hash__  # type: ignore[method-assign]


@dataclass(frozen=True)
class OpInfo:
    """The facts of one op. ``templates`` maps a backend name to its spelling."""

    op: Op
    arity: int
    on_floats: Callable[..., float]  # the op on Python floats, with IEEE-754 semantics
    templates: dict[str, Template]
    sympy: Callable[..., Any] | None = None
    commutative: bool = False
    is_condition: bool = False
    sympy_names: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.op.value


def _truth(sp: Any, c: Any) -> Any:
    """A SymPy condition for ``where``: relations as they are, a number c as ``c != 0``."""
    boolean = (sp.core.relational.Relational, sp.logic.boolalg.BooleanAtom)
    return c if isinstance(c, boolean) else sp.Ne(c, 0)


def _cmp(fn: Callable[[float, float], bool]) -> Callable[[float, float], float]:
    return lambda a, b: 1.0 if fn(a, b) else 0.0


def _fn(
    name: str, ieee: str | None = None, np_name: str | None = None, c_name: str | None = None
) -> dict[str, Template]:
    """Templates of a one-argument function named alike in ``math``, NumPy and C's libm."""
    t = {
        "math": call(name),
        "python": call(name),
        "numpy": call(np_name or f"np.{name}"),
        "c": call(c_name or name),
    }
    if ieee:
        t["python_ieee"] = call(ieee)
    return t


def _same(t: Template, **extra: Template) -> dict[str, Template]:
    return {"math": t, "python": t, "numpy": t, "c": t, **extra}


def _build() -> dict[Op, OpInfo]:
    s = scalar
    rows = [
        OpInfo(
            Op.ADD,
            2,
            operator.add,
            _same(infix(" + ", SUM)),
            lambda sp, a, b: a + b,
            commutative=True,
            sympy_names=("Add",),
        ),
        OpInfo(Op.SUB, 2, operator.sub, _same(infix(" - ", SUM)), lambda sp, a, b: a - b),
        OpInfo(
            Op.MUL,
            2,
            operator.mul,
            _same(infix("*", PROD)),
            lambda sp, a, b: a * b,
            commutative=True,
            sympy_names=("Mul",),
        ),
        OpInfo(
            Op.DIV,
            2,
            s._div,
            _same(infix("/", PROD), python_ieee=call("_div", 2)),
            lambda sp, a, b: a / b,
        ),
        OpInfo(
            Op.POW,
            2,
            s._pow,
            {
                "math": infix("**", POWER, right_assoc=True),
                "python": call("pow", 2),
                "python_ieee": call("_pow", 2),
                "numpy": infix("**", POWER, right_assoc=True),
                "c": call("pow", 2),
            },
            lambda sp, a, b: a**b,
            sympy_names=("Pow",),
        ),
        OpInfo(
            Op.NEG,
            1,
            operator.neg,
            # C: a unary operand is parenthesized, since "--x" would be a decrement.
            _same(Template("-{0}", UNARY, (UNARY,)), c=Template("-{0}", UNARY, (UNARY + 1,))),
            lambda sp, a: -a,
        ),
        OpInfo(
            Op.ABS,
            1,
            abs,
            _fn("abs", np_name="np.abs", c_name="fabs"),
            lambda sp, a: sp.Abs(a),
            sympy_names=("Abs",),
        ),
        OpInfo(
            Op.SIGN,
            1,
            s._sign,
            {
                "math": call("sign"),
                "python": call("_sign"),
                "numpy": call("np.sign"),
                "c": call("sg_sign"),
            },
            lambda sp, a: sp.sign(a),
            sympy_names=("sign",),
        ),
        OpInfo(
            Op.EXP, 1, s._exp, _fn("exp", "_exp"), lambda sp, a: sp.exp(a), sympy_names=("exp",)
        ),
        OpInfo(Op.EXPM1, 1, s._expm1, _fn("expm1", "_expm1"), lambda sp, a: sp.exp(a) - 1),
        OpInfo(
            Op.LOG, 1, s._log, _fn("log", "_log"), lambda sp, a: sp.log(a), sympy_names=("log",)
        ),
        OpInfo(Op.LOG1P, 1, s._log1p, _fn("log1p", "_log1p"), lambda sp, a: sp.log(1 + a)),
        OpInfo(Op.SQRT, 1, s._sqrt, _fn("sqrt", "_sqrt"), lambda sp, a: sp.sqrt(a)),
        OpInfo(
            Op.SIN, 1, s._sin, _fn("sin", "_sin"), lambda sp, a: sp.sin(a), sympy_names=("sin",)
        ),
        OpInfo(
            Op.COS, 1, s._cos, _fn("cos", "_cos"), lambda sp, a: sp.cos(a), sympy_names=("cos",)
        ),
        OpInfo(
            Op.TAN, 1, s._tan, _fn("tan", "_tan"), lambda sp, a: sp.tan(a), sympy_names=("tan",)
        ),
        OpInfo(
            Op.ASIN,
            1,
            s._asin,
            _fn("asin", "_asin", "np.arcsin"),
            lambda sp, a: sp.asin(a),
            sympy_names=("asin",),
        ),
        OpInfo(
            Op.ACOS,
            1,
            s._acos,
            _fn("acos", "_acos", "np.arccos"),
            lambda sp, a: sp.acos(a),
            sympy_names=("acos",),
        ),
        OpInfo(
            Op.ATAN,
            1,
            math.atan,
            _fn("atan", None, "np.arctan"),
            lambda sp, a: sp.atan(a),
            sympy_names=("atan",),
        ),
        OpInfo(
            Op.ATAN2,
            2,
            math.atan2,
            {
                "math": call("atan2", 2),
                "python": call("atan2", 2),
                "numpy": call("np.arctan2", 2),
                "c": call("atan2", 2),
            },
            lambda sp, a, b: sp.atan2(a, b),
            sympy_names=("atan2",),
        ),
        OpInfo(
            Op.SINH,
            1,
            s._sinh,
            _fn("sinh", "_sinh"),
            lambda sp, a: sp.sinh(a),
            sympy_names=("sinh",),
        ),
        OpInfo(
            Op.COSH,
            1,
            s._cosh,
            _fn("cosh", "_cosh"),
            lambda sp, a: sp.cosh(a),
            sympy_names=("cosh",),
        ),
        OpInfo(
            Op.TANH,
            1,
            math.tanh,
            _fn("tanh", c_name="sg_tanh"),  # C: a low-latency tanh (backends/c.py HELPERS)
            lambda sp, a: sp.tanh(a),
            sympy_names=("tanh",),
        ),
        OpInfo(
            Op.ERF,
            1,
            math.erf,
            _fn("erf", None, "_erf"),
            lambda sp, a: sp.erf(a),
            sympy_names=("erf",),
        ),
        OpInfo(
            Op.SIGMOID,
            1,
            s._sigmoid,
            {
                "math": call("sigmoid"),
                "python": call("_sigmoid"),
                "numpy": call("_sigmoid"),
                "c": call("sg_sigmoid"),
            },
            lambda sp, a: 1 / (1 + sp.exp(-a)),
        ),
        OpInfo(
            Op.RELU,
            1,
            lambda x: 0.0 if x < 0.0 else x,
            {
                "math": call("relu"),
                "python": Template("(0.0 if {0} < 0.0 else {0})"),
                "numpy": Template("np.maximum({0}, 0.0)"),
                "c": Template("({0} < 0.0 ? 0.0 : {0})"),
            },
            lambda sp, a: sp.Max(0, a),
        ),
        OpInfo(
            Op.SOFTPLUS,
            1,
            s._softplus,
            {
                "math": call("softplus"),
                "python": call("_softplus"),
                "numpy": Template("np.logaddexp({0}, 0.0)"),
                "c": call("sg_softplus"),
            },
            lambda sp, a: sp.log(1 + sp.exp(a)),
        ),
        OpInfo(
            Op.MAX,
            2,
            s._maximum,
            {
                "math": call("max", 2),
                "python": call("_maximum", 2),
                "numpy": call("np.maximum", 2),
                "c": call("sg_max", 2),
            },
            lambda sp, a, b: sp.Max(a, b),
            commutative=True,
            sympy_names=("Max",),
        ),
        OpInfo(
            Op.MIN,
            2,
            s._minimum,
            {
                "math": call("min", 2),
                "python": call("_minimum", 2),
                "numpy": call("np.minimum", 2),
                "c": call("sg_min", 2),
            },
            lambda sp, a, b: sp.Min(a, b),
            commutative=True,
            sympy_names=("Min",),
        ),
        OpInfo(
            Op.WHERE,
            3,
            lambda c, a, b: a if c else b,
            {
                "math": call("where", 3),
                "python": Template("({1} if {0} else {2})", ATOM, (TERNARY + 1,) * 3),
                "numpy": call("np.where", 3),
                "c": Template("({0} ? {1} : {2})", ATOM, (TERNARY + 1,) * 3),
            },
            lambda sp, c, a, b: sp.Piecewise((a, _truth(sp, c)), (b, True)),
        ),
    ]
    for op, sym, fn, sp_name in [
        (Op.LT, " < ", operator.lt, "StrictLessThan"),
        (Op.LE, " <= ", operator.le, "LessThan"),
        (Op.GT, " > ", operator.gt, "StrictGreaterThan"),
        (Op.GE, " >= ", operator.ge, "GreaterThan"),
    ]:
        t = Template("{0}%s{1}" % sym, CMP, (CMP + 1, CMP + 1))
        rows.append(
            OpInfo(
                op,
                2,
                _cmp(fn),
                _same(t),
                (lambda f: lambda sp, a, b: f(a, b))(fn),
                is_condition=True,
                sympy_names=(sp_name,),
            )
        )
    return {r.op: r for r in rows}


INFO: dict[Op, OpInfo] = _build()
"""The op table. Every op except the leaves CONST and SYMBOL has exactly one record."""


def template(op: Op, backend: str) -> Template:
    """The spelling of ``op`` for ``backend``; a variant such as ``python_ieee`` falls back to
    its base backend (``python``) for ops it does not override."""
    ts = INFO[op].templates
    t = ts.get(backend)
    if t is None:
        base = backend.split("_", 1)[0]
        t = ts.get(base)
    if t is None:
        raise NotImplementedError(f"op {op.value!r} has no template for backend {backend!r}")
    return t
