"""``make``: the one way an operation node is built, with folding and canonical forms.

At construction a node whose arguments are all constant is folded to a constant, the
arguments of a commutative op are ordered by serial (so ``a+b`` and ``b+a`` are one node), and
the rewrite table ``SIMPLIFY`` below applies its IEEE-safe identities, one rule a line with the
identity beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ops import INFO, Op
from . import intern as _intern_state
from .intern import _intern, _interned, const
from .node import Expr, is_condition
from .squares import is_sum_of_squares

for _i, _op in enumerate(Op):
    # Facts that `make` needs on every call, as plain attributes of the op (no table lookup).
    _op.code = _i  # a small int per op, for intern keys
    _op.arity = INFO[_op].arity if _op in INFO else 0
    _op.commutes = INFO[_op].commutative if _op in INFO else False
    _op.logic = _op.name in ("AND", "OR", "NOT")  # operands are conditions (see `make`)
_CONST, _NEG, _MUL, _DIV, _ADD, _SUB = Op.CONST, Op.NEG, Op.MUL, Op.DIV, Op.ADD, Op.SUB
_SQRT = Op.SQRT


def _is(v: float) -> Callable[[Expr], bool]:
    return lambda e: e.op is Op.CONST and e.payload == v


def _neg(e: Expr) -> bool:
    return e.op is Op.NEG


def _num(e: Expr) -> bool:
    return e.op is Op.CONST


def _lead(e: Expr) -> bool:
    """Whether ``e`` is a negative constant, or a product or quotient led by one (``-2.0*x/y``)
    at most two levels down its first arguments: its text starts with a minus sign. (Deeper,
    the flipped chain duplicates shared nodes more often than it saves: Rosenbrock's Hessian
    grows by a sixth at four levels, measured.)"""
    op = e.op  # unrolled: make asks this of every sum of products
    if op is _MUL or op is _DIV:
        e = e.args[0]
        op = e.op
        if op is _MUL or op is _DIV:
            e = e.args[0]
            op = e.op
    return op is _CONST and e.payload < 0


def _flip(e: Expr) -> Expr:
    """``-e`` for ``_lead(e)``: the leading constant negated (exact: IEEE products and
    quotients are sign-symmetric, signed zeros and infinities included)."""
    spine = []
    while e.op is not _CONST:
        spine.append(e)
        e = e.args[0]
    out = const(-e.payload)
    for node in reversed(spine):
        out = make(node.op, (out, node.args[1]))
    return out


_ZERO, _ONE, _MINUS_ONE = _is(0.0), _is(1.0), _is(-1.0)
_Rule = tuple[tuple[Any, Any], Callable[[Expr, Any], bool], Callable[[Expr, Any], Expr]]
# What a row's test needs of each argument's op, checked before the test is called (a row can
# fire only where its `when` admits the arguments' ops; None admits any).
_C, _N = frozenset({Op.CONST}), frozenset({Op.NEG})
_CM = frozenset({Op.CONST, Op.MUL, Op.DIV})  # what _lead can hold of
_SQ = frozenset({Op.SQRT})
_X = None  # any op

# Identities that hold for every float, inf and NaN included (IEEE-safe; only the sign of a
# zero may differ, as in x+0 with x=-0.0; negation is exact). Never x*0 -> 0 or x-x -> 0: both
# are wrong for inf and NaN. Per op, tried in order; the first whose test holds rewrites.
# Each row: (what it needs of the arguments' ops, the test, the rewrite).
SIMPLIFY: dict[Op, tuple[_Rule, ...]] = {
    Op.NEG: (
        ((_N, _X), lambda a, _: _neg(a), lambda a, _: a.args[0]),  # --x -> x
        ((_CM, _X), lambda a, _: _lead(a), lambda a, _: _flip(a)),  # -(-c*x/y) -> c*x/y
        (
            (_CM, _X),
            lambda a, _: a.op is Op.MUL and _num(a.args[0]),  # -(c*x) -> (-c)*x
            lambda a, _: make(Op.MUL, (const(-a.args[0].payload), a.args[1])),
        ),
        (
            (_CM, _X),
            lambda a, _: a.op is Op.MUL and _num(a.args[1]),  # -(x*c) -> (-c)*x
            lambda a, _: make(Op.MUL, (const(-a.args[1].payload), a.args[0])),
        ),
    ),
    Op.ADD: (
        ((_X, _C), lambda a, b: _ZERO(b), lambda a, b: a),  # x+0 -> x
        ((_C, _X), lambda a, b: _ZERO(a), lambda a, b: b),  # 0+x -> x
        (
            (_X, _N),
            lambda a, b: _neg(b),
            lambda a, b: make(Op.SUB, (a, b.args[0])),
        ),  # a+(-b) -> a-b
        (
            (_N, _X),
            lambda a, b: _neg(a),
            lambda a, b: make(Op.SUB, (b, a.args[0])),
        ),  # (-a)+b -> b-a
        ((_X, _CM), lambda a, b: _lead(b), lambda a, b: make(Op.SUB, (a, _flip(b)))),  # a+(-c*x)
        ((_CM, _X), lambda a, b: _lead(a), lambda a, b: make(Op.SUB, (b, _flip(a)))),  # (-c*x)+b
    ),
    Op.SUB: (
        ((_X, _C), lambda a, b: _ZERO(b), lambda a, b: a),  # x-0 -> x
        ((_C, _X), lambda a, b: _ZERO(a), lambda a, b: make(Op.NEG, (b,))),  # 0-x -> -x
        (
            (_X, _N),
            lambda a, b: _neg(b),
            lambda a, b: make(Op.ADD, (a, b.args[0])),
        ),  # a-(-b) -> a+b
        ((_X, _CM), lambda a, b: _lead(b), lambda a, b: make(Op.ADD, (a, _flip(b)))),  # a-(-c*x)
    ),
    Op.MUL: (
        (
            (_SQ, _SQ),
            lambda a, b: a is b and is_sum_of_squares(a.args[0]),
            lambda a, b: a.args[0],
        ),  # sqrt(s)*sqrt(s) -> s, s a sum of squares (as sqrt(s)**2 below)
        ((_C, _X), lambda a, b: _ONE(a), lambda a, b: b),  # 1*x -> x
        ((_C, _X), lambda a, b: _MINUS_ONE(a), lambda a, b: make(Op.NEG, (b,))),  # -1*x -> -x
        (  # c*(-x) -> (-c)*x
            (_C, _N),
            lambda a, b: _num(a) and _neg(b),
            lambda a, b: make(Op.MUL, (const(-a.payload), b.args[0])),
        ),
        ((_X, _C), lambda a, b: _ONE(b), lambda a, b: a),  # x*1 -> x
        ((_X, _C), lambda a, b: _MINUS_ONE(b), lambda a, b: make(Op.NEG, (a,))),  # x*-1 -> -x
        (  # (-x)*c -> x*(-c)
            (_N, _C),
            lambda a, b: _num(b) and _neg(a),
            lambda a, b: make(Op.MUL, (a.args[0], const(-b.payload))),
        ),
        (  # (-a)*(-b) -> a*b
            (_N, _N),
            lambda a, b: _neg(a) and _neg(b),
            lambda a, b: make(Op.MUL, (a.args[0], b.args[0])),
        ),
        # A negation moves out of a product, where a sum, a difference or another negation
        # absorbs it (x - (-a)*b prints x + a*b, not x - -a*b; -((-a)*b) prints a*b).
        (
            (_N, _X),
            lambda a, b: _neg(a),
            lambda a, b: make(Op.NEG, (make(Op.MUL, (a.args[0], b)),)),
        ),  # (-a)*b -> -(a*b)
        (
            (_X, _N),
            lambda a, b: _neg(b),
            lambda a, b: make(Op.NEG, (make(Op.MUL, (a, b.args[0])),)),
        ),  # a*(-b) -> -(a*b)
    ),
    Op.DIV: (
        ((_X, _C), lambda a, b: _ONE(b), lambda a, b: a),  # x/1 -> x
        ((_X, _C), lambda a, b: _MINUS_ONE(b), lambda a, b: make(Op.NEG, (a,))),  # x/-1 -> -x
        (  # (-a)/(-b) -> a/b
            (_N, _N),
            lambda a, b: _neg(a) and _neg(b),
            lambda a, b: make(Op.DIV, (a.args[0], b.args[0])),
        ),
        (
            (_N, _X),
            lambda a, b: _neg(a),
            lambda a, b: make(Op.NEG, (make(Op.DIV, (a.args[0], b)),)),
        ),  # (-a)/b -> -(a/b)
        (
            (_X, _N),
            lambda a, b: _neg(b),
            lambda a, b: make(Op.NEG, (make(Op.DIV, (a, b.args[0])),)),
        ),  # a/(-b) -> -(a/b)
    ),
    Op.POW: (
        ((_X, _C), lambda a, b: _ONE(b), lambda a, b: a),  # x**1 -> x
        ((_X, _C), lambda a, b: _ZERO(b), lambda a, b: const(1.0)),  # x**0 -> 1
        # The one row exact only up to rounding (s is the exact value; see ir/squares.py):
        # without it norm(w)**2 has a NaN gradient at w = 0.
        (
            (_SQ, _C),
            lambda a, b: b.payload == 2.0 and is_sum_of_squares(a.args[0]),
            lambda a, b: a.args[0],
        ),  # sqrt(s)**2 -> s, s a sum of squares
    ),
}

# The rows that can fire for an (op, first argument's op, second's) triple, filled as met:
# make asks this of every product with a constant, so it must not call nine tests to find one.
_ROWS: dict[tuple, tuple] = {}


def _rows(op: Op, ao: Op, bo: Op | None) -> tuple:
    rows = tuple(
        (test, result)
        for (wa, wb), test, result in SIMPLIFY.get(op, ())
        if (wa is None or ao in wa) and (wb is None or bo in wb)
    )
    _ROWS[op, ao, bo] = rows
    return rows


def _simplify(op: Op, a: Expr, b: Expr | None) -> Expr | None:
    """``op(a, b)`` rewritten by the first rule of ``SIMPLIFY`` that applies, else None."""
    if op.logic:
        return _simplify_logic(op, a, b)
    bo = None if b is None else b.op
    rows = _ROWS.get((op, a.op, bo))
    for test, result in _rows(op, a.op, bo) if rows is None else rows:
        if test(a, b):
            return result(a, b)
    return None


def _simplify_logic(op: Op, a: Expr, b: Expr) -> Expr | None:
    """c & x -> x, 0 & x -> 0, c | x -> 1, 0 | x -> x (c a non-zero constant; NaN is true)."""
    c, x = (a, b) if a.op is Op.CONST else (b, a)
    if c.op is not Op.CONST:
        return None
    if bool(c.payload) == (op is Op.AND):
        return x if is_condition(x) else make(Op.NE, (x, const(0.0)))
    return const(0.0 if op is Op.AND else 1.0)


def make(op: Op, args: tuple[Expr, ...]) -> Expr:
    """The interned node ``op(*args)``, folded when every argument is constant."""
    n = len(args)
    if n != op.arity:
        raise TypeError(f"{op.value} takes {op.arity} arguments, got {n}")
    if n == 2:
        a, b = args
        ao, bo = a.op, b.op
        if ao is _CONST or bo is _CONST or ao is _NEG or bo is _NEG:
            if ao is _CONST and bo is _CONST:
                return const(INFO[op].on_floats(a.payload, b.payload))
            s = _simplify(op, a, b)
            if s is not None:
                return s
        elif (op is _ADD or op is _SUB) and (
            (bo is _MUL or bo is _DIV)
            and _lead(b)
            or op is _ADD
            and (ao is _MUL or ao is _DIV)
            and _lead(a)
        ):
            return _simplify(op, a, b)  # a sum or difference of -c*x: its _lead row fires
        elif a is b and ao is _SQRT:
            s = _simplify(op, a, b)  # sqrt(s)*sqrt(s)
            if s is not None:
                return s
        if op.commutes and b.serial < a.serial:
            key = (op.code, b.serial, a.serial)  # one node for a+b and b+a, args as first built
        else:
            key = (op.code, a.serial, b.serial)
    elif n == 1:
        a = args[0]
        if a.op is _CONST:
            return const(INFO[op].on_floats(a.payload))
        if op is _NEG and (a.op is _NEG or a.op is _MUL or a.op is _DIV):
            s = _simplify(op, a, None)
            if s is not None:
                return s
        key = (op.code, a.serial)
    else:
        c = args[0]
        if c.op is Op.CONST and op is Op.WHERE:
            return args[1] if c.payload else args[2]
        if all(x.op is Op.CONST for x in args):
            return const(INFO[op].on_floats(*(x.payload for x in args)))
        if op is Op.WHERE and args[1] is args[2]:
            return args[1]
        key = (op.code, *(x.serial for x in args))
    node = _interned.get(key)
    if node is None:
        if op.logic and not all(is_condition(a) for a in args):
            # and/or/not of numbers: x means x != 0, so every backend prints conditions only
            zero = const(0.0)
            return make(op, tuple(a if is_condition(a) else make(Op.NE, (a, zero)) for a in args))
        node = _intern(key, op, args, None)
    return node


def binary_builder(op: Op, other: Callable[[Op, Any, Any], Any]) -> Callable[[Expr, Any], Any]:
    """``make(op, (a, b))`` as one function of ``a`` (an Expr) and ``b``, for the operators:
    the common case (two expressions, neither a constant nor a negation, no leading negative
    constant) is inlined, saving make's generic checks and three calls a node (an MLP's build
    and gradient make one such node per weight). A ``b`` that is not an Expr goes to
    ``other(op, a, b)``; every other case to ``make``, which the fast path must agree with.
    A miss is made under the intern lock, as ``_intern`` makes it (inlined: one call less)."""
    if op.arity != 2 or op.logic:
        raise ValueError(f"{op.name} has no binary builder")
    code, commutes, add, sub = op.code, op.commutes, op is _ADD, op is _SUB
    table, expr_type, alloc, serials = _interned, Expr, object.__new__, _intern_state._serials
    get, keep, acquire, release = (
        table.get,
        table.setdefault,
        _intern_state.acquire,
        _intern_state.release,
    )

    def build(a: Expr, b: Any) -> Any:
        if type(b) is not expr_type:
            return other(op, a, b)
        ao = a.op
        bo = b.op
        if ao is _CONST or bo is _CONST or ao is _NEG or bo is _NEG:
            return make(op, (a, b))
        if add or sub:  # a sum or difference of -c*x: make's _lead row fires
            if bo is _MUL or bo is _DIV:
                lo = b.args[0].op  # _lead(b) can hold only if this is one of three ops
                if (lo is _CONST or lo is _MUL or lo is _DIV) and _lead(b):
                    return _simplify(op, a, b)
            if add and (ao is _MUL or ao is _DIV):
                lo = a.args[0].op
                if (lo is _CONST or lo is _MUL or lo is _DIV) and _lead(a):
                    return _simplify(op, a, b)
        elif a is b and ao is _SQRT:
            return make(op, (a, b))  # sqrt(s)*sqrt(s): make's row
        sa = a.serial
        sb = b.serial
        key = (code, sb, sa) if commutes and sb < sa else (code, sa, sb)
        node = get(key)
        if node is None:  # _intern, inlined
            acquire()
            try:
                new = alloc(expr_type)
                new.op = op
                new.args = (a, b)
                new.payload = None
                new.serial = next(serials)
                node = keep(key, new)  # another thread's, if it made one meanwhile
                if node is new and len(table) >= _intern_state._sweep_at:
                    _intern_state._sweep()
            finally:
                release()
        return node

    return build
