"""Jacobians and Hessians, dense or sparse, each entry built once.

Sparse forms follow CasADi and ColPack: a sparsity pass finds the structurally nonzero entries,
a colouring groups the columns that can share one product, one ``jvp`` (Jacobian) or ``hvp``
(Hessian) per colour computes the compressed matrix, and each entry is read off it. The cost is
a few sweeps (the number of colours: 3 for a tridiagonal Hessian), never one per variable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..ir import Expr, const, gc_paused, orders_shared
from ..ops import Op
from . import provenance, sparsity
from .forward import _outputs, jvp, tangents, vjp
from .reverse import _symbols, adjoints, gradient
from .reverse import jacobian as _dense_jacobian


@dataclass(frozen=True, eq=False)
class Sparse:
    """A sparse matrix of expressions: entry ``(rows[k], cols[k])`` is ``values[k]``, row-major,
    every structurally nonzero entry and no other. ``colors`` is how many products built it.

    ``sg.compile`` accepts one among its outputs and then returns a ``scipy.sparse.csr_array``.
    """

    shape: tuple[int, int]
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    values: list[Expr]
    colors: int = 0
    indptr: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        counts = [0] * (self.shape[0] + 1)
        for r in self.rows:
            counts[r + 1] += 1
        for i in range(self.shape[0]):
            counts[i + 1] += counts[i]
        object.__setattr__(self, "indptr", tuple(counts))

    @property
    def nnz(self) -> int:
        return len(self.values)

    def to_dense(self) -> list[list[Expr]]:
        """The full matrix as rows of expressions (the constant 0 off the pattern)."""
        zero = const(0.0)
        out = [[zero] * self.shape[1] for _ in range(self.shape[0])]
        for i, j, v in zip(self.rows, self.cols, self.values):
            out[i][j] = v
        return out

    def __repr__(self) -> str:
        return f"<symgrad.Sparse {self.shape[0]}x{self.shape[1]}, {self.nnz} nonzeros>"


def _row_major(
    entries: dict[tuple[int, int], Expr], shape, colors: int, outs: list[Expr], syms: list[Expr]
) -> Sparse:
    """The Sparse of ``entries``, each recorded as ``d outs[i] / d syms[j]`` (for sg.verify).
    An entry that came out as the constant 0 (``1 + 0*x``: the dependence is there, the
    derivative is not) is structurally zero and left out."""
    keys = sorted(k for k, e in entries.items() if not (e.op is Op.CONST and e.payload == 0.0))
    for i, j in keys:
        provenance.record(outs[i], [syms[j]], [entries[i, j]])
    return Sparse(
        shape,
        tuple(i for i, _ in keys),
        tuple(j for _, j in keys),
        [entries[k] for k in keys],
        colors,
    )


def _unit_sum(colour: list[int], c: int) -> list[float]:
    return [1.0 if k == c else 0.0 for k in colour]


def _distinct(syms: list[Expr]) -> tuple[list[Expr], list[int]]:
    """The distinct symbols of ``syms`` (first occurrence order), and for each position of
    ``syms`` its index among them (a symbol listed twice in ``wrt``)."""
    index: dict[int, int] = {}
    distinct: list[Expr] = []
    for s in syms:
        if s.serial not in index:
            index[s.serial] = len(distinct)
            distinct.append(s)
    return distinct, [index[s.serial] for s in syms]


def _spread(entries: dict, where: list[int], rows_too: bool) -> dict:
    """``entries`` over distinct symbols, repeated for each position of a symbol listed more
    than once: its column (and, for a Hessian, its row), as the dense forms repeat it."""
    if len(set(where)) == len(where):
        return entries
    at: list[list[int]] = [[] for _ in range(max(where) + 1)]
    for p, k in enumerate(where):
        at[k].append(p)
    out = {}
    for (i, j), e in entries.items():
        for p in at[i] if rows_too else (i,):
            for q in at[j]:
                out[p, q] = e
    return out


def sparse_jacobian(outs: list[Expr], syms: list[Expr]) -> Sparse:
    """The Jacobian's nonzero entries; a symbol listed twice in ``syms`` repeats its column."""
    distinct, where = _distinct(syms)
    entries, ncolours = _jacobian_entries(outs, distinct)
    shape = (len(outs), len(syms))
    return _row_major(_spread(entries, where, False), shape, ncolours, outs, syms)


