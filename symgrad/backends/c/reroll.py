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

from dataclasses import dataclass, field

import numpy as np

from ...ir import Expr
from ...ops import INFO, Op
from .abi import CODE, OPS  # opcodes: the op table's order, as the interpreter numbers them

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
    raise ImportError("reroll.MAX_ARITY is below an op's arity; widen the tape")


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
    return _packed(ops, (a0, a1, a2), lead, consts)


def _packed(ops: list[int], operands: tuple, lead: list, consts: list[float]) -> Tape:
    """The collected instructions as arrays, the stores of outputs that are inputs or
    constants (``lead``) first."""
    a0, a1, a2 = operands
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


def plan(
    t: Tape, input_ranges: list[tuple[int, int]], max_statements: int | None = None
) -> Plan | None:
    """Find the loops: greedy from the front, the candidate covering most instructions wins.

    With ``max_statements``, None as soon as the statements printed so far (straight ones plus
    one body per loop) pass it: they only grow, so the plan could not be used, and on an
    irregular graph the scan stops after ``max_statements`` instructions instead of reading
    them all."""
    n = t.n
    loop_of = np.full(n, -1, dtype=np.int64)
    loops: list[Loop] = []
    i = printed = 0
    nxt_l = _next_same(t.key).tolist()
    while i < n:
        if max_statements is not None and printed > max_statements:
            return None
        best = _best_at(t, i, nxt_l, loops, loop_of, input_ranges)
        if best is None:
            i += 1
            printed += 1
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
        printed += best.period
    # straight code reading loop values reads them from the loops' arrays
    straight = loop_of < 0
    for a in range(MAX_ARITY):
        sel = straight & (t.kind[a] == TEMP)
        refs = t.ids[a][sel]
        refs = refs[loop_of[refs] >= 0]
        for ref in np.unique(refs).tolist():
            _keep(loops, loop_of, ref)
    return Plan(t, loops, loop_of)


def _best_at(t: Tape, i: int, nxt_l: list, loops, loop_of, input_ranges) -> Loop | None:
    """The loop starting at instruction ``i`` that covers most, among the next few body
    lengths with the same key; None if there is none."""
    n = t.n
    best = None
    j = nxt_l[i]
    tries = 0
    while j != -1 and j - i <= MAX_BODY and tries < MAX_TRIES:
        tries += 1
        p = j - i
        if _run_of(t, i, p, MIN_ITERS) < MIN_ITERS:
            j = nxt_l[j]
            continue
        # what the operands allow (inputs stay in their argument, reads of earlier loops stay
        # in them), from the first iterations; then how far the run really goes
        probe = _classify(t, i, p, (n - i) // p, loops, loop_of, input_ranges, probe=True)
        r = _run_of(t, i, p, probe.count) if probe is not None else 0
        if r >= MIN_ITERS and p * r >= MIN_COVER:
            lp = _classify(t, i, p, r, loops, loop_of, input_ranges)
            if lp is not None and (best is None or lp.period * lp.count > best.period * best.count):
                best = lp
        j = nxt_l[j]
    return best


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
                r = _input_runs(i0, d, r, input_ranges)
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
            else:  # an earlier loop's values, at affine iterations
                found = _earlier(i0, d, r, loops, loop_of)
                if found is None:
                    return None
                how, r = found
                row.append(how)
            if r < MIN_ITERS:
                return None
        slots.append(row)
    if p * r < MIN_COVER:
        return None
    return Loop(s, p, r, t.op[s : s + p].tolist(), slots, carried)


def _input_runs(i0: int, d: int, r: int, input_ranges: list[tuple[int, int]]) -> int:
    """How many of ``r`` runs keep an input read ``i0 + d*run`` inside its argument."""
    for lo, hi in input_ranges:
        if lo <= i0 < hi:
            break
    else:  # pragma: no cover - ids come from the ranges
        return 0
    if d > 0:
        return min(r, (hi - 1 - i0) // d + 1)
    if d < 0:
        return min(r, (i0 - lo) // (-d) + 1)
    return r


def _earlier(i0: int, d: int, r: int, loops: list[Loop], loop_of: np.ndarray):
    """``(("arr", loop, pos, it, step), runs)`` when value ``i0 + d*run`` is an earlier loop's
    value at an affine iteration, within that loop for ``runs`` runs; else None."""
    li = int(loop_of[i0])
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
    return ("arr", li, pos, it, kk), r
