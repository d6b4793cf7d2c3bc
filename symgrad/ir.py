"""The DAG IR: immutable, hash-consed nodes with canonical forms and constant folding.

Every node gets a creation serial; children are always older than their parents, so sorting by
serial is a topological order and no traversal here ever recurses. Nodes are interned in a table
keyed by (op, child serials) or a constant's bit pattern: building the same expression twice
gives the same object (common-subexpression elimination for free). The table is swept as it
grows, so nodes that nothing else holds are freed (a weak table, without the cost of weakrefs).
Symbols are never interned: every ``Symbol`` is a new variable, whatever its name.
"""

from __future__ import annotations

import gc
import itertools
import numbers
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

from . import structure as _structure
from . import text as _text
from .ops import INFO, Op

_serials = itertools.count()
_by_serial = attrgetter("serial")

# The intern table: key -> node. A plain dict (fast, C-level), kept from growing without bound
# by `_sweep`, which drops the nodes nothing but the table still holds.
_interned: dict = {}
_SWEEP_MIN = 1 << 16
_lock = threading.Lock()  # held to create (and sweep): equal nodes built in threads are one
_sweep_at = _SWEEP_MIN
for _i, _op in enumerate(Op):
    # Facts that `make` needs on every call, as plain attributes of the op (no table lookup).
    _op.code = _i  # a small int per op, for intern keys
    _op.arity = INFO[_op].arity if _op in INFO else 0
    _op.commutes = INFO[_op].commutative if _op in INFO else False
    _op.logic = _op.name in ("AND", "OR", "NOT")  # operands are conditions (see `make`)
_CONST, _NEG, _MUL = Op.CONST, Op.NEG, Op.MUL

CONTROL_FLOW_HINT = (
    "data-dependent control flow (if/while/and/or/bool on an expression) cannot be compiled; "
    "build both branches and choose with sg.where(cond, a, b) (a comparison of NumPy arrays of "
    "expressions asks this too: compare them with np.greater(a, b, dtype=object) and so on)"
)
BOOL_HINT = (
    "a Python bool is not a condition: == and != on expressions compare structure (is it the "
    "same expression?); build the condition with sg.eq(a, b) or sg.ne(a, b) (or a comparison "
    "such as a < b); for a fixed choice, pick the branch yourself or pass 1.0 / 0.0"
)


VIEWS: dict[str, Callable[[Expr], str | None]] = {}  # "latex", "svg": filled by symgrad/__init__


class Expr:
    """A node of the expression DAG. Build with operators and ``sg`` functions, not directly.

    ``==`` and ``hash`` are structural (interning makes them identity); ``<``, ``<=``, ``>``,
    ``>=`` build conditions for ``sg.where``.
    """

    __slots__ = ("op", "args", "payload", "serial", "__weakref__")

    op: Op
    args: tuple[Expr, ...]
    payload: Any  # the float of a CONST, the name of a SYMBOL, else None
    serial: int

    # -- structure ------------------------------------------------------------------------
    def __hash__(self) -> int:
        return self.serial

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    @property
    def is_const(self) -> bool:
        return self.op is Op.CONST

    @property
    def is_symbol(self) -> bool:
        return self.op is Op.SYMBOL

    @property
    def name(self) -> str:
        """A symbol's label (any string); it never becomes code."""
        if self.op is not Op.SYMBOL:
            raise AttributeError("only a symbol has a name")
        return self.payload

    def __bool__(self) -> bool:
        if self.op is Op.CONST:
            return bool(self.payload)
        raise TypeError(
            f"the truth value of the symbolic expression {_short(self)} is "
            f"unknown until run time: {CONTROL_FLOW_HINT}"
        )

    def __float__(self) -> float:
        if self.op is Op.CONST:
            return self.payload
        raise TypeError(
            f"float() needs a constant expression, not {_short(self)}; "
            "evaluate it with sg.evaluate(expr, {symbol: value, ...})"
        )

    def __reduce__(self):
        raise TypeError("symgrad expressions do not pickle; pickle a compiled function instead")

    def __str__(self) -> str:
        return _text.render(topo_order([self]))

    def __repr__(self) -> str:
        return _text.render(topo_order([self]))

    # Notebook views (Jupyter calls these); symgrad/__init__.py fills VIEWS, as this layer
    # imports nothing above it. Each returns None (plain text shown) when it cannot draw.
    def _repr_latex_(self) -> str | None:
        view = VIEWS.get("latex")
        return view(self) if view else None

    def _repr_svg_(self) -> str | None:
        view = VIEWS.get("svg")
        return view(self) if view else None

    # Operators (numbers on either side) and the methods NumPy's object-array ufuncs call
    # (np.exp(array_of_exprs) calls each element's .exp()) come from the op table: see
    # _install_table_methods below.
    def __pos__(self):
        return self

    # & | ~ combine conditions (Python's and/or/not cannot be overloaded); by hand, as they
    # refuse numeric operands (the table's rows AND, OR, NOT name these dunders).
    def __and__(self, o):
        return _logic(Op.AND, self, o)

    def __rand__(self, o):
        return _logic(Op.AND, o, self)

    def __or__(self, o):
        return _logic(Op.OR, self, o)

    def __ror__(self, o):
        return _logic(Op.OR, o, self)

    def __invert__(self):
        return _logic(Op.NOT, self)


