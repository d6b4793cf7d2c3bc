"""The batched NumPy backend: the same straight-line program on whole arrays.

Each argument may carry leading batch axes (a symbol's argument has shape ``B``, a length-k
list's ``B + (k,)``); they broadcast together and every output gets the broadcast batch shape.
IEEE semantics come from NumPy itself, with its warnings silenced inside the function.

With ``reduce`` ("sum" or "mean") every output is folded over the batch axes: an output
``a*b`` (a weight's gradient) becomes one dot product, and a long batch runs in blocks of about
2048 samples whose sums are added, so temporaries stay small. Temporaries are deleted after
their last use in every mode: large arrays then recycle through the allocator.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from ..ir import Expr, const_text, topo_order
from ..ops import Op, Template
from .base import ArrayOut, Program, flat_names, linearize, structure_text
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
    "_sum_mul": """def _sum_mul(a, b, batch):
    # The sum of a*b over the batch without the temporary product: one BLAS dot.
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != batch or b.shape != batch:
        return _sum(a * b, batch)
    if a.ndim == 1:
        return np.dot(a, b)
    return np.dot(a.ravel(), b.ravel())""",
    "_array": """def _array(values, shape, batch):
    # An array output: each element broadcast to the batch shape, in one new float64 array.
    out = np.empty(batch + (len(values),))
    for k, v in enumerate(values):
        out[..., k] = v
    return out.reshape(batch + shape)""",
    "_chunk_rows": """def _chunk_rows(batch):
    # A long batch runs in blocks of about 2048 samples: temporaries stay small and in cache
    # (large ones cost page faults on every operation); the block sums are then added.
    if not batch or batch[0] <= 1:
        return 0
    rows = max(1, 2048 // max(math.prod(batch[1:]), 1))
    return rows if rows < batch[0] else 0""",
    "_take": """def _take(p, start, rows, ndim, batch):
    # Rows start:start+rows of the first batch axis when p carries that axis, else p whole.
    if p.ndim - ndim == len(batch) and p.shape[0] == batch[0]:
        return p[start : start + rows]
    return p""",
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
    # Under a reduction, an output a*b (every gradient of a weight: adjoint * activation) is
    # summed as a dot product of a and b, so its per-sample product is never stored.
    dots = [False] * len(roots)
    if reduce is not None and any(r.op is Op.MUL for r in roots):
        inner = {a.serial for n in topo_order(roots) for a in n.args}  # products used elsewhere
        dots = [r.op is Op.MUL and r.serial not in inner for r in roots]
    lin_roots = [a for r, d in zip(roots, dots) for a in (r.args if d else (r,))]
    prog = linearize(lin_roots, names, NAME, scope, literal, COND_VALUE)
    if any(dots):
        prog.op_counts["mul"] = prog.op_counts.get("mul", 0) + len(
            {r for r, d in zip(roots, dots) if d}
        )
    batch = scope.temp("batch")
    convert: list[str] = []  # every argument as a float64 array
    unpack: list[str] = []  # element names from the trailing axes, and the batch shape
    shapes = []
    for p, spec in params:
        ndim = _ndim(spec)
        convert.append(f"{p} = np.asarray({p}, dtype=np.float64)")
        shapes.append(f"{p}.shape[:{p}.ndim - {ndim}]" if ndim else f"{p}.shape")
        if ndim:
            axes = tuple(range(-ndim, 0))
            src = f"np.moveaxis({p}, {axes}, {tuple(range(ndim))})"
            unpack.append(f"{structure_text(spec, flat_names(spec))} = {src}")
    batch_line = (
        f"{batch} = np.broadcast_shapes({', '.join(shapes)})" if shapes else f"{batch} = ()"
    )
    unpack.append(batch_line)
    compute = _with_frees(prog.lines, prog.outputs)
    outs = []
    texts = iter(prog.outputs)
    in_array = _in_array(structure)
    for r, d, a in zip(roots, dots, in_array):
        if d:
            outs.append(f"_sum_mul({next(texts)}, {next(texts)}, {batch})")
        elif reduce is not None:  # reduced outputs never materialise a per-sample copy
            outs.append(f"_sum({next(texts)}, {batch})")
        elif a:  # _array copies it into the output array
            outs.append(next(texts))
        else:
            outs.append(f"{'_out' if r.args else '_copy'}({next(texts)}, {batch})")

    def array_text(shape: tuple[int, ...], leaves: list[str]) -> str:
        if reduce is None:
            return f"_array([{', '.join(leaves)}], {shape!r}, {batch})"
        return f"np.array([{', '.join(leaves)}], dtype=np.float64).reshape({shape!r})"

    sig = ", ".join(p for p, _ in params)
    if reduce is None:
        ret = structure_text(structure, outs, array_text)
        funcs = [(FUNC, convert + unpack + compute + [f"return {ret}"])]
    else:
        # _block sums one block of samples; f splits a long batch into blocks and adds up.
        ret = "(" + ", ".join(outs) + ("," if len(outs) == 1 else "") + ")"
        totals = [f"_tot[{k}]" + (" / _n" if reduce == "mean" else "") for k in range(len(outs))]
        takes = ", ".join(f"_take({p}, _i, _rows, {_ndim(spec)}, {batch})" for p, spec in params)
        driver = convert + [
            batch_line,
            f"_rows = _chunk_rows({batch})",
            "if _rows:",
            "    _tot = None",
            f"    for _i in range(0, {batch}[0], _rows):",
            f"        _part = _block({takes})",
            "        _tot = _part if _tot is None else [_a + _b for _a, _b in zip(_tot, _part)]",
            "else:",
            f"    _tot = _block({sig})",
        ]
        if reduce == "mean":
            driver.append(f"_n = math.prod({batch})")
        driver.append(f"return {structure_text(structure, totals, array_text)}")
        funcs = [("_block", unpack + compute + [f"return {ret}"]), (FUNC, driver)]
    text = "\n".join(line for _, body in funcs for line in body)
    used = [h for h in HELPERS if h + "(" in text]
    if "_sum_mul" in used and "_sum" not in used:
        used.append("_sum")
    lines = [
        f'"""{doc}"""',
        "",
        *(["import math", ""] if "_erf" in used or reduce is not None else []),
        "import numpy as np",
        "",
    ]
    for h in used:
        lines += ["", HELPERS[h]]
    for name, body in funcs:
        lines += ["", "", f"def {name}({sig}):"]
        if name == FUNC:
            lines.append('    with np.errstate(all="ignore"):')
            lines += [f"        {line}" for line in body]
        else:
            lines += [f"    {line}" for line in body]
    return "\n".join(lines) + "\n", prog


_NAME = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def _with_frees(prog_lines: list[tuple[str, str]], outputs: list[str]) -> list[str]:
    """The assignments, each temporary deleted right after its last reader: whole-batch arrays
    then recycle through the allocator instead of piling up (and page-faulting) per call."""
    temps = {name for name, _ in prog_lines}
    temps -= {ident for text in outputs for ident in _NAME.findall(text)}  # the return reads
    last: dict[str, int] = {}
    for i, (_, text) in enumerate(prog_lines):
        for ident in _NAME.findall(text):
            if ident in temps:
                last[ident] = i
    dead: dict[int, list[str]] = {}
    for name, i in last.items():
        dead.setdefault(i, []).append(name)
    out = []
    for i, (name, text) in enumerate(prog_lines):
        out.append(f"{name} = {text}")
        if i in dead:
            out.append("del " + ", ".join(sorted(dead[i])))
    return out


def _in_array(structure) -> list[bool]:
    """Per output leaf, in order: whether it is an element of an array output."""
    flags: list[bool] = []
    for item in flat_names(structure):
        if isinstance(item, ArrayOut):
            flags += [True] * item.size
        else:
            flags.append(False)
    return flags


def _ndim(spec) -> int:
    n = 0
    while isinstance(spec, list | tuple):
        n += 1
        spec = spec[0] if spec else None
    return n
