"""The closed table of operations: one row per op, and every fact about an op is in its row.

A row says: the op's arity; its evaluation on Python floats (IEEE-754: ``symgrad.scalar``); how
each backend spells it (``spelling.py``); its SymPy twin (a SymPy name is used both ways: to
build the twin, and by ``from_sympy`` to read it back); the ``sg.`` function it is (``fn_name``,
its parameters and docstring), the NumPy ufunc/function it answers to (``ufunc``, ``np_names``),
the Python operator that builds it (``dunder``); the C helper and libm functions its C spelling
needs (``c_helper``, ``c_libm``); whether ints in give an int out in Python (``int_closed``).
Its derivative rule is the line for the same op in ``autodiff/rules.py`` (written with
expressions, so it lives above the IR); tests/test_ops_table.py holds the two in step.

Derived from this table, never written twice: the ``Op`` enum, the ``sg.`` functions and their
exports (``expr.py``), ``Expr``'s operators and ufunc methods (``ir/methods.py``), ``from_sympy``'s
dispatch, ``sg.Value``'s function methods, the Python backend's int closure, the C backend's
helper and libm needs. Adding an op: one row here, one rule line, one catalogue row in tests.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from . import scalar as s
from .spelling import (  # re-exported: the printers import them from here
    ATOM,
    CMP,
    POWER,
    PROD,
    SUM,
    TERNARY,
    UNARY,
    Template,
    call,
    fn,
    infix,
    same,
    spell,
)


@dataclass(frozen=True)
class OpInfo:
    """One op's facts (a row). ``key`` is its ``Op`` member's name; ``templates`` maps a backend
    to its spelling; ``sympy`` builds the SymPy twin from ``(sympy_module, *args)``."""

    key: str
    arity: int
    on_floats: Callable[..., float]  # the op on Python floats, with IEEE-754 semantics
    templates: dict[str, Template]
    sympy: Callable[..., Any]
    sympy_names: tuple[str, ...] = ()  # SymPy class names from_sympy reads as this op
    fn_name: str | None = None  # the sg. function (None: an operator only)
    params: tuple[str, ...] = ()  # its parameter names (default x / a, b / cond, a, b)
    doc: str = ""  # its docstring
    ufunc: str | None = None  # the NumPy ufunc/function it answers to
    np_names: tuple[str, ...] = ()  # other NumPy names for it (np.mod is np.remainder)
    dunder: str | None = None  # the Python operator protocol that builds it: "add" -> __add__
    c_helper: str | None = None  # the C helper its C spelling calls (backends/c/runtime/<name>.h)
    c_libm: tuple[str, ...] = ()  # the libm functions its C spelling calls (spelling.LIBM)
    int_closed: bool = False  # ints in, an int out, in the python spelling
    commutative: bool = False
    is_condition: bool = False
    value: str | None = None  # the Op member's value, if not key.lower()
    op: Any = None  # its Op member (set when the table is built)

    @property
    def name(self) -> str:
        return self.op.value


def _twin(name: str) -> Callable[..., Any]:
    return lambda sp, *args: getattr(sp, name)(*args)


def _truth(sp: Any, c: Any) -> Any:
    """A SymPy condition for ``where``: conditions as they are, a number c as ``c != 0``."""
    b = sp.logic.boolalg
    boolean = (sp.core.relational.Relational, b.BooleanAtom, b.BooleanFunction)
    return c if isinstance(c, boolean) else sp.Ne(c, 0)


def _ties_first(spellings: dict, name: str) -> dict:
    """NumPy's maximum/minimum give their second argument on a tie (-0.0 against 0.0), the
    other backends their first: the NumPy spelling swaps the arguments, so all agree."""
    return {**spellings, "numpy": Template("np.%s({1}, {0})" % name)}


def _sp_where(sp: Any, c: Any, a: Any, b: Any) -> Any:
    """``Piecewise((a, c), (b, True))``. A condition holding a Piecewise (a comparison of a
    ``where``) is first written as plain logic, ``(c1 & r1) | (~c1 & r2)``: SymPy would
    rewrite it through its inequality solver, which is slow and can raise from inside."""
    cond = _truth(sp, c)
    if cond.has(sp.Piecewise):
        folded = sp.piecewise_fold(cond)
        if isinstance(folded, sp.Piecewise):
            terms, earlier = [], []
            for r, ci in folded.args:  # the first branch whose condition holds is taken
                terms.append(sp.And(*[sp.Not(e) for e in earlier], ci, r))
                earlier.append(ci)
            folded = sp.Or(*terms)
        cond = folded
    return sp.Piecewise((a, cond), (b, True))


def _sp_logic(name: str) -> Callable[..., Any]:
    return lambda sp, a, b: getattr(sp, name)(_truth(sp, a), _truth(sp, b))


def _and(a: float, b: float) -> float:
    return 1.0 if a and b else 0.0  # NaN is true, as in C and NumPy


def _or(a: float, b: float) -> float:
    return 1.0 if a or b else 0.0


def _not(a: float) -> float:
    return 0.0 if a else 1.0


def _logic(py: str, c: str, maths: str, np_fn: str, prec: int, mprec: int):
    """and/or: Python's bind looser than comparisons (and 3, or 2); the maths text's & |
    tighter (7, 6), so a comparison operand gets parentheses there."""
    return spell(
        Template("{0}%s{1}" % maths, mprec, (mprec, mprec + 1)),
        Template("{0}%s{1}" % py, prec, (prec, prec + 1)),
        call(np_fn, 2),
        Template("{0}%s{1}" % c, prec, (prec, prec + 1)),
    )


def _cmp(f: Callable[[float, float], bool]) -> Callable[[float, float], float]:
    return lambda a, b: 1.0 if f(a, b) else 0.0


def _flag(f: Callable[[float], bool]) -> Callable[[float], float]:
    return lambda x: 1.0 if f(x) else 0.0


def _round_twin(sp: Any, a: Any) -> Any:
    """Round half to even in SymPy: lo = ceiling(a - 1/2) and hi = floor(a + 1/2) agree but at a
    tie, where they are n and n + 1 and the even one is lo + Mod(lo, 2)."""
    lo, hi = sp.ceiling(a - sp.Rational(1, 2)), sp.floor(a + sp.Rational(1, 2))
    return lo + sp.Mod(lo, 2) * (hi - lo)


def _relu(x: float) -> float:
    return 0.0 if x < 0.0 else x


def _where(c: float, a: float, b: float) -> float:
    return a if c else b


def _compare(sym: str) -> dict[str, Template]:
    return same(Template("{0}%s{1}" % sym, CMP, (CMP + 1, CMP + 1)))


_NEG_C = Template("-{0}", UNARY, (UNARY + 1,))  # C: "--x" would be a decrement
_WHERE_PY = Template("({1} if {0} else {2})", ATOM, (TERNARY + 1,) * 3)
_WHERE_C = Template("({0} ? {1} : {2})", ATOM, (TERNARY + 1,) * 3)
_POW = infix("**", POWER, right_assoc=True)

# fmt: off
# Each row: key, arity, on floats, spellings, SymPy twin (a name: both ways), then the rest.
ROWS: tuple[OpInfo, ...] = (
    OpInfo("ADD", 2, operator.add, same(infix(" + ", SUM)), _twin("Add"), ("Add",),
        ufunc="add", dunder="add", int_closed=True, commutative=True),
    OpInfo("SUB", 2, operator.sub, same(infix(" - ", SUM)), lambda sp, a, b: a - b,
        ufunc="subtract", dunder="sub", int_closed=True),
    OpInfo("MUL", 2, operator.mul, same(infix("*", PROD)), _twin("Mul"), ("Mul",),
        ufunc="multiply", dunder="mul", int_closed=True, commutative=True),
    OpInfo("DIV", 2, s._div, same(infix("/", PROD), python_ieee=call("_div", 2)),
        lambda sp, a, b: a / b, ufunc="divide", dunder="truediv"),
    OpInfo("POW", 2, s._pow, spell(_POW, call("pow", 2), _POW, call("pow", 2),
        python_ieee=call("_pow", 2)), _twin("Pow"), ("Pow",),
        ufunc="power", dunder="pow", c_libm=("pow",)),
    OpInfo("NEG", 1, operator.neg, same(Template("-{0}", UNARY, (UNARY,)), c=_NEG_C),
        lambda sp, a: -a, ufunc="negative", dunder="neg", int_closed=True),
    OpInfo("ABS", 1, abs, fn("abs", np="np.abs", c="fabs"), _twin("Abs"), ("Abs",),
        ufunc="absolute", dunder="abs", int_closed=True, c_libm=("fabs",)),
    OpInfo("SIGN", 1, s._sign, fn("sign", py="_sign", c="sg_sign"), _twin("sign"), ("sign",),
        fn_name="sign", doc="-1, 0 or 1 by the sign of x (nan for nan).",
        ufunc="sign", c_helper="sg_sign"),
    OpInfo("EXP", 1, s._exp, fn("exp", ieee="_exp"), _twin("exp"), ("exp",),
        fn_name="exp", doc="e**x.", ufunc="exp", c_libm=("exp",)),
    OpInfo("EXPM1", 1, s._expm1, fn("expm1", ieee="_expm1"), lambda sp, a: sp.exp(a) - 1,
        fn_name="expm1", doc="e**x - 1, accurate near 0.", ufunc="expm1", c_libm=("expm1",)),
    OpInfo("LOG", 1, s._log, fn("log", ieee="_log"), _twin("log"), ("log",),
        fn_name="log", doc="Natural logarithm (-inf at 0, nan below).", ufunc="log",
        c_libm=("log",)),
    OpInfo("LOG1P", 1, s._log1p, fn("log1p", ieee="_log1p"), lambda sp, a: sp.log(1 + a),
        fn_name="log1p", doc="log(1 + x), accurate near 0.", ufunc="log1p", c_libm=("log1p",)),
    OpInfo("SQRT", 1, s._sqrt, fn("sqrt", ieee="_sqrt"), lambda sp, a: sp.sqrt(a),
        fn_name="sqrt", doc="Square root (nan below 0).", ufunc="sqrt", c_libm=("sqrt",)),
    OpInfo("SIN", 1, s._sin, fn("sin", ieee="_sin"), _twin("sin"), ("sin",),
        fn_name="sin", doc="Sine.", ufunc="sin", c_libm=("sin",)),
    OpInfo("COS", 1, s._cos, fn("cos", ieee="_cos"), _twin("cos"), ("cos",),
        fn_name="cos", doc="Cosine.", ufunc="cos", c_libm=("cos",)),
    OpInfo("TAN", 1, s._tan, fn("tan", ieee="_tan"), _twin("tan"), ("tan",),
        fn_name="tan", doc="Tangent.", ufunc="tan", c_libm=("tan",)),
    OpInfo("ASIN", 1, s._asin, fn("asin", ieee="_asin", np="np.arcsin"), _twin("asin"), ("asin",),
        fn_name="asin", doc="Arcsine (nan outside [-1, 1]).", ufunc="arcsin", c_libm=("asin",)),
    OpInfo("ACOS", 1, s._acos, fn("acos", ieee="_acos", np="np.arccos"), _twin("acos"), ("acos",),
        fn_name="acos", doc="Arccosine (nan outside [-1, 1]).", ufunc="arccos",
        c_libm=("acos",)),
    OpInfo("ATAN", 1, math.atan, fn("atan", np="np.arctan"), _twin("atan"), ("atan",),
        fn_name="atan", doc="Arctangent.", ufunc="arctan", c_libm=("atan",)),
    OpInfo("ATAN2", 2, math.atan2, fn("atan2", 2, np="np.arctan2"), _twin("atan2"), ("atan2",),
        fn_name="atan2", params=("y", "x"), doc="The angle of the point (x, y), as "
        "math.atan2(y, x).", ufunc="arctan2", c_libm=("atan2",)),
    OpInfo("SINH", 1, s._sinh, fn("sinh", ieee="_sinh"), _twin("sinh"), ("sinh",),
        fn_name="sinh", doc="Hyperbolic sine.", ufunc="sinh", c_libm=("sinh",)),
    OpInfo("COSH", 1, s._cosh, fn("cosh", ieee="_cosh"), _twin("cosh"), ("cosh",),
        fn_name="cosh", doc="Hyperbolic cosine.", ufunc="cosh", c_libm=("cosh",)),
    # C: sg_tanh, a low-latency tanh (docs/c_backend.md)
    OpInfo("TANH", 1, math.tanh, fn("tanh", c="sg_tanh"), _twin("tanh"), ("tanh",),
        fn_name="tanh", doc="Hyperbolic tangent.", ufunc="tanh", c_helper="sg_tanh",
        c_libm=("fabs",)),
    # tanh's derivative (1 - tanh^2 cancels to 0 from |x| ~ 19; this keeps every digit)
    OpInfo("SECH2", 1, s._sech2, spell(call("sech2"), call("_sech2"),
        Template("(1.0 / np.cosh({0}) ** 2)"), call("sg_sech2")), lambda sp, a: sp.sech(a) ** 2,
        fn_name="sech2", doc="sech(x)^2, the derivative of tanh: 1 - tanh(x)^2 without its "
        "cancellation where tanh rounds to +-1.", c_helper="sg_sech2", c_libm=("fabs",)),
    OpInfo("ERF", 1, math.erf, fn("erf", np="_erf"), _twin("erf"), ("erf",),
        fn_name="erf", doc="The error function.", c_libm=("erf",)),
    OpInfo("SIGMOID", 1, s._sigmoid, fn("sigmoid", py="_sigmoid", np="_sigmoid", c="sg_sigmoid"),
        lambda sp, a: 1 / (1 + sp.exp(-a)), fn_name="sigmoid",
        doc="1 / (1 + exp(-x)), evaluated so that no finite x overflows.",
        c_helper="sg_sigmoid", c_libm=("exp", "fabs")),
    OpInfo("RELU", 1, _relu, spell(call("relu"), Template("(0.0 if {0} < 0.0 else {0})"),
        Template("np.maximum(0.0, {0})"), Template("({0} < 0.0 ? 0.0 : {0})")),
        lambda sp, a: sp.Max(0, a), fn_name="relu", doc="max(x, 0); its derivative at 0 is 0.",
        int_closed=True),
    OpInfo("SOFTPLUS", 1, s._softplus, spell(call("softplus"), call("_softplus"),
        Template("np.logaddexp({0}, 0.0)"), call("sg_softplus")),
        lambda sp, a: sp.log(1 + sp.exp(a)), fn_name="softplus",
        doc="log(1 + exp(x)), evaluated so that no finite x overflows.",
        c_helper="sg_softplus", c_libm=("exp", "log1p", "fabs")),
    OpInfo("MAX", 2, s._maximum, _ties_first(fn("max", 2, py="_maximum", c="sg_max"), "maximum"),
        _twin("Max"), ("Max",), value="maximum", fn_name="maximum",
        doc="The larger of a and b (nan if either is nan); a tie splits the gradient evenly.",
        ufunc="maximum", c_helper="sg_max", int_closed=True, commutative=True),
    OpInfo("MIN", 2, s._minimum, _ties_first(fn("min", 2, py="_minimum", c="sg_min"), "minimum"),
        _twin("Min"), ("Min",), value="minimum", fn_name="minimum",
        doc="The smaller of a and b (nan if either is nan); a tie splits the gradient evenly.",
        ufunc="minimum", c_helper="sg_min", int_closed=True, commutative=True),
    OpInfo("WHERE", 3, _where, spell(call("where", 3), _WHERE_PY, call("np.where", 3), _WHERE_C),
        _sp_where, fn_name="where",
        doc="``a`` where ``cond`` holds (is non-zero), else ``b``: the compilable form of "
        "``if``.\n\nThe gradient flows only through the branch taken, never through the "
        "condition, and the branch not taken contributes exactly 0 even where its own "
        "derivative is inf or NaN. ``cond`` is a condition (a comparison, ``sg.eq`` ...) or a "
        "number; a Python bool is refused (``x == y`` is structural).", ufunc="where",
        int_closed=True),
    OpInfo("LT", 2, _cmp(operator.lt), _compare(" < "), _twin("StrictLessThan"),
        ("StrictLessThan",), ufunc="less", dunder="lt", is_condition=True),
    OpInfo("LE", 2, _cmp(operator.le), _compare(" <= "), _twin("LessThan"), ("LessThan",),
        ufunc="less_equal", dunder="le", is_condition=True),
    OpInfo("GT", 2, _cmp(operator.gt), _compare(" > "), _twin("StrictGreaterThan"),
        ("StrictGreaterThan",), ufunc="greater", dunder="gt", is_condition=True),
    OpInfo("GE", 2, _cmp(operator.ge), _compare(" >= "), _twin("GreaterThan"), ("GreaterThan",),
        ufunc="greater_equal", dunder="ge", is_condition=True),
    OpInfo("LOG2", 1, lambda x: math.log2(x) if x > 0.0 else -math.inf if x == 0.0 else math.nan,
        fn("log2") | {"python_ieee": Template("(log2({0}) if {0} > 0.0 else -inf if {0} == 0.0 "
        "else nan)")}, lambda sp, a: sp.log(a, 2), fn_name="log2",
        doc="Base-2 logarithm (-inf at 0, nan below).", ufunc="log2", c_libm=("log2",)),
    # NumPy's functions (API section 8); piecewise-constant ones differentiate to 0
    OpInfo("FLOOR", 1, s._floor, fn("floor", py="_floor"), _twin("floor"), ("floor",),
        fn_name="floor", doc="The largest integer <= x, as a float (-0.0 stays -0.0).",
        ufunc="floor", dunder="floor", c_libm=("floor",)),
    OpInfo("CEIL", 1, s._ceil, fn("ceil", py="_ceil"), _twin("ceiling"), ("ceiling",),
        fn_name="ceil", doc="The smallest integer >= x, as a float (ceil(-0.5) is -0.0).",
        ufunc="ceil", dunder="ceil", c_libm=("ceil",)),
    OpInfo("ROUND", 1, s._round, fn("round", py="_round", np="np.rint", c="rint"), _round_twin,
        fn_name="round", doc="x rounded to the nearest integer, halves to even (NumPy's "
        "np.round and np.rint, C's rint), as a float.", ufunc="rint",
        np_names=("round", "around"), dunder="round", c_libm=("rint",)),
    OpInfo("MOD", 2, s._mod, spell(call("mod", 2), infix(" % ", PROD), call("np.mod", 2),
        call("sg_mod", 2), python_ieee=call("_mod", 2)), _twin("Mod"), ("Mod",), fn_name="mod",
        doc="a mod b, with the sign of b (NumPy's np.mod, Python's %); nan where b is 0.",
        ufunc="remainder", np_names=("mod",), dunder="mod", c_helper="sg_mod",
        c_libm=("fmod",), int_closed=True),
    OpInfo("FMAX", 2, s._fmax, fn("fmax", 2, py="_fmax", c="sg_fmax"), _twin("Max"),
        fn_name="fmax", doc="The larger of a and b, where a nan loses to a number (np.fmax).",
        ufunc="fmax", c_helper="sg_fmax", int_closed=True),
    OpInfo("FMIN", 2, s._fmin, fn("fmin", 2, py="_fmin", c="sg_fmin"), _twin("Min"),
        fn_name="fmin", doc="The smaller of a and b, where a nan loses to a number (np.fmin).",
        ufunc="fmin", c_helper="sg_fmin", int_closed=True),
    OpInfo("LOGADDEXP", 2, s._logaddexp, fn("logaddexp", 2, py="_logaddexp", c="sg_logaddexp"),
        lambda sp, a, b: sp.log(sp.exp(a) + sp.exp(b)), fn_name="logaddexp",
        doc="log(exp(a) + exp(b)), evaluated so that nothing overflows (np.logaddexp).",
        ufunc="logaddexp", c_helper="sg_logaddexp", c_libm=("exp", "log1p", "fabs"),
        commutative=True),
    OpInfo("LOG10", 1, s._log10, fn("log10", ieee="_log10"), lambda sp, a: sp.log(a, 10),
        fn_name="log10", doc="Base-10 logarithm (-inf at 0, nan below).", ufunc="log10",
        c_libm=("log10",)),
    OpInfo("EXP2", 1, s._exp2, spell(call("exp2"), Template("pow(2.0, {0})"), call("np.exp2"),
        call("exp2"), python_ieee=call("_exp2")), lambda sp, a: sp.Integer(2) ** a,
        fn_name="exp2", doc="2**x.", ufunc="exp2", c_libm=("exp2",)),
    OpInfo("ASINH", 1, math.asinh, fn("asinh", np="np.arcsinh"), _twin("asinh"), ("asinh",),
        fn_name="asinh", doc="Inverse hyperbolic sine.", ufunc="arcsinh", c_libm=("asinh",)),
    OpInfo("ACOSH", 1, s._acosh, fn("acosh", ieee="_acosh", np="np.arccosh"), _twin("acosh"),
        ("acosh",), fn_name="acosh", doc="Inverse hyperbolic cosine (nan below 1).",
        ufunc="arccosh", c_libm=("acosh",)),
    OpInfo("ATANH", 1, s._atanh, fn("atanh", ieee="_atanh", np="np.arctanh"), _twin("atanh"),
        ("atanh",), fn_name="atanh", doc="Inverse hyperbolic tangent (+-inf at +-1, nan "
        "beyond).", ufunc="arctanh", c_libm=("atanh",)),
    # Conditions (for sg.where; 1.0 or 0.0 as values); SymPy's symbols are finite reals
    OpInfo("ISNAN", 1, _flag(math.isnan), fn("isnan"), lambda sp, a: sp.false,
        fn_name="isnan", doc="The condition that x is nan (1.0 or 0.0 as a value).",
        ufunc="isnan", is_condition=True),
    OpInfo("ISFINITE", 1, _flag(math.isfinite), fn("isfinite"), lambda sp, a: sp.true,
        fn_name="isfinite", doc="The condition that x is neither inf nor nan (1.0 or 0.0 as a "
        "value).", ufunc="isfinite", is_condition=True),
    OpInfo("NAN_TO_NUM", 1, s._nan_to_num, fn("nan_to_num", py="_nan_to_num",
        c="sg_nan_to_num"), lambda sp, a: a, fn_name="nan_to_num",
        doc="x, with nan as 0.0 and +-inf as the largest finite floats (NumPy's defaults).",
        ufunc="nan_to_num", c_helper="sg_nan_to_num", c_libm=("fabs",), int_closed=True),
    # Conditions of numbers (== and != on Expr stay structural) and of conditions: and/or/not
    # take conditions only (ir.make turns a number x into x != 0); & | ~ are Expr's, by hand.
    OpInfo("EQ", 2, _cmp(operator.eq), _compare(" == "), _twin("Eq"), ("Equality",),
        fn_name="eq", doc="The condition a == b (NaN equals nothing); ``==`` is structural.",
        ufunc="equal", commutative=True, is_condition=True),
    OpInfo("NE", 2, _cmp(operator.ne), _compare(" != "), _twin("Ne"), ("Unequality",),
        fn_name="ne", doc="The condition a != b (true if either is NaN); ``!=`` is structural.",
        ufunc="not_equal", commutative=True, is_condition=True),
    OpInfo("AND", 2, _and, _logic(" and ", " && ", " & ", "np.logical_and", 3, 7),
        _sp_logic("And"), ("And",), fn_name="logical_and", doc="a and b, of conditions (a "
        "number x means x != 0); also a & b.", ufunc="logical_and", dunder="and",
        commutative=True, is_condition=True),
    OpInfo("OR", 2, _or, _logic(" or ", " || ", " | ", "np.logical_or", 2, 6),
        _sp_logic("Or"), ("Or",), fn_name="logical_or", doc="a or b, of conditions (a number "
        "x means x != 0); also a | b.", ufunc="logical_or", dunder="or", commutative=True,
        is_condition=True),
    OpInfo("NOT", 1, _not, spell(Template("~{0}", UNARY, (UNARY,)), Template("not {0}", 3, (CMP,)),
        call("np.logical_not"), Template("!{0}", UNARY, (UNARY + 1,))),
        lambda sp, a: sp.Not(_truth(sp, a)), ("Not",), fn_name="logical_not", doc="not a, of a "
        "condition (a number x means x != 0); also ~a.", ufunc="logical_not", dunder="invert",
        is_condition=True),
)
# fmt: on

Op = Enum(  # type: ignore[misc]
    "Op",
    [("CONST", "const"), ("SYMBOL", "symbol")] + [(r.key, r.value or r.key.lower()) for r in ROWS],
    module=__name__,
)
Op.__doc__ = "Every operation of the IR, one member per row of ``ROWS``; leaves: CONST, SYMBOL."
# Identity hashing (C-level) instead of Enum's Python-level hash of the name: ops key every
# table lookup on the hot paths (construction, the reverse sweep, printing).
Op.__hash__ = object.__hash__  # type: ignore[method-assign]

_DEFAULT_PARAMS = {1: ("x",), 2: ("a", "b"), 3: ("cond", "a", "b")}
for _r in ROWS:
    object.__setattr__(_r, "op", Op[_r.key])
    object.__setattr__(_r, "params", _r.params or _DEFAULT_PARAMS[_r.arity])

INFO: dict[Op, OpInfo] = {r.op: r for r in ROWS}
"""The op table. Every op except the leaves CONST and SYMBOL has exactly one record."""

BY_SYMPY: dict[str, Op] = {n: op for op, i in INFO.items() for n in i.sympy_names}
"""SymPy class name -> op (``from_sympy`` reads SymPy's expressions with it)."""

BY_NUMPY: dict[str, Op] = {
    n: op for op, i in INFO.items() for n in ((i.ufunc,) if i.ufunc else ()) + i.np_names
}
"""NumPy ufunc/function name -> op (what a traced array's ``__array_ufunc__`` dispatches on)."""


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