def _short(e: Expr) -> str:
    return _text.short(topo_order([e]))


def _binary(op: Op, a: Any, b: Any) -> Expr:
    if type(a) is not Expr:
        a = as_expr(a, None)
        if a is None:
            return NotImplemented
    if type(b) is not Expr:
        b = as_expr(b, None)
        if b is None:
            return NotImplemented
    return make(op, (a, b))


_REFLECTED = {"add", "sub", "mul", "truediv", "pow", "mod"}  # Python tries __r<name>__ too


def _round_method(op: Op) -> Callable:
    def __round__(self, ndigits=None):  # noqa: N807
        if ndigits is not None:
            raise TypeError(
                "round(expression, ndigits) is not supported; round to integers and scale: "
                "sg.round(x * 10**n) / 10**n"
            )
        return make(op, (self,))

    return __round__


def _install_table_methods() -> None:
    """Give ``Expr`` each row's Python operator (``dunder``: ``__add__`` and ``__radd__`` ...)
    and a method named by its NumPy ufunc, which NumPy's object-array loops call."""
    for op, info in INFO.items():
        names = []
        if info.dunder:
            names.append(f"__{info.dunder}__")
        if info.ufunc and info.fn_name and info.arity <= 2 and not info.is_condition:
            names.append(info.ufunc)
        for name in names:
            if name in Expr.__dict__:
                continue  # written by hand in the class
            if name == "__round__":
                method = _round_method(op)
            elif info.arity == 1:
                method = lambda self, _op=op: make(_op, (self,))  # noqa: E731
            else:
                method = lambda self, o, _op=op: _binary(_op, self, o)  # noqa: E731
            method.__name__ = method.__qualname__ = name
            setattr(Expr, name, method)
        if info.dunder in _REFLECTED:
            rname = f"__r{info.dunder}__"
            if rname not in Expr.__dict__:
                method = lambda self, o, _op=op: _binary(_op, o, self)  # noqa: E731
                method.__name__ = method.__qualname__ = rname
                setattr(Expr, rname, method)


_install_table_methods()


def _is_bool(x: Any) -> bool:
    return isinstance(x, bool) or type(x).__name__ in ("bool", "bool_")  # NumPy 2 and 1


def is_condition(e: Expr) -> bool:
    """Whether ``e`` is made by a condition op (a comparison, eq/ne, and/or/not)."""
    info = INFO.get(e.op)
    return info is not None and info.is_condition


def _logic(op: Op, *args: Any) -> Expr:
    """``&``, ``|``, ``~``: of conditions and constants only (on a numeric expression they would
    read as bitwise operations)."""
    for a in args:
        if _is_bool(a):
            raise TypeError(f"{BOOL_HINT}")
        if not isinstance(a, Expr) and hasattr(a, "shape"):
            return NotImplemented  # a NumPy array (of conditions): elementwise, by NumPy
        e = as_expr(a, None)
        if e is None or not (is_condition(e) or e.op is Op.CONST):  # a folded comparison is 0/1
            sym = {Op.AND: "&", Op.OR: "|", Op.NOT: "~"}[op]
            raise TypeError(
                f"{sym} combines conditions (comparisons, sg.eq, sg.ne ...), not {a!r:.60}; "
                f"for a number x write x != 0 as sg.ne(x, 0), or use sg.logical_and/or/not"
            )
    return make(op, tuple(as_expr(a, None) for a in args))


