"""The lowered program the batched printers read: scalar code plus whole-array steps.

The lowering passes (``lower_matmul``: matrix products and reduced outer sums;
``lower_lanes``: elementwise operations over a product's rows) turn the scalar graph into
this; a printer spells it. A step's results reach the scalar code through fresh symbols, its
``rows``; another step reads them whole, as ``Lanes``. Nothing here knows a backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import Expr
from ..ops import Op


@dataclass(frozen=True)
class Lanes:
    """The rows of step ``step`` as one array: lane ``j`` is its row ``perm[j]`` (``perm``
    None: row ``j``)."""

    step: int
    perm: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Vectors:
    """Operands on a first axis, in order (a product's vectors, an outer sum's rows or
    columns). ``param`` is set when they are the flat elements ``start, start + step, ...`` of
    one parameter (a backend may read them as a slice of that argument); ``lanes`` when they
    are the rows of a step (read as its array); otherwise they are stacked from scalar code."""

    nodes: tuple[Expr, ...]
    param: int | None = None
    start: int = 0
    step: int = 1
    lanes: Lanes | None = None

    @property
    def stacked(self) -> tuple[Expr, ...]:
        """The nodes the scalar code must compute for this operand."""
        return () if self.param is not None or self.lanes is not None else self.nodes


@dataclass(frozen=True)
class MatMul:
    """``rows[j] = sum_k P[index[j][k]] * vectors[k]`` (``+ P[index[j][K]]`` when ``bias``),
    ``P`` the flat elements of parameter ``param``."""

    param: int
    index: tuple[tuple[int, ...], ...]
    vectors: Vectors
    bias: bool
    rows: tuple[Expr, ...]

    @property
    def op_counts(self) -> dict[str, int]:
        """The scalar operations the product stands for (what the graph counted)."""
        n, k = len(self.rows), len(self.vectors.nodes)
        return {"mul": n * k, "add": n * (k - 1 + self.bias)}


@dataclass(frozen=True)
class Elementwise:
    """``rows[j] = op(args at lane j)``: one array operation for ``len(rows)`` scalar nodes
    of the same shape. An argument is ``Lanes`` (lane j of a step) or a scalar node, the same
    for every lane (broadcast)."""

    op: Op
    args: tuple[Lanes | Expr, ...]
    rows: tuple[Expr, ...]

    @property
    def op_counts(self) -> dict[str, int]:
        return {self.op.value: len(self.rows)}


@dataclass(frozen=True)
class Total:
    """A reduced output: the sum of ``node`` over the batch."""

    node: Expr


@dataclass(frozen=True)
class Dot:
    """A reduced output ``a * b`` used nowhere else: the sum over the batch of ``a * b``."""

    a: Expr
    b: Expr


@dataclass(frozen=True)
class OuterSum:
    """Reduced outputs sharing their columns: entry ``(i, k)`` is the sum over the batch of
    ``rows[i] * cols[k]``, entry ``(i, K)`` the sum of ``rows[i]`` alone when ``ones``."""

    rows: Vectors
    cols: Vectors
    ones: bool


@dataclass
class Lowered:
    """The program a batched printer prints.

    ``roots``: one scalar root per output (without a reduction). ``steps``: the whole-array
    steps, each reading only earlier ones. ``items``: under a reduction, what is summed over
    the batch; ``picks[i]`` says where output ``i`` is found, as ``(item,)`` or
    ``(item, row, column)``. ``dots`` counts the outputs folded into ``Dot`` items (their
    multiplication is not in the scalar code).
    """

    roots: list[Expr]
    steps: list[MatMul | Elementwise] = field(default_factory=list)
    items: list[Total | Dot | OuterSum] | None = None
    picks: list[tuple[int, ...]] = field(default_factory=list)
    dots: int = 0

    @property
    def products(self) -> list[MatMul]:
        return [m for m in self.steps if isinstance(m, MatMul)]

    def output_nodes(self) -> list[Expr]:
        """The nodes whose values the function returns: the outputs, or the reduced items'
        operands that scalar code computes."""
        if self.items is None:
            return list(self.roots)
        out: list[Expr] = []
        for it in self.items:
            if isinstance(it, Total):
                out.append(it.node)
            elif isinstance(it, Dot):
                out += [it.a, it.b]
            else:
                out += [*it.rows.stacked, *it.cols.stacked]
        return out

    def operand_nodes(self) -> list[Expr]:
        """What the steps read from scalar code: stacked vectors, broadcast arguments."""
        out: list[Expr] = []
        for m in self.steps:
            if isinstance(m, MatMul):
                out += m.vectors.stacked
            else:
                out += [a for a in m.args if isinstance(a, Expr)]
        return out

    @property
    def op_counts(self) -> dict[str, int]:
        counts = {"mul": self.dots} if self.dots else {}
        for m in self.steps:
            for k, v in m.op_counts.items():
                counts[k] = counts.get(k, 0) + v
        return counts
