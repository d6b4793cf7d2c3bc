"""An expression as LaTeX through SymPy (its notebook view), bounded in size."""

from __future__ import annotations

import re

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


# Names SymPy's printer writes well (w0 -> w_{0}, alpha -> \\alpha, x_1 -> x_{1}); any other
# label is written as text, so ``a b`` is not a times b and ``a{b`` cannot break the formula.
_PLAIN = re.compile(r"(?:[A-Za-z]+[0-9]*(?:_[A-Za-z0-9]+)?|[^\W\d_])\Z")
# LaTeX's special characters, each in a math-mode spelling every renderer (MathJax, KaTeX) has.
_SPECIAL = {
    "\\": r"\backslash ",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\hat{}",
    "~": r"\sim ",
}


def latex_label(label: str) -> str:
    """A symbol's label as LaTeX that shows exactly its characters: runs of ordinary ones in
    ``\\text{}``, each special character in its math-mode spelling."""
    parts, run = [], []
    for ch in label:
        if ch in _SPECIAL:
            if run:
                parts.append(r"\text{" + "".join(run) + "}")
                run = []
            parts.append(_SPECIAL[ch])
        else:
            run.append(ch)
    if run or not parts:
        parts.append(r"\text{" + "".join(run) + "}")
    return "{" + "".join(parts) + "}"


def expr_latex(e: Expr) -> str | None:
    """``$...$`` by SymPy's LaTeX printer; None without SymPy, past the size bound, or on any
    failure (a notebook view never raises: the text view remains)."""
    if _tree_size(e, TREE_LIMIT) > TREE_LIMIT:
        return None
    try:
        import sympy

        expr = to_sympy(e)
        names = {s: latex_label(s.name) for s in expr.free_symbols if not _PLAIN.match(s.name)}
        text = sympy.latex(expr, symbol_names=names)
    except Exception:
        return None
    return f"${text}$" if len(text) <= CHARS else None