def as_expr(x: Any, argname: str | None = "argument") -> Expr | None:
    """``x`` as an Expr: expressions pass through, real numbers become constants.

    With ``argname=None`` an unsupported type gives ``None`` (for operators to return
    NotImplemented); otherwise a ``TypeError`` naming the argument.
    """
    t = type(x)
    if t is Expr:
        return x
    if t is float or t is int:
        return const(x)
    if isinstance(x, Expr):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool | complex) or t is bool:
        return const(float(x))
    if argname is None:
        return None
    raise TypeError(
        f"{argname} must be a symgrad expression or a real number, not {t.__name__} ({x!r:.60})"
    )


# -- construction ---------------------------------------------------------------------------


def _new(op: Op, args: tuple[Expr, ...], payload: Any) -> Expr:
    node = object.__new__(Expr)
    node.op = op
    node.args = args
    node.payload = payload
    node.serial = next(_serials)
    return node


def const(value: float) -> Expr:
    """The constant ``value`` (interned by bit pattern, so 0.0 and -0.0 stay distinct)."""
    value = float(value)
    key = (-1, value.hex())
    node = _interned.get(key)
    if node is None:
        node = _intern(key, Op.CONST, (), value)
    return node


def _intern(key: tuple, op: Op, args: tuple[Expr, ...], payload: Any) -> Expr:
    """The miss path: under the lock, look again (another thread may have just made the node),
    else make and remember it. Hits never lock (a dict lookup is atomic), so the lock costs
    only where a node is created anyway."""
    with _lock:
        node = _interned.get(key)
        if node is None:
            node = _new(op, args, payload)
            _interned[key] = node
            if len(_interned) >= _sweep_at:
                _sweep()
    return node


def _sweep() -> None:
    """Forget the interned nodes that only the table still references.

    Newest first: a parent is always newer than its children, so dropping it first lets its
    children go in the same pass. Doubling the threshold keeps the cost amortized O(1).
    Runs under ``_lock`` (no other thread creates nodes meanwhile); a lock-free hit in another
    thread between the count and the delete is seen by a second count, and the node stays.
    """
    global _sweep_at
    table, refcount = _interned, sys.getrefcount
    # Positional lists, not a lookup per key: a key tuple's hash is recomputed on every
    # lookup, and at a million entries those lookups cost four times this loop (measured).
    keys = list(table)
    nodes = list(table.values())
    node = None
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        nodes[i] = None  # so a dropped parent is freed when `node` moves on, freeing children
        if refcount(node) <= 3:  # the table's, `node`'s and refcount's argument's
            del table[keys[i]]
            if refcount(node) > 2:  # another thread's hit took it meanwhile: keep it
                table[keys[i]] = node
    del node
    _sweep_at = max(_SWEEP_MIN, 2 * len(table))


def symbol(name: str) -> Expr:
    """A new variable labelled ``name``; never equal to any other symbol."""
    if not isinstance(name, str):
        raise TypeError(f"a symbol's name must be a str, not {type(name).__name__}")
    return _new(Op.SYMBOL, (), name)


def _is(v: float) -> Callable[[Expr], bool]:
    return lambda e: e.op is Op.CONST and e.payload == v


def _neg(e: Expr) -> bool:
    return e.op is Op.NEG


def _num(e: Expr) -> bool:
    return e.op is Op.CONST


_ZERO, _ONE, _MINUS_ONE = _is(0.0), _is(1.0), _is(-1.0)
_Rule = tuple[Callable[[Expr, Any], bool], Callable[[Expr, Any], Expr]]

