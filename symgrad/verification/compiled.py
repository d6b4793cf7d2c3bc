"""``sg.verify(fn)``: run a compiled program and judge every output against the oracle.

What is checked is the code that runs (``fn`` itself, whatever its backend), not the IR. Each
output is judged by what it claims to be: an output that ``sg.gradient`` built as
``d f / d s`` (``autodiff/provenance``) is compared with the derivative of ``f`` computed by the
oracle's forward mode (second derivatives by hyper-dual numbers), so neither the reverse sweep
nor the printers take part in the reference; any other output is compared with its own value
in high precision. One oracle pass per point serves every output.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..autodiff.provenance import Along, claims
from ..errors import VerificationError
from ..ir import Expr, free_symbols, leaves, map_leaves
from .options import check_digits, check_time_budget, sample_points
from .oracle import OutOfBudget, context, evaluate_jets, magnitudes, values
from .report import OutputCheck, ProgramReport, fmt_point, ulps_between

RTOL = 1e-9


@dataclass
class _Claim:
    """How output ``index`` is judged: its ``base`` expression and the symbols it is the
    derivative by (none: its own value; one: a gradient entry; two: a Hessian entry)."""

    index: int
    root: Expr
    base: Expr
    wrt: tuple[Expr, ...] = ()
    label: str = ""


@dataclass
class _Plan:
    claims: list[_Claim]
    bases: list[Expr]
    coords: dict[int, int] = field(default_factory=dict)  # symbol serial -> direction
    pairs: set = field(default_factory=set)
    alongs: dict[int, Along] = field(default_factory=dict)  # jvp directions, by their serial


def _valid(base: Any, allowed: set[int], memo: dict[int, bool]) -> bool:
    """Whether every symbol of ``base`` (an expression, or an ``Along``'s tangents) is an input
    (memoized: a gradient's n entries share one base, and walking it n times is quadratic)."""
    hit = memo.get(base.serial)
    if hit is None:
        exprs = [t for _, t in base.pairs] if isinstance(base, Along) else [base]
        hit = memo[base.serial] = all(s.serial in allowed for s in free_symbols(exprs))
    return hit


def _resolve(root: Expr, allowed: set[int], memo: dict, known: dict) -> list:
    """The valid readings of ``root``: (base, wrt) pairs, the deepest (order 2) first; claims
    from the compiled function's snapshot ``known``, else the live registry."""

    def claims_of(e: Expr) -> list:
        hit = known.get(e.serial)
        return hit if hit is not None else claims(e)

    def along_ok(s: Any) -> bool:  # a direction's tangents must be known at each point
        return not isinstance(s, Along) or _valid(s, allowed, memo)

    found = []
    for f, s in reversed(claims_of(root)):
        if not along_ok(s):
            continue
        for f0, s0 in reversed(claims_of(f)):
            # f0 = f: f is its own derivative (exp(x) * y along x); d^2 f/ds0/ds says no more
            if f0 is not f and _valid(f0, allowed, memo) and along_ok(s0):
                found.append((f0, (s0, s)))
        if _valid(f, allowed, memo):
            found.append((f, (s,)))
    return found


def plan(roots: list[Expr], symbols: list[Expr], known: dict | None = None) -> _Plan:
    """Decide each output's reading; bases shared by many outputs win (one consistent story)."""
    allowed = {s.serial for s in symbols}
    memo: dict[int, bool] = {}
    readings = [_resolve(r, allowed, memo, known or {}) for r in roots]
    votes: dict[int, int] = {}  # how many outputs each base explains
    for opts in readings:
        for serial in {base.serial for base, _ in opts}:
            votes[serial] = votes.get(serial, 0) + 1
    position: dict[int, int] = {}  # a node's first output
    for i, r in enumerate(roots):
        position.setdefault(r.serial, i)
    out = []
    for i, (root, opts) in enumerate(zip(roots, readings)):
        # an output read as a derivative of itself (its own first position) is a value
        opts = [o for o in opts if not (o[0] is root and position[root.serial] == i)]
        if not opts:
            out.append(_Claim(i, root, root, (), f"out[{i}]"))
            continue
        # The base explaining most outputs; among its readings the latest claim first.
        best = max(range(len(opts)), key=lambda k: (votes[opts[k][0].serial], -k))
        base, wrt = opts[best]
        j = position.get(base.serial)
        what = f"out[{j}]" if j is not None else "f"
        by = "".join(f"/d{s.payload}" for s in wrt)
        order = "" if len(wrt) == 1 else "^2"
        out.append(_Claim(i, root, base, wrt, f"out[{i}] = d{order}{what}{by}"))
    p = _Plan(out, [])
    seen: set[int] = set()
    for c in out:
        if c.base.serial not in seen:
            seen.add(c.base.serial)
            p.bases.append(c.base)
        for s in c.wrt:
            p.coords.setdefault(s.serial, len(p.coords))
            if isinstance(s, Along):
                p.alongs[s.serial] = s
        if len(c.wrt) == 2:
            i, j = sorted(p.coords[s.serial] for s in c.wrt)
            p.pairs.add((i, j))
    return p


def _input_symbols(fn: Any) -> list[Expr]:
    out = []
    for item in fn.inputs:
        out.extend(getattr(x, "_expr", x) for x in leaves(item))
    return out


def _call(fn: Any, point: dict[int, float]) -> list[float]:
    args = [map_leaves(item, lambda x: point[getattr(x, "_expr", x).serial]) for item in fn.inputs]
    result = fn(*args)
    flat: list[float] = []
    stack = [result]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(reversed(item))
        elif hasattr(item, "tocsr") and hasattr(item, "data"):  # an sg.Sparse output (SciPy)
            flat.extend(float(v) for v in item.data.tolist())  # its values, as compiled
        elif hasattr(item, "ravel") and getattr(item, "shape", ()) != ():
            flat.extend(float(v) for v in item.ravel().tolist())
        else:
            flat.append(float(item))
    return flat


class _Progress:
    """A line on stderr every few seconds once a check has run for a while (never silent)."""

    def __init__(self, enabled: bool | None, total_points: int) -> None:
        self.enabled, self.total = enabled, total_points
        self.start = self.last = time.monotonic()
        self.point = 0

    def tick(self, done: int, nodes: int) -> None:
        now = time.monotonic()
        if self.enabled is False or (self.enabled is None and now - self.start < 3.0):
            return
        if now - self.last >= 2.0 or self.enabled:
            self.last = now
            print(
                f"symgrad verify: point {self.point + 1}/{self.total}, {done:,}/{nodes:,} "
                f"nodes, {now - self.start:.1f} s",
                file=sys.stderr,
                flush=True,
            )


def _oracle_value(c: _Claim, jets: Any, coords: dict[int, int]) -> Any:
    s = c.base.serial
    if not c.wrt:
        return jets.value[s]
    ks = sorted(coords[w.serial] for w in c.wrt)
    if len(ks) == 1:
        return jets.d1[s].get(ks[0], 0)
    return jets.d2[s].get((ks[0], ks[1]), 0)


def verify_compiled(
    fn: Any,
    *,
    points: Any = 3,
    digits: int = 50,
    seed: int | None = 0,
    time_budget: float | None = 60.0,
    rtol: float = RTOL,
    progress: bool | None = None,
    directions: str = "coordinate",
) -> ProgramReport:
    """Check every output of the compiled function ``fn`` at ``points`` against the oracle.

    ``directions="coordinate"`` computes every first derivative on its own (one tangent per
    input a node depends on); ``"random"`` checks each gradient along two random directions
    (J v against the program's outputs dotted with v), a cost independent of the number of
    inputs, and names the output by coordinates only where it finds a mismatch."""
    if getattr(fn, "output_exprs", None) is None or getattr(fn, "inputs", None) is None:
        raise TypeError(
            "fn carries no expressions to verify against (an unpickled or loaded compiled "
            "function); verify the CompiledFunction that sg.compile returned"
        )
    if directions not in ("coordinate", "random"):
        raise ValueError(f"directions must be 'coordinate' or 'random', not {directions!r}")
    digits = check_digits(digits)
    time_budget = check_time_budget(time_budget, 60.0)
    start = time.monotonic()
    symbols = _input_symbols(fn)
    rng = random.Random(seed)
    pts = sample_points(symbols, points, rng)
    p = plan(list(fn.output_exprs), symbols, getattr(fn, "output_claims", None))
    M = context(digits)
    method = _methods(digits, directions)
    checks = [OutputCheck(c.label, method[_order(c, directions)]) for c in p.claims]
    report = ProgramReport(checks, fn.backend, digits, len(pts), start=start)
    coord = {s: {k: 1} for s, k in p.coords.items() if s not in p.alongs}
    dirs0 = coord if directions == "coordinate" else _random_directions(p, rng)
    prog = _Progress(progress, len(pts))
    for n, pt in enumerate(pts):
        prog.point = n
        run = dict(p=p, pt=pt, M=M, deadline=start + time_budget, tick=prog.tick)
        try:
            dirs = _with_alongs(p, pt, M, dirs0)
            jets = _pass(dirs=dirs, **run)
            got = _call(fn, pt)
            judge = dict(got=got, pt=pt, checks=checks, symbols=symbols, backend=fn.backend)
            sizes = _Sizes(p, _with_alongs(p, pt, M, coord), run)
            if directions == "random" and not _projected(p, jets, dirs, M, rtol, **judge):
                exact = _with_alongs(p, pt, M, coord)
                _judge(p, _pass(dirs=exact, **run), rtol=rtol, sizes=sizes, **judge)  # names it
            _judge(p, jets, rtol=rtol, skip_first=dirs0 is not coord, sizes=sizes, **judge)
        except OutOfBudget as exc:
            report.out_of_budget = f"time_budget {time_budget:g} s ran out at point {n + 1} ({exc})"
            break
        report.points_done = n + 1
    report.elapsed = time.monotonic() - start
    return report


def _methods(digits: int, directions: str) -> dict[int, str]:
    """The method line of each ``_order``."""
    dual = f"forward mode (dual numbers) at {digits} digits"
    first = f"forward mode along {len(_RANDOM)} random directions at {digits} digits"
    return {
        0: f"value at {digits} digits",
        1: first if directions == "random" else dual,
        2: f"second-order forward mode (hyper-dual) at {digits} digits",
        3: dual,
    }


_RANDOM = (-1, -2)  # the direction keys of the random directions (coordinates are 0, 1, ...)


def _pass(p, dirs, pt, M, deadline, tick):
    return evaluate_jets(
        p.bases, pt, dirs, M, second=bool(p.pairs), pairs=p.pairs, deadline=deadline, tick=tick
    )


def _order(c: _Claim, directions: str) -> int:
    """Which method line judges ``c``: 0 value, 1 first, 2 second derivative; 3 a derivative
    along a jvp's tangents, which the random directions leave alone."""
    along = len(c.wrt) == 1 and isinstance(c.wrt[0], Along)
    return 3 if along and directions == "random" else len(c.wrt)


def _with_alongs(p: _Plan, pt: dict, M: Any, dirs: dict) -> dict:
    """``dirs`` and each jvp direction of the plan: its tangents' values at ``pt`` (in high
    precision, from the tangent expressions), added to the symbols' direction entries."""
    if not p.alongs:
        return dirs
    out = {s: dict(d) for s, d in dirs.items()}
    vals = values([t for a in p.alongs.values() for _, t in a.pairs], pt, M)
    for serial, a in p.alongs.items():
        k = p.coords[serial]
        for sym, t in a.pairs:
            d = out.setdefault(sym.serial, {})
            d[k] = d.get(k, 0) + vals[t.serial]
    return out


def _random_directions(p: _Plan, rng: random.Random) -> dict:
    """Two random directions over the first-order symbols; coordinates stay for the symbols of
    second derivatives (the hyper-dual parts need them)."""
    paired = {k for pair in p.pairs for k in pair}
    out: dict[int, dict] = {}
    for s, k in p.coords.items():
        if s in p.alongs:
            continue
        d = out[s] = {r: rng.uniform(-1.0, 1.0) for r in _RANDOM}
        if k in paired:
            d[k] = 1
    return out


def _projected(p, jets, dirs, M, rtol, got, pt, checks, symbols, backend) -> bool:
    """Each gradient dotted with each random direction against the oracle's J v; False at the
    first family that disagrees (the caller then names the output by coordinates)."""
    families: dict[int, list] = {}
    for c, y, chk in zip(p.claims, got, checks):
        if len(c.wrt) == 1 and c.wrt[0].serial not in p.alongs:
            families.setdefault(c.base.serial, []).append((c, y, chk))
    for base, members in families.items():
        for r in _RANDOM:
            if not all(math.isfinite(y) for _, y, _ in members):
                return False  # a NaN or inf where the oracle may have a number: look closer
            comps = [M.mpf(y) * M.mpf(dirs[c.wrt[0].serial][r]) for c, y, _ in members]
            want = jets.d1[base].get(r, 0)
            if want != want:
                continue  # undefined here
            err = abs(M.fsum(comps) - want)
            scale = max(M.fsum(abs(v) for v in comps), abs(want))
            if err > rtol * scale and err != 0:
                return False
            for _c, _, chk in members:
                u = ulps_between(0.0, float(scale), float(err))
                chk.add(u, float(err / scale) if scale else 0.0, pt, symbols, u)
    return True


class _Sizes:
    """The chain rule's term magnitudes at one point (``oracle.magnitudes``), computed on the
    first first-derivative that fails the plain test, in one extra pass: a derivative that is
    exactly 0 after cancellation (``x/(2.5*x)``) is judged against the size of what cancelled,
    the rounding a float program cannot avoid, instead of an impossible 0."""

    def __init__(self, p: _Plan, dirs: dict, run: dict) -> None:
        self.p, self.dirs, self.run, self.d1 = p, dirs, run, None

    def of(self, c: _Claim) -> float:
        if len(c.wrt) != 1:
            return 0.0
        if self.d1 is None:
            run = self.run
            self.d1 = magnitudes(
                self.p.bases, run["pt"], self.dirs, run["M"], deadline=run["deadline"]
            )
        return _absf(self.d1[c.base.serial].get(self.p.coords[c.wrt[0].serial], 0))


def _judge(p, jets, got, pt, checks, symbols, backend, rtol, sizes, skip_first=False) -> None:
    """Compare each output at one point; raise VerificationError on the first mismatch
    (``skip_first``: first derivatives were judged along random directions already)."""
    want = [_oracle_value(c, jets, p.coords) for c in p.claims]
    scale: dict[tuple, float] = {}  # norm-wise scale: the largest |value| of a base's family
    for c, z in zip(p.claims, want):
        key = (c.base.serial, len(c.wrt))
        scale[key] = max(scale.get(key, 0.0), _absf(z)) if c.wrt else _absf(z)
    for c, z, y, chk in zip(p.claims, want, got, checks):
        if skip_first and len(c.wrt) == 1 and c.wrt[0].serial not in p.alongs:
            continue
        if z != z:  # the mathematics is undefined here (a pole, outside a domain)
            chk.skipped += 1
            continue
        zf = float(z)
        err = abs(y - z) if math.isfinite(y) and math.isfinite(zf) else None
        if err is None:
            ok = y == zf
            rel = ulps = scaled = 0.0 if ok else math.inf
        else:
            size = abs(z)
            ref = max(size, scale[(c.base.serial, len(c.wrt))] if c.wrt else size)
            # y == zf: the oracle rounded to a double is what the program gives (an underflow)
            ok = err <= rtol * ref or err == 0 or y == zf
            rel = float(err / size) if size else (0.0 if err == 0 else math.inf)
            ulps = ulps_between(y, zf, float(err))
            scaled = ulps_between(y, float(ref), float(err))
            if not ok and c.wrt:  # cancellation: the terms' size bounds the honest error
                ref = max(ref, sizes.of(c))
                ok = err <= rtol * ref
                scaled = ulps_between(y, float(ref), float(err))
        chk.add(ulps, rel, pt, symbols, scaled)
        if not ok:
            raise VerificationError(
                f"{c.label} of the compiled ({backend}) program disagrees with the oracle at "
                f"{fmt_point(pt, symbols)}: the program gives {y!r}, the oracle "
                f"{_show(z)} ({chk.method}); relative error {rel:.3g}, {ulps:.3g} ulps"
            )


def _absf(z: Any) -> float:
    try:
        v = abs(float(z))
    except (OverflowError, ValueError):
        return math.inf
    return v if v == v else 0.0


def _show(z: Any) -> str:
    import mpmath

    return mpmath.nstr(z, 20)
