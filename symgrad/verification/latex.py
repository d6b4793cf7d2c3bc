"""An expression as LaTeX through SymPy (its notebook view), bounded in size."""

from __future__ import annotations

from ..ir import Expr, topo_order
from .bridge import to_sympy

TREE_LIMIT = 400  # nodes written out as a tree (a shared subexpression counts at each use)
CHARS = 10_000


def _tree_size(e: Expr, limit: int) -> int:
    """How many nodes ``e`` has written out as a tree, counted up to ``limit + 1``."""
    size: dict[int, int] = {}
    for node in topo_order([e]):
        size[node.serial] = min(limit + 1, 1 + sum(size[a.serial] for a in node.args))
    return size[e.serial]


def expr_latex(e: Expr) -> str | None:
    """``$...$`` by SymPy's LaTeX printer; None without SymPy, past the size bound, or on any
    failure (a notebook view never raises: the text view remains)."""
    if _tree_size(e, TREE_LIMIT) > TREE_LIMIT:
        return None
    try:
        import sympy

        text = sympy.latex(to_sympy(e))
    except Exception:
        return None
    return f"${text}$" if len(text) <= CHARS else None
