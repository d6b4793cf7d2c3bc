"""The batched NumPy backend: the same straight-line program on whole arrays.

Each argument may carry leading batch axes (a symbol's argument has shape ``B``, a length-k
list's ``B + (k,)``); they broadcast together and every output gets the broadcast batch shape.
IEEE semantics come from NumPy itself, with its warnings silenced inside the function.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..ir import Expr, const_text
from ..ops import Template
from .base import Program, flat_names, linearize, structure_text
from .naming import NameScope

NAME = "numpy"
FUNC = "f"
COND_VALUE = Template("np.where({0}, 1.0, 0.0)")

HELPERS = {
    "_sigmoid": """def _sigmoid(x):
    # exp of a non-positive number only: no overflow for any finite x.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))""",
    "_erf": """_erf = np.vectorize(math.erf, otypes=[np.float64])""",
    "_out": """def _out(value, batch):
    # An output with the full batch shape, as a fresh float64 array.
    value = np.asarray(value, dtype=np.float64)
    if value.shape == batch:
        return value
    return np.broadcast_to(value, batch).copy()""",
    "_copy": """def _copy(value, batch):
    # An output that is an input or a constant: never hand back the caller's array.
    return np.broadcast_to(np.asarray(value, dtype=np.float64), batch).copy()""",
    "_sum": """def _sum(value, batch):
    # The sum over the batch axes; a value without them counts once per sample.
    value = np.asarray(value, dtype=np.float64)
    if value.shape != batch:
        value = np.broadcast_to(value, batch)
    return value.sum()""",
    "_mean": """def _mean(value, batch):
    # The mean over the batch axes; a value without them is its own mean.
    value = np.asarray(value, dtype=np.float64)
    if value.shape != batch:
        value = np.broadcast_to(value, batch)
    return value.mean()""",
}


def literal(v: float) -> tuple[str, int]:
    if math.isnan(v):
        return "np.nan", 20
    if math.isinf(v):
        return ("np.inf", 20) if v > 0 else ("-np.inf", 12)
    t, p = const_text(v)
    if "." not in t and "e" not in t:
        t += ".0"
    return t, p


def generate(
    params: list[tuple[str, object]],
    roots: list[Expr],
    structure,
    names: dict[int, str],
    new_scope: Callable[[], NameScope],
    doc: str,
    reduce: str | None = None,
) -> tuple[str, Program]:
    """The module for ``roots``; ``params`` as for the Python backend. Every parameter is an
    array whose trailing axes (none for a scalar) hold its elements."""
    scope = new_scope()
    prog = linearize(roots, names, NAME, scope, literal, COND_VALUE)
    batch = scope.temp("batch")
    body: list[str] = []
    shapes = []
    for p, spec in params:
        ndim = _ndim(spec)
        body.append(f"{p} = np.asarray({p}, dtype=np.float64)")
        shapes.append(f"{p}.shape[:{p}.ndim - {ndim}]" if ndim else f"{p}.shape")
        if ndim:
            axes = tuple(range(-ndim, 0))
            src = f"np.moveaxis({p}, {axes}, {tuple(range(ndim))})"
            body.append(f"{structure_text(spec, flat_names(spec))} = {src}")
    body.append(
        f"{batch} = np.broadcast_shapes({', '.join(shapes)})" if shapes else f"{batch} = ()"
    )
    body += [f"{name} = {text}" for name, text in prog.lines]
    outs = []
    for r, t in zip(roots, prog.outputs):
        # Reduced outputs never materialise a per-sample copy: _sum/_mean read views.
        wrap = f"_{reduce}" if reduce is not None else "_copy" if not r.args else "_out"
        outs.append(f"{wrap}({t}, {batch})")
    body.append(f"return {structure_text(structure, outs)}")
    text = "\n".join(body)
    used = [h for h in HELPERS if h + "(" in text or (h == "_erf" and "_erf(" in text)]
    lines = [
        f'"""{doc}"""',
        "",
        *(["import math", ""] if "_erf" in used else []),
        "import numpy as np",
        "",
    ]
    for h in used:
        lines += ["", HELPERS[h]]
    lines += [
        "",
        "",
        f"def {FUNC}({', '.join(p for p, _ in params)}):",
        '    with np.errstate(all="ignore"):',
    ]
    lines += [f"        {line}" for line in body]
    return "\n".join(lines) + "\n", prog


def _ndim(spec) -> int:
    n = 0
    while isinstance(spec, list | tuple):
        n += 1
        spec = spec[0] if spec else None
    return n
