"""Which inputs each output depends on, and graph colourings that compress derivative products.

Dependencies are Python-int bitsets (bit ``j`` for ``wrt[j]``), propagated oldest node first over
the DAG (serial order is topological; no recursion). Only *differentiable* dependence counts: a
condition, ``sign`` and ``where``'s condition carry no tangent (the rule table gives them none),
so the pattern is exactly where a forward sweep can build a nonzero entry, and never less.

Colourings (greedy, in the variables' order, as ColPack's defaults): columns of a Jacobian that
share no row may share a colour (distance-2 colouring of the bipartite graph), so one ``jvp`` along
the sum of a colour's unit vectors gives all their entries; for a symmetric Hessian a *star*
colouring (a distance-1 colouring where every path on four vertices uses three colours) lets every
entry be read off one ``hvp`` per colour (Gebremedhin, Manne and Pothen, SIAM Review 47, 2005).
"""

from __future__ import annotations

from ..ir import Expr, topo_order
from ..ops import INFO, Op

_FLAT = frozenset({Op.SIGN, *(op for op, info in INFO.items() if info.is_condition)})


def dependencies(roots: list[Expr], wrt: list[Expr]) -> list[int]:
    """For each root, the bitset of the symbols of ``wrt`` it depends on differentiably."""
    bit = {s.serial: 1 << j for j, s in enumerate(wrt)}
    deps: dict[int, int] = {}
    get = deps.get
    for node in topo_order(roots):
        args = node.args
        if not args:
            b = bit.get(node.serial, 0)
        elif node.op in _FLAT:
            continue
        elif node.op is Op.WHERE:  # the condition's side carries no derivative
            b = get(args[1].serial, 0) | get(args[2].serial, 0)
        else:
            b = 0
            for a in args:
                b |= get(a.serial, 0)
        if b:
            deps[node.serial] = b
    return [get(r.serial, 0) for r in roots]


def bits(b: int) -> list[int]:
    """The positions of the set bits of ``b``, ascending."""
    out = []
    while b:
        low = b & -b
        out.append(low.bit_length() - 1)
        b ^= low
    return out


def pattern(roots: list[Expr], wrt: list[Expr]) -> list[list[int]]:
    """Row ``i``: the columns ``j`` where ∂roots[i]/∂wrt[j] is structurally nonzero."""
    return [bits(b) for b in dependencies(roots, wrt)]


def transpose(rows: list[list[int]], ncols: int) -> list[list[int]]:
    cols: list[list[int]] = [[] for _ in range(ncols)]
    for i, r in enumerate(rows):
        for j in r:
            cols[j].append(i)
    return cols


def column_colouring(rows: list[list[int]], ncols: int) -> list[int]:
    """A colour per column (0, 1, ...) such that no two columns of a colour share a row."""
    cols = transpose(rows, ncols)
    colour = [-1] * ncols
    mark = [-1] * (ncols + 1)  # mark[c] == j: colour c is forbidden for column j
    for j in range(ncols):
        for i in cols[j]:
            for k in rows[i]:
                if colour[k] >= 0:
                    mark[colour[k]] = j
        c = 0
        while mark[c] == j:
            c += 1
        colour[j] = c
    return colour


def star_colouring(adj: list[list[int]]) -> list[int]:
    """A star colouring of the graph ``adj`` (neighbour lists, no self loops): adjacent vertices
    differ, and every path on four vertices uses at least three colours (GMP 2005, Alg. 4.1)."""
    n = len(adj)
    colour = [-1] * n
    mark = [-1] * (n + 1)
    for v in range(n):
        for w in adj[v]:
            cw = colour[w]
            if cw >= 0:
                mark[cw] = v
            for x in adj[w]:
                cx = colour[x]
                if x == v or cx < 0:
                    continue
                if cw < 0:  # v - w - x with w still open: v must differ from x
                    mark[cx] = v
                    continue
                for y in adj[x]:  # v - w - x - y bicoloured if v took x's colour
                    if y != w and colour[y] == cw:
                        mark[cx] = v
                        break
        c = 0
        while mark[c] == v:
            c += 1
        colour[v] = c
    return colour


def star_sources(adj: list[list[int]], colour: list[int]) -> dict[tuple[int, int], tuple[int, int]]:
    """For each edge ``(i, j)``, ``i < j``: where the compressed Hessian holds it, as (row,
    colour): entry ``H[i][j]`` is ``B[i][colour[j]]`` when ``j`` is ``i``'s only neighbour of that
    colour, else ``B[j][colour[i]]`` (a star colouring guarantees one of the two)."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for i, nbrs in enumerate(adj):
        count: dict[int, int] = {}
        for j in nbrs:
            count[colour[j]] = count.get(colour[j], 0) + 1
        for j in nbrs:
            key = (i, j) if i < j else (j, i)
            if key not in out and count[colour[j]] == 1:
                out[key] = (i, colour[j])
    for i, nbrs in enumerate(adj):
        for j in nbrs:
            if (min(i, j), max(i, j)) not in out:
                raise AssertionError(f"colouring is not a star colouring at edge ({i}, {j})")
    return out
