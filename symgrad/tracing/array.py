"""``Traced``: the stand-in for a NumPy array (or number) while a function is traced.

It holds an object array of expressions (an ``Expr`` for a 0-d value) and speaks NumPy's
protocols: ``__array_ufunc__`` maps each ufunc to ops through the op table's ``ufunc`` column
(``ufuncs.py``), ``__array_function__`` sends ``np.sum``, ``np.where`` ... to the handlers in
``functions.py``, and everything else raises ``TypeError`` naming the function, so no NumPy
function ever hands back an object array it did not understand. Comparisons build conditions
(``==`` too); ``bool``/``int``/``float`` of a traced value ask the trace context, which
takes the value of the call being traced and records the decision as a guard.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..ir import Expr, as_expr, const, make
from ..ops import Op
from . import kernels, ufuncs
from .context import ESCAPED, current
from .methods import ArrayMethods, attribute_message

HANDLERS: dict[Callable, Callable] = {}  # NumPy function -> handler (filled by functions.py)
UFUNC_CALL: list[Callable] = []  # the ufunc dispatcher (set by dispatch.py)
_F64 = np.dtype(np.float64)

TRACED_INDEX: list = []  # gather.py's (wants, gather, assign): traced integers and masks
BUFFER_HINT = (
    "to collect traced values, create the buffer with np.zeros_like(x, shape=...) of a traced "
    "x (it takes traced values), or build the result with np.stack([...])"
)


def float64_only(what: str, dtype: Any) -> None:
    """Refuse a ``dtype=`` that is not float64 (or object, whose Python floats add alike):
    traced values are float64, so another dtype would change NumPy's answer."""
    if dtype is None:
        return
    dt = np.dtype(dtype)
    if dt != _F64 and dt != np.dtype(object):
        raise TypeError(
            f"{what} with dtype={dt} is not supported on traced values: symgrad computes in "
            f"float64, and {dt} would convert the values first, so the result would differ "
            "from NumPy's; drop dtype= (for whole numbers write np.trunc(x) or np.floor(x))"
        )


