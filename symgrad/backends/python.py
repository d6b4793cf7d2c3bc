"""The scalar Python backend: straight-line code on ``math``, no NumPy at run time.

Python's ``math`` raises where IEEE-754 returns inf or NaN. The fast function runs plain
``math`` code; only if it raises does it rerun the same program spelled with the IEEE helpers of
``symgrad.scalar`` (pasted into the module), so results always match ``sg.evaluate``. Programs
without a raising op get no fallback at all.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable

from .. import scalar
from ..ir import Expr, const_text
from ..ops import INFO, Template
from .base import Program, flat_names, linearize, structure_text
from .naming import NameScope

NAME = "python"
FUNC = "f"
IEEE_FUNC = "f_ieee"
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


def _body(prog: Program, unpack: list[str], ret: str, indent: str) -> list[str]:
    out = [f"{indent}{line}" for line in unpack]
    out += [f"{indent}{name} = {text}" for name, text in prog.lines]
    out.append(f"{indent}return {ret}")
    return out


def generate(
    params: list[tuple[str, object]],
    roots: list[Expr],
    structure,
    names: dict[int, str],
    new_scope: Callable[[], NameScope],
    doc: str,
) -> tuple[str, Program]:
    """The module for ``roots``, and its fast program.

    ``params`` are (parameter name, ``None`` for a scalar or the nested list of element names to
    unpack); ``names`` maps symbol serials to their names; ``new_scope`` gives a name scope that
    already holds the parameter and element names.
    """
    fast = linearize(roots, names, NAME, new_scope(), literal, COND_VALUE)
    unpack = [
        f"{structure_text(spec, flat_names(spec))} = {p}" for p, spec in params if spec is not None
    ]
    sig = ", ".join(p for p, _ in params)
    ieee = None
    if _RAISING & fast.op_counts.keys():
        ieee = linearize(roots, names, NAME + "_ieee", new_scope(), literal, COND_VALUE)
    texts = [
        t for prog in (fast, ieee) if prog for t in [*(x for _, x in prog.lines), *prog.outputs]
    ]
    mathnames, helpers = _referenced(texts)
    lines = [f'"""{doc}"""', ""]
    if mathnames:
        lines += [f"from math import {', '.join(mathnames)}", ""]
    for h in helpers:
        lines += ["", inspect.getsource(_HELPERS[h]).rstrip()]
    if helpers:
        lines.append("")
    lines += ["", f"def {FUNC}({sig}):"]
    if ieee is None:
        lines += _body(fast, unpack, structure_text(structure, fast.outputs), "    ")
    else:
        lines.append("    try:")
        lines += _body(fast, unpack, structure_text(structure, fast.outputs), "        ")
        lines += [
            "    except (ArithmeticError, ValueError):",
            "        # math raised where IEEE-754 gives inf or nan: rerun with IEEE semantics.",
            f"        return {IEEE_FUNC}({sig})",
            "",
            "",
            f"def {IEEE_FUNC}({sig}):",
            f'    """{FUNC} with IEEE-754 semantics: inf and nan where math would raise."""',
        ]
        lines += _body(ieee, unpack, structure_text(structure, ieee.outputs), "    ")
    return "\n".join(lines) + "\n", fast


# Ops whose math spelling can raise; their programs get the IEEE fallback.
_RAISING = {op.value for op, info in INFO.items() if "python_ieee" in info.templates}
