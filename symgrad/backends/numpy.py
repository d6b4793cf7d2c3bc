"""The batched NumPy backend: the same straight-line program on whole arrays.

Each argument may carry leading batch axes (a symbol's argument has shape ``B``, a length-k
list's ``B + (k,)``); they broadcast together and every output gets the broadcast batch shape.
IEEE semantics come from NumPy itself, with its warnings silenced inside the function.

The matrix products come from ``lower_matmul`` (a graph pass): a layer's sums over one list
argument's elements are one ``_matmul``; with ``reduce`` ("sum" or "mean") every output is
folded over the batch axes, reduced outputs that pair alike are one ``_gram``/``_outer``
product, and a long batch runs in blocks of about 2048 samples whose sums are added, so
temporaries stay small. Products check batch axes at run time and fall back. Temporaries are
deleted after their last use: large arrays then recycle through the allocator.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from importlib import resources

from ..ir import Expr, leaves
from ..ops import Template
from ..printing import const_text
from .base import ArrayOut, Program, linearize, spec_ndim, structure_text
from .load import load as load_module
from .lower_lanes import vectorize
from .lower_matmul import elements_of, lower
from .lowered import Lowered, OuterSum
from .naming import NameScope
from .numpy_pow import ieee_pow
from .numpy_steps import (
    NAME,
    array_spans,
    flat_picks,
    item_text,
    pick_text,
    place,
    runs,
    step_text,
)

FUNC = "f"
COND_VALUE = Template("np.where({0}, 1.0, 0.0)")


def _helpers() -> dict[str, str]:
    """Each helper's text, by name, in the order modules print them (numpy_runtime.py's)."""
    text = resources.files(__package__).joinpath("numpy_runtime.py").read_text(encoding="utf-8")
    out = {}
    for block in text.split("\n\n\n")[1:]:  # after the module's docstring and imports
        block = block.strip("\n")
        name = block[4 : block.index("(")] if block.startswith("def ") else block.split(" = ")[0]
        out[name] = block
    return out


HELPERS = _helpers()


def literal(v: float) -> tuple[str, int]:
    if math.isnan(v):
        return "np.nan", 20
    if math.isinf(v):
        return ("np.inf", 20) if v > 0 else ("-np.inf", 12)
    t, p = const_text(v)
    if "." not in t and "e" not in t:
        t += ".0"
    return t, p


def load(source: str) -> Callable:
    """The function ``f`` of a generated module."""
    return load_module(source, FUNC, NAME)


# Helpers a helper calls (the printer finds the called ones by their names in the source).
_NEEDS = {
    "_vectors": ("_stack",),
    "_gram": ("_sum", "_sum_mul", "_stack"),
    "_outer": ("_gram",),
    "_sum_mul": ("_sum",),
}


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
    array whose trailing axes (none for a scalar) hold its elements. The matrix products
    come from ``lower_matmul``; this prints its lowered program."""
    scope = new_scope()
    roots = ieee_pow(roots)  # NumPy's power is sqrt at exponent 0.5: IEEE pow's edges kept
    low = vectorize(lower(roots, elements_of(params, names), reduce is not None))
    batch = scope.temp("batch")
    prog, texts, consts, znames = _program(low, params, names, scope, batch)
    sliced = bool(low.steps) or any(
        isinstance(it, OuterSum) and it.cols.param is not None for it in low.items or ()
    )
    convert, unpack, batch_line = _arguments(params, batch, _names_read(prog) if sliced else None)
    sig = ", ".join(p for p, _ in params)
    if reduce is None:
        ret = _plain_return(low, structure, texts, batch)
        compute = _with_frees(prog.lines, prog.outputs)
        funcs = [(FUNC, convert + unpack + compute + [f"return {ret}"])]
    else:
        items = [item_text(it, texts, params, batch, znames, consts) for it in low.items]
        ret = "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        compute = _with_frees(prog.lines, [*prog.outputs, ret])
        named = _item_names(low, roots, scope)
        compute += [f"{nm} = {t}" for nm, t in zip(named, items) if nm is not None]
        items = [t if nm is None else nm for nm, t in zip(named, items)]
        ret = "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        driver = _driver(low, params, structure, batch, batch_line, reduce, consts)
        funcs = [("_block", unpack + compute + [f"return {ret}"]), (FUNC, convert + driver)]
    return _module(doc, funcs, consts, reduce is not None, sig), prog


