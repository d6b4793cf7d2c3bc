"""Maths-like text of IR nodes, below ``ir`` so that ``Expr.__str__`` needs no upward import.

The functions take the nodes in a topological order (``ir.topo_order``) rather than walking
the graph themselves; they read only ``op``, ``args``, ``payload`` and ``serial``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .ops import ATOM, INFO, UNARY, Op

STR_LIMIT = 10_000


def const_text(v: float) -> tuple[str, int]:
    """A float as maths/Python text, with its precedence (negatives bind like unary minus)."""
    if math.isnan(v):
        return "nan", ATOM
    if math.isinf(v):
        return ("inf", ATOM) if v > 0 else ("-inf", UNARY)
    if v == int(v) and abs(v) < 1e16:
        t = str(int(v)) if v != 0 or math.copysign(1, v) > 0 else "-0.0"
    else:
        t = repr(v)
    return t, (UNARY if t.startswith("-") else ATOM)


def render(order: Sequence[Any], limit: int = STR_LIMIT) -> str:
    """Maths-like text of the last node of ``order`` (a topological order ending at it);
    shared subexpressions are written out where they occur. Past ``limit`` characters it
    gives a summary instead (a DAG can be exponentially long as text)."""
    texts: dict[int, tuple[str, int]] = {}
    for node in order:
        if node.op is Op.CONST:
            texts[node.serial] = const_text(node.payload)
        elif node.op is Op.SYMBOL:
            texts[node.serial] = (node.payload, ATOM)
        else:
            tmpl = INFO[node.op].templates["math"]
            parts = [texts[a.serial] for a in node.args]
            text = tmpl.render([p[0] for p in parts], [p[1] for p in parts])
            if len(text) > limit:
                root = order[-1]
                return f"<expression of {len(order)} nodes, {root.op.value} at the root>"
            texts[node.serial] = (text, tmpl.prec)
    return texts[order[-1].serial][0]


def short(order: Sequence[Any]) -> str:
    """``render`` cut to one line of at most 80 characters (for error messages)."""
    s = render(order, 200)
    return s if len(s) <= 80 else s[:77] + "..."
