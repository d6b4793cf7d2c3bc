"""Shared checking helpers: SymPy as the reference, central differences, tolerant comparison."""

from __future__ import annotations

import math
import os
import shutil

import pytest
import sympy as sp

import symgrad as sg

DIGITS = 30

HAVE_CC = bool(os.environ.get("CC") or any(shutil.which(n) for n in ("cc", "gcc", "clang")))
needs_cc = pytest.mark.skipif(
    not HAVE_CC, reason="no C compiler on this machine (install gcc/clang or set CC)"
)
"""Marks the C backend's tests: skipped, with the reason shown, only where no compiler exists
(tests/conftest.py's ``c_cache`` fixture keeps their builds out of the user's cache)."""


def close(a: float, b: float, rtol: float, atol: float | None = None) -> bool:
    """Equal within tolerance; nan equals nan, infinities must match exactly."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    atol = rtol if atol is None else atol
    return abs(a - b) <= max(rtol * max(abs(a), abs(b)), atol)


def sympy_value(e, point: dict) -> float:
    """``e`` evaluated by SymPy in high precision at ``point`` (symbol -> float)."""
    subs = {sg.to_sympy(k): sp.Float(v, DIGITS) for k, v in point.items()}
    try:
        z = complex(sp.sympify(e).xreplace(subs).evalf(DIGITS))
    except (TypeError, ValueError):
        # SymPy left something unevaluated (Heaviside(0) at a tie, or a Derivative of
        # sign(...) that cannot take a number for its variable): no verdict
        return math.nan
    return z.real if abs(z.imag) <= 1e-20 * max(1.0, abs(z.real)) else math.nan


def sympy_diff(f_sp, *wrt):
    """SymPy's derivative of ``f_sp``, where floor and ceiling (also inside ``Mod(a, b) =
    a - b*floor(a/b)``) are held constant, as they are almost everywhere (SymPy leaves their
    derivatives unevaluated, and its evalf of those recurses without end)."""
    f_sp = sp.sympify(f_sp)
    mods = {m: m.args[0] - m.args[1] * sp.floor(m.args[0] / m.args[1]) for m in f_sp.atoms(sp.Mod)}
    f_sp = f_sp.xreplace(mods) if mods else f_sp
    steps = f_sp.atoms(sp.floor, sp.ceiling)
    if not steps:
        return sp.diff(f_sp, *wrt)
    held = {e: sp.Dummy("k", real=True) for e in steps}
    back = {k: e for e, k in held.items()}
    return sp.diff(f_sp.xreplace(held), *wrt).xreplace(back)


def sympy_grad(f, wrt: list, point: dict) -> list[float]:
    """SymPy's derivatives of ``f`` (independent of symgrad's rules) at ``point``."""
    f_sp = sg.to_sympy(f)
    return [sympy_value(sympy_diff(f_sp, sg.to_sympy(s)), point) for s in wrt]


def central(f, wrt: list, point: dict, h: float) -> list[float]:
    out = []
    for s in wrt:
        hi, lo = dict(point), dict(point)
        step = h * max(1.0, abs(point[s]))
        hi[s] += step
        lo[s] -= step
        out.append((sg.evaluate(f, hi) - sg.evaluate(f, lo)) / (2 * step))
    return out


def one_sided(f, wrt: list, point: dict, h: float) -> list[float]:
    """Forward (h > 0) or backward (h < 0) differences."""
    f0 = sg.evaluate(f, point)
    out = []
    for s in wrt:
        moved = dict(point)
        step = h * max(1.0, abs(point[s]))
        moved[s] += step
        out.append((sg.evaluate(f, moved) - f0) / step)
    return out


def smooth_at(f, wrt: list, point: dict) -> bool:
    """Whether f looks differentiable at ``point``: forward and backward differences agree and
    are finite (at a kink of relu/abs/max/where they do not)."""
    fwd = one_sided(f, wrt, point, 2e-6)
    bwd = one_sided(f, wrt, point, -2e-6)
    return all(
        math.isfinite(x) and math.isfinite(y) and close(x, y, 1e-3, 1e-4) for x, y in zip(fwd, bwd)
    )


def counted(fn):
    """``fn`` wrapped to count how many times it is called (= traced): ``wrapper.calls``."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)

    wrapper.calls = calls
    wrapper.__name__ = fn.__name__
    return wrapper


def count_compiles(monkeypatch) -> list:
    """The C compiler runs made from here on, as their argv lists (the C call entry, built once
    per cache, is built first and not counted)."""
    from symgrad.backends.c import cache
    from symgrad.backends.c import call as ccall

    ccall.module()
    runs: list = []
    real = cache._run_compiler

    def counting(argv, cwd):
        runs.append(argv)
        return real(argv, cwd)

    monkeypatch.setattr(cache, "_run_compiler", counting)
    return runs
