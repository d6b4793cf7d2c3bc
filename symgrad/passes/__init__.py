"""Optimizing passes: each a pure function from output roots to equivalent output roots.

Construction already folds constants, applies the IEEE-safe identities and shares equal
subexpressions (interning); dead code never reaches a printer (only what the outputs reach is
printed). The passes here do what construction cannot know to do: they are run by
``optimize`` in a fixed, bounded pipeline.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir import Expr, make, topo_order
from ..ops import Op
from .strength import strength_reduce

Rule = Callable[[Expr, tuple[Expr, ...]], Expr | None]

PIPELINE: list[tuple[str, Rule]] = [("strength", strength_reduce)]


def rewrite(roots: list[Expr], rule: Rule) -> list[Expr]:
    """Rebuild ``roots`` bottom-up, letting ``rule(node, new_args)`` replace any node (or
    return None to keep it). Iterative; unchanged subgraphs are returned as they were."""
    new: dict[int, Expr] = {}
    for node in topo_order(roots):
        if not node.args:
            new[node.serial] = node
            continue
        args = tuple(new[a.serial] for a in node.args)
        replaced = rule(node, args)
        if replaced is None:
            replaced = node if all(x is y for x, y in zip(args, node.args)) else make(node.op, args)
        new[node.serial] = replaced
    return [new[r.serial] for r in roots]


def optimize(roots: list[Expr], passes: list[str] | None = None) -> list[Expr]:
    """Run the pipeline (or the named ``passes`` of it, in pipeline order) over ``roots``."""
    for name, rule in PIPELINE:
        if passes is None or name in passes:
            roots = rewrite(roots, rule)
    return roots


__all__ = ["optimize", "rewrite", "PIPELINE", "Op"]