# Identities that hold for every float, inf and NaN included (IEEE-safe; only the sign of a
# zero may differ, as in x+0 with x=-0.0; negation is exact). Never x*0 -> 0 or x-x -> 0: both
# are wrong for inf and NaN. Per op, tried in order; the first whose test holds rewrites.
_SIMPLIFY: dict[Op, tuple[_Rule, ...]] = {
    Op.NEG: (
        (lambda a, _: _neg(a), lambda a, _: a.args[0]),  # --x -> x
        (
            lambda a, _: a.op is Op.MUL and _num(a.args[0]),  # -(c*x) -> (-c)*x
            lambda a, _: make(Op.MUL, (const(-a.args[0].payload), a.args[1])),
        ),
        (
            lambda a, _: a.op is Op.MUL and _num(a.args[1]),  # -(x*c) -> (-c)*x
            lambda a, _: make(Op.MUL, (const(-a.args[1].payload), a.args[0])),
        ),
    ),
    Op.ADD: (
        (lambda a, b: _ZERO(b), lambda a, b: a),  # x+0 -> x
        (lambda a, b: _ZERO(a), lambda a, b: b),  # 0+x -> x
        (lambda a, b: _neg(b), lambda a, b: make(Op.SUB, (a, b.args[0]))),  # a+(-b) -> a-b
        (lambda a, b: _neg(a), lambda a, b: make(Op.SUB, (b, a.args[0]))),  # (-a)+b -> b-a
    ),
    Op.SUB: (
        (lambda a, b: _ZERO(b), lambda a, b: a),  # x-0 -> x
        (lambda a, b: _ZERO(a), lambda a, b: make(Op.NEG, (b,))),  # 0-x -> -x
        (lambda a, b: _neg(b), lambda a, b: make(Op.ADD, (a, b.args[0]))),  # a-(-b) -> a+b
    ),
    Op.MUL: (
        (lambda a, b: _ONE(a), lambda a, b: b),  # 1*x -> x
        (lambda a, b: _MINUS_ONE(a), lambda a, b: make(Op.NEG, (b,))),  # -1*x -> -x
        (  # c*(-x) -> (-c)*x
            lambda a, b: _num(a) and _neg(b),
            lambda a, b: make(Op.MUL, (const(-a.payload), b.args[0])),
        ),
        (lambda a, b: _ONE(b), lambda a, b: a),  # x*1 -> x
        (lambda a, b: _MINUS_ONE(b), lambda a, b: make(Op.NEG, (a,))),  # x*-1 -> -x
        (  # (-x)*c -> x*(-c)
            lambda a, b: _num(b) and _neg(a),
            lambda a, b: make(Op.MUL, (a.args[0], const(-b.payload))),
        ),
        (  # (-a)*(-b) -> a*b
            lambda a, b: _neg(a) and _neg(b),
            lambda a, b: make(Op.MUL, (a.args[0], b.args[0])),
        ),
    ),
    Op.DIV: (
        (lambda a, b: _ONE(b), lambda a, b: a),  # x/1 -> x
        (lambda a, b: _MINUS_ONE(b), lambda a, b: make(Op.NEG, (a,))),  # x/-1 -> -x
        (  # (-a)/(-b) -> a/b
            lambda a, b: _neg(a) and _neg(b),
            lambda a, b: make(Op.DIV, (a.args[0], b.args[0])),
        ),
    ),
    Op.POW: (
        (lambda a, b: _ONE(b), lambda a, b: a),  # x**1 -> x
        (lambda a, b: _ZERO(b), lambda a, b: const(1.0)),  # x**0 -> 1
    ),
}


def _simplify(op: Op, a: Expr, b: Expr | None) -> Expr | None:
    """``op(a, b)`` rewritten by the first rule of ``_SIMPLIFY`` that applies, else None."""
    if op.logic:
        return _simplify_logic(op, a, b)
    for test, result in _SIMPLIFY.get(op, ()):
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
        if op.commutes and b.serial < a.serial:
            key = (op.code, b.serial, a.serial)  # one node for a+b and b+a, args as first built
        else:
            key = (op.code, a.serial, b.serial)
    elif n == 1:
        a = args[0]
        if a.op is _CONST:
            return const(INFO[op].on_floats(a.payload))
        if op is _NEG and (a.op is _NEG or a.op is _MUL):
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


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: IR nodes never form cycles, and on a million-node graph the
    collector's passes over every live node cost as much as the work (measured)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# -- traversals (all iterative) -------------------------------------------------------------


