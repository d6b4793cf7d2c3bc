"""``Value``: micrograd's eager scalar, whose graph is also symgrad's IR.

A Value computes eagerly (``.data``) and back-propagates eagerly (``.backward()`` fills
``.grad``), exactly as in the micrograd tutorial. It also remembers which op made it, so its
``_expr`` attribute is the same computation as a symgrad expression: leaf Values become symbols,
numbers become constants. That is what lets ``sg.compile``, ``sg.gradient`` and ``sg.evaluate``
take Values where they take symbols and expressions.

The IR is built lazily, on the first ``_expr`` access, so eager training pays nothing for it.
Neither ``backward`` nor the IR build recurses: a graph of any depth works.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

from .. import scalar
from ..ir import Expr, const, make, symbol
from ..ops import INFO, Op


def _arithmetic(op: Op, sym: str, on_data: Any) -> Any:
    """``Value.__add__`` and its kin: the eager result, remembering ``op`` for the IR."""

    def method(self: Value, other: Any) -> Value:
        if type(other) is not Value:
            other = _wrap(other)
            if other is None:
                return NotImplemented
        out = Value(on_data(self.data, other.data), (self, other), sym)
        out._kind = op
        return out

    method.__name__ = method.__qualname__ = f"__{on_data.__name__}__"
    return method


def _truth(compare: Any) -> Any:
    """A comparison whose result is a float (1.0 or 0.0), as conditions hold in the IR."""

    def on_data(a: float, b: float) -> float:
        return 1.0 if compare(a, b) else 0.0

    on_data.__name__ = compare.__name__
    return on_data


def _is_condition(op: Op) -> bool:
    return INFO[op].is_condition


class Value:
    """An eager scalar that records how it was computed (micrograd's ``Value``).

    ``data`` is the number, ``grad`` the derivative of the last ``backward()`` root with
    respect to it (accumulated, so reset it between steps). ``_children`` and ``_op`` are
    micrograd's bookkeeping; ``label`` names a leaf's symbol in generated code.
    """

    __slots__ = ("data", "grad", "label", "_prev", "_op", "_kind", "_e")

    def __init__(self, data: float, _children: tuple = (), _op: str = "", label: str = "") -> None:
        if type(data) is not float and type(data) is not int:
            if not isinstance(data, numbers.Real):
                raise TypeError(
                    f"Value(data) needs a real number, got {type(data).__name__} ({data!r:.60})"
                )
            data = float(data)
        self.data = data
        self.grad = 0.0
        self.label = label
        self._prev = tuple(_children)
        self._op = _op
        self._kind: Op | None = None  # None: a leaf (a symbol in the IR); else the IR op
        self._e: Expr | None = None

    def __repr__(self) -> str:
        return f"Value(data={self.data})"

    # -- the IR view --------------------------------------------------------------------------
    @property
    def _expr(self) -> Expr:
        """This Value as a symgrad expression, made on first access and kept.

        A leaf becomes a new symbol labelled ``label or "v"`` (set the label before compiling:
        a later change does not rename the symbol); a number becomes a constant; a Value made
        by an operation becomes that op's node. A Value constructed by hand with ``_children``
        is a leaf here: only the operations know their IR op.
        """
        e = self._e
        return e if e is not None else _build_ir(self)

    @property
    def is_leaf(self) -> bool:
        """True for a Value made by the user (a variable), not by an operation or a number."""
        return self._kind is None

    # -- arithmetic ---------------------------------------------------------------------------
    # + * - / by one factory (_arithmetic, below the class): micrograd's four dunders
    __add__ = _arithmetic(Op.ADD, "+", operator.add)
    __mul__ = _arithmetic(Op.MUL, "*", operator.mul)
    __sub__ = _arithmetic(Op.SUB, "-", operator.sub)
    __truediv__ = _arithmetic(Op.DIV, "/", operator.truediv)

    def __pow__(self, other: Any) -> Value:
        if type(other) is not float and type(other) is not int:
            if isinstance(other, Value) or not isinstance(other, numbers.Real):
                raise TypeError(
                    "Value ** exponent: the exponent must be an int or float, not "
                    f"{type(other).__name__}; for a Value exponent write (e * v.log()).exp()"
                )
            other = float(other)
        data = self.data**other
        if type(data) is complex:
            raise ValueError(
                f"Value({self.data}) ** {other} is not a real number; "
                "raise only non-negative bases to fractional powers"
            )
        out = Value(data, (self, _const(other)), f"**{other}")
        out._kind = Op.POW
        return out

    def __rpow__(self, other: Any) -> Value:
        base = _wrap(other)
        if base is None:
            return NotImplemented
        out = Value(scalar._pow(float(base.data), float(self.data)), (base, self), "**")
        out._kind = Op.POW
        return out

    def __neg__(self) -> Value:
        out = Value(-self.data, (self,), "neg")
        out._kind = Op.NEG
        return out

    def __pos__(self) -> Value:
        return self

    def __radd__(self, other: Any) -> Value:  # other + self
        return self.__add__(other)

    def __rmul__(self, other: Any) -> Value:  # other * self
        return self.__mul__(other)

    def __rsub__(self, other: Any) -> Value:  # other - self
        o = _wrap(other)
        return NotImplemented if o is None else o.__sub__(self)

    def __rtruediv__(self, other: Any) -> Value:  # other / self
        o = _wrap(other)
        return NotImplemented if o is None else o.__truediv__(self)

    # -- functions: tanh, exp, log, relu, sigmoid (from the op table, see _install_functions)

    # -- conditions: x > 0 is a condition Value (data 1.0 or 0.0) that sg.where reads --------
    __lt__ = _arithmetic(Op.LT, "<", _truth(operator.lt))
    __le__ = _arithmetic(Op.LE, "<=", _truth(operator.le))
    __gt__ = _arithmetic(Op.GT, ">", _truth(operator.gt))
    __ge__ = _arithmetic(Op.GE, ">=", _truth(operator.ge))
    __and__ = _arithmetic(Op.AND, "&", INFO[Op.AND].on_floats)
    __or__ = _arithmetic(Op.OR, "|", INFO[Op.OR].on_floats)
    # == and != stay identity (Values hash by identity, as micrograd's): sg.eq / sg.ne build one
    __hash__ = object.__hash__

    def __invert__(self) -> Value:
        out = Value(INFO[Op.NOT].on_floats(self.data), (self,), "~")
        out._kind = Op.NOT
        return out

    def __bool__(self) -> bool:
        """A condition's truth (``if x > 0:`` follows the eager value); any other Value is
        true, as a micrograd Value is."""
        return bool(self.data) if self._kind is not None and _is_condition(self._kind) else True

    @staticmethod
    def __sg_elementwise__(fn: Any, args: tuple) -> Value:
        """``sg.where``, ``sg.eq``, ``sg.isnan``, ... given Values: the eager result."""
        return _eager_function(fn, args)

    # -- reverse mode -------------------------------------------------------------------------
    def backward(self) -> None:
        """Set this Value's grad to 1 and add d(self)/d(node) into every node's ``grad``.

        Nodes are ordered by an iterative depth-first search (micrograd's ``build_topo``
        without its recursion limit), then each node's local chain rule runs, newest first.
        """
        topo = _topo(self)
        self.grad = 1.0
        rules = _RULES
        if any(v._kind is Op.WHERE for v in topo):
            _backward_through_where(self, topo)
            return
        for v in reversed(topo):
            rule = rules.get(v._kind)
            if rule is not None:
                rule(v)

    def _backward(self) -> None:
        """Apply this node's local chain rule once: add ``grad * d(self)/d(child)`` into each
        child's grad (micrograd's per-node ``_backward``; a leaf does nothing).

        The rules live in a table rather than in per-node closures: a closure that refers to
        its own node is a reference cycle, and a large graph of cycles makes Python's garbage
        collector, not arithmetic, the cost of eager training.
        """
        rule = _RULES.get(self._kind)
        if rule is not None:
            rule(self)


# -- local chain rules: out.grad flows into out._prev ------------------------------------------


def _add(out: Value) -> None:
    a, b = out._prev
    a.grad += out.grad
    b.grad += out.grad


def _sub(out: Value) -> None:
    a, b = out._prev
    a.grad += out.grad
    b.grad -= out.grad


def _mul(out: Value) -> None:
    a, b = out._prev
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


def _div(out: Value) -> None:
    a, b = out._prev
    a.grad += out.grad / b.data
    b.grad -= out.grad * out.data / b.data


def _pow(out: Value) -> None:
    a, k = out._prev
    if k._kind is Op.CONST:  # Value ** number (0 ** -0.5 is inf, as in the IR, not an error)
        k = k.data
        if k != 0.0:  # a ** 0 is 1 everywhere: no contribution (not 0 * 0**-1 = nan at a = 0)
            a.grad += k * scalar._pow(float(a.data), k - 1.0) * out.grad
    elif out.data != 0.0:  # number ** Value; d/dy 0**y = 0 (y > 0), never 0 * log(0)
        k.grad += out.data * scalar._log(a.data) * out.grad


def _neg(out: Value) -> None:
    out._prev[0].grad -= out.grad


def _tanh(out: Value) -> None:
    # sech^2, not 1 - t*t: that cancels to 0 from |x| ~ 19 where the truth is a normal float
    out._prev[0].grad += scalar._sech2(out._prev[0].data) * out.grad


def _exp(out: Value) -> None:
    out._prev[0].grad += out.data * out.grad


def _log(out: Value) -> None:
    a = out._prev[0]
    a.grad += scalar._div(out.grad, a.data)  # IEEE as the forward log(0) = -inf: 1/0 is inf


def _relu(out: Value) -> None:
    if out.data > 0:  # relu'(0) = 0, as in micrograd; the flat side adds exactly 0 (no 0*nan)
        out._prev[0].grad += out.grad


def _sigmoid(out: Value) -> None:
    # s(x) s(-x), not s (1 - s): 1 - s rounds to 0 from x = 37 on
    out._prev[0].grad += out.data * scalar._sigmoid(-out._prev[0].data) * out.grad


def _backward_through_where(root: Value, topo: list[Value]) -> None:
    """``backward`` where the graph has a ``where``: a node reached only through branches not
    taken runs no rule, so its infinite or NaN local derivative never meets the zero it would
    be multiplied by (the IR's masks, eagerly: the gradient there is exactly 0)."""
    reached = {root}
    rules = _RULES
    for v in reversed(topo):
        if v not in reached:
            continue
        rule = rules.get(v._kind)
        if rule is None:
            continue
        rule(v)
        if v._kind is Op.WHERE:
            c, a, b = v._prev
            reached.add(a if c.data else b)
        else:
            reached.update(v._prev)


def _where(out: Value) -> None:
    # only the branch taken receives the gradient: exactly 0 to the other, even where its
    # own derivative is inf or nan (no mask multiplied in)
    c, a, b = out._prev
    (a if c.data else b).grad += out.grad


_RULES = {
    Op.WHERE: _where,
    Op.ADD: _add,
    Op.SUB: _sub,
    Op.MUL: _mul,
    Op.DIV: _div,
    Op.POW: _pow,
    Op.NEG: _neg,
    Op.TANH: _tanh,
    Op.EXP: _exp,
    Op.LOG: _log,
    Op.RELU: _relu,
    Op.SIGMOID: _sigmoid,
}


_LABELS = {Op.RELU: "ReLU"}  # micrograd's _op labels where they differ from the sg. name


def _function(op: Op) -> Any:
    """The Value method for a one-argument op: its float evaluation now, the op remembered."""
    f, label = INFO[op].on_floats, _LABELS.get(op, INFO[op].fn_name)

    def method(self: Value) -> Value:
        out = Value(f(self.data), (self,), label)
        out._kind = op
        return out

    method.__name__ = method.__qualname__ = INFO[op].fn_name
    method.__doc__ = INFO[op].doc
    return method


def _install_functions() -> None:
    """A method per one-argument op of the table that has an eager rule here (``_RULES``)."""
    for op in _RULES:
        if INFO[op].arity == 1 and INFO[op].fn_name:
            setattr(Value, INFO[op].fn_name, _function(op))
    Value.tahn = Value.tanh  # the tutorial's spelling, so its Layer class runs unchanged


_install_functions()


def _wrap(x: Any) -> Value | None:
    """A number as a constant Value (it is a constant in the IR, not a variable)."""
    t = type(x)
    if t is Value:
        return x
    if t is float or t is int or (isinstance(x, numbers.Real) and t is not bool):
        return _const(x)
    return None


def _const(x: float) -> Value:
    v = Value(x)
    v._kind = Op.CONST
    return v


def _topo(root: Value) -> list[Value]:
    """Every Value reachable from ``root``, children before parents (iterative DFS)."""
    topo: list[Value] = []
    visited: set[Value] = set()  # Values hash by identity
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            topo.append(v)
            continue
        if v in visited:
            continue
        visited.add(v)
        stack.append((v, True))
        for c in v._prev:
            if c not in visited:
                stack.append((c, False))
    return topo


def _build_ir(root: Value) -> Expr:
    """Give ``root`` and every Value under it that has none yet its IR node (iterative)."""
    order: list[Value] = []
    stack: list[tuple[Value, bool]] = [(root, False)]
    seen: set[Value] = set()
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
            continue
        if v._e is not None or v in seen:
            continue
        seen.add(v)
        stack.append((v, True))
        if v._kind is not None:
            for c in v._prev:
                if c._e is None and c not in seen:
                    stack.append((c, False))
    for v in order:
        kind = v._kind
        if kind is None:
            v._e = symbol(v.label or "v")
        elif kind is Op.CONST:
            v._e = const(v.data)
        else:
            v._e = make(kind, tuple(c._e for c in v._prev))
    return root._e  # type: ignore[return-value]


_BY_NAME = {info.fn_name: op for op, info in INFO.items() if info.fn_name}


def _eager_function(fn: Any, args: tuple) -> Value:
    """An ``sg.`` function of Values (and numbers), computed now and recorded for the IR, for
    the ops a Value can back-propagate: its own rules, ``where``, and conditions (whose
    derivative is 0)."""
    name = getattr(fn, "__name__", "?")
    op = _BY_NAME.get(name)
    if op is None or (op not in _RULES and not _is_condition(op)):
        supported = sorted(
            INFO[o].fn_name for o in _RULES if INFO[o].arity == 1 and INFO[o].fn_name
        )
        raise TypeError(
            f"sg.{name} of a Value: a Value back-propagates only {supported}, conditions and "
            "where; build the loss from sg.symbols to use every function"
        )
    vals = [_wrap(a) for a in args]
    for a, v in zip(args, vals):
        if v is None:
            raise TypeError(
                f"sg.{name} of a Value takes Values and numbers, not {type(a).__name__} "
                f"({a!r:.60}); a plain bool is not a condition: compare Values (x > 0)"
            )
    out = Value(INFO[op].on_floats(*(v.data for v in vals)), tuple(vals), name)
    out._kind = op
    return out
