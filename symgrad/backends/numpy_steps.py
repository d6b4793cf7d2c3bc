"""How the NumPy backend spells the lowered program's whole-array parts: the steps
(``_matmul`` products, elementwise operations on a step's array) placed among the scalar
lines, their operands (a slice of an argument, a step's array, or stacked values), and the
reduced items (``_sum``, ``_sum_mul``, ``_gram``, ``_outer``) with where each output is found.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from ..ir import leaves
from ..ops import ATOM, Op, template
from .base import ArrayOut, Program, spec_ndim
from .lowered import Dot, Lanes, MatMul, OuterSum, Total, Vectors

NAME = "numpy"


def step_text(
    g: int, m, params, texts, znames, consts, batch, literal: Callable
) -> tuple[str, tuple[str, ...]]:
    """One step's expression, and the names it reads."""
    if isinstance(m, MatMul):
        w, wspec = params[m.param]
        vtext, vnames = _vectors_text(m.vectors, params, texts, znames, consts)
        n, k = len(m.index), len(m.index[0])
        flat = [v for row in m.index for v in row]
        consts.append(f"_W{g} = _ranges({runs(flat)!r}, ({n}, {k}))  # into {w}")
        text = f"_matmul({w}, {spec_ndim(wspec)}, _W{g}, {vtext}, {int(m.bias)}, {batch})"
        return text, (w, *vnames)
    arg_texts, precs, reads = [], [], []
    for a in m.args:
        if isinstance(a, Lanes):
            t = _lanes_text(a, znames, consts)
            reads.append(znames[a.step])
            precs.append(ATOM)
        else:
            t = texts[a.serial]
            reads.append(t)
            precs.append(literal(a.payload)[1] if a.op is Op.CONST else ATOM)
        arg_texts.append(t)
    return template(m.op, NAME).render(arg_texts, precs), tuple(reads)


def _lanes_text(a: Lanes, znames: list[str], consts: list[str]) -> str:
    if a.perm is None:
        return znames[a.step]
    name = f"_P{len(consts)}"
    consts.append(f"{name} = _ranges({runs(a.perm)!r}, ({len(a.perm)},))")
    return f"{znames[a.step]}[{name}]"


def _vectors_text(v: Vectors, params, texts, znames, consts) -> tuple[str, tuple[str, ...]]:
    """Operands on a first axis as text (a slice, a step's array, or stacked), and the
    names it reads."""
    if v.lanes is not None:
        return _lanes_text(v.lanes, znames, consts), (znames[v.lanes.step],)
    if v.param is None:
        vs = [texts[n.serial] for n in v.nodes]
        return f"_vectors([{', '.join(vs)}])", tuple(vs)
    x, spec = params[v.param]
    stop = v.start + v.step * (len(v.nodes) - 1) + 1
    return f"_cols({x}, {spec_ndim(spec)}, {v.start}, {stop}, {v.step})", (x,)


def place(prog: Program, blocks: list[list[tuple]], outputs: list[list[str]]) -> None:
    """Order the steps' blocks among the scalar lines: each block as early as just before the
    first line that reads one of its ``outputs`` (its rows and array), and every line and
    block after what it reads (a stable topological sort: a scalar line that reads a row may
    have to wait for the product's vectors, which serial order alone does not promise)."""
    if not blocks:
        return
    n = len(prog.lines)
    first: dict[str, int] = {}
    for i, d in enumerate(prog.deps):
        for nm in d:
            first.setdefault(nm, i)
    defs = {name: i for i, (name, _) in enumerate(prog.lines)}
    prio = [(2 * i + 1, 0) for i in range(n)]
    reads = list(prog.deps)
    for g, block in enumerate(blocks):
        defs.update((name, n + g) for name, _, _ in block)
        prio.append((2 * min((first.get(r, n) for r in outputs[g]), default=n), g))
        reads.append(tuple(r for _, _, rs in block for r in rs))
    users: list[list[int]] = [[] for _ in prio]
    indeg = [0] * len(prio)
    for u, rs in enumerate(reads):
        for d in {defs[r] for r in rs if r in defs} - {u}:
            users[d].append(u)
            indeg[u] += 1
    ready = [(prio[u], u) for u in range(len(prio)) if not indeg[u]]
    heapq.heapify(ready)
    lines, deps = [], []
    while ready:
        _, u = heapq.heappop(ready)
        if u < n:
            lines.append(prog.lines[u])
            deps.append(prog.deps[u])
        else:
            lines += [(name, text) for name, text, _ in blocks[u - n]]
            deps += [rs for _, _, rs in blocks[u - n]]
        for v in users[u]:
            indeg[v] -= 1
            if not indeg[v]:
                heapq.heappush(ready, (prio[v], v))
    assert len(lines) == n + sum(map(len, blocks)), "a cycle among steps and lines"
    prog.lines[:], prog.deps[:] = lines, deps


