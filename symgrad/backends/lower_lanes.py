"""Whole-array operations recovered from per-row scalar code: the second lowering pass.

After ``lower_matmul``, the rows of a layer's product are read one at a time: ``t_j =
tanh(z_j)`` forward, ``g_j * (1 - t_j*t_j)`` in the gradient. Scalar nodes that apply the same
op to lane ``j`` of the same steps (and to the same other values) for every lane ``j`` form one
``Elementwise`` step: one array operation instead of one line per row; a product or an outer
sum whose operands are all of them reads the array as it is. Found by value numbering in
serial order (no recursion); a class that is not a complete set of lanes stays scalar code.
"""

from __future__ import annotations

from ..ir import Expr, is_condition, symbol, topo_order
from ..ops import INFO, Op
from .lower_matmul import rebuild
from .lowered import Dot, Elementwise, Lanes, Lowered, MatMul, OuterSum, Total, Vectors

# Conditions, logic and where stay scalar: their values are not numbers to broadcast.
_SKIP = {op for op, info in INFO.items() if info.is_condition} | {
    Op.AND,
    Op.OR,
    Op.NOT,
    Op.WHERE,
}


def vectorize(low: Lowered) -> Lowered:
    """``low`` with every complete class of lane-wise scalar nodes as an ``Elementwise`` step;
    values unchanged (the same ops on the same values, lane by lane)."""
    if not low.steps:
        return low
    nodes = topo_order(low.output_nodes() + low.operand_nodes())
    seeds = {r.serial: (g, j) for g, m in enumerate(low.steps) for j, r in enumerate(m.rows)}
    sizes = {g: len(m.rows) for g, m in enumerate(low.steps)}
    banned: set[int] = set()
    for _ in range(2):  # the second pass only confirms (see _valid)
        classes, sizes2 = _classes(nodes, seeds, sizes, banned)
        bad = _invalid(classes, sizes2, len(low.steps))
        if not bad:
            break
        banned |= {n.serial for g in bad for n, _ in classes[g][1].values()}
    else:
        return low
    if not classes:
        return low
    return _build(low, nodes, classes, sizes2)


def _classes(nodes, seeds, sizes, banned):
    """class id -> (signature, {lane: (node, lanes of its laned arguments)}), and the lane
    count of every step and class. A signature is (op, per argument: ("L", class) for a
    laned argument, ("S", serial) for a value shared by all lanes)."""
    lane = dict(seeds)
    size = dict(sizes)
    ids: dict[tuple, int] = {}
    classes: dict[int, tuple[tuple, dict]] = {}
    for n in nodes:
        if not n.args or n.serial in banned or n.op in _SKIP:
            continue
        refs = [lane.get(a.serial) for a in n.args]
        laned = [r for r in refs if r is not None]
        if not laned or any(r is None and is_condition(a) for r, a in zip(refs, n.args)):
            continue
        sig = (n.op, tuple(("L", r[0]) if r else ("S", a.serial) for r, a in zip(refs, n.args)))
        g = ids.get(sig)
        if g is None:
            g = ids[sig] = len(size)
            size[g] = size[laned[0][0]]
            classes[g] = (sig, {})
        members = classes[g][1]
        j = laned[0][1]
        if j in members:  # two nodes at one lane: not a class (never for interned nodes)
            size[g] = -1
            continue
        members[j] = (n, tuple(r[1] for r in laned))
        lane[n.serial] = (g, j)
    return classes, size


def _invalid(classes, size, n_steps: int) -> set[int]:
    """The classes that are not a complete set of lanes, whose laned arguments are not each
    a permutation of equally many lanes, that read a shared value not older than all their
    members (which might depend on them), or that read an invalid class."""
    bad: set[int] = set()
    for g in sorted(classes):
        sig, members = classes[g]
        n = size[g]
        ok = n >= 2 and len(members) == n and set(members) == set(range(n))
        args = [ref for kind, ref in sig[1] if kind == "L"]
        if ok and any(a in bad or (a >= n_steps and a not in classes) for a in args):
            ok = False
        if ok:
            first = min(m.serial for m, _ in members.values())
            ok = all(ref < first for kind, ref in sig[1] if kind == "S")
        for k, a in enumerate(args):
            if ok and (size[a] != n or {ls[k] for _, ls in members.values()} != set(range(n))):
                ok = False
        if not ok:
            bad.add(g)
    return bad


