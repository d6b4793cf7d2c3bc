"""``verify``: each derivative of symgrad's against SymPy's ``diff``, variable by variable.

A difference SymPy simplifies to zero within a budget and a real time bound (``symbolic.py``)
is proven; every other variable is decided by the oracle: the derivative of ``f`` by forward
mode in 50-digit arithmetic (``oracle.py``), against symgrad's gradient expression evaluated at
the same precision, at random points. Both passes are linear in the graph's size, so a loss
over 100 samples of the tutorial MLP (113 derivatives) verifies in seconds.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from ..autodiff.reverse import _symbols, gradient
from ..errors import VerificationError
from ..ir import Expr, as_expr, evaluate, free_symbols
from .options import check_count, check_digits, check_time_budget
from .oracle import OutOfBudget, context, evaluate_jets, values
from .report import Checks
from .symbolic import prove

DIGITS = 50
SYMBOLIC_SECONDS = 5.0
"""The default wall-clock bound on SymPy's proof, for all variables together."""


@dataclass
class VariableCheck:
    """How one variable's derivative was decided: ``method`` is "symbolic", "numeric" (the
    oracle, at ``points``) or "undecided" (no point where it is defined, or out of time)."""

    symbol: Expr
    method: str
    points: list[dict[str, float]] = field(default_factory=list)
    max_error: float = 0.0
    note: str = ""
    digits: int = DIGITS

    @property
    def name(self) -> str:
        return self.symbol.payload

    def __str__(self) -> str:
        if self.method == "symbolic":
            return f"d/d{self.name}: ok (symbolic: SymPy simplifies the difference to 0)"
        if self.method == "undecided":
            return f"d/d{self.name}: UNDECIDED ({self.note})"
        return (
            f"d/d{self.name}: ok (numeric: forward-mode oracle at {len(self.points)} random "
            f"points, {self.digits} digits, max relative error {self.max_error:.1e})"
        )


@dataclass
class VerifyReport(Checks):
    """The verdict of ``sg.verify``: one ``VariableCheck`` per variable, in order."""

    checks: list[VariableCheck]

    @property
    def ok(self) -> bool:
        """True when every variable was decided (a mismatch raises instead of reporting)."""
        return all(c.method != "undecided" for c in self.checks)

    @property
    def methods(self) -> dict[str, str]:
        return {c.name: c.method for c in self.checks}

    def __getitem__(self, key: Any) -> VariableCheck:
        for c in self.checks:
            if c.symbol is getattr(key, "_expr", key) or c.name == key:
                return c
        raise KeyError(key)

    def __str__(self) -> str:
        head = "verified" if self.ok else "could not decide all of"
        lines = [f"{head} {len(self.checks)} derivative(s) (SymPy, else the oracle):"]
        lines += [f"  {c}" for c in self.checks]
        return "\n".join(lines)

    __repr__ = __str__


def verify(
    f: Any,
    wrt: Any = None,
    *,
    budget: int = 200,
    points: Any = None,
    seed: int | None = 0,
    tol: float = 1e-10,
    digits: int = 50,
    time_budget: float | None = None,
    progress: bool | None = None,
    symbolic_time: float = SYMBOLIC_SECONDS,
    directions: str = "coordinate",
) -> Any:
    """Check ``sg.gradient(f, wrt)`` against SymPy's ``diff`` of ``sg.to_sympy(f)``; or, given a
    compiled function alone (``sg.verify(fn)``), check the program's every output against the
    high-precision forward-mode oracle (``ProgramReport``).

    ``budget`` bounds the size (SymPy ``count_ops``) of a difference that SymPy is asked to
    simplify and ``symbolic_time`` the seconds it may take; the rest is checked by the oracle at
    ``points`` random points to relative tolerance ``tol``, within ``time_budget`` seconds (a
    variable left undecided says so in the report). Raises ``sg.VerificationError`` on a
    mismatch.
    """
    digits = check_digits(digits)
    seconds_left = check_time_budget(time_budget, 60.0)
    if hasattr(f, "output_exprs") and hasattr(f, "backend"):
        if wrt is not None:
            raise TypeError("sg.verify(fn) checks a compiled function's outputs; give no wrt")
        from .compiled import verify_compiled

        return verify_compiled(
            f, points=points, digits=digits, seed=seed, time_budget=seconds_left,
            progress=progress, directions=directions,
        )  # fmt: skip
    if wrt is None:
        raise TypeError("sg.verify(f, wrt) needs wrt: the symbols to differentiate by")
    n = check_count(points, 4, "f")
    syms, _ = _symbols(wrt)
    f = as_expr(getattr(f, "_expr", f), "f")
    ours = gradient(f, syms)
    start = time.monotonic()
    deadline = start + seconds_left
    # SymPy gets at most half the budget: whatever it leaves unproved, the oracle must check
    seconds = min(symbolic_time, 0.5 * max(0.0, deadline - start))
    proved = prove(f, syms, ours, budget, seconds)
    checks = [VariableCheck(s, "symbolic") if i in proved else None for i, s in enumerate(syms)]
    todo = [i for i, c in enumerate(checks) if c is None]
    if todo:
        rng = random.Random(seed)
        numeric = _numeric(f, [syms[i] for i in todo], [ours[i] for i in todo], n, rng, tol,
                           digits, deadline)  # fmt: skip
        for i, c in zip(todo, numeric):
            checks[i] = c
    return VerifyReport(checks)


