"""A lowered program cut into phases: scalar kernels between matrix products.

A backend that runs the products of a ``Lowered`` program through BLAS and its scalar code as
compiled loops over the samples must run them in turns: the scalar code a product reads, then
the product, then the scalar code that reads the product's rows. ``phases`` assigns each scalar
node the first turn it can run in (phase 0 reads only arguments; phase ``k + 1`` also reads the
rows of the products run after phase ``k``) and lays out what each phase's kernel writes: one
*slot* (a row of the phase's output block, one value per sample) per value that a product, a
reduced output or a later phase reads. A product's stacked vectors, and the rows or columns of
an outer sum, occupy consecutive slots, so each is one contiguous block of rows.

Nothing here knows a backend: the result says which node goes where, as plain indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import Expr
from ..ops import Op
from .lowered import Dot, Elementwise, Lanes, Lowered, MatMul, Total, Vectors


@dataclass
class Phase:
    """One kernel: ``slots`` are the nodes it writes (row ``r`` of its block is ``slots[r]``,
    a node may fill several rows), ``steps`` the products run after it."""

    slots: list[Expr] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    where: dict[int, int] = field(default_factory=dict)  # node serial -> its first slot

    def add(self, nodes: tuple[Expr, ...] | list[Expr]) -> int:
        """Append ``nodes`` as consecutive slots; the first one's row. Nodes already in
        consecutive slots in this order (a product's vectors that an outer sum reads too)
        are not written twice: their first row is returned."""
        first = self.where.get(nodes[0].serial) if nodes else None
        if first is not None and self.slots[first : first + len(nodes)] == list(nodes):
            return first
        start = len(self.slots)
        for n in nodes:
            self.where.setdefault(n.serial, len(self.slots))
            self.slots.append(n)
        return start


@dataclass
class Phased:
    """``phase_of``: serial -> phase of every scalar node the program computes (constants: -1,
    computed wherever read). ``step_phase[s]``: the phase product ``s`` runs after.
    ``vector_at[s]``: where product ``s``'s vectors are, and for an elementwise step, where
    each argument is (a tuple of them). A place is ``("slot", phase, first slot)``,
    ``("lanes", step, perm or None)`` (a step's rows, permuted) or ``("param",)`` (a parameter
    slice, read from the argument). ``item_at[i]``: per reduced item, the places of its
    operands: ``Total``/``Dot`` one slot each, ``OuterSum`` (rows, cols). ``root_at``: per
    root (no reduction), its slot."""

    phases: list[Phase]
    phase_of: dict[int, int]
    step_phase: list[int]
    vector_at: list[tuple]
    item_at: list[tuple]
    root_at: list[tuple[int, int]]
    step_rows: dict[int, tuple[int, int]]  # a product's row symbol -> (product, row)
    ops: int = 0  # operations the kernels compute (what the C compiler's time follows)


def phases(low: Lowered) -> Phased:
    """Phases for ``low`` (made by ``lower_matmul.lower``, then perhaps ``lower_lanes``)."""
    step_rows = {r.serial: (s, j) for s, m in enumerate(low.steps) for j, r in enumerate(m.rows)}
    row_step = {serial: s for serial, (s, _) in step_rows.items()}
    phase_of: dict[int, int] = {}
    step_phase: list[int] = []
    ops = 0
    for m in low.steps:
        nodes = _scalar_operands(m)
        ops += _settle(nodes, phase_of, row_step, step_phase)
        after = [step_phase[a.step] for a in _lanes_operands(m)]
        step_phase.append(max([0, *after, *(phase_of[n.serial] for n in nodes)]))
    result = low.output_nodes()
    ops += _settle(result, phase_of, row_step, step_phase)
    top = max([0, *step_phase, *phase_of.values()])
    ph = [Phase() for _ in range(top + 1)]
    for s, k in enumerate(step_phase):
        ph[k].steps.append(s)
    vector_at = [_place_step(ph, m, phase_of) for m in low.steps]
    item_at: list[tuple] = []
    for it in low.items or ():
        if isinstance(it, Total):
            item_at.append((_slot(ph, it.node, phase_of),))
        elif isinstance(it, Dot):
            item_at.append((_slot(ph, it.a, phase_of), _slot(ph, it.b, phase_of)))
        else:
            item_at.append((_place(ph, it.rows, phase_of), _place(ph, it.cols, phase_of)))
    root_at = [] if low.items is not None else [_slot(ph, r, phase_of) for r in low.roots]
    _carry(ph, phase_of)
    return Phased(ph, phase_of, step_phase, vector_at, item_at, root_at, step_rows, ops)


def _scalar_operands(m: MatMul | Elementwise) -> list[Expr]:
    """What a step reads from scalar code: stacked vectors, broadcast arguments."""
    if isinstance(m, MatMul):
        return list(m.vectors.stacked)
    return [a for a in m.args if isinstance(a, Expr)]


def _lanes_operands(m: MatMul | Elementwise) -> list[Lanes]:
    if isinstance(m, MatMul):
        return [] if m.vectors.lanes is None else [m.vectors.lanes]
    return [a for a in m.args if isinstance(a, Lanes)]


def _settle(targets, phase_of: dict, row_step: dict, step_phase: list) -> int:
    """The phase of every node ``targets`` reach that has none yet (iterative post-order);
    how many of them are operations."""
    ops = 0
    stack = [(t, False) for t in targets if t.serial not in phase_of]
    while stack:
        node, done = stack.pop()
        s = node.serial
        if s in phase_of:
            continue
        if done or not node.args:
            if node.op is Op.CONST:
                phase_of[s] = -1
            elif node.op is Op.SYMBOL:
                phase_of[s] = step_phase[row_step[s]] + 1 if s in row_step else 0
            else:
                phase_of[s] = max(0, *(phase_of[a.serial] for a in node.args))
                ops += 1
            continue
        stack.append((node, True))
        stack.extend((a, False) for a in node.args if a.serial not in phase_of)
    return ops


def _home(nodes, phase_of: dict) -> int:
    return max([0, *(phase_of[n.serial] for n in nodes)])


def _place(ph: list[Phase], v: Vectors, phase_of: dict) -> tuple:
    """Where ``v`` is read: its lanes, the parameter, or consecutive slots for its stacked
    nodes in the last phase any of them needs."""
    if v.lanes is not None:
        return ("lanes", v.lanes.step, v.lanes.perm)
    if v.param is not None:
        return ("param",)
    k = _home(v.nodes, phase_of)
    return ("slot", k, ph[k].add(v.nodes))


def _slot(ph: list[Phase], node: Expr, phase_of: dict) -> tuple:
    k = _home([node], phase_of)
    if node.serial in ph[k].where:
        return ("slot", k, ph[k].where[node.serial])
    return ("slot", k, ph[k].add([node]))


def _place_step(ph: list[Phase], m: MatMul | Elementwise, phase_of: dict) -> tuple:
    if isinstance(m, MatMul):
        return _place(ph, m.vectors, phase_of)
    return tuple(
        ("lanes", a.step, a.perm) if isinstance(a, Lanes) else _slot(ph, a, phase_of)
        for a in m.args
    )


def _carry(ph: list[Phase], phase_of: dict) -> None:
    """A slot for every value a phase reads from an earlier phase (in that phase's block).
    Later phases first, so the slots a carry adds to an earlier phase are themselves read
    when that phase's turn comes (they may read a still earlier phase)."""
    for k in range(len(ph) - 1, -1, -1):
        for node in kernel_inputs(ph[k], k, phase_of):
            j = phase_of[node.serial]
            if node.op is not Op.SYMBOL and node.serial not in ph[j].where:
                ph[j].add([node])


def kernel_inputs(phase: Phase, k: int, phase_of: dict) -> list[Expr]:
    """The nodes phase ``k``'s kernel reads rather than computes: symbols (arguments' elements,
    products' rows) and values of earlier phases, in the order first met."""
    out: list[Expr] = []
    seen: set[int] = set()
    stack = list(reversed(phase.slots))
    while stack:
        node = stack.pop()
        if node.serial in seen:
            continue
        seen.add(node.serial)
        j = phase_of[node.serial]
        if node.op is Op.SYMBOL or 0 <= j < k:
            out.append(node)
        elif j == k:
            stack.extend(reversed(node.args))
    return out
