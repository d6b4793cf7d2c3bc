"""What ``sg.verify(fn)`` reports: per output, the method and the largest errors seen."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from ..ir import Expr


def ulps_between(y: float, z: float, err: float) -> float:
    """``err`` (= |y - exact|) in units in the last place of the exact value ``z`` rounded to a
    float; below the normal range the unit is the smallest normal's (a tiny absolute error near
    0 is not a huge ulp count)."""
    unit = math.ulp(max(abs(z), 2.2250738585072014e-308))
    return err / unit


def fmt_point(pt: dict[int, float], symbols: list[Expr], limit: int = 8) -> str:
    """``{x: 0.5, y: -1.25, ...}`` by symbol name, the first ``limit`` symbols."""
    items = [f"{s.payload}={pt[s.serial]!r}" for s in symbols[:limit]]
    more = f", ... ({len(symbols)} inputs)" if len(symbols) > limit else ""
    return "{" + ", ".join(items) + more + "}"


@dataclass
class OutputCheck:
    """One output's verdict: how it was judged and its largest error over the points."""

    label: str
    method: str
    points: int = 0
    skipped: int = 0  # points where the mathematics is undefined (NaN in the oracle)
    max_ulps: float = 0.0
    max_rel: float = 0.0
    worst_point: str = ""
    max_scaled_ulps: float = 0.0  # the error in ulps of the family's largest entry (norm-wise)

    def add(self, ulps: float, rel: float, pt: dict, symbols: list, scaled: float = 0.0) -> None:
        self.points += 1
        self.max_scaled_ulps = max(self.max_scaled_ulps, scaled)
        if ulps > self.max_ulps or not self.worst_point:
            self.max_ulps = max(self.max_ulps, ulps)
            self.worst_point = fmt_point(pt, symbols)
        self.max_rel = max(self.max_rel, rel)

    def __str__(self) -> str:
        if not self.points:
            why = "no point where it is defined" if self.skipped else "checked at no point"
            return f"{self.label}: undecided ({why}; {self.method})"
        return (
            f"{self.label}: ok, {self.max_ulps:.3g} ulps max, relative {self.max_rel:.2e}, "
            f"{self.points} point(s) ({self.method}); worst at {self.worst_point}"
        )


class Checks:
    """A report's sequence face: iterating and ``len`` go over its ``checks``."""

    checks: list

    def __iter__(self):
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)


@dataclass
class ProgramReport(Checks):
    """The verdict of ``sg.verify(fn)``. A mismatch raises instead; running out of the time
    budget is said here (``complete`` is False and ``out_of_budget`` says where)."""

    checks: list[OutputCheck]
    backend: str
    digits: int
    points_asked: int
    points_done: int = 0
    out_of_budget: str | None = None
    elapsed: float = 0.0
    start: float = field(default_factory=time.monotonic, repr=False)

    @property
    def complete(self) -> bool:
        return self.out_of_budget is None and all(c.points for c in self.checks)

    @property
    def decided(self) -> bool:
        """True when every output was checked at one point at least."""
        return bool(self.checks) and all(c.points for c in self.checks)

    @property
    def max_ulps(self) -> float:
        return max((c.max_ulps for c in self.checks), default=0.0)

    @property
    def max_rel(self) -> float:
        return max((c.max_rel for c in self.checks), default=0.0)

    @property
    def max_scaled_ulps(self) -> float:
        """The largest error in ulps of the largest entry of its family (gradient, Hessian):
        the norm-wise figure, which cancellation inside one small entry does not inflate."""
        return max((c.max_scaled_ulps for c in self.checks), default=0.0)

    def __getitem__(self, i: int) -> OutputCheck:
        return self.checks[i]

    def summary(self) -> str:
        state = "verified" if self.complete else "NOT fully verified"
        line = (
            f"{state}: {len(self.checks)} output(s) of the {self.backend} program at "
            f"{self.points_done}/{self.points_asked} point(s) against the {self.digits}-digit "
            f"oracle in {self.elapsed:.2f} s; largest error {self.max_ulps:.3g} ulps "
            f"({self.max_scaled_ulps:.3g} ulps of the largest entry of its family), relative "
            f"{self.max_rel:.2e}"
        )
        if self.out_of_budget:
            line += f"\n  out of budget: {self.out_of_budget}"
        return line

    def __str__(self) -> str:
        return "\n".join([self.summary()] + [f"  {c}" for c in self.checks])

    __repr__ = summary