def runs(values) -> list[tuple[int, int, int]]:
    """``values`` as arithmetic runs (start, count, step): short source for long indices.
    Greedy, as one pass would take them (a run's second value sets its step; a run of one
    has step 1); each run is extended by comparing whole slices with a ``range``, doubling
    the slice while it matches, so a long run costs a few comparisons, not a loop."""
    vals = list(values)
    n = len(vals)
    out: list[tuple[int, int, int]] = []
    i = 0
    while i < n:
        v0 = vals[i]
        if i + 1 == n:
            out.append((v0, 1, 1))
            break
        step = vals[i + 1] - v0
        k, m = 2, 1  # vals[i : i + k] is the run so far; m: the next slice to try
        while i + k < n:
            m = min(m, n - i - k)
            want = v0 + k * step
            if vals[i + k : i + k + m] == (
                list(range(want, want + m * step, step)) if step else [want] * m
            ):
                k += m
                m *= 2
            elif m > 1:
                m //= 2
            else:
                break
        out.append((v0, k, step))
        i += k
    return out


def item_text(it, texts: dict[int, str], params, batch: str, znames, consts) -> str:
    """One reduced item, summed over the block's samples."""
    if isinstance(it, Total):
        return f"_sum({texts[it.node.serial]}, {batch})"
    if isinstance(it, Dot):
        return f"_sum_mul({texts[it.a.serial]}, {texts[it.b.serial]}, {batch})"
    if it.rows.lanes or it.cols.lanes or it.cols.param is not None:  # arrays already
        rows = _vectors_text(it.rows, params, texts, znames, consts)[0]
        cols = _vectors_text(it.cols, params, texts, znames, consts)[0]
        return f"_outer({rows}, {cols}, {int(it.ones)}, {batch})"
    rows = ", ".join(texts[r.serial] for r in it.rows.nodes)
    cols = ", ".join(texts[c.serial] for c in it.cols.nodes)
    return f"_gram([{rows}], [{cols}], {int(it.ones)}, {batch})"


def item_size(it) -> int:
    return len(it.rows.nodes) * (len(it.cols.nodes) + it.ones) if isinstance(it, OuterSum) else 1


def pick_text(pk: tuple[int, ...]) -> str:
    return f"[{pk[0]}]" if len(pk) == 1 else f"[{pk[0]}][{pk[1]}, {pk[2]}]"


def flat_picks(items: list, picks: list[tuple[int, ...]]) -> list[int]:
    """Each output's position in the reduced items' values laid end to end (C order); one
    loop over the outputs (a model's gradient has one per parameter)."""
    starts, widths, at = [], [], 0
    for it in items:
        starts.append(at)
        widths.append(len(it.cols.nodes) + it.ones if isinstance(it, OuterSum) else 0)
        at += item_size(it)
    return [
        starts[pk[0]] if len(pk) == 1 else starts[pk[0]] + pk[1] * widths[pk[0]] + pk[2]
        for pk in picks
    ]


def array_spans(structure) -> list[tuple[int, int]]:
    """(first leaf, size) of each array output, in leaf order."""
    spans, at = [], 0
    for item in leaves(structure):
        if isinstance(item, ArrayOut):
            spans.append((at, item.size))
            at += item.size
        else:
            at += 1
    return spans
