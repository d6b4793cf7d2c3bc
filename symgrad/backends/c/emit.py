"""Writing the C: the translation unit for a program, in the form its size calls for.

The generated ``sg_f`` (signature: ``abi``) loops over the batch inside C. Small functions are
one loop around the whole body, vectorized across samples with glibc's libmvec where
available. Large ones are rerolled into loops when they repeat (``reroll``, ``loops``), else
keep their values in a workspace array split into chunk functions so the compiler's time stays
linear in their size, or past ``abi.VM_MIN_OPS`` run as a tape on the interpreter (``tape``).

C identifiers are symgrad's own: ``v_`` + the sanitized label for inputs, ``t<n>`` or
``sg_w[<n>]`` for temporaries, ``g_`` + an input's name for a gradient output (``naming``),
``sg_`` for everything else. No user string reaches the source,
not even in a comment.
"""

from __future__ import annotations

import re
from collections import Counter

from ...ir import Expr, leaves, topo_order
from ..base import Names, NewScope, Params, Program, linearize, spec_ndim, structure_text
from . import abi, mixed, tape
from .abi import FUNC, SIMD_LIBM, declaration, make_meta, meta_comment
from .native import prebuild
from .spell import (
    COND_VALUE,
    HELPER_LIBM,
    HELPERS,
    NAME,
    helpers_for,
    literal,
    simd_declarations,
)

# Programs of this many operations or more are tried in the phased form (mixed.py).
MIXED_MIN_OPS = 1_000
_CALL = re.compile(r"\b([a-z_][a-z0-9_]*)\(")


def generate(
    params: Params, roots: list[Expr], structure, names: Names, new_scope: NewScope, doc: str,
    reduce: str | None = None,
) -> tuple[str, Program]:  # fmt: skip
    """The C translation unit for ``roots``; ``params`` and ``names`` as for the Python backend.

    ``doc`` is not used: it carries users' labels, which never enter C source.
    """
    layout = _arg_layout(params)
    n_in = sum(len(e) for e, _ in layout)
    nodes = topo_order(roots)
    n_ops = sum(1 for n in nodes if n.args)
    if n_ops >= MIXED_MIN_OPS:
        phased = _phased(params, roots, structure, names, reduce, layout, nodes)
        if phased is not None:  # dense layers: C kernels between BLAS products
            return phased
    looped = None
    if n_ops >= abi.LOOP_MIN_OPS:
        from .loops import looped as reroll_loops  # NumPy: only for programs this large

        looped = reroll_loops(layout, names, roots, nodes, reduce, _sample_loop)
    if looped is not None:  # repeated code, rerolled into loops
        prog, chunks, body = looped
    elif n_ops >= abi.VM_MIN_OPS:  # too large for the C compiler to be quick: a tape
        shape = _structure_meta(structure, len(roots))
        return tape.generate(layout, roots, names, reduce, nodes, shape)
    else:  # the small form, or re-linearized into workspace slots
        prog, chunks, body = _straight(layout, names, roots, nodes, reduce, new_scope, n_in)
    meta = make_meta(
        layout, len(roots), reduce, _structure_meta(structure, len(roots)), len(prog.lines)
    )
    out = _header(layout, len(roots))
    out += _runtime([t for _, t in prog.lines] + prog.outputs)
    out += chunks
    out += [*declaration(len(layout)), "{", *body, "}", meta_comment(meta), ""]
    return "\n".join(out), prog


def _phased(params, roots, structure, names, reduce, layout, nodes) -> tuple[str, Program] | None:
    """The phased form (``mixed``) when the lowering finds products worth it, else None."""
    from ..lower_lanes import vectorize  # only for large programs
    from ..lower_matmul import elements_of, lower
    from ..lower_phases import phases

    elements = elements_of(params, names)
    if not mixed.may_pay(nodes, elements, len(roots)):
        return None  # an irregular graph: no search (it costs seconds at 10^6 nodes)
    low = lower(roots, elements, reduce=reduce is not None)
    if not low.products or not mixed.worth_it(low):
        return None
    low = vectorize(low)
    ph = phases(low)
    if not mixed.kernels_small(low, ph):
        return None  # straight-line kernels too large for the compiler to be quick
    arg_pos = dict(elements)
    by_name = {v: k for k, v in names.items()}
    arg_pos.update((by_name[p], (q, 0)) for q, (p, spec) in enumerate(params) if spec is None)
    shape = _structure_meta(structure, len(roots))
    source, lines = mixed.generate(
        low, ph, params, arg_pos, layout, reduce, shape,
        lambda kernels: _runtime([line for k in kernels for line in k]),
    )  # fmt: skip
    prebuild(source)  # the compiler runs while sg.compile finishes; load() waits for it
    counts = Counter(n.op for n in nodes if n.args)  # by member: Enum's .value is a property
    return source, Program(lines, [], {op.value: c for op, c in counts.items()})


