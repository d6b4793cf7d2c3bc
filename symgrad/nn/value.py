"""``Value``: micrograd's eager scalar, whose graph is also symgrad's IR.

A Value computes eagerly (``.data``) and back-propagates eagerly (``.backward()`` fills
``.grad``), exactly as in the micrograd tutorial. It also remembers which op made it, so its
``_expr`` attribute is the same computation as a symgrad expression: leaf Values become symbols,
numbers become constants. That is what lets ``sg.compile``, ``sg.gradient`` and ``sg.evaluate``
take Values where they take symbols and expressions.

The IR is built lazily, on the first ``_expr`` access, so eager training pays nothing for it.
Neither ``backward`` nor the IR build recurses: a graph of any depth works.

Invalid operations do not raise where they are computed, so that ``sg.where`` can compute a
branch it will not take (micrograd's floats would raise there): ``x ** 0.5`` at ``x < 0``,
``1 / x`` at 0, ``log(x)`` at 0 or below, an overflowing ``exp`` ... give IEEE-754's nan or inf,
and the Value records why (``_why``): any nan or inf made from finite operands. A Value computed
from one inherits its reason; ``where`` keeps only the taken branch's; a condition keeps none
(it passes no gradient: ``sg.isnan`` and comparisons follow IEEE, NaN compares false).
``backward()`` on a Value that has a reason raises ValueError naming that first invalid
operation: its gradient would be NaN, or a one-sided limit, never a number to trust.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

from .. import scalar
from ..ir import Expr, const, make, symbol
from ..ops import INFO, Op
from .chain import HAND_WRITTEN, RULES, sweep
from .derived import all_finite, invalid_reason


def _arithmetic(op: Op, sym: str, on_data: Any, name: str = "") -> Any:
    """``Value.__add__`` and its kin: the eager result, remembering ``op`` for the IR (and the
    invalid operation it depends on, if any: ``_note``; a condition depends on none)."""
    checked = not INFO[op].is_condition

    def method(self: Value, other: Any) -> Value:
        if type(other) is not Value:
            other = _wrap(other)
            if other is None:
                return NotImplemented
        d = on_data(self.data, other.data)
        out = Value(d, (self, other), sym)
        out._kind = op
        if checked and (self._why is not None or other._why is not None or d - d != 0):
            _note(out, sym)
        return out

    method.__name__ = method.__qualname__ = f"__{name or on_data.__name__}__"
    return method


def _note(out: Value, name: str) -> None:
    """``out._why``: its first operand's reason, or its own if it made nan or inf from finite
    operands (called only when one of the two may hold: the common path pays one test)."""
    kids = out._prev
    for k in kids:
        if k._why is not None:
            out._why = k._why
            return
    d = out.data
    if d - d != 0 and all_finite(k.data for k in kids):
        out._why = invalid_reason(name, tuple(k.data for k in kids), d)


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

    __slots__ = ("data", "grad", "label", "_prev", "_op", "_kind", "_e", "_why")

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
        self._why: str | None = None  # the invalid operation this value depends on, if any

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
    __truediv__ = _arithmetic(Op.DIV, "/", scalar._div, "truediv")  # IEEE: x / 0 is +-inf, nan

    def __pow__(self, other: Any) -> Value:
        if type(other) is not float and type(other) is not int:
            if isinstance(other, Value) or not isinstance(other, numbers.Real):
                raise TypeError(
                    "Value ** exponent: the exponent must be an int or float, not "
                    f"{type(other).__name__}; for a Value exponent write (e * v.log()).exp()"
                )
            other = float(other)
        try:
            data = self.data**other  # ints stay ints, as in micrograd
        except ArithmeticError:  # 0 ** -1, an overflow: IEEE's inf (invalid: see the module)
            data = scalar._pow(float(self.data), float(other))
        if type(data) is complex:  # a negative base to a fractional power: nan (invalid)
            data = scalar._pow(float(self.data), float(other))
        out = Value(data, (self, _const(other)), f"**{other}")
        out._kind = Op.POW
        if self._why is not None or data - data != 0:
            _note(out, "**")
        return out

    def __rpow__(self, other: Any) -> Value:
        base = _wrap(other)
        if base is None:
            return NotImplemented
        out = Value(scalar._pow(float(base.data), float(self.data)), (base, self), "**")
        out._kind = Op.POW
        if self._why is not None or out.data - out.data != 0:
            _note(out, "**")
        return out

    def __neg__(self) -> Value:
        out = Value(-self.data, (self,), "neg")
        out._kind = Op.NEG
        out._why = self._why
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
        Raises ValueError (and changes no grad) if this Value depends on an invalid operation
        (see the module docstring); a branch of ``sg.where`` not taken does not count.
        """
        if self._why is not None:
            raise ValueError(
                f"backward() of Value(data={self.data}): it depends, through the branches "
                f"taken, on an invalid operation, {self._why}; its gradient would be NaN or "
                "meaningless. Compute it only where it is valid, e.g. sg.where(x > 0, "
                "sg.sqrt(x), -x): the branch not taken contributes exactly 0"
            )
        sweep(self)

    def _backward(self) -> None:
        """Apply this node's local chain rule once: add ``grad * d(self)/d(child)`` into each
        child's grad (micrograd's per-node ``_backward``; a leaf does nothing).

        The rules live in a table rather than in per-node closures: a closure that refers to
        its own node is a reference cycle, and a large graph of cycles makes Python's garbage
        collector, not arithmetic, the cost of eager training.
        """
        rule = RULES.get(self._kind)
        if rule is not None:
            rule(self)


