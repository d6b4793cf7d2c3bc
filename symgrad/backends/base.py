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

# The types of every backend's ``generate(params, roots, structure, names, new_scope, doc,
# **lowered)``, spelled once.
Params = list[tuple[str, object]]
"""(parameter name, ``None`` for a scalar or the nested list of element names to unpack)."""
Names = dict[int, str]
"""A symbol's serial -> its name in the generated code."""
NewScope = Callable[[], NameScope]
"""Makes a name scope that already holds the parameter and element names."""

MAX_INLINE_LEN = 72
MAX_INLINE_DEPTH = 4


@dataclass
class Program:
    """Straight-line code: ``lines`` of (name, expression text), then one text per output.

    ``deps[i]`` lists the names (temporaries and arguments) that line ``i`` reads, and
    ``out_deps[j]`` those that output ``j`` reads: what a backend needs to split a huge
    program into parts without parsing its text.
    """

    lines: list[tuple[str, str]]
    outputs: list[str]
    op_counts: dict[str, int] = field(default_factory=dict)
    deps: list[tuple[str, ...]] = field(default_factory=list)
    out_deps: list[tuple[str, ...]] = field(default_factory=list)
    inlined: int = 0

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
    order: list[Expr] | None = None,
) -> Program:
    """Straight-line code for ``roots`` in ``backend``'s spelling.

    ``arg_names`` maps a symbol's serial to its parameter name; ``literal`` prints a constant
    (text, precedence); ``cond_value`` turns a condition into a number where one is used as a
    value rather than as the first argument of ``where``. Only nodes the roots reach are
    visited, so dead code never prints (dead-code elimination is this traversal). ``order``,
    if given, is a topological order of exactly those nodes (a schedule) to print in.
    """
    nodes = topo_order(roots) if order is None else order
    tmpls, named = _templates_and_shared(nodes, backend)
    named.update(r.serial for r in roots)
    texts, lines, deps, counts, inlined = _print_nodes(
        nodes, tmpls, named, arg_names, scope, literal, cond_value
    )
    outs, out_deps = [], []
    for r in roots:
        t, p, _, refs = texts[r.serial]
        if r.op in _CONDITIONS:
            t = cond_value.render([t], [p])
        outs.append(t)
        out_deps.append(refs)
    op_counts = {op.value: k for op, k in counts.items()}
    return Program(lines, outs, op_counts, deps, out_deps, inlined)


_CONDITIONS = frozenset(op for op, info in INFO.items() if info.is_condition)
_LOGIC = frozenset({Op.AND, Op.OR, Op.NOT})  # their operands are conditions, printed as such


def _templates_and_shared(nodes: list[Expr], backend: str) -> tuple[dict[Op, Template], set]:
    """Each op's template in ``backend``, and the serials that must be named: read more than
    once, or read where the template repeats its argument (it would be computed twice)."""
    tmpls: dict[Op, Template] = {}
    repeats: dict[Op, tuple[bool, ...]] = {}
    uses: dict[int, int] = {}
    named: set[int] = set()
    for node in nodes:
        if node.args:
            op = node.op
            if op not in tmpls:
                t = tmpls[op] = template(op, backend)
                repeats[op] = tuple(t.repeats(i) for i in range(len(node.args)))
            rep = repeats[op]
            for i, a in enumerate(node.args):
                s = a.serial
                uses[s] = uses.get(s, 0) + 1
                if rep[i]:
                    named.add(s)
    named.update(s for s, k in uses.items() if k > 1)
    return tmpls, named


def _print_nodes(nodes, tmpls, named, arg_names, scope, literal, cond_value) -> tuple:
    """(texts, lines, deps, counts, inlined): each node's text, inlined into its one reader
    unless it is ``named`` or its text grows too long or deep, then it gets a line."""
    conditions, logic = _CONDITIONS, _LOGIC
    const_op, symbol_op, where_op = Op.CONST, Op.SYMBOL, Op.WHERE  # locals: hot loop below
    # serial -> (text, precedence, depth, names the text reads)
    texts: dict[int, tuple[str, int, int, tuple[str, ...]]] = {}
    lines: list[tuple[str, str]] = []
    deps: list[tuple[str, ...]] = []
    counts: dict[Op, int] = {}  # by op; spelled by op.value (a Python property) at the end
    inlined = 0
    for node in nodes:
        s = node.serial
        op = node.op
        if op is const_op:
            t, p = literal(node.payload)
            texts[s] = (t, p, 0, ())
            continue
        if op is symbol_op:
            try:
                name = arg_names[s]
            except KeyError:
                raise ValueError(f"symbol {node.payload!r} is not among the inputs") from None
            texts[s] = (name, ATOM, 0, (name,))
            continue
        tmpl = tmpls[op]
        arg_texts, arg_precs, depth, refs = [], [], 0, ()
        for i, a in enumerate(node.args):
            t, p, d, r = texts[a.serial]
            if a.op in conditions and not (op is where_op and i == 0 or op in logic):
                t, p = cond_value.render([t], [p]), cond_value.prec
            arg_texts.append(t)
            arg_precs.append(p)
            refs += r
            if d > depth:
                depth = d
        text = tmpl.render(arg_texts, arg_precs)
        counts[op] = counts.get(op, 0) + 1
        if s in named or len(text) > MAX_INLINE_LEN or depth >= MAX_INLINE_DEPTH:
            name = scope.name_for(s)  # a temporary, or a derivative's label (g_w0)
            lines.append((name, text))
            deps.append(refs)
            texts[s] = (name, ATOM, 0, (name,))
        else:
            texts[s] = (text, tmpl.prec, depth + 1, refs)
            inlined += 1
    return texts, lines, deps, counts, inlined


@dataclass(frozen=True)
class ArrayOut:
    """An output given as an array of shape ``shape``: it stands for ``size`` leaves (C order)
    in an output structure, and each backend prints them as one value (``array_text``)."""

    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def nested_text(shape: tuple[int, ...], leaves: list[str]) -> str:
    """Python text of nested lists of shape ``shape`` around ``leaves`` (C order); a 0-d
    shape is its one leaf. Innermost axis first, so no recursion."""
    items = list(leaves)
    for i in range(len(shape) - 1, -1, -1):
        d, groups = shape[i], 1
        for k in shape[:i]:
            groups *= k
        items = ["[" + ", ".join(items[g * d : (g + 1) * d]) + "]" for g in range(groups)]
    return items[0]


def structure_text(
    structure,
    leaves: list[str],
    array_text: Callable[[tuple[int, ...], list[str]], str] = nested_text,
) -> str:
    """Python text rebuilding ``structure`` (nested lists/tuples, ``ArrayOut`` markers) around
    ``leaves``; iterative. An array takes its ``size`` leaves through ``array_text``."""
    it = iter(leaves)
    if isinstance(structure, ArrayOut):
        return array_text(structure.shape, [next(it) for _ in range(structure.size)])
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
        elif isinstance(item, ArrayOut):
            out.append(array_text(item.shape, [next(it) for _ in range(item.size)]))
        else:
            out.append(next(it))
    return "".join(out)


class _Token:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def spec_ndim(spec) -> int:
    """How many axes a parameter's nested list of element names has (0 for a scalar)."""
    n = 0
    while isinstance(spec, list | tuple):
        n += 1
        spec = spec[0] if spec else None
    return n