def _build(low: Lowered, nodes, classes, size) -> Lowered:
    """The lowered program with the classes as steps, in dependency order, and the scalar
    graph rebuilt to read their rows through fresh symbols."""
    n_old = len(low.steps)
    keys = []
    for g, m in enumerate(low.steps):
        key = max((v.serial for v in m.vectors.stacked), default=-1)
        keys.append(((key, 1, g), g))
    for g, (_, members) in classes.items():
        keys.append(((min(m.serial for m, _ in members.values()), 0, g), g))
    order = [g for _, g in sorted(keys)]
    at = {g: i for i, g in enumerate(order)}
    lanes_of: dict[int, tuple[int, int]] = {}  # serial -> (step, lane)
    for g, m in enumerate(low.steps):
        lanes_of.update((r.serial, (at[g], j)) for j, r in enumerate(m.rows))
    replace: dict[int, Expr] = {}
    made: dict[int, Elementwise] = {}
    for g, (sig, members) in classes.items():
        rows = tuple(symbol(f"ew{at[g]}_{j}") for j in range(size[g]))
        args, k = [], 0
        for kind, ref in sig[1]:
            if kind == "S":
                args.append(next(a for a in members[0][0].args if a.serial == ref))
                continue
            perm = tuple(members[j][1][k] for j in range(size[g]))
            args.append(Lanes(at[ref], None if perm == tuple(range(len(perm))) else perm))
            k += 1
        made[g] = Elementwise(sig[0], tuple(args), rows)
        for j, (m, _) in members.items():
            lanes_of[m.serial] = (at[g], j)
            replace[m.serial] = rows[j]
    new = rebuild(nodes, {s: ([], row) for s, row in replace.items()})
    steps = []
    for g in order:
        if g < n_old:
            m = low.steps[g]
            v = _lanes(m.vectors, lanes_of, new)
            steps.append(MatMul(m.param, m.index, v, m.bias, m.rows))
        else:
            e = made[g]
            args = tuple(a if isinstance(a, Lanes) else new.get(a.serial, a) for a in e.args)
            steps.append(Elementwise(e.op, args, e.rows))
    items = None
    if low.items is not None:
        items = [_item(it, lanes_of, new) for it in low.items]
    roots = [new.get(r.serial, r) for r in low.roots]
    return Lowered(roots, steps, items, low.picks, low.dots)


def _lanes(v: Vectors, lanes_of, new: dict[int, Expr]) -> Vectors:
    """``v`` read as one step's array when its nodes are all of that step's lanes."""
    if not v.stacked:
        return v
    at = [lanes_of.get(n.serial) for n in v.nodes]
    if all(a is not None for a in at) and len({a[0] for a in at}) == 1:
        perm = tuple(a[1] for a in at)
        step = at[0][0]
        if sorted(perm) == list(range(len(perm))) and _count(lanes_of, step) == len(perm):
            identity = perm == tuple(range(len(perm)))
            return Vectors(v.nodes, lanes=Lanes(step, None if identity else perm))
    return Vectors(tuple(new.get(n.serial, n) for n in v.nodes), v.param, v.start, v.step)


def _count(lanes_of, step: int) -> int:
    return sum(1 for s, _ in lanes_of.values() if s == step)


def _item(it, lanes_of, new: dict[int, Expr]):
    if isinstance(it, Total):
        return Total(new.get(it.node.serial, it.node))
    if isinstance(it, Dot):
        return Dot(new.get(it.a.serial, it.a), new.get(it.b.serial, it.b))
    return OuterSum(_lanes(it.rows, lanes_of, new), _lanes(it.cols, lanes_of, new), it.ones)