def _header(layout: list, m: int) -> list[str]:
    """The opening comments (what ``sg_f`` computes, for a reader) and includes."""
    argdoc = ", ".join(
        f"a{i}: {'scalar' if nd == 0 else f'{len(e)} values'}" for i, (e, nd) in enumerate(layout)
    )
    return [
        "/* Generated by symgrad (c backend): C99 and libm only. */",
        f"/* {FUNC}(n, a0, s0, ...): {m} output(s) of {argdoc or 'no arguments'}; */",
        "/* argument i for sample j starts at a<i> + j*s<i>; output r of sample j is out[r*n + j]",
        "   (reduce: out[r] over all samples). Returns 0, or 1 if out of memory, or 2 where a",
        "   build for constant strides (SG_BATCHED) is handed others. */",
        "#include <math.h>",
        "#include <stdlib.h>",
        "",
    ]


def _runtime(texts: list[str]) -> list[str]:
    """The vector declarations and helper bodies that the statements ``texts`` call."""
    called: set[str] = set()
    for t in texts:
        called.update(_CALL.findall(t))
    helpers = helpers_for(called)
    for h in helpers:
        called.update(HELPER_LIBM.get(h, ()))
    out = simd_declarations([f for f in SIMD_LIBM if f in called])
    for h in helpers:
        out += [HELPERS[h], ""]
    return out


class _SlotScope:
    """Hands out workspace slots ``sg_w[<n>]`` in place of temporaries (large functions)."""

    def __init__(self, first: int) -> None:
        self.next = first

    def temp(self, prefix: str = "t") -> str:
        self.next += 1
        return f"sg_w[{self.next - 1}]"

    def name_for(self, serial: int) -> str:
        return self.temp()


def _arg_layout(params: list[tuple[str, object]]) -> list[tuple[list[str], int]]:
    """Per parameter: its element names (C order) and how many trailing axes it has."""
    out = []
    for p, spec in params:
        if spec is None:
            out.append(([p], 0))
        else:
            out.append((leaves(spec), spec_ndim(spec)))
    return out


def _straight(layout, names, roots, nodes, reduce, new_scope, n_in):
    """Straight-line C: one vectorized loop around the body when small, else chunk functions
    over a workspace (``_large_body``)."""
    cnames = {s: "v_" + n for s, n in names.items()}
    prog = linearize(roots, cnames, NAME, new_scope(), literal, COND_VALUE, order=nodes)
    if len(prog.lines) <= abi.SMALL_MAX_LINES:
        body = _small_body(prog, layout, reduce, len(roots))
        chunks = _stride_macros(layout)
        slots = 0
    else:
        slot_of = {}
        k = 0
        for elems, _ in layout:
            for e in elems:
                slot_of[e] = k
                k += 1
        snames = {s: f"sg_w[{slot_of[n]}]" for s, n in names.items()}
        scope = _SlotScope(n_in)
        prog = linearize(roots, snames, NAME, scope, literal, COND_VALUE, order=nodes)  # type: ignore[arg-type]
        slots = scope.next
        chunks, body = _large_body(prog, layout, reduce, len(roots), slots)
    return prog, chunks, body


def _reduce_tail(reduce: str | None, acc: list[str]) -> list[str]:
    if reduce == "mean":
        return [f"    sg_out[{r}] = {a} / (double)sg_n;" for r, a in enumerate(acc)]
    return [f"    sg_out[{r}] = {a};" for r, a in enumerate(acc)]


def _stride_macros(layout: list) -> list[str]:
    """``SG_S<i>``, argument i's stride in the small form's loop: ``sg_s<i>`` as passed, or in
    a build for one set of batched arguments (``-DSG_BATCHED=<mask>``, bit i set where
    argument i has a batch axis: native.py) the constant it must then be, its size or 0, so
    that the compiler vectorizes the loads (a runtime stride is a gather per element)."""
    lines = ["#ifdef SG_BATCHED /* strides as constants: the build for one set of batched args */"]
    for i, (elems, _) in enumerate(layout):
        lines.append(f"#define SG_S{i} ((SG_BATCHED) >> {i} & 1 ? {len(elems)} : 0)")
    lines.append("#else")
    lines += [f"#define SG_S{i} sg_s{i}" for i in range(len(layout))]
    return [*lines, "#endif", ""]


def _stride_guard(layout: list) -> list[str]:
    """A build for one set of batched arguments refuses (returns 2) any other strides."""
    if not layout:
        return []
    test = " || ".join(f"sg_s{i} != SG_S{i}" for i in range(len(layout)))
    return ["#ifdef SG_BATCHED", f"    if ({test})", "        return 2;", "#endif"]


