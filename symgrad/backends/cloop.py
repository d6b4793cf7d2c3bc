"""Rerolling: repeated stretches of a large program become C loops.

Graphs built by Python loops repeat themselves: a 100,000-step chain is one three-op step a
hundred thousand times, a Rosenbrock sum is one eight-op term per coordinate, and their
gradients repeat the same way backwards. Printed straight, such a program costs the C compiler
minutes and the CPU an instruction stream far larger than its caches. Rerolled, it is a few
small loops: quick to compile and as fast to run as the loop a person would write.

The program is first written as instructions in serial order (one op, or one output store,
each), every operand an id: a temporary (the instruction that made it), an input element, a
constant or an output slot. A stretch starting at ``s`` is a loop of body length ``P`` run
``R`` times when instruction ``s + r*P + q`` has the same op and operand kinds for every
iteration ``r``, and each operand id moves by a fixed step per iteration. The step says what
the operand is: 0, a value from before the loop (invariant); ``P``, a value of this iteration
or, pointing before the body, of the previous one (loop-carried); a multiple of an earlier
loop's body length, that loop's values at an affine iteration (stored in a workspace array,
read forwards or backwards, which is how a gradient loop reads its forward pass); for inputs
and outputs, an affine element index. Anything else is not a loop: the scan stays greedy and
linear, and what does not reroll is printed straight.

Only the structure of the graph decides; labels never enter the source (identifiers are
``s<k>`` for straight values, ``b<q>`` in loop bodies, ``c<loop>_<q>`` for carried values,
``sg_k<loop>_<n>`` for constant tables and ``sg_w`` for arrays).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..ir import Expr
from ..ops import ATOM, INFO, Op
from .cvm import CODE, OPS  # opcodes: the op table's order, as the interpreter numbers them

TEMP, INPUT, CONST, OUTPUT = 0, 1, 2, 3
NONE = 4  # an unused operand slot
MAX_ARITY = 3
MAX_BODY = 256  # longest loop body looked for
MAX_TRIES = 8  # candidate body lengths tried at one position
MIN_ITERS = 4  # a loop runs at least this many times
MIN_COVER = 24  # and covers at least this many instructions
STORE = len(OPS)  # the pseudo-op writing an output: operands (value, output slot)
STORE_ARITY = 2
if max(info.arity for info in INFO.values()) > MAX_ARITY:  # tape() packs three operands
    raise ImportError("cloop.MAX_ARITY is below an op's arity; widen the tape")


@dataclass
class Tape:
    """The program as instructions: ``op[k]`` and per operand slot ``kind[a][k]``/``ids[a][k]``."""

    op: np.ndarray
    kind: np.ndarray  # (MAX_ARITY, n)
    ids: np.ndarray  # (MAX_ARITY, n)
    consts: list[float]
    key: np.ndarray  # op and operand kinds in one integer: equal keys may share a loop body

    @property
    def n(self) -> int:
        return len(self.op)


def tape(nodes: list[Expr], roots: list[Expr], input_index: dict[int, int]) -> Tape:
    """Instructions for ``nodes`` (a topological order), with each output stored right after
    the instruction that makes it. ``input_index`` maps a symbol's serial to its flat index.

    Operands are packed as ``id * 8 + kind`` while collecting (one list append each)."""
    ops: list[int] = []
    a0: list[int] = []
    a1: list[int] = []
    a2: list[int] = []
    consts: list[float] = []
    const_id: dict[str, int] = {}
    where: dict[int, int] = {}  # serial -> packed operand
    stores: dict[int, list[int]] = {}
    for r, root in enumerate(roots):
        stores.setdefault(root.serial, []).append(r)
    code = CODE
    none = NONE
    lead: list[tuple[int, int]] = []  # outputs that are inputs or constants
    push, push0, push1, push2 = ops.append, a0.append, a1.append, a2.append
    k = 0
    for node in nodes:
        args = node.args
        if args:
            push(code[node.op])
            n = len(args)
            push0(where[args[0].serial])
            push1(where[args[1].serial] if n > 1 else none)
            push2(where[args[2].serial] if n > 2 else none)
            s = node.serial
            where[s] = k * 8  # TEMP
            k += 1
            if s in stores:
                val = (k - 1) * 8
                for r in stores[s]:
                    push(STORE)
                    push0(val)
                    push1(r * 8 + OUTPUT)
                    push2(none)
                    k += 1
            continue
        s = node.serial
        if node.op is Op.CONST:
            v = node.payload
            h = v.hex()
            c = const_id.get(h)
            if c is None:
                c = const_id[h] = len(consts)
                consts.append(v)
            ref = where[s] = c * 8 + CONST
        else:
            ref = where[s] = input_index[s] * 8 + INPUT
        if s in stores:
            lead += [(ref, r) for r in stores[s]]
    op_a = np.array([STORE] * len(lead) + ops, dtype=np.int64)
    packed = np.array(
        [
            [x for x, _ in lead] + a0,
            [r * 8 + OUTPUT for _, r in lead] + a1,
            [NONE] * len(lead) + a2,
        ],
        dtype=np.int64,
    ).reshape(MAX_ARITY, len(op_a))
    kind_a = packed & 7
    ids_a = packed >> 3
    if lead:  # the leading stores shift every temporary's id
        ids_a[kind_a == TEMP] += len(lead)
    key = op_a * 125 + kind_a[0] * 25 + kind_a[1] * 5 + kind_a[2]
    return Tape(op_a, kind_a, ids_a, consts, key)


@dataclass
class Loop:
    """Instructions ``start .. start + period*count`` as ``count`` runs of one body."""

    start: int
    period: int
    count: int
    ops: list[int]  # per body position: the op's code (or STORE)
    slots: list[list[tuple]]  # per body position, per operand: how to read it
    carried: dict[int, int] = field(default_factory=dict)  # body position -> init value id
    arrays: set[int] = field(default_factory=set)  # body positions stored for later readers

    @property
    def end(self) -> int:
        return self.start + self.period * self.count


@dataclass
class Plan:
    """The tape cut into straight instructions and loops, in order."""

    tape: Tape
    loops: list[Loop]
    loop_of: np.ndarray  # instruction -> loop index, or -1 (straight)

    @property
    def statements(self) -> int:
        """Instructions as printed: straight ones plus one body per loop."""
        t = self.tape.n
        for lp in self.loops:
            t -= lp.period * (lp.count - 1)
        return t


def _next_same(key: np.ndarray) -> np.ndarray:
    """For each instruction, the next one with the same key (or -1)."""
    n = len(key)
    order = np.argsort(key, kind="stable")
    nxt = np.full(n, -1, dtype=np.int64)
    same = key[order[1:]] == key[order[:-1]]
    nxt[order[:-1][same]] = order[1:][same]
    return nxt


def _run_of(t: Tape, s: int, p: int, cap: int) -> int:
    """How many times (up to ``cap``) the body ``s .. s+p`` repeats with equal keys and affine
    operand ids. Checks blocks of doubling size, so the cost follows the run, not the tape."""
    cap = min(cap, (t.n - s) // p)
    r = 1
    block = 8
    d = None
    free = t.kind[:, s : s + p] != CONST
    while r < cap:
        hi = min(cap, r + block)
        keys = t.key[s : s + hi * p].reshape(hi, p)
        bad = np.nonzero((keys[r:] != keys[0]).any(axis=1))[0]
        ok = hi if not len(bad) else r + int(bad[0])
        if ok <= 1:
            return 1
        ids = t.ids[:, s : s + ok * p].reshape(MAX_ARITY, ok, p)
        if d is None:
            d = ids[:, 1] - ids[:, 0]
        lo = max(r - 1, 0)
        steps = ids[:, lo + 1 : ok] - ids[:, lo : ok - 1]
        wrong = (steps != d[:, None, :]) & free[:, None, :]  # constants may vary (a table)
        bad = np.nonzero(wrong.any(axis=(0, 2)))[0]
        if len(bad):
            return lo + 1 + int(bad[0])
        if ok < hi:
            return ok
        r = hi
        block *= 2
    return max(r, 1)


def plan(t: Tape, input_ranges: list[tuple[int, int]]) -> Plan:
    """Find the loops: greedy from the front, the candidate covering most instructions wins."""
    n = t.n
    nxt = _next_same(t.key)
    loop_of = np.full(n, -1, dtype=np.int64)
    loops: list[Loop] = []
    i = 0
    nxt_l = nxt.tolist()
    while i < n:
        best = None
        j = nxt_l[i]
        tries = 0
        while j != -1 and j - i <= MAX_BODY and tries < MAX_TRIES:
            tries += 1
            p = j - i
            if _run_of(t, i, p, MIN_ITERS) < MIN_ITERS:
                j = nxt_l[j]
                continue
            # what the operands allow (inputs stay in their argument, reads of earlier loops
            # stay in them), from the first iterations; then how far the run really goes
            probe = _classify(t, i, p, (n - i) // p, loops, loop_of, input_ranges, probe=True)
            r = _run_of(t, i, p, probe.count) if probe is not None else 0
            if r >= MIN_ITERS and p * r >= MIN_COVER:
                lp = _classify(t, i, p, r, loops, loop_of, input_ranges)
                if lp is not None and (
                    best is None or lp.period * lp.count > best.period * best.count
                ):
                    best = lp
            j = nxt_l[j]
        if best is None:
            i += 1
            continue
        for row in best.slots:  # mark the arrays earlier loops must keep
            for how in row:
                if how[0] == "arr":
                    loops[how[1]].arrays.add(how[2])
                elif how[0] == "inv":
                    _keep(loops, loop_of, how[1])
        for init in best.carried.values():
            _keep(loops, loop_of, init)
        loop_of[best.start : best.end] = len(loops)
        loops.append(best)
        i = best.end
    # straight code reading loop values reads them from the loops' arrays
    straight = loop_of < 0
    for a in range(MAX_ARITY):
        sel = straight & (t.kind[a] == TEMP)
        refs = t.ids[a][sel]
        refs = refs[loop_of[refs] >= 0]
        for ref in np.unique(refs).tolist():
            _keep(loops, loop_of, ref)
    return Plan(t, loops, loop_of)


def _keep(loops: list[Loop], loop_of: np.ndarray, i: int) -> None:
    """Value ``i`` is read after its loop: keep it in an array, unless it is the last value of
    a loop-carried position (then the carried variable holds it after the loop)."""
    li = int(loop_of[i])
    if li < 0:
        return
    lp = loops[li]
    it, pos = divmod(i - lp.start, lp.period)
    if not (it == lp.count - 1 and pos in lp.carried):
        lp.arrays.add(pos)


def _classify(
    t: Tape,
    s: int,
    p: int,
    r: int,
    loops: list[Loop],
    loop_of: np.ndarray,
    input_ranges: list[tuple[int, int]],
    probe: bool = False,
) -> Loop | None:
    """How each operand of the body ``s .. s+p`` (``r`` runs) is read, and how many runs are
    valid; None if some operand fits no rule or fewer than MIN_ITERS runs remain. A ``probe``
    only finds that limit from the first two iterations (constants are not looked at)."""
    kind = t.kind[:, s : s + p]
    id0 = t.ids[:, s : s + p]
    step = t.ids[:, s + p : s + 2 * p] - id0
    slots: list[list[tuple]] = []
    carried: dict[int, int] = {}
    for q in range(p):
        row = []
        arity = STORE_ARITY if t.op[s + q] == STORE else INFO[OPS[t.op[s + q]]].arity
        for a in range(arity):
            k, i0, d = int(kind[a, q]), int(id0[a, q]), int(step[a, q])
            if k == CONST and probe:  # (runs with varying constants are tables)
                row.append(("const", i0))
            elif k == CONST:
                cids = t.ids[a, s + q : s + q + r * p : p]
                if (cids == i0).all():
                    row.append(("const", i0))
                else:  # a different constant each iteration: a table
                    row.append(("table", [t.consts[c] for c in cids.tolist()]))
            elif k == OUTPUT:
                row.append(("out", i0, d))
            elif k == INPUT:
                for lo, hi in input_ranges:
                    if lo <= i0 < hi:
                        break
                else:  # pragma: no cover - ids come from the ranges
                    return None
                if d > 0:  # keep within one argument
                    r = min(r, (hi - 1 - i0) // d + 1)
                elif d < 0:
                    r = min(r, (i0 - lo) // (-d) + 1)
                row.append(("in", i0, d))
            elif d == 0:
                if i0 >= s:
                    return None
                row.append(("inv", i0))
            elif d == p and 0 <= i0 - s < q:
                row.append(("cur", i0 - s))
            elif d == p and -p <= i0 - s < 0:
                pos = i0 - s + p
                carried[pos] = i0
                row.append(("carry", pos))
            else:
                li = int(loop_of[i0])  # an earlier loop's values, at affine iterations
                if li < 0:
                    return None
                other = loops[li]
                if d % other.period:
                    return None
                it, pos = divmod(i0 - other.start, other.period)
                kk = d // other.period
                if kk > 0:
                    r = min(r, (other.count - 1 - it) // kk + 1)
                else:
                    r = min(r, it // (-kk) + 1)
                row.append(("arr", li, pos, it, kk))
            if r < MIN_ITERS:
                return None
        slots.append(row)
    if p * r < MIN_COVER:
        return None
    return Loop(s, p, r, t.op[s : s + p].tolist(), slots, carried)


def emit(
    pl: Plan,
    inputs: list[tuple[int, int]],
    reduce: str | None,
    literal: Callable[[float], tuple[str, int]],
    render: Callable[[Op, list[str]], str],
) -> tuple[list[str], int]:
    """The statements of one sample (inside the caller's loop over ``sg_j``) and the size of
    the workspace ``sg_w`` they index. ``inputs[g]`` is (argument, element) of flat input
    ``g``, read as ``sg_p<argument>[element]``; ``render(op, operand texts)`` prints an op."""
    t = pl.tape
    loop_of = pl.loop_of
    base: dict[tuple[int, int], int] = {}
    size = 0
    for li, lp in enumerate(pl.loops):
        for pos in sorted(lp.arrays):
            base[li, pos] = size
            size += lp.count
    # every operand is printed as an atom: a literal that is not one (a negative number,
    # -HUGE_VAL) goes in parentheses, so no template can glue it to an operator (x - -1 is
    # fine, but a "-{0}" template would make --1)
    lit = [text if prec >= ATOM else f"({text})" for text, prec in map(literal, t.consts)]

    def value(i: int) -> str:  # a temporary read from outside its loop iteration
        li = loop_of[i]
        if li < 0:
            return f"s{i}"
        lp = pl.loops[li]
        it, pos = divmod(i - lp.start, lp.period)
        if it == lp.count - 1 and pos in lp.carried:
            return f"c{li}_{pos}"
        return f"sg_w[{base[li, pos] + it}]"

    def operand(kd: int, i: int) -> str:
        if kd == TEMP:
            return value(i)
        if kd == CONST:
            return lit[i]
        a, e = inputs[i]
        return f"sg_p{a}[{e}]"

    def store(target: str, val: str) -> str:
        return f"{target} += {val};" if reduce else f"{target} = {val};"

    out: list[str] = []
    ops, kinds, ids = t.op.tolist(), t.kind.tolist(), t.ids.tolist()
    k, n = 0, t.n
    li = 0
    while k < n:
        if li < len(pl.loops) and pl.loops[li].start == k:
            lp = pl.loops[li]
            out += _loop_lines(lp, li, base, lit, literal, inputs, value, render, reduce)
            k = lp.end
            li += 1
            continue
        code = ops[k]
        if code == STORE:
            o = ids[1][k]
            tgt = f"sg_out[{o}]" if reduce else f"sg_out[{o} * sg_n + sg_j]"
            out.append(store(tgt, operand(kinds[0][k], ids[0][k])))
        else:
            op = OPS[code]
            args = [operand(kinds[a][k], ids[a][k]) for a in range(INFO[op].arity)]
            out.append(f"const double s{k} = {render(op, args)};")
        k += 1
    return out, size


def _affine(b: int, d: int) -> str:
    if d == 0:
        return str(b)
    if d == 1:
        return f"{b} + sg_r"
    if d == -1:
        return f"{b} - sg_r"
    return f"{b} + {d} * sg_r"


def _loop_lines(lp: Loop, li: int, base, lit, literal, inputs, value, render, reduce) -> list[str]:
    """One loop: carried values start from their values before it; each body position is a
    local ``b<q>``, copied to ``sg_w`` when later code reads it."""

    def text(how: tuple) -> str:
        kind = how[0]
        if kind == "const":
            return lit[how[1]]
        if kind == "cur":
            return f"b{how[1]}"
        if kind == "carry":
            return f"c{li}_{how[1]}"
        if kind == "inv":
            return value(how[1])
        if kind == "in":
            a, e = inputs[how[1]]
            return f"sg_p{a}[{_affine(e, how[2])}]"
        if kind == "table":
            name = f"sg_k{li}_{len(tables)}"
            values = ", ".join(literal(v)[0] for v in how[1][: lp.count])
            tables.append(f"static const double {name}[{lp.count}] = {{{values}}};")
            return f"{name}[sg_r]"
        _, other, pos, it, kk = how  # "arr"
        return f"sg_w[{_affine(base[other, pos] + it, kk)}]"

    tables: list[str] = []  # constants that differ between iterations
    out = [f"double c{li}_{pos} = {value(init)};" for pos, init in sorted(lp.carried.items())]
    out.append(f"for (long long sg_r = 0; sg_r < {lp.count}; ++sg_r) {{")
    for q, (code, row) in enumerate(zip(lp.ops, lp.slots)):
        if code == STORE:
            _, o, d = row[1]
            idx = _affine(o, d)
            if reduce:
                out.append(f"    sg_out[{idx}] += {text(row[0])};")
            else:
                out.append(f"    sg_out[({idx}) * sg_n + sg_j] = {text(row[0])};")
            continue
        out.append(f"    const double b{q} = {render(OPS[code], [text(h) for h in row])};")
        if q in lp.arrays:
            out.append(f"    sg_w[{base[li, q]} + sg_r] = b{q};")
    out += [f"    c{li}_{pos} = b{pos};" for pos in sorted(lp.carried)]
    out.append("}")
    return tables + out
