"""The one printer loop every backend shares: linearize the DAG into straight-line code.

Each node that is used more than once, or is an output, or whose inline text would grow too
long or deep, gets one assignment; every other node is inlined into its single user. Nodes are
visited in serial (topological) order, so printing is a loop, never a recursion, and the same
graph always prints the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..ir import Expr, topo_order
from ..ops import ATOM, INFO, Op, Template, template
from .naming import NameScope

MAX_INLINE_LEN = 72
MAX_INLINE_DEPTH = 4


@dataclass
class Program:
    """Straight-line code: ``lines`` of (name, expression text), then one text per output."""

    lines: list[tuple[str, str]]
    outputs: list[str]
    op_counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_ops(self) -> int:
        return sum(self.op_counts.values())


def linearize(
    roots: list[Expr],
    arg_names: dict[int, str],
    backend: str,
    scope: NameScope,
    literal: Callable[[float], tuple[str, int]],
    cond_value: Template,
) -> Program:
    """Straight-line code for ``roots`` in ``backend``'s spelling.

    ``arg_names`` maps a symbol's serial to its parameter name; ``literal`` prints a constant
    (text, precedence); ``cond_value`` turns a condition into a number where one is used as a
    value rather than as the first argument of ``where``.
    """
    nodes = topo_order(roots)
    uses: dict[int, int] = {}
    atoms: set[int] = set()
    for node in nodes:
        if node.args:
            tmpl = template(node.op, backend)
            for i, a in enumerate(node.args):
                uses[a.serial] = uses.get(a.serial, 0) + 1
                if tmpl.repeats(i):
                    atoms.add(a.serial)
    root_set = {r.serial for r in roots}

    texts: dict[int, tuple[str, int, int]] = {}  # serial -> (text, precedence, depth)
    lines: list[tuple[str, str]] = []
    counts: dict[str, int] = {}
    for node in nodes:
        s = node.serial
        op = node.op
        if op is Op.CONST:
            t, p = literal(node.payload)
            texts[s] = (t, p, 0)
            continue
        if op is Op.SYMBOL:
            try:
                texts[s] = (arg_names[s], ATOM, 0)
            except KeyError:
                raise ValueError(f"symbol {node.payload!r} is not among the inputs") from None
            continue
        tmpl = template(op, backend)
        arg_texts, arg_precs, depth = [], [], 0
        for i, a in enumerate(node.args):
            t, p, d = texts[a.serial]
            if INFO[a.op].is_condition if a.args else False:
                if not (op is Op.WHERE and i == 0):
                    t, p = cond_value.render([t], [p]), cond_value.prec
            arg_texts.append(t)
            arg_precs.append(p)
            depth = max(depth, d)
        text = tmpl.render(arg_texts, arg_precs)
        counts[op.value] = counts.get(op.value, 0) + 1
        if (
            uses.get(s, 0) > 1
            or s in root_set
            or s in atoms
            or len(text) > MAX_INLINE_LEN
            or depth >= MAX_INLINE_DEPTH
        ):
            name = scope.temp()
            lines.append((name, text))
            texts[s] = (name, ATOM, 0)
        else:
            texts[s] = (text, tmpl.prec, depth + 1)
    outs = []
    for r in roots:
        t, p, _ = texts[r.serial]
        if r.args and INFO[r.op].is_condition:
            t = cond_value.render([t], [p])
        outs.append(t)
    return Program(lines, outs, counts)


def structure_text(structure, leaves: list[str]) -> str:
    """Python text rebuilding ``structure`` (nested lists/tuples) around ``leaves``; iterative."""
    it = iter(leaves)
    if not isinstance(structure, list | tuple):
        return next(it)
    out: list[str] = []
    stack: list = [structure]
    while stack:
        item = stack.pop()
        if isinstance(item, _Token):
            out.append(item.text)
        elif isinstance(item, list | tuple):
            is_list = isinstance(item, list)
            out.append("[" if is_list else "(")
            stack.append(_Token("]" if is_list else ("," * (len(item) == 1) + ")")))
            for j in range(len(item) - 1, -1, -1):
                stack.append(item[j])
                if j:
                    stack.append(_Token(", "))
        else:
            out.append(next(it))
    return "".join(out)


class _Token:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def flat_names(spec) -> list[str]:
    """The leaves of a nested list of names, in order."""
    out: list[str] = []
    stack = [spec]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out