def _sample(rng: random.Random, attempt: int) -> float:
    # Alternate positive points (inside every log/sqrt domain) with points of either sign.
    if attempt % 2 == 0:
        return rng.uniform(0.2, 1.8)
    return rng.uniform(-1.8, 1.8)


def _numeric(f, syms, grads, points, rng, tol, digits, deadline) -> list[VariableCheck]:
    """The oracle's verdict for each of ``syms``: forward mode on ``f`` against ``grads``
    evaluated at the same precision, at ``points`` random points where both are defined."""
    M = context(digits)
    every = free_symbols([f, *grads])
    dirs = {s.serial: {k: 1} for k, s in enumerate(syms)}
    checks = [VariableCheck(s, "numeric", digits=digits) for s in syms]
    attempts, why = 0, "no point where the derivative is defined was found"
    while min(len(c.points) for c in checks) < points and attempts < 20 * points:
        point = {x.serial: _sample(rng, attempts) for x in every}
        attempts += 1
        try:
            ref = evaluate_jets([f], point, dirs, M, deadline=deadline).d1[f.serial]
            mine = values(grads, point, M, deadline=deadline)
        except OutOfBudget:
            why = "the time budget ran out"
            break
        labelled = {x.payload: point[x.serial] for x in every}
        for k, (c, g) in enumerate(zip(checks, grads)):
            a, b = ref.get(k, 0), mine[g.serial]
            if len(c.points) >= points or not (_finite(a) and _finite(b)):
                continue  # undefined here (a pole, outside a domain)
            err = float(abs(a - b) / max(1, abs(a)))
            if err > tol:
                raise VerificationError(
                    f"d/d{c.name} disagrees with the reference at {labelled}: the oracle "
                    f"(forward mode, {digits} digits) gives {_fmt(a)}, symgrad's gradient "
                    f"gives {_fmt(b)} (its float evaluation: {evaluate(g, _env(point, every))!r})"
                )
            c.points.append(labelled)
            c.max_error = max(c.max_error, err)
    for c in checks:
        if not c.points:
            c.method, c.note = "undecided", f"{why} in {attempts} tries"
    return checks


def _env(point: dict, every: list[Expr]) -> dict:
    return {x: point[x.serial] for x in every}


def _finite(z: Any) -> bool:
    try:
        return math.isfinite(float(z))
    except (OverflowError, ValueError, TypeError):
        return False


def _fmt(z: Any) -> str:
    import mpmath

    return mpmath.nstr(z, 20) if not isinstance(z, int) else str(z)


def finite_difference(f: Any, wrt: Any, point: dict, h: float = 1e-6) -> list[float]:
    """Central differences of ``f`` at ``point`` (symbol -> number) for each symbol in ``wrt``."""
    syms, _ = _symbols(wrt)
    out = []
    for s in syms:
        hi = dict(point)
        lo = dict(point)
        hi[s] = point[s] + h
        lo[s] = point[s] - h
        out.append((evaluate(f, hi) - evaluate(f, lo)) / (2 * h))
    return out