def _program(low: Lowered, params, names: dict[int, str], scope: NameScope, batch: str):
    """Straight-line code for the lowered program: the scalar code with each step's line (and
    a line for each of its rows the scalar code reads) before the first line that reads it.
    Returns the program (its outputs those of ``low.output_nodes()``), node serial -> text,
    the module constants (weight indices, lane permutations) and the steps' array names."""
    outs, operands = low.output_nodes(), low.operand_nodes()
    arg_names = dict(names)
    znames, rnames = [], []
    for m in low.steps:
        znames.append(scope.temp("_z"))
        rnames.append([scope.temp("z") for _ in m.rows])
        arg_names.update((r.serial, nm) for r, nm in zip(m.rows, rnames[-1]))
    prog = linearize(outs + operands, arg_names, NAME, scope, literal, COND_VALUE)
    texts = {n.serial: t for n, t in zip(outs + operands, prog.outputs)}
    del prog.outputs[len(outs) :], prog.out_deps[len(outs) :]
    consts: list[str] = []
    lines = [
        step_text(g, m, params, texts, znames, consts, batch, literal)
        for g, m in enumerate(low.steps)
    ]
    read = _names_read(prog).union(*(reads for _, reads in lines))  # by scalar code or steps
    blocks = []
    for g, m in enumerate(low.steps):
        z = znames[g]
        block = [(z, *lines[g])]
        block += [(r, f"{z}[{j}]", (z,)) for j, r in enumerate(rnames[g]) if r in read]
        blocks.append(block)
        for key, v in m.op_counts.items():
            prog.op_counts[key] = prog.op_counts.get(key, 0) + v
    if low.dots:
        prog.op_counts["mul"] = prog.op_counts.get("mul", 0) + low.dots
    place(prog, blocks, [[*r, z] for r, z in zip(rnames, znames)])
    return prog, texts, consts, znames


def _item_names(low: Lowered, roots: list[Expr], scope: NameScope) -> list[str | None]:
    """A name for each reduced matrix (a layer's weight gradients, ``_outer``/``_gram``) whose
    outputs all carry labels of one stem (``g_w0``, ``g_w1`` ... -> ``g_w``), else None: the
    generated code says which gradient each matrix is."""
    hints = scope.hints
    labels: dict[int, list[str]] = {}  # item -> its outputs' labels ("" for none)
    for r, pk in zip(roots, low.picks):
        labels.setdefault(pk[0], []).append(hints.get(r.serial) or "")
    digits = "0123456789"
    stems = {k: {h.rstrip(digits).rstrip("_") for h in hs} for k, hs in labels.items()}
    out: list[str | None] = []
    for i, it in enumerate(low.items):
        names = stems.get(i, {""})
        ok = isinstance(it, OuterSum) and len(names) == 1 and "" not in names
        out.append(scope.fresh(names.pop()) if ok else None)
    return out


def _names_read(prog: Program) -> set[str]:
    return {nm for d in prog.deps for nm in d} | {nm for d in prog.out_deps for nm in d}


def _arguments(params, batch: str, used: set[str] | None) -> tuple[list, list, str]:
    """(convert, unpack, the batch line): every argument as a float64 array; the element
    names from the trailing axes (only those in ``used``, if given), then the batch shape."""
    convert: list[str] = []
    unpack: list[str] = []
    shapes = []
    for p, spec in params:
        ndim = spec_ndim(spec)
        convert.append(f"{p} = np.asarray({p}, dtype=np.float64)")
        shapes.append(f"{p}.shape[:{p}.ndim - {ndim}]" if ndim else f"{p}.shape")
        if not ndim:
            continue
        elems = leaves(spec)
        if used is None or all(nm in used for nm in elems):
            axes = tuple(range(-ndim, 0))
            src = f"np.moveaxis({p}, {axes}, {tuple(range(ndim))})"
            unpack.append(f"{structure_text(spec, elems)} = {src}")
        else:  # most elements are read through slices (products): name only the rest
            picked = [(i, nm) for i, nm in enumerate(elems) if nm in used]
            unpack += [f"{nm} = {p}[..., {_subscript(i, spec)}]" for i, nm in picked]
    batch_line = (
        f"{batch} = np.broadcast_shapes({', '.join(shapes)})" if shapes else f"{batch} = ()"
    )
    unpack.append(batch_line)
    return convert, unpack, batch_line


