"""Dead-code elimination: a program holds only the nodes its outputs reach.

No pass deletes anything: every printer walks ``topo_order(roots)`` (the nodes the outputs
reach, which ``live`` names here) and nothing else, so a node that no output reaches (a
gradient nobody asked for, an intermediate built and dropped) is never printed.
``dead_count`` measures what this drops.
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