def _jacobian_entries(outs: list[Expr], syms: list[Expr]) -> tuple[dict, int]:
    """The Jacobian's nonzero entries from one ``jvp`` per column colour, or one ``vjp`` per row
    colour when the rows need fewer colours (a dense row would make every column its own)."""
    rows = sparsity.pattern(outs, syms)
    m, n = len(outs), len(syms)
    col_colour = sparsity.column_colouring(rows, n)
    row_colour = sparsity.column_colouring(sparsity.transpose(rows, n), m)
    ncol, nrow = max(col_colour, default=-1) + 1, max(row_colour, default=-1) + 1
    by_cols = ncol <= nrow
    # jvp per column colour reads row i's entries off product i; vjp per row colour reads
    # column j's off product j: one loop over (line, its nonzeros) serves both.
    sweep, colour, ncolours = (jvp, col_colour, ncol) if by_cols else (vjp, row_colour, nrow)
    lines = rows if by_cols else sparsity.transpose(rows, n)
    entries: dict[tuple[int, int], Expr] = {}
    for c in range(ncolours):
        prod = sweep(outs, syms, _unit_sum(colour, c))
        for a, line in enumerate(lines):
            for b in line:
                if colour[b] == c:
                    entries[(a, b) if by_cols else (b, a)] = prod[a]
    return entries, ncolours


def _colour_products(roots: list[Expr], syms: list[Expr], colour: list[int], k: int) -> list:
    """One jvp of ``roots`` per colour ``c`` (the tangent is the sum of colour ``c``'s unit
    vectors), seeded directly: no vector of n constants per colour."""
    one, zero = const(1.0), const(0.0)
    seeds: list[dict[int, Expr]] = [{} for _ in range(k)]
    for s, c in zip(syms, colour):
        seeds[c][s.serial] = one
    out = []
    for c in range(k):
        tan = tangents(roots, seeds[c])
        out.append([tan.get(r.serial, zero) for r in roots])
    return out


def sparse_hessian(f: Expr, syms: list[Expr]) -> Sparse:
    """The Hessian's nonzero entries; a symbol listed twice repeats its row and column."""
    distinct, where = _distinct(syms)
    grads, entries, ncolours = _hessian_entries(f, distinct)
    shape = (len(syms), len(syms))
    outs = [grads[k] for k in where]
    return _row_major(_spread(entries, where, True), shape, ncolours, outs, syms)


def _hessian_entries(f: Expr, syms: list[Expr]) -> tuple[list[Expr], dict, int]:
    """The Hessian's nonzero entries (both triangles, each built once) from one ``hvp`` per
    colour of a star colouring; the pattern is the dependence of the gradient's entries."""
    grads = gradient(f, syms)
    n = len(syms)
    with orders_shared():  # the pattern and every colour's sweep walk the same graph
        rows = sparsity.pattern(grads, syms)
        adj: list[set[int]] = [set() for _ in range(n)]
        diag = [False] * n
        for i, r in enumerate(rows):
            for j in r:
                if i == j:
                    diag[i] = True
                else:  # symmetric by construction; the union guards the structure anyway
                    adj[i].add(j)
                    adj[j].add(i)
        nbrs = [sorted(a) for a in adj]
        colour = sparsity.star_colouring(nbrs)
        ncolours = max(colour, default=-1) + 1
        sources = sparsity.star_sources(nbrs, colour)
        products = _colour_products(grads, syms, colour, ncolours)
    entries: dict[tuple[int, int], Expr] = {}
    for i in range(n):
        if diag[i]:
            entries[i, i] = products[colour[i]][i]
    for (i, j), (row, c) in sources.items():
        entries[i, j] = entries[j, i] = products[c][row]
    return grads, entries, ncolours


def jacobian(fs: Sequence[Any], wrt: Any, *, sparse: bool = False) -> list[list[Expr]] | Sparse:
    """Rows ∂fs[i]/∂wrt[j]: dense (one reverse sweep per output), or with ``sparse=True`` an
    ``sg.Sparse`` of the structurally nonzero entries (one product per colour)."""
    if not sparse:
        return _dense_jacobian(fs, wrt)
    outs, _ = _outputs(fs)
    syms, _ = _symbols(wrt)
    with gc_paused():
        return sparse_jacobian(outs, syms)


def hessian(f: Any, wrt: Any, *, sparse: bool = False) -> list[list[Expr]] | Sparse:
    """Second derivatives ∂²f/∂wrt[i]∂wrt[j]. Dense: the upper triangle by one reverse sweep of
    each gradient entry towards the later symbols only, mirrored (each entry built once). With
    ``sparse=True``: an ``sg.Sparse`` from a star colouring (one ``hvp`` per colour)."""
    (f,), _ = _outputs([f])
    syms, _ = _symbols(wrt)
    with gc_paused():
        if sparse:
            return sparse_hessian(f, syms)
        grads = gradient(f, syms)
        zero = const(0.0)
        n = len(syms)
        out: list[list[Expr]] = [[zero] * n for _ in range(n)]
        for i in range(n):
            adj = adjoints(grads[i], syms[i:])
            for j in range(i, n):
                out[i][j] = out[j][i] = adj.get(syms[j].serial, zero)
            provenance.record(grads[i], syms[i:], out[i][i:])  # for sg.verify(fn)
        return out
