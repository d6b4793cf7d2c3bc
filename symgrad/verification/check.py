"""``verify``: each derivative of symgrad's against SymPy's ``diff``, variable by variable.

A difference SymPy can simplify to zero within a budget is proven symbolically; anything else is
decided numerically, at random points evaluated in 50-digit arithmetic, so float rounding in
symgrad's own code plays no part in the verdict.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ..autodiff.reverse import _symbols, gradient
from ..errors import VerificationError
from ..ir import Expr, as_expr, evaluate, free_symbols
from .bridge import to_sympy

DIGITS = 50


@dataclass
class VariableCheck:
    """How one variable's derivative was decided: ``method`` is "symbolic" or "numeric"."""

    symbol: Expr
    method: str
    points: list[dict[str, float]] = field(default_factory=list)
    max_error: float = 0.0

    @property
    def name(self) -> str:
        return self.symbol.payload

    def __str__(self) -> str:
        if self.method == "symbolic":
            return f"d/d{self.name}: ok (symbolic: SymPy simplifies the difference to 0)"
        return (
            f"d/d{self.name}: ok (numeric: {len(self.points)} random points at {DIGITS} "
            f"digits, max relative error {self.max_error:.1e})"
        )


@dataclass
class VerifyReport:
    """The verdict of ``sg.verify``: one ``VariableCheck`` per variable, in order."""

    checks: list[VariableCheck]

    @property
    def ok(self) -> bool:
        return True  # a mismatch raises instead of reporting

    @property
    def methods(self) -> dict[str, str]:
        return {c.name: c.method for c in self.checks}

    def __getitem__(self, key: Any) -> VariableCheck:
        for c in self.checks:
            if c.symbol is getattr(key, "_expr", key) or c.name == key:
                return c
        raise KeyError(key)

    def __iter__(self):
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)

    def __str__(self) -> str:
        lines = [f"verified {len(self.checks)} derivative(s) against SymPy:"]
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
) -> Any:
    """Check ``sg.gradient(f, wrt)`` against SymPy's ``diff`` of ``sg.to_sympy(f)``; or, given a
    compiled function alone (``sg.verify(fn)``), check the program's every output against the
    high-precision forward-mode oracle (``ProgramReport``).

    ``budget`` bounds the size (SymPy ``count_ops``) of a difference that SymPy is asked to
    simplify; larger ones, or ones it cannot prove zero, are checked at ``points`` random points
    to relative tolerance ``tol``. Raises ``sg.VerificationError`` on a mismatch.
    """
    if hasattr(f, "output_exprs") and hasattr(f, "backend"):
        if wrt is not None:
            raise TypeError("sg.verify(fn) checks a compiled function's outputs; give no wrt")
        from .compiled import verify_compiled

        return verify_compiled(
            f, points=3 if points is None else points, digits=digits, seed=seed,
            time_budget=60.0 if time_budget is None else time_budget, progress=progress,
        )  # fmt: skip
    if wrt is None:
        raise TypeError("sg.verify(f, wrt) needs wrt: the symbols to differentiate by")
    points = 4 if points is None else points
    import sympy as sp

    syms, _ = _symbols(wrt)
    f = as_expr(getattr(f, "_expr", f), "f")
    ours = gradient(f, syms)
    f_sp = to_sympy(f)
    all_syms = free_symbols([f, ours])
    rng = random.Random(seed)
    checks = []
    for s, g in zip(syms, ours):
        s_sp = to_sympy(s)
        ref = sp.diff(f_sp, s_sp)
        mine = to_sympy(g)
        diff = ref - mine
        if diff == 0 or _proved_zero(sp, diff, budget):
            checks.append(VariableCheck(s, "symbolic"))
            continue
        checks.append(_numeric(sp, s, ref, mine, g, all_syms, rng, points, tol))
    return VerifyReport(checks)


def _proved_zero(sp, diff, budget: int) -> bool:
    try:
        if sp.count_ops(diff) > budget:
            return False
        return sp.simplify(diff) == 0
    except Exception:  # SymPy gives up in many ways; the numeric check decides then
        return False


def _sample(rng: random.Random, attempt: int) -> float:
    # Alternate positive points (inside every log/sqrt domain) with points of either sign.
    if attempt % 2 == 0:
        return rng.uniform(0.2, 1.8)
    return rng.uniform(-1.8, 1.8)


def _numeric(
    sp, s: Expr, ref, mine, g: Expr, syms: list[Expr], rng: random.Random, points: int, tol: float
) -> VariableCheck:
    check = VariableCheck(s, "numeric")
    attempts = 0
    while len(check.points) < points and attempts < 20 * points:
        point = {x: _sample(rng, attempts) for x in syms}
        attempts += 1
        subs = {to_sympy(x): sp.Float(v, DIGITS) for x, v in point.items()}
        try:
            a = complex(ref.xreplace(subs).evalf(DIGITS))
            b = complex(mine.xreplace(subs).evalf(DIGITS))
        except (TypeError, ValueError, ZeroDivisionError):
            continue  # undefined here (a kink, a pole, a comparison of complex values)
        if not all(map(_finite, (a, b))):
            continue
        err = abs(a - b) / max(1.0, abs(a))
        labelled = {x.payload: v for x, v in point.items()}
        if err > tol:
            raise VerificationError(
                f"d/d{s.payload} disagrees with SymPy at {labelled}: SymPy gives {_fmt(a)}, "
                f"symgrad's gradient gives {_fmt(b)} (its float evaluation: "
                f"{evaluate(g, point)!r})"
            )
        check.points.append(labelled)
        check.max_error = max(check.max_error, err)
    if not check.points:
        raise VerificationError(
            f"d/d{s.payload}: no point where both derivatives are defined "
            f"was found in {attempts} tries; check the domain of f"
        )
    return check


def _finite(z: complex) -> bool:
    return z == z and abs(z) != float("inf")


def _fmt(z: complex) -> str:
    return repr(z.real) if z.imag == 0 else repr(z)


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