def _small_body(prog: Program, layout: list, reduce: str | None, m: int) -> list[str]:
    """One loop over the samples around the whole straight-line body (vectorizable)."""
    lines: list[str] = _stride_guard(layout)
    acc = [f"sg_r{r}" for r in range(m)]
    if reduce and m:
        lines += [f"    double {a} = 0.0;" for a in acc]
        names = [",".join(acc[i : i + 12]) for i in range(0, len(acc), 12)]
        pragma = "#pragma omp simd reduction(+:" + ", \\\n    ".join(names) + ")"
        lines += ["#ifdef SG_SIMD", *pragma.split("\n"), "#endif"]
    elif m:
        lines += ["#ifdef SG_SIMD", "#pragma omp simd", "#endif"]
    lines.append("    for (long long sg_j = 0; sg_j < sg_n; ++sg_j) {")
    for i, (elems, _) in enumerate(layout):
        for e, name in enumerate(elems):
            lines.append(f"        const double v_{name} = sg_a{i}[sg_j * SG_S{i} + {e}];")
    lines += [f"        const double {name} = {text};" for name, text in prog.lines]
    for r, t in enumerate(prog.outputs):
        lines.append(
            f"        {acc[r]} += {t};" if reduce else f"        sg_out[{r} * sg_n + sg_j] = {t};"
        )
    lines.append("    }")
    if reduce:
        lines += _reduce_tail(reduce, acc)
    lines.append("    return 0;")
    return lines


def _large_body(
    prog: Program, layout: list, reduce: str | None, m: int, slots: int
) -> tuple[list[str], list[str]]:
    """Chunk functions over a workspace ``sg_w``, and the loop that calls them per sample."""
    stmts: list[str] = []
    k = 0
    for i, (elems, _) in enumerate(layout):
        for e in range(len(elems)):
            stmts.append(f"sg_w[{k}] = sg_in[{i}][sg_j * sg_st[{i}] + {e}];")
            k += 1
    stmts += [f"{name} = {text};" for name, text in prog.lines]
    for r, t in enumerate(prog.outputs):
        stmts.append(f"sg_out[{r}] += {t};" if reduce else f"sg_out[{r} * sg_n + sg_j] = {t};")
    chunks: list[str] = []
    n_chunks = 0
    step = abi.CHUNK_LINES
    for start in range(0, len(stmts), step):
        chunks.append(
            f"static void sg_c{n_chunks}(double *restrict sg_w, const double *const *sg_in, "
            "const long long *sg_st, long long sg_j, long long sg_n, double *restrict sg_out)\n{"
        )
        chunks += [f"    {s}" for s in stmts[start : start + step]]
        chunks += ["}", ""]
        n_chunks += 1
    p = len(layout)
    ptrs = ", ".join(f"sg_a{i}" for i in range(p)) or "0"
    strides = ", ".join(f"sg_s{i}" for i in range(p)) or "0"
    pre = [f"const double *sg_in[{max(p, 1)}] = {{{ptrs}}};"]
    pre += [f"const long long sg_st[{max(p, 1)}] = {{{strides}}};"]
    calls = [f"sg_c{c}(sg_w, sg_in, sg_st, sg_j, sg_n, sg_out);" for c in range(n_chunks)]
    return chunks, _sample_loop(calls, reduce, m, max(slots, 1), pre)


def _sample_loop(
    per_sample: list[str], reduce: str | None, m: int, workspace: int, pre: list[str] = ()
) -> list[str]:
    """The body of ``sg_f`` around ``per_sample`` statements (large forms): the workspace
    ``sg_w`` (``workspace`` doubles, none if 0), the loop over samples ``sg_j``, and the
    zeroing and mean of reduced outputs."""
    body = []
    if workspace:
        body += [f"double *sg_w = (double *)malloc({workspace} * sizeof(double));"]
        body += ["if (sg_w == NULL) return 1;"]
    body += pre
    if reduce:
        body.append(f"for (long long sg_r = 0; sg_r < {m}; ++sg_r) sg_out[sg_r] = 0.0;")
    body.append("for (long long sg_j = 0; sg_j < sg_n; ++sg_j) {")
    body += [f"    {line}" for line in per_sample]
    body.append("}")
    if reduce == "mean":
        body.append(f"for (long long sg_r = 0; sg_r < {m}; ++sg_r) sg_out[sg_r] /= (double)sg_n;")
    if workspace:
        body.append("free(sg_w);")
    body.append("return 0;")
    return [f"    {line}" for line in body]


def _structure_meta(structure, n: int) -> str:
    """The output structure as a Python literal: None per leaf, ``{'shape': [...]}`` per array
    output (``ArrayOut``), so the loader can rebuild it with ``ast.literal_eval``."""
    return structure_text(structure, ["None"] * n, lambda shape, _: repr({"shape": list(shape)}))
