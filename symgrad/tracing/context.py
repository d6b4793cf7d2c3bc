"""The trace context: the concrete values of the call being traced, and the decisions taken.

While ``fn`` runs on stand-ins, a Python ``if`` (``bool``), ``int()``, ``float()`` or an index
of a traced value needs a real value. The context knows the arguments of the call being
traced, evaluates what is asked (incrementally, in serial order: no recursion), and records
each decision as a guard: a condition expression and the outcome it had. The compiled program
checks the guards on every later call and retraces when one comes out otherwise. Outside a
trace there is no context, and expressions know no values (``bool`` keeps raising).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..ir import Expr, const, make
from ..ops import INFO, Op
from . import ufuncs

_local = threading.local()

WHERE_HINT = "build both branches and choose with sg.where(cond, a, b) (np.where traces too)"


def _label_in(e: Expr, serials: set[int]) -> str | None:
    """The label of a symbol among ``serials`` that ``e`` depends on, or None."""
    if not serials:
        return None
    stack, seen = [e], set()
    while stack:
        n = stack.pop()
        if n.serial in seen:
            continue
        seen.add(n.serial)
        if n.op is Op.SYMBOL and n.serial in serials:
            return n.payload
        stack.extend(n.args)
    return None


class TraceContext:
    """What one trace knows: symbol values, which symbols are differentiated or per-sample,
    and the guards recorded so far. ``parent`` is the enclosing trace (nested transforms)."""

    def __init__(self, parent: TraceContext | None = None, name: str = "fn") -> None:
        self.parent = parent
        self.name = name
        self.memo: dict[int, float] = {}  # serial -> value (symbols seeded lazily)
        self.pending: list[tuple[list[Expr], list[float]]] = []
        self.subst: dict[int, Expr] = {}  # a nested trace's fresh symbol -> the parent's expr
        self.diff: set[int] = set(parent.diff) if parent else set()
        self.batched: set[int] = set(parent.batched) if parent else set()
        self.guards: list[tuple[Expr, bool]] = []
        # Set once traced values went into a plain NumPy object array (Traced.__array__);
        # from then on the trace keeps its scalar values, to hold them finite (check_escapes).
        self.escaped = False
        self.escapes: list[Expr] = []
        self.nested = False  # a transform ran on traced values inside (it checks itself)

    # -- what the trace is told ---------------------------------------------------------
    def bind(self, syms: list[Expr], values: list[float]) -> None:
        """Concrete values of ``syms`` (seeded into the memo on the first decision)."""
        self.pending.append((syms, values))

    def _seed(self) -> None:
        memo = self.memo
        for syms, values in self.pending:
            for s, v in zip(syms, values):
                memo[s.serial] = float(v)
        self.pending.clear()

    # -- values -------------------------------------------------------------------------
    def value(self, e: Expr, what: str) -> float:
        """``e`` at the call being traced (``what`` names the decision, for errors)."""
        if self.pending:
            self._seed()
        memo = self.memo
        if e.serial in memo:
            return memo[e.serial]
        todo, stack, seen = [], [e], set()
        while stack:
            n = stack.pop()
            s = n.serial
            if s in memo or s in seen:
                continue
            seen.add(s)
            todo.append(n)
            stack.extend(n.args)
        todo.sort(key=lambda n: n.serial)
        for n in todo:
            if n.op is Op.CONST:
                memo[n.serial] = n.payload
            elif n.op is Op.SYMBOL:
                memo[n.serial] = self._symbol_value(n, what)
            else:
                memo[n.serial] = INFO[n.op].on_floats(*[memo[a.serial] for a in n.args])
        return memo[e.serial]

    def _symbol_value(self, s: Expr, what: str) -> float:
        if s.serial in self.batched:
            raise TypeError(
                f"{what} in {self.name} depends on a per-sample value ({s.payload!r}) of a "
                "batch_argnums argument: the samples of a batch can go different ways, so "
                f"Python cannot choose one; {WHERE_HINT}"
            )
        if s.serial in self.subst and self.parent is not None:
            return self.parent.value(self.subst[s.serial], what)
        if self.parent is not None:
            return self.parent.value(s, what)
        raise TypeError(
            f"{what} needs the value of {s.payload!r}, which this trace was not given; {WHERE_HINT}"
        )

    def depends_on_diff(self, e: Expr) -> str | None:
        """The label of a differentiated symbol ``e`` depends on, or None."""
        return _label_in(e, self.diff)

    def depends_on_batch(self, e: Expr) -> bool:
        """Whether ``e`` depends on a per-sample symbol (its value differs across a batch)."""
        return _label_in(e, self.batched) is not None

    # -- decisions ----------------------------------------------------------------------
    def record(self, cond: Expr, outcome: bool) -> None:
        if cond.op is not Op.CONST:
            self.guards.append((cond, outcome))

    def decide(self, e: Expr) -> bool:
        """``bool(e)``: its truth at this call, recorded as a guard."""
        cond = ufuncs.truth(e)
        outcome = bool(self.value(cond, "a Python branch (bool)"))
        self.record(cond, outcome)
        return outcome

    def integer(self, e: Expr, how: str) -> int:
        """``int(e)`` (how="int": truncation) or an index (how="index": exact integers only);
        guarded by the interval of values that give the same integer."""
        v = self.value(e, f"{how}()")
        if how == "index":
            if not (math.isfinite(v) and v == int(v)):
                raise TypeError(
                    f"a traced value used as an index in {self.name} is {v!r}, not an integer"
                )
            k = int(v)
            self._between(e, k, k, True, True)
            return k
        k = int(v)  # raises as Python does for nan and inf
        lo, hi = (k, k + 1) if k > 0 else (k - 1, k) if k < 0 else (-1, 1)
        self._between(e, lo, hi, k > 0, k < 0)
        return k

    def _between(self, e: Expr, lo: float, hi: float, lo_closed: bool, hi_closed: bool) -> None:
        lo_c, hi_c = const(float(lo)), const(float(hi))
        self.record(make(Op.GE if lo_closed else Op.GT, (e, lo_c)), True)
        self.record(make(Op.LE if hi_closed else Op.LT, (e, hi_c)), True)

    def concrete(self, e: Expr) -> float:
        """``float(e)``: its value, guarded by equality; refused for a differentiated value."""
        label = self.depends_on_diff(e)
        if label is not None:
            raise TypeError(
                f"float() of a traced value that depends on the differentiated argument "
                f"{label!r} in {self.name} would cut its derivative (JAX raises a "
                "ConcretizationError here). Keep it a traced value: for math.exp(x) and the "
                "like (they call float()) write np.exp(x); to write values into a buffer, "
                "create it with np.zeros_like(x, shape=...) of a traced x or build the result "
                "with np.stack([...]); for a branch use sg.where / np.where"
            )
        v = self.value(e, "float()")
        if math.isnan(v):
            self.record(ufuncs.ne(e, e), True)
        else:
            self._between(e, v, v, True, True)
        return v

    def escape(self, exprs: list[Expr]) -> None:
        """Traced values handed to NumPy as a plain object array (``np.asarray(x)``,
        ``np.array([a, b])``, a list into a NumPy function): NumPy computes on such an array
        element by element, which agrees with a float array only while every value is finite
        (``np.nan_to_num`` hands it back unchanged, ``np.max`` and ``np.sort`` compare NaN
        as Python does). Those values and every scalar made afterwards must stay finite."""
        if not self.escaped:
            with _escaped_lock:
                ESCAPED[0] += 1
            self.escaped = True
        self.escapes.extend(exprs)

    def close(self) -> None:
        """The trace is over (however it ended)."""
        if self.escaped:
            with _escaped_lock:
                ESCAPED[0] -= 1
            self.escaped = False

    def check_escapes(self, out: Any = None) -> None:
        """At the end of a trace that escaped: raise if a kept value (or a plain number in
        the result ``out``) is not finite at this call, else guard that they all stay finite
        (one guard: the sum of e*0 is 0 exactly when every e is finite), so a later call
        where one is not retraces, and raises."""
        if not self.escaped:
            return
        self.close()
        bad = _plain_nonfinite(out)
        if bad is not None:
            raise TypeError(_escape_message(self.name, f"its result holds {bad!r}"))
        seen: set[int] = set()
        terms = []
        for e in self.escapes:
            if e.serial in seen:
                continue
            seen.add(e.serial)
            try:
                v = e.payload if e.op is Op.CONST else self.value(e, "np.asarray")
            except TypeError:  # a per-sample value (batch_argnums): no call-by-call check
                raise TypeError(_escape_message(self.name, _PER_SAMPLE)) from None
            if not math.isfinite(v):
                raise TypeError(_escape_message(self.name, f"one of them is {v!r} at this call"))
            if e.op is not Op.CONST:
                terms.append(make(Op.MUL, (e, const(0.0))))
        self.escapes.clear()
        if terms:
            total = terms[0]
            for t in terms[1:]:
                total = make(Op.ADD, (total, t))
            self.record(ufuncs.eq(total, const(0.0)), True)


_PER_SAMPLE = "they depend on per-sample values (batch_argnums), which no guard can check"
ESCAPED = [0]  # traces running that escaped (Traced asks for the context only then)
_escaped_lock = threading.Lock()


def _plain_nonfinite(out: Any) -> float | None:
    """A NaN or infinity held as a plain number in ``out`` (nested lists, tuples, dicts and
    object arrays), or None."""
    stack = [out]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, np.ndarray):
            if v.dtype == object:
                stack.extend(v.ravel().tolist())
            elif v.dtype.kind == "f" and not np.isfinite(v).all():
                return float(v[~np.isfinite(v)].ravel()[0])
        elif isinstance(v, (float, np.floating)) and not math.isfinite(v):
            return float(v)
    return None


def _escape_message(name: str, why: str) -> str:
    return (
        f"{name} hands traced values to NumPy as a plain object array (np.asarray(x) or "
        "np.array(x) of a traced array, np.array([a, b]) or a list of traced values into a "
        "NumPy function). NumPy computes on such an array element by element, which agrees "
        "with a float array only while every value is finite (np.nan_to_num would hand it back "
        f"unchanged, np.max and np.sort compare NaN as Python does), and {why}. "
        "Keep them traced arrays: drop np.asarray(x) (inside a trace x already is an array; "
        "x.copy() copies it) and build arrays from traced values with np.stack([a, b])"
    )


def current() -> TraceContext | None:
    """The innermost trace running in this thread, or None outside every trace."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


@contextmanager
def tracing(ctx: TraceContext) -> Iterator[TraceContext]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(ctx)
    try:
        yield ctx
    finally:
        stack.pop()


def no_trace_error(what: str, e: Any) -> TypeError:
    from ..ir import CONTROL_FLOW_HINT

    return TypeError(f"{what} of a traced value outside a trace is unknown: {CONTROL_FLOW_HINT}")
