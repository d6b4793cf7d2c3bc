"""Dead-code elimination: a program holds only the nodes its outputs reach.

A reverse sweep builds adjoints for every node under ``f``, including contributions that flow
only to symbols nobody asked about (the data ``x`` of a loss differentiated by its weights).
No pass has to delete them: every printer walks ``live(roots)`` and nothing else, so they are
never printed, and unreferenced nodes are freed by the weak intern table. ``dead_count``
measures what this drops.
"""

from __future__ import annotations

from ..ir import Expr, topo_order


def live(roots: list[Expr]) -> list[Expr]:
    """The nodes the outputs reach, children first: what a printer prints."""
    return topo_order(roots)


def dead_count(built: list[Expr], roots: list[Expr]) -> int:
    """How many of the nodes under ``built`` the outputs ``roots`` do not reach."""
    keep = {n.serial for n in topo_order(roots)}
    return sum(1 for n in topo_order(built) if n.serial not in keep)
