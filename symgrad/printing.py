"""Text of the IR: maths-like ``str()``, constants as literals, Graphviz DOT. All iterative."""

from __future__ import annotations

from typing import Any

from .ir import Expr, flatten, topo_order
from .ops import INFO, Op
from .text import STR_LIMIT, const_text, render, short

__all__ = ["STR_LIMIT", "const_text", "dot_text", "short_str", "to_str"]


def to_str(e: Expr, limit: int = STR_LIMIT) -> str:
    """Maths-like text of ``e`` (see ``symgrad.text.render``)."""
    return render(topo_order([e]), limit)


def short_str(e: Expr) -> str:
    return short(topo_order([e]))


def dot_text(outputs: Any) -> str:
    """Graphviz DOT text of the DAG under ``outputs``; labels are quoted, never code
    (``sg.to_dot`` wraps it in a ``str`` that can render itself: symgrad.display)."""
    roots = flatten(outputs)
    lines = [
        "digraph symgrad {",
        "  rankdir=BT;",
        '  node [fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10, fontcolor="gray30"];',
    ]
    for node in topo_order(roots):
        if node.op is Op.CONST:
            label, shape = const_text(node.payload)[0], "plaintext"
        elif node.op is Op.SYMBOL:
            label, shape = node.payload, "ellipse"
        else:
            label, shape = node.op.value, "box"
        esc = label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'  n{node.serial} [label="{esc}", shape={shape}];')
        names = _operand_names(node)
        for i, a in enumerate(node.args):
            label = f' [label="{names[i]}"]' if names else ""
            lines.append(f"  n{a.serial} -> n{node.serial}{label};")
    for i, r in enumerate(roots):
        lines.append(f'  out{i} [label="out{i}", shape=doublecircle];')
        lines.append(f"  n{r.serial} -> out{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _operand_names(node: Expr) -> tuple[str, ...] | None:
    """Edge labels where the operands' order matters (``where``'s if/then/else, ``div``'s 0
    and 1); none for one operand or a commutative op, where a label is only noise."""
    if node.op is Op.WHERE:
        return ("if", "then", "else")
    if len(node.args) < 2 or INFO[node.op].commutative:
        return None
    return tuple(str(i) for i in range(len(node.args)))
