"""Text of the IR: maths-like ``str()``, constants as literals, Graphviz DOT. All iterative."""

from __future__ import annotations

import math
from typing import Any

from .ir import Expr, flatten, topo_order
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


def to_str(e: Expr, limit: int = STR_LIMIT) -> str:
    """Maths-like text of ``e``; shared subexpressions are written out where they occur. Past
    ``limit`` characters it gives a summary instead (a DAG can be exponentially long as text)."""
    texts: dict[int, tuple[str, int]] = {}
    for node in topo_order([e]):
        if node.op is Op.CONST:
            texts[node.serial] = const_text(node.payload)
        elif node.op is Op.SYMBOL:
            texts[node.serial] = (node.payload, ATOM)
        else:
            tmpl = INFO[node.op].templates["math"]
            parts = [texts[a.serial] for a in node.args]
            text = tmpl.render([p[0] for p in parts], [p[1] for p in parts])
            if len(text) > limit:
                return f"<expression of {len(topo_order([e]))} nodes, {e.op.value} at the root>"
            texts[node.serial] = (text, tmpl.prec)
    return texts[e.serial][0]


def short_str(e: Expr) -> str:
    s = to_str(e, 200)
    return s if len(s) <= 80 else s[:77] + "..."


def dot_text(outputs: Any) -> str:
    """Graphviz DOT text of the DAG under ``outputs``; labels are quoted, never code
    (``sg.to_dot`` wraps it in a ``str`` that can render itself: symgrad.display)."""
    roots = flatten(outputs)
    lines = ["digraph symgrad {", "  rankdir=BT;", '  node [fontname="Helvetica"];']
    for node in topo_order(roots):
        if node.op is Op.CONST:
            label, shape = const_text(node.payload)[0], "plaintext"
        elif node.op is Op.SYMBOL:
            label, shape = node.payload, "ellipse"
        else:
            label, shape = node.op.value, "box"
        esc = label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'  n{node.serial} [label="{esc}", shape={shape}];')
        for i, a in enumerate(node.args):
            lines.append(f'  n{a.serial} -> n{node.serial} [label="{i}"];')
    for i, r in enumerate(roots):
        lines.append(f'  out{i} [label="out{i}", shape=doublecircle];')
        lines.append(f"  n{r.serial} -> out{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"