def _subscript(i: int, spec) -> str:
    """The trailing-axes subscript of flat element ``i`` of a nested-list parameter."""
    dims = []
    while isinstance(spec, list | tuple):
        dims.append(len(spec))
        spec = spec[0] if spec else None
    out = []
    for d in reversed(dims):
        i, r = divmod(i, d)
        out.append(str(r))
    return ", ".join(reversed(out))


def _plain_return(low: Lowered, structure, texts: dict[int, str], batch: str) -> str:
    """What ``f`` returns without a reduction: every output with the full batch shape."""
    outs = []
    for r, a in zip(low.roots, _in_array(structure)):
        t = texts[r.serial]
        if a:  # _array copies it into the output array
            outs.append(t)
        else:
            outs.append(f"{'_out' if r.args else '_copy'}({t}, {batch})")

    def array_text(shape: tuple[int, ...], leaves: list[str]) -> str:
        return f"_array([{', '.join(leaves)}], {shape!r}, {batch})"

    return structure_text(structure, outs, array_text)


def _driver(low: Lowered, params, structure, batch, batch_line, reduce, consts) -> list[str]:
    """``f`` under a reduction: split a long batch into blocks, add up ``_block``'s sums,
    pick each output from them. An array output drawing on products is one gather."""
    sig = ", ".join(p for p, _ in params)
    takes = ", ".join(f"_take({p}, _i, _rows, {spec_ndim(spec)}, {batch})" for p, spec in params)
    driver = [
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
    mean = " / _n" if reduce == "mean" else ""
    if reduce == "mean":
        driver.append(f"_n = math.prod({batch})")
    spans = array_spans(structure)
    if not spans or not any(isinstance(it, OuterSum) for it in low.items):
        totals = [f"_tot{pick_text(pk)}{mean}" for pk in low.picks]

        def array_text(shape: tuple[int, ...], leaves: list[str]) -> str:
            return f"np.array([{', '.join(leaves)}], dtype=np.float64).reshape({shape!r})"

    else:
        driver.append(f"_flat = np.concatenate([np.ravel(_t) for _t in _tot]){mean}")
        totals = _scalar_totals(low.picks, spans, mean)
        flat = flat_picks(low.items, low.picks)
        next_span = iter(spans).__next__

        def array_text(shape: tuple[int, ...], leaves: list[str]) -> str:
            start, size = next_span()
            name = f"_O{len(consts)}"
            consts.append(f"{name} = _ranges({runs(flat[start : start + size])!r}, ({size},))")
            return f"_flat[{name}].reshape({shape!r})"

    driver.append(f"return {structure_text(structure, totals, array_text)}")
    return driver


def _scalar_totals(picks: list, spans: list[tuple[int, int]], mean: str) -> list[str]:
    """Each output's text from the block totals, for the outputs outside the array outputs
    (``spans``: those read from ``_flat``, whose texts go unused, stay empty)."""
    totals = [""] * len(picks)
    at = 0
    for start, size in [*spans, (len(picks), 0)]:
        totals[at:start] = [f"_tot{pick_text(pk)}{mean}" for pk in picks[at:start]]
        at = start + size
    return totals


def _module(doc: str, funcs: list[tuple[str, list[str]]], consts, reduced: bool, sig) -> str:
    """The module text: docstring, imports, the helpers called, constants, functions."""
    text = "\n".join([line for _, body in funcs for line in body] + consts)
    used = [h for h in HELPERS if h + "(" in text]
    todo = list(used)
    while todo:
        for dep in _NEEDS.get(todo.pop(), ()):
            if dep not in used:
                used.append(dep)
                todo.append(dep)
    used.sort(key=list(HELPERS).index)
    lines = [
        f'"""{doc}"""',
        "",
        *(["import math", ""] if "_erf" in used or reduced else []),
        "import numpy as np",
        "",
    ]
    for h in used:
        lines += ["", HELPERS[h]]
    if consts:
        lines += ["", *consts]
    for name, body in funcs:
        lines += ["", "", f"def {name}({sig}):"]
        if name == FUNC:
            lines.append('    with np.errstate(all="ignore"):')
            lines += [f"        {line}" for line in body]
        else:
            lines += [f"    {line}" for line in body]
    return "\n".join(lines) + "\n"


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
    for item in leaves(structure):
        if isinstance(item, ArrayOut):
            flags += [True] * item.size
        else:
            flags.append(False)
    return flags