def leaves(structure: Any) -> list[Any]:
    """The leaves of a nested list/tuple structure, in order (see ``symgrad.structure``)."""
    return _structure.leaves(structure, is_leaf=_structure.dict_leaf)


def flatten(outputs: Any) -> list[Expr]:
    """The expressions of a nested list/tuple/array structure, in order (numbers become
    constants)."""
    items = _structure.leaves(outputs, arrays=True, is_leaf=_structure.dict_leaf)
    return [as_expr(getattr(x, "_expr", x), "output") for x in items]


def map_leaves(structure: Any, fn: Callable[[Any], Any]) -> Any:
    """``structure`` (nested lists/tuples) rebuilt with ``fn(leaf)`` for each leaf, in order."""
    return _structure.map(fn, structure, is_leaf=_structure.dict_leaf)


def unflatten(structure: Any, values: Iterable) -> Any:
    """Rebuild ``structure`` (nested lists/tuples) with its leaves replaced by ``values``."""
    it = iter(values)
    return map_leaves(structure, lambda _: next(it))


_orders: dict[tuple[int, ...], list[Expr]] | None = None  # see orders_shared


@contextmanager
def orders_shared() -> Iterator[None]:
    """Within the block, ``topo_order`` of the same roots is computed once: compiling asks for
    it in its input check, its passes and its printer. The nodes stay alive until the block
    ends, so only a caller that holds the roots anyway should use it."""
    global _orders
    outer = _orders
    if outer is None:
        _orders = {}
    try:
        yield
    finally:
        if outer is None:
            _orders = None


def topo_order(roots: Iterable[Expr]) -> list[Expr]:
    """Every node reachable from ``roots``, children before parents (by serial)."""
    stack = list(roots)
    cache = _orders
    if cache is not None:
        key = tuple([r.serial for r in stack])
        hit = cache.get(key)
        if hit is not None:
            return list(hit)
    seen: set[int] = set()
    mark = seen.add
    nodes: list[Expr] = []
    keep = nodes.append
    pop, push = stack.pop, stack.extend
    while stack:
        node = pop()
        s = node.serial
        if s in seen:
            continue
        mark(s)
        keep(node)
        args = node.args
        if args:
            push(args)
    nodes.sort(key=_by_serial)
    if cache is not None:
        cache[key] = nodes
        return list(nodes)
    return nodes


def free_symbols(outputs: Any) -> list[Expr]:
    """The symbols that ``outputs`` depend on, oldest first."""
    return [n for n in topo_order(flatten(outputs)) if n.op is Op.SYMBOL]


def count_ops(outputs: Any) -> int:
    """The number of operation nodes (not leaves) that computing ``outputs`` takes."""
    return sum(1 for n in topo_order(flatten(outputs)) if n.args)


def evaluate(outputs: Any, env: dict) -> Any:
    """The reference interpreter: ``outputs`` (an expression or nested list/tuple of them)
    evaluated with IEEE-754 semantics at ``env`` (symbol -> number); same structure of floats."""
    roots = flatten(outputs)
    values: dict[int, float] = {}
    for key, v in env.items():
        k = getattr(key, "_expr", key)
        if not isinstance(k, Expr) or k.op is not Op.SYMBOL:
            raise TypeError(f"env keys must be symbols, got {key!r:.60}")
        try:
            values[k.serial] = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"env[{k.payload!r}] must be a real number, not {v!r:.60}") from None
    for node in topo_order(roots):
        if node.serial in values:
            continue
        if node.op is Op.CONST:
            values[node.serial] = node.payload
        elif node.op is Op.SYMBOL:
            raise ValueError(f"env has no value for the symbol {node.payload!r}")
        else:
            values[node.serial] = INFO[node.op].on_floats(*(values[a.serial] for a in node.args))
    result = [float(values[r.serial]) for r in roots]
    return unflatten(outputs, result) if isinstance(outputs, list | tuple) else result[0]
