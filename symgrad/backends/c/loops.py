"""Printing a rerolled program (``reroll.plan``) as C: straight statements and loops.

Identifiers are ``s<k>`` for straight values, ``b<q>`` in loop bodies, ``c<loop>_<q>`` for
carried values, ``sg_k<loop>_<n>`` for constant tables and ``sg_w`` for arrays; labels never
enter the source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ...ops import ATOM, INFO, Op
from ..base import Program
from . import abi, reroll
from .abi import OPS
from .reroll import CONST, STORE, TEMP, Loop, Plan
from .spell import literal, render_op


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
    base, size = _array_bases(pl)
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
            out.append(f"{tgt} {'+=' if reduce else '='} {operand(kinds[0][k], ids[0][k])};")
        else:
            op = OPS[code]
            args = [operand(kinds[a][k], ids[a][k]) for a in range(INFO[op].arity)]
            out.append(f"const double s{k} = {render(op, args)};")
        k += 1
    return out, size


def _array_bases(pl: Plan) -> tuple[dict[tuple[int, int], int], int]:
    """Where each kept loop position's values start in ``sg_w``, and the workspace size."""
    base: dict[tuple[int, int], int] = {}
    size = 0
    for li, lp in enumerate(pl.loops):
        for pos in sorted(lp.arrays):
            base[li, pos] = size
            size += lp.count
    return base, size


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


# A program this many times longer than a plan's statement budget is first tried on its head.
_HEAD = abi.LOOP_MAX_LINES + reroll.MIN_ITERS * reroll.MAX_BODY


def _head_rerolls(nodes, roots, index, ranges) -> bool:
    """Whether the first ``4 * _HEAD`` nodes plan within the budget plus the statements a loop
    cut at the head's end can add (``MIN_ITERS * MAX_BODY``): statements only grow, so a head
    over that budget means the whole program does not reroll. An irregular graph of 10^6
    nodes then costs a tape of 12,000 nodes instead of the whole tape (seconds). It decides
    only whether to reroll, never a value."""
    if len(nodes) <= 16 * _HEAD:
        return True
    head = reroll.tape(nodes[: 4 * _HEAD], roots, index)
    return reroll.plan(head, ranges, _HEAD) is not None


def looped(layout, names, roots, nodes, reduce, sample_loop):
    """``(program, chunks, body)`` with the repeated stretches as loops, or None when that
    does not shrink it enough to compile as one small function. ``sample_loop`` writes the
    body of ``sg_f`` around one sample's statements."""
    inputs: list[tuple[int, int]] = []
    ranges: list[tuple[int, int]] = []
    flat_of: dict[str, int] = {}
    for a, (elems, _) in enumerate(layout):
        ranges.append((len(inputs), len(inputs) + len(elems)))
        for e, name in enumerate(elems):
            flat_of[name] = len(inputs)
            inputs.append((a, e))
    index = {s: flat_of[n] for s, n in names.items() if n in flat_of}
    for node in nodes:
        if node.op is Op.SYMBOL and node.serial not in index:
            raise ValueError(f"symbol {node.payload!r} is not among the inputs")
    if not _head_rerolls(nodes, roots, index, ranges):
        return None
    t = reroll.tape(nodes, roots, index)
    pl = reroll.plan(t, ranges, abi.LOOP_MAX_LINES)
    if pl is None or not pl.loops or pl.statements > abi.LOOP_MAX_LINES:
        return None

    stmts, size = emit(pl, inputs, reduce, literal, render_op)
    counts: dict[str, int] = {}
    for code, c in Counter(t.op.tolist()).items():
        if code != STORE:
            counts[OPS[code].value] = c
    args = [f"const double *sg_p{a} = sg_a{a} + sg_j * sg_s{a};" for a in range(len(layout))]
    body = sample_loop(args + stmts, reduce, len(roots), size)
    return Program([("", s) for s in stmts], [], counts), [], body