class Traced(ArrayMethods):
    """A traced NumPy value: ``a`` is an ``Expr`` (0-d) or an object ndarray of ``Expr``."""

    __slots__ = ("a",)
    __array_priority__ = 100.0
    __hash__ = None  # like ndarray: == builds a condition, so it cannot be a dict key

    def __new__(cls, a: Any) -> Traced:
        # A 0-d value is no sequence (else NumPy, writing it into a float array, would say
        # "setting an array element with a sequence" instead of our message): arrays are a
        # subclass with len, iteration and indexing.
        return object.__new__(Traced if type(a) is Expr else TracedArray)

    def __init__(self, a: Any) -> None:
        self.a = a
        if ESCAPED[0] and type(a) is Expr:  # a scalar made after values went to object arrays
            ctx = current()
            if ctx is not None and ctx.escaped:
                ctx.escapes.append(a)

    # -- what it looks like -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return () if type(self.a) is Expr else self.a.shape

    @property
    def ndim(self) -> int:
        return 0 if type(self.a) is Expr else self.a.ndim

    @property
    def size(self) -> int:
        return 1 if type(self.a) is Expr else self.a.size

    @property
    def dtype(self) -> np.dtype:
        return _F64

    @property
    def T(self) -> Traced:  # NumPy's name
        return self if type(self.a) is Expr else Traced(self.a.T)

    @property
    def real(self) -> Traced:
        return self

    @property
    def imag(self) -> Traced:
        return np.zeros_like(self)

    @property
    def _expr(self) -> Expr:  # what symgrad's own functions unwrap
        if type(self.a) is Expr:
            return self.a
        raise TypeError(f"a traced array of shape {self.shape} is not one expression")

    def exprs(self) -> np.ndarray:
        """The expressions as an object ndarray (0-d for a scalar)."""
        if type(self.a) is Expr:
            out = np.empty((), dtype=object)
            out[()] = self.a
            return out
        return self.a

    def __repr__(self) -> str:
        if type(self.a) is Expr:
            return f"Traced({self.a!r})"
        return f"Traced(shape={self.shape})"

    # -- NumPy's protocols --------------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return UFUNC_CALL[0](ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
        handler = HANDLERS.get(func)
        if handler is None:
            mod = getattr(func, "__module__", "numpy") or "numpy"
            mod = "numpy" if mod.startswith("numpy") and mod.count(".") < 2 else mod
            raise TypeError(
                f"{mod}.{func.__name__} is not supported on traced values by symgrad (it "
                "could not be traced to a correct value); docs/numpy.md lists what traces. "
                "Write it with supported functions or sg.where"
            )
        return handler(*args, **kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != np.dtype(object):
            raise TypeError(
                f"a traced value cannot become a NumPy array of dtype {np.dtype(dtype)} "
                f"(its numbers are known only when the compiled code runs); {BUFFER_HINT}"
            )
        # An object array of traced scalars: NumPy's object loops then call Traced's methods.
        # Their values must stay finite from now on (TraceContext.escape says why).
        ctx = current()
        if type(self.a) is Expr:
            if ctx is not None:
                ctx.escape([self.a])
            out = np.empty((), dtype=object)
            out[()] = self
            return out
        items = self.a.ravel().tolist()
        if ctx is not None:
            ctx.escape(items)
        return kernels.obj_array([Traced(e) for e in items], self.shape)

    @staticmethod
    def __sg_elementwise__(fn: Callable, args: tuple) -> Traced:
        """``sg.exp(x)``, ``sg.where(c, a, b)`` ... of traced values (see expr._elementwise)."""
        return apply(fn, args)

    def __getattr__(self, name: str) -> Any:
        # NumPy's object loops call x.exp(), x.arcsinh() ... on the elements of an object array
        fn = None if name.startswith("_") else ufuncs.scalar_fn(name)
        if fn is None:
            raise AttributeError(attribute_message(name))
        return lambda *others: apply(fn, (self, *others))

    # -- Python's conversions: a decision on the call being traced ------------------------
    def _scalar(self, what: str) -> Expr:
        if type(self.a) is Expr:
            return self.a
        if self.a.size == 1:
            return self.a.ravel()[0]
        raise ValueError(
            f"The truth value of an array with more than one element is ambiguous ({what} of "
            f"a traced array of shape {self.shape}). Use a.any() or a.all(), or np.where"
        )

    def __bool__(self) -> bool:
        e = self._scalar("bool()")
        ctx = current()
        if ctx is None or e.op is Op.CONST:
            return bool(e)  # a constant's truth, or Expr's control-flow error
        return ctx.decide(e)

    def __float__(self) -> float:
        e = self._scalar("float()")
        ctx = current()
        if ctx is None or e.op is Op.CONST:
            return float(e)
        return ctx.concrete(e)

    def __int__(self) -> int:
        e = self._scalar("int()")
        ctx = current()
        if e.op is Op.CONST:
            return int(e.payload)
        if ctx is None:
            return int(float(e))  # raises Expr's error
        return ctx.integer(e, "int")

    def __index__(self) -> int:
        e = self._scalar("an index")
        ctx = current()
        if e.op is Op.CONST and float(e.payload).is_integer():
            return int(e.payload)
        if ctx is None:
            raise TypeError("a traced value outside a trace cannot be an index")
        return ctx.integer(e, "index")

    def __complex__(self) -> complex:
        raise TypeError("symgrad traces real numbers; complex() of a traced value is undefined")

    def __round__(self, ndigits: int | None = None) -> Any:
        if ndigits is None:
            ctx = current()
            e = self._scalar("round()")
            if ctx is None:
                raise TypeError("round() of a traced value outside a trace is unknown")
            x = ctx.value(e, "round()")
            v = round(x)
            lo, hi = v - 0.5, v + 0.5  # banker's rounding: ties go to the even neighbour
            ctx._between(e, lo, hi, v % 2 == 0, v % 2 == 0)
            return v
        return np.round(self, ndigits)

    # -- methods with traced state
    def flatten(self, *a: Any) -> Traced:
        return Traced(self.exprs().flatten(*a))

    def copy(self, *a: Any) -> Traced:
        return Traced(self.a if type(self.a) is Expr else self.a.copy())

    def astype(self, dtype: Any, *a: Any, **k: Any) -> Traced:
        if np.dtype(dtype) != _F64:
            raise TypeError(
                f"astype({np.dtype(dtype)}) of a traced array is not supported: traced values "
                f"are float64 and {np.dtype(dtype)} would convert them, so the result would "
                "differ from NumPy's; drop astype, or compute in float64 (np.trunc, np.floor "
                "and np.round trace)"
            )
        return self.copy()

    def item(self, *a: Any) -> Traced:
        return self[a] if a else Traced(self._scalar("item()"))

    def tolist(self) -> Any:
        if type(self.a) is Expr:
            return self
        return _tolist(self.a)

    def __matmul__(self, o: Any) -> Any:
        return np.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Any:
        return np.matmul(o, self)

    def __pos__(self) -> Traced:
        return self

    def __neg__(self) -> Traced:
        if type(self.a) is Expr and not ufuncs.is_condition(self.a):
            return Traced(make(Op.NEG, (self.a,)))
        return np.negative(self)

    def __abs__(self) -> Traced:
        return np.absolute(self)


class TracedArray(Traced):
    """A traced array of one or more dimensions: a sequence, as an ndarray is."""

    __slots__ = ()

    def __len__(self) -> int:
        return self.a.shape[0]

    def __iter__(self):
        if self.a.ndim == 1:
            return map(Traced, self.a.tolist())
        return (Traced(sub) for sub in self.a)

    # -- indexing -----------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Traced:
        if TRACED_INDEX and TRACED_INDEX[0](key):  # traced integers choose (gather.py)
            r = TRACED_INDEX[1](self.a, key)
        else:
            r = self.a[_index(key)]
        return Traced(r) if type(r) is not np.ndarray or r.ndim else Traced(r.item())

    def __setitem__(self, key: Any, value: Any) -> None:
        if not (TRACED_INDEX and TRACED_INDEX[2](self.a, key, value)):  # a[mask] = v
            self.a[_index(key)] = to_exprs(value)


def _tolist(a: np.ndarray) -> Any:
    if a.ndim == 1:
        return [Traced(e) for e in a.tolist()]
    return [_tolist(sub) for sub in a]


def _fast(op: Op, ufunc: np.ufunc, reflected: bool) -> Callable:
    """A binary operator: scalar (op) scalar/number straight to ``make``, else the ufunc."""

    arith = op is Op.ADD or op is Op.SUB  # NumPy's booleans: or / raise (dispatch._boolean)

    def method(self: Traced, other: Any) -> Any:
        a = self.a
        if type(a) is Expr:
            t = type(other)
            b = other.a if t is Traced else const(other) if t is float or t is int else None
            if type(b) is Expr and not (arith and _conditions(a, b)):
                return Traced(make(op, (b, a) if reflected else (a, b)))
        return ufunc(other, self) if reflected else ufunc(self, other)

    return method


def _conditions(a: Expr, b: Expr) -> bool:
    return ufuncs.is_condition(a) and ufuncs.is_condition(b)


def _slow(ufunc: np.ufunc, reflected: bool) -> Callable:
    def method(self: Traced, other: Any) -> Any:
        return ufunc(other, self) if reflected else ufunc(self, other)

    return method


for _name, _op, _uf in [
    ("add", Op.ADD, np.add),
    ("sub", Op.SUB, np.subtract),
    ("mul", Op.MUL, np.multiply),
    ("truediv", Op.DIV, np.true_divide),
    ("pow", Op.POW, np.power),
]:
    setattr(Traced, f"__{_name}__", _fast(_op, _uf, False))
    setattr(Traced, f"__r{_name}__", _fast(_op, _uf, True))
for _name, _op, _uf in [
    ("lt", Op.LT, np.less),
    ("le", Op.LE, np.less_equal),
    ("gt", Op.GT, np.greater),
    ("ge", Op.GE, np.greater_equal),
]:
    setattr(Traced, f"__{_name}__", _fast(_op, _uf, False))
for _name, _uf in [
    ("eq", np.equal),
    ("ne", np.not_equal),
    ("floordiv", np.floor_divide),
    ("mod", np.remainder),
    ("and", np.bitwise_and),
    ("or", np.bitwise_or),
    ("xor", np.bitwise_xor),
]:
    setattr(Traced, f"__{_name}__", _slow(_uf, False))
    if _name not in ("eq", "ne"):
        setattr(Traced, f"__r{_name}__", _slow(_uf, True))
Traced.__invert__ = lambda self: np.invert(self)  # type: ignore[method-assign]
Traced.__divmod__ = lambda self, o: np.divmod(self, o)  # type: ignore[attr-defined]
Traced.__rdivmod__ = lambda self, o: np.divmod(o, self)  # type: ignore[attr-defined]


def is_boolean(x: Any) -> bool:
    """Whether NumPy holds ``x`` as booleans: a bool, a bool array, traced conditions."""
    if isinstance(x, bool | np.bool_) or isinstance(x, np.ndarray) and x.dtype == np.bool_:
        return True
    if isinstance(x, Traced):
        items = [x.a] if type(x.a) is Expr else x.a.ravel().tolist()
        return bool(items) and all(map(ufuncs.is_condition, items))
    return False


def _index(key: Any) -> Any:
    """An index with traced parts made concrete (an int via __index__, guarded)."""
    if isinstance(key, tuple):
        return tuple(_index_part(k) for k in key)
    return _index_part(key)


def _index_part(k: Any) -> Any:
    if isinstance(k, Traced):
        if k.ndim == 0:
            return k.__index__()
        raise TypeError(
            "assigning through a traced index array is not supported; build the result "
            "with np.where (a traced index array reads: a[idx] traces)"
        )
    return k


def to_exprs(x: Any) -> Any:
    """``x`` as an Expr (scalars) or an object ndarray of Expr; TypeError for non-numbers."""
    t = type(x)
    if t is Traced or t is TracedArray:
        return x.a
    if t is Expr:
        return x
    if t is float or t is int:
        return const(x)
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return _map_elements(x)
        if x.dtype.kind not in "fiub":
            raise TypeError(f"symgrad traces real numbers, not arrays of dtype {x.dtype}")
        res = np.frompyfunc(const, 1, 1)(x.astype(np.float64, copy=False))
        return res if isinstance(res, np.ndarray) else res
    if isinstance(x, list | tuple):
        items = [to_exprs(v) for v in x]
        if all(type(v) is Expr for v in items):
            return kernels.obj_array(items, (len(items),))
        return np.array([np.asarray(v, dtype=object) for v in items], dtype=object)
    if isinstance(x, Expr):
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, complex):
        return const(float(x))
    raise TypeError(
        f"symgrad traces real numbers, arrays and traced values, not {t.__name__} ({x!r:.60})"
    )


def _elem(v: Any) -> Expr:
    if isinstance(v, Traced):
        return v._scalar("an element")
    return as_expr(v, "an array element")


def _map_elements(x: np.ndarray) -> Any:
    res = np.frompyfunc(_elem, 1, 1)(x)
    return res


def wrap(r: Any) -> Traced:
    """A result of the kernels (an Expr, a number or an object array) as a Traced."""
    if type(r) is Expr:
        return Traced(r)
    if isinstance(r, np.ndarray):
        if r.ndim == 0:
            return Traced(_elem(r.item()))
        if r.dtype != object:
            r = to_exprs(r)
        return Traced(r)
    return Traced(as_expr(r, "a result"))


def apply(fn: Callable[..., Expr], args: tuple) -> Traced:
    """``fn`` of expressions applied elementwise (with broadcasting) to ``args``."""
    ex = [to_exprs(x) for x in args]
    if all(type(e) is Expr for e in ex):
        return Traced(fn(*ex))
    return wrap(np.frompyfunc(fn, len(ex), 1)(*ex))