_LABELS = {Op.RELU: "ReLU"}  # micrograd's _op labels where they differ from the sg. name


def _function(op: Op) -> Any:
    """The Value method for a one-argument op: its float evaluation now, the op remembered."""
    f, label = INFO[op].on_floats, _LABELS.get(op, INFO[op].fn_name)

    def method(self: Value) -> Value:
        d = f(self.data)
        out = Value(d, (self,), label)
        out._kind = op
        if self._why is not None or d - d != 0:
            _note(out, INFO[op].fn_name)
        return out

    method.__name__ = method.__qualname__ = INFO[op].fn_name
    method.__doc__ = INFO[op].doc
    return method


def _operator(op: Op, reflected: bool = False) -> Any:
    """``abs(v)``, ``v % w``, ``math.floor(v)`` ...: the table's operators a Value lacks."""
    name = INFO[op].fn_name or INFO[op].dunder

    def method(self: Value, *other: Any) -> Value:
        if other and _wrap(other[0]) is None:
            return NotImplemented
        return _apply(op, (*other, self) if reflected else (self, *other), name)

    method.__name__ = method.__qualname__ = f"__{'r' if reflected else ''}{INFO[op].dunder}__"
    return method


def _install_functions() -> None:
    """A method per one-argument op with a hand-written rule (micrograd's: tanh, exp, log,
    relu, sigmoid), and each operator of the table Value does not define above."""
    for op in HAND_WRITTEN:
        if INFO[op].arity == 1 and INFO[op].fn_name:
            setattr(Value, INFO[op].fn_name, _function(op))
    Value.tahn = Value.tanh  # the tutorial's spelling, so its Layer class runs unchanged
    for op, info in INFO.items():
        if info.dunder and f"__{info.dunder}__" not in Value.__dict__:
            setattr(Value, f"__{info.dunder}__", _operator(op))
            if info.arity == 2:
                setattr(Value, f"__r{info.dunder}__", _operator(op, reflected=True))


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
    """An ``sg.`` function of Values (and numbers): every function of the op table, computed
    now and recorded for the IR; it back-propagates by its row's rule (``chain.RULES``)."""
    name = getattr(fn, "__name__", "?")
    op = _BY_NAME.get(name)
    if op is None:
        raise TypeError(
            f"sg.{name} of a Value: only the functions of the op table (sg.sqrt, sg.where, "
            "sg.maximum ...) take Values; write it with those, or build it from sg.symbols"
        )
    return _apply(op, args, name)


def _apply(op: Op, args: tuple, name: str) -> Value:
    """``op`` of Values and numbers, eagerly. ``where`` keeps the reason of the branch it
    takes only; a condition has none; any other op notes its own or its operands'."""
    vals = [_wrap(a) for a in args]
    for a, v in zip(args, vals):
        if v is None:
            raise TypeError(
                f"sg.{name} of a Value takes Values and numbers, not {type(a).__name__} "
                f"({a!r:.60}); a plain bool is not a condition: compare Values (x > 0)"
            )
    d = INFO[op].on_floats(*(v.data for v in vals))
    out = Value(d, tuple(vals), name)
    out._kind = op
    if op is Op.WHERE:
        c, a, b = vals
        out._why = a._why if c.data else b._why
    elif not INFO[op].is_condition and (d - d != 0 or any(v._why is not None for v in vals)):
        _note(out, name)
    return out
