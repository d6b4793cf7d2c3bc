"""The scalar Python backend: straight-line code on ``math``, no NumPy at run time.

Python's ``math`` raises where IEEE-754 returns inf or NaN. The body is printed once and runs
plain ``math`` code; only if it raises does ``_rerun`` (``ieee_rerun.py``, pasted into the
module) run the same code again with IEEE semantics, so results always match ``sg.evaluate``.
Programs without a raising op get no rerun code at all.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable

from .. import scalar
from ..ir import Expr, gc_paused, leaves
from ..ops import ATOM, INFO, Op, Template
from ..printing import const_text
from . import ieee_rerun
from .base import Names, NewScope, Params, Program, linearize, structure_text
from .load import keep_while_alive, register
from .load import load as load_module
from .schedule import schedule

NAME = "python"
FUNC = "f"
COND_VALUE = Template("float({0})")
_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_HELPERS = {n: f for n, f in vars(scalar).items() if n.startswith("_") and inspect.isfunction(f)}


def literal(v: float) -> tuple[str, int]:
    t, p = const_text(v)
    if t not in ("inf", "-inf", "nan") and "." not in t and "e" not in t:
        t += ".0"  # keep float arithmetic float
    return t, p


def _referenced(texts: list[str]) -> tuple[list[str], list[str]]:
    """The ``math`` names and ``scalar`` helpers that ``texts`` use, helpers closed over deps."""
    names: set[str] = set()
    for t in texts:
        names.update(_IDENT.findall(t))
    helpers: list[str] = []
    todo = sorted(n for n in names if n in _HELPERS)
    while todo:
        h = todo.pop()
        if h in helpers:
            continue
        helpers.append(h)
        for dep in _HELPERS[h].__code__.co_names:
            names.add(dep)
            if dep in _HELPERS and dep not in helpers:
                todo.append(dep)
    mathnames = sorted(n for n in names if n in vars(math) and not n.startswith("_"))
    return mathnames, sorted(helpers)


SPLIT_LINES = 20_000
"""Programs longer than this are split into part functions (see ``_split``)."""
PART_LINES = 2_000
"""Lines per part function of a split program."""


def _body(prog: Program, unpack: list[str], ret: str, indent: str) -> list[str]:
    out = [f"{indent}{line}" for line in unpack]
    out += [f"{indent}{name} = {text}" for name, text in prog.lines]
    out.append(f"{indent}return {ret}")
    return out


def _split(
    prog: Program, unpack: list[str], structure, indent: str, part: str, store: str
) -> tuple[list[str], list[str]]:
    """A huge program as a main body calling part functions of ``PART_LINES`` lines each.

    CPython compiles one function of N lines in worse than linear time and memory; parts keep
    each code object small. A value that crosses parts travels in one list (``store``): each
    part loads what it reads from earlier parts and appends what later parts or the outputs
    read. Returns (main body lines, part function definitions).
    """
    lines = prog.lines
    starts = list(range(0, len(lines), PART_LINES))
    owner, live_in, crossing = _crossings(prog, starts)
    # Slots: crossing inputs first (in first-use order), then values as their parts define them.
    slot: dict[str, int] = {}
    for lin in live_in:
        for d in lin:
            if d not in owner and d not in slot:
                slot[d] = len(slot)
    first = list(slot)
    parts: list[str] = []
    for c, a in enumerate(starts):
        parts += _part(f"{part}{c}", lines[a : a + PART_LINES], live_in[c], crossing, slot, store)
    main = [f"{indent}{line}" for line in unpack]
    main.append(f"{indent}{store} = [{', '.join(first)}]")
    main += [f"{indent}{part}{c}({store})" for c in range(len(starts))]
    rets = []

    def stored(m: re.Match) -> str:
        d = m[0]
        return f"{store}[{slot[d]}]" if d in owner else d

    for t, refs in zip(prog.outputs, prog.out_deps):
        if t in owner:  # the output is one temporary (the common case)
            t = f"{store}[{slot[t]}]"
        elif any(d in owner for d in refs):  # one pass of one pattern, not one per name
            t = _IDENT.sub(stored, t)
        rets.append(t)
    main.append(f"{indent}return {structure_text(structure, rets)}")
    return main, parts


def _crossings(prog: Program, starts: list[int]) -> tuple[dict, list[list[str]], set[str]]:
    """(owner, live_in, crossing): the part that defines each temporary, the names each part
    reads from outside itself (in first-use order), and every name that crosses a part."""
    lines, deps = prog.lines, prog.deps
    n = len(lines)
    owner: dict[str, int] = {}
    for c, a in enumerate(starts):
        for name, _ in lines[a : a + PART_LINES]:
            owner[name] = c
    live_in: list[list[str]] = []
    crossing: set[str] = set()
    for c, a in enumerate(starts):
        seen: set[str] = set()
        lin: list[str] = []
        for i in range(a, min(n, a + PART_LINES)):
            for d in deps[i]:
                if d not in seen and owner.get(d, -1) != c:
                    seen.add(d)
                    lin.append(d)
        live_in.append(lin)
        crossing.update(lin)
    for refs in prog.out_deps:
        crossing.update(d for d in refs if d in owner)
    return owner, live_in, crossing


def _part(
    fname: str, chunk: list, lin: list[str], crossing: set[str], slot: dict, store: str
) -> list[str]:
    """One part function: load ``lin`` from ``store``, run ``chunk``, append what crosses
    (giving each appended name its slot)."""
    body = [f"def {fname}({store}):"]
    for k in range(0, len(lin), 8):
        group = lin[k : k + 8]
        body.append(f"    {', '.join(group)} = " + ", ".join(f"{store}[{slot[d]}]" for d in group))
    body += [f"    {name} = {text}" for name, text in chunk]
    outs = [name for name, _ in chunk if name in crossing]
    for name in outs:
        slot[name] = len(slot)
    if outs:
        body.append(f"    {store} += ({', '.join(outs)}{',' * (len(outs) == 1)})")
    return ["", *body, ""]


def _emit(
    prog: Program, unpack: list[str], structure, indent: str, new_scope, prefix: str
) -> tuple[list[str], list[str]]:
    """The body of one function for ``prog``, and any part functions it calls."""
    if len(prog.lines) <= SPLIT_LINES:
        return _body(prog, unpack, structure_text(structure, prog.outputs), indent), []
    scope = new_scope()
    return _split(prog, unpack, structure, indent, prefix, scope.fresh("parts"))


def lower(roots: list[Expr], reduce: None = None) -> dict:
    """Graph-level preparation: an evaluation order for huge programs (see ``schedule``)."""
    return {"order": schedule(roots)}  # None below the size where live ranges matter


def generate(
    params: Params, roots: list[Expr], structure, names: Names, new_scope: NewScope, doc: str,
    order: list[Expr] | None = None,
) -> tuple[str, Program]:  # fmt: skip
    """The module for ``roots``, and its fast program (printed in ``order``, if given).

    ``params`` are (parameter name, ``None`` for a scalar or the nested list of element names to
    unpack); ``names`` maps symbol serials to their names; ``new_scope`` gives a name scope that
    already holds the parameter and element names. Math functions are module globals: CPython
    3.11 specialises those loads, and binding them as locals measured no faster.
    """
    with gc_paused():  # printing makes no cycles; on huge graphs the collector costs as much
        return _generate(params, roots, structure, names, new_scope, doc, order)


def _generate(params, roots, structure, names, new_scope, doc, order) -> tuple[str, Program]:
    prog = linearize(roots, names, NAME, new_scope(), literal, COND_VALUE, order)
    unpack = [
        f"{structure_text(spec, leaves(spec))} = {p}" for p, spec in params if spec is not None
    ]
    sig = ", ".join(p for p, _ in params)
    as_float = _int_closed(roots)
    if any(as_float):
        prog.outputs = [f"float({t})" if c else t for t, c in zip(prog.outputs, as_float)]
    raising = sorted(_RAISING & prog.op_counts.keys())
    texts = [*(x for _, x in prog.lines), *prog.outputs]
    rerun = []
    if raising:  # the IEEE rerun: what it calls instead of the functions that raise
        called = set(_IDENT.findall(" ".join(texts)))  # every raising function the body calls
        swaps = ", ".join(f'"{n}": {_IEEE_SWAPS[n]}' for n in sorted(called & _IEEE_SWAPS.keys()))
        rerun = [
            "    except (ArithmeticError, ValueError):",
            "        # math raised where IEEE-754 gives inf or nan: the same code, IEEE semantics.",
            f"        return _rerun({FUNC}, ({sig}{',' * (len(params) == 1)}), {{{swaps}}})",
        ]
        texts += [rerun[-1], "_div(a, b)", "_pow(a, b)", "_mod(a, b)"]  # the runtime's helpers
    mathnames, helpers = _referenced(texts)
    lines = [f'"""{doc}"""', ""]
    if mathnames:
        lines += [f"from math import {', '.join(mathnames)}", ""]
    for h in helpers:
        lines += ["", inspect.getsource(_HELPERS[h]).rstrip()]
    if rerun:
        lines += ["", *_RERUN_SOURCE]
    elif helpers:
        lines.append("")
    body, parts = _emit(prog, unpack, structure, "    ", new_scope, "_part")
    lines += parts
    lines += ["", f"def {FUNC}({sig}):"]
    if not rerun:
        lines += body
    else:
        lines += ["    try:", *("    " + line for line in body), *rerun]
    return "\n".join(lines) + "\n", prog


# Ops that keep Python ints ints (the table's ``int_closed``): an output made only of these over
# the arguments (no float constant, no math function) would return an int for int arguments,
# so it gets float().
_INT_KEEPING = {op for op, info in INFO.items() if info.int_closed}


def _int_closed(roots: list[Expr]) -> list[bool]:
    """For each root: could it evaluate to an int? Only if every node below it (but a
    ``where``'s condition) keeps ints: no constant, division or math function anywhere.

    A short breadth-first look finds the nearest float-producing node, which in most programs
    sits a few levels down (a gradient scaled by a constant); only a root it cannot settle
    gets the full walk (iterative, memoized across roots)."""
    memo: dict[int, bool] = {}
    return [_int_closed_near(root, memo) for root in roots]


_NEAR = 64  # nodes the breadth-first look visits before falling back to the full walk


def _int_closed_near(root: Expr, memo: dict[int, bool]) -> bool:
    symbol, keeping = Op.SYMBOL, _INT_KEEPING
    queue, seen = [root], {root.serial}
    for node in queue:  # grows while it is read: breadth first
        known = memo.get(node.serial)
        if known is not None:
            if not known:
                return False
            continue
        op = node.op
        if op is symbol:
            continue
        if op not in keeping:
            memo[root.serial] = False
            return False
        if len(queue) >= _NEAR:
            return _int_closed_walk(root, memo)
        for a in node.args[1:] if op is Op.WHERE else node.args:
            if a.serial not in seen:
                seen.add(a.serial)
                queue.append(a)
    for node in queue:  # the whole subgraph was seen: every node in it keeps ints
        memo[node.serial] = True
    return True


def _int_closed_walk(root: Expr, memo: dict[int, bool]) -> bool:
    stack = [root]
    while stack:
        node = stack[-1]
        if node.serial in memo:
            stack.pop()
            continue
        if node.op is Op.SYMBOL:
            memo[node.serial] = True
            stack.pop()
            continue
        if node.op not in _INT_KEEPING:
            memo[node.serial] = False
            stack.pop()
            continue
        kids = node.args[1:] if node.op is Op.WHERE else node.args
        pending = [a for a in kids if a.serial not in memo]
        if pending:
            stack.extend(pending)
            continue
        memo[node.serial] = all(memo[a.serial] for a in kids)
        stack.pop()
    return memo[root.serial]


def load(source: str) -> Callable:
    """The function ``f`` of a generated module. A split module is compiled one top-level
    definition at a time (each shifted to its line in the whole text), so CPython's compiler
    never holds the syntax tree of a million-line module at once; the text that runs is still
    exactly ``source``, registered whole in ``linecache`` for tracebacks."""
    if "\ndef _part0(" not in source:
        return load_module(source, FUNC, NAME)
    filename, namespace = register(source, NAME)
    starts = [0]
    pos = source.find("\ndef ")
    while pos != -1:
        starts.append(pos + 1)
        pos = source.find("\ndef ", pos + 1)
    starts.append(len(source))
    line = 0
    for a, b in zip(starts, starts[1:]):
        block = source[a:b]
        exec(compile(block, filename, "exec"), namespace)  # generated code only
        if line and block.startswith("def "):
            fn = namespace[block[4 : block.index("(")]]
            fn.__code__ = fn.__code__.replace(co_firstlineno=fn.__code__.co_firstlineno + line)
        line += block.count("\n")
    return keep_while_alive(namespace[FUNC], filename)


# Ops whose math spelling can raise; their programs get the IEEE rerun, which swaps each
# function that raises (``log``) for its IEEE helper (``_log``); an operator that raises
# (``/``) is the rerun's value type's business.
_RAISING = {op.value for op, info in INFO.items() if "python_ieee" in info.templates}
_CALL = re.compile(r"([A-Za-z_]\w*)\((\{\d\}(?:, \{\d\})*)\)")


def _ieee_swaps() -> dict[str, str]:
    """Each raising function a fast spelling calls (``log``) -> what the rerun calls instead:
    the IEEE helper's name (``_log``) or, for an inline IEEE spelling, a lambda of it."""
    out: dict[str, str] = {}
    for info in INFO.values():
        if "python_ieee" not in info.templates:
            continue
        m = _CALL.fullmatch(info.templates["python"].text)
        if m is None or m[2] != ", ".join("{%d}" % i for i in range(info.arity)):
            continue  # an operator (``/``, ``%``: the rerun's value type) or a call of other args
        ieee = info.templates["python_ieee"]
        m2 = _CALL.fullmatch(ieee.text)
        if m2 is not None and m2[2] == m[2]:
            out[m[1]] = m2[1]
        else:
            names = [f"a{i}" for i in range(info.arity)]
            out[m[1]] = f"lambda {', '.join(names)}: {ieee.render(names, [ATOM] * info.arity)}"
    return out


_IEEE_SWAPS = _ieee_swaps()


def _rerun_source() -> list[str]:
    """The rerun's runtime: the text of ``ieee_rerun.py`` below its marker."""
    text = inspect.getsource(ieee_rerun)
    return text[text.index("# --- pasted into generated modules ---\n") :].split("\n")[1:]


_RERUN_SOURCE = _rerun_source()
