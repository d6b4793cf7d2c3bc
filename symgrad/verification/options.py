"""The options ``sg.verify`` shares between its two forms, checked before any work is done.

A bad option raises ``TypeError`` or ``ValueError`` naming it and saying what to give: a judge
that accepted ``digits=5`` would blame a correct program for the oracle's own rounding.
"""

from __future__ import annotations

import math
import numbers
import random
from typing import Any

from ..ir import Expr

MIN_DIGITS = 17
"""The fewest working digits of the oracle: float64 needs 17 significant digits to round-trip,
so with fewer the reference, not the program, would be the inaccurate side."""


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_digits(digits: Any) -> int:
    """``digits`` as an int of at least ``MIN_DIGITS``."""
    if not _is_int(digits):
        raise TypeError(
            f"digits must be an int (the oracle's working precision, at least {MIN_DIGITS}; "
            f"default 50), got {digits!r:.60}"
        )
    if digits < MIN_DIGITS:
        raise ValueError(
            f"digits must be at least {MIN_DIGITS} (float64 needs {MIN_DIGITS} significant "
            f"digits, so a coarser oracle would blame a correct program), got {digits}; "
            f"leave it at the default 50"
        )
    return int(digits)


def check_time_budget(time_budget: Any, default: float) -> float:
    """``time_budget`` in seconds (a number >= 0; None means ``default``)."""
    if time_budget is None:
        return default
    if not _is_real(time_budget):
        raise TypeError(
            f"time_budget must be a number of seconds (or None for {default:g} s), "
            f"got {time_budget!r:.60}"
        )
    if not time_budget >= 0:  # also rejects NaN
        raise ValueError(
            f"time_budget must be a number of seconds >= 0 (or None for {default:g} s), "
            f"got {time_budget!r}"
        )
    return float(time_budget)


def check_count(points: Any, default: int, form: str) -> int:
    """``points`` as a number of random points (at least 1; None means ``default``)."""
    if points is None:
        return default
    if not _is_int(points):
        extra = "" if form == "fn" else "; a list of points is for sg.verify(fn) of a compiled fn"
        raise TypeError(
            f"points must be an int (how many random points) or None for {default}{extra}, "
            f"got {points!r:.60}"
        )
    if points < 1:
        raise ValueError(f"points must be at least 1 (how many random points), got {points}")
    return int(points)


def sample_points(symbols: list[Expr], points: Any, rng: random.Random) -> list[dict]:
    """Points as {symbol serial: float}: random ones (the first inside every log/sqrt domain,
    later ones of either sign), or the user's (dicts keyed by input symbol or unique name)."""
    if points is None or _is_int(points):
        n = check_count(points, 3, "fn")
        lo = [0.2, -1.8]
        return [{s.serial: rng.uniform(lo[k % 2], 1.8) for s in symbols} for k in range(n)]
    if not isinstance(points, list | tuple):
        raise TypeError(
            "points must be an int (how many random points) or a list of dicts "
            f"symbol -> number, got {points!r:.60}"
        )
    if not points:
        raise ValueError("points is an empty list: give at least one dict symbol -> number")
    by_name: dict[str, Expr | None] = {}
    for s in symbols:
        by_name[s.payload] = s if s.payload not in by_name else None
    return [_one_point(k, given, symbols, by_name) for k, given in enumerate(points)]


def _one_point(k: int, given: Any, symbols: list[Expr], by_name: dict) -> dict[int, float]:
    if not isinstance(given, dict):
        raise TypeError(f"points[{k}] must be a dict symbol -> number, got {given!r:.60}")
    inputs = {s.serial for s in symbols}
    names = ", ".join(s.payload for s in symbols[:8]) + (", ..." if len(symbols) > 8 else "")
    pt: dict[int, float] = {}
    for key, v in given.items():
        s = getattr(key, "_expr", key)
        if isinstance(s, str):
            s = by_name.get(s)
            if s is None:
                raise ValueError(
                    f"points[{k}]: {key!r} names no single input symbol of the function "
                    f"(its inputs: {names}); key the point by the symbol itself"
                )
        elif not isinstance(s, Expr) or s.serial not in inputs:
            raise ValueError(
                f"points[{k}]: {key!r:.40} is not an input symbol of the function (its "
                f"inputs: {names}); give values for its inputs only"
            )
        if s.serial in pt:
            raise ValueError(f"points[{k}] gives {s.payload} twice (by symbol and by name)")
        pt[s.serial] = _value(k, key, v)
    missing = [s.payload for s in symbols if s.serial not in pt]
    if missing:
        raise ValueError(f"points[{k}] gives no value for {', '.join(missing[:5])}")
    return pt


def _value(k: int, key: Any, v: Any) -> float:
    if not _is_real(v):
        raise TypeError(
            f"points[{k}][{key!r:.40}] must be a real number, got {type(v).__name__} {v!r:.40}"
        )
    out = float(v)
    if not math.isfinite(out):
        raise ValueError(
            f"points[{k}][{key!r:.40}] must be finite, got {out!r}: the oracle cannot judge "
            f"a program at an infinite or NaN input"
        )
    return out
