"""The native backend: the same program as C99 on libm (this module writes it; ``cload``
builds, loads, calls and saves it).

The generated ``sg_f`` loops over the batch inside C. Each argument arrives as a pointer and a
per-sample stride in doubles (0 for an argument without batch axes, which is how parameters
broadcast against data); outputs are written as one contiguous block per output, or summed over
the batch (``reduce``). Small functions are one loop around the whole body, vectorized across
samples with glibc's libmvec where available. Large ones are rerolled into loops when they
repeat (``cloop``), else keep their values in a workspace array split into chunk functions so
the compiler's time stays linear in their size, or past ``cbuild.VM_MIN_OPS`` run as a tape on
the interpreter (``cvm``).

C identifiers are symgrad's own: ``v_`` + the sanitized label for inputs, ``t<n>`` or
``sg_w[<n>]`` for temporaries, ``sg_`` for everything else. No user string reaches the source,
not even in a comment.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable

from ..ir import Expr, leaves, topo_order
from ..ops import ATOM, INFO, Op, Template, template
from ..printing import const_text
from ..spelling import LIBM
from . import cbuild, cvm
from .base import Program, linearize, spec_ndim, structure_text
from .cload import FUNC, META_TAG, NativeFunction, load, read_meta, save  # noqa: F401
from .naming import NameScope

NAME = "c"
COND_VALUE = Template("({0} ? 1.0 : 0.0)")
# Programs of this many operations or more are first tried as rerolled loops (cloop.py).
LOOP_MIN_OPS = 2_000
# ... and kept as loops when that leaves at most this many statements (straight ones plus one
# body per loop); otherwise the straight forms below.
LOOP_MAX_LINES = 2_000

# Helpers are branch-free selects, so that batch loops still vectorize after inlining them.
HELPERS = {
    "sg_sigmoid": """static inline double sg_sigmoid(double x)
{
    /* exp of a non-positive number only: no overflow for any finite x */
    double e = exp(-fabs(x));
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}""",
    "sg_softplus": """static inline double sg_softplus(double x)
{
    /* log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): no overflow for any finite x */
    return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}""",
    "sg_max": """static inline double sg_max(double a, double b)
{
    /* NaN-propagating (fmax would drop a NaN) */
    return a >= b ? a : (b > a ? b : a + b);
}""",
    "sg_min": """static inline double sg_min(double a, double b)
{
    return a <= b ? a : (b < a ? b : a + b);
}""",
    "sg_sign": """static inline double sg_sign(double x)
{
    return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x * 0.0);
}""",
    "sg_tanh": """/* SG_FMA(a, b, c) is a*b + c, fused where the CPU has FMA
   (builds use -ffp-contract=off, so only an explicit fma() fuses) */
#ifndef SG_FMA
#if defined(__FMA__) || defined(__FP_FAST_FMA)
#define SG_FMA(a, b, c) fma(a, b, c)
#else
#define SG_FMA(a, b, c) ((a) * (b) + (c))
#endif
#endif
#ifdef SG_SIMD /* batch loops call its vector variants (GCC writes them) */
#pragma omp declare simd notinbranch
#endif
static inline double sg_tanh(double x)
{
    /* libm's tanh (expm1, then a division) is slow in dependent chains; this one has a short
       critical path. |x| < 1: |x| + |x|^3 P(x^2), P of degree 15 (relative minimax, fitted
       with mpmath; Estrin's scheme, 4 FMAs deep). Else 1 - 2/(E + 1), E = exp(2|x|) inline
       (2|x| = k ln2 + r, |r| <= ln2/2, e^r = 1 + r + r^2 Q(r), Q of degree 9), so that scalar
       and vector code give the same bits. The sign is put back last: odd exactly,
       tanh(-0) = -0. Max error 1.2 ulp with FMA, 1.4 without (measured: docs/c_backend.md). */
    union { double d; unsigned long long u; } s;
    const double a = fabs(x), z = a * a;
    const double p0 = SG_FMA(0.13333333333333092, z, -0.3333333333333333);
    const double p1 = SG_FMA(0.021869488529139693, z, -0.05396825396804674);
    const double p2 = SG_FMA(0.003592126680862536, z, -0.008863235404740533);
    const double p3 = SG_FMA(0.000589979331830641, z, -0.001455824701105225);
    const double p4 = SG_FMA(9.646300475325674e-05, z, -0.0002389571608269734);
    const double p5 = SG_FMA(1.4606501420206775e-05, z, -3.8389950932968844e-05);
    const double p6 = SG_FMA(1.3793193454333705e-06, z, -4.988037920458914e-06);
    const double p7 = SG_FMA(2.516043776136952e-08, z, -2.6334844931510486e-07);
    const double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    const double q0 = SG_FMA(p1, z2, p0), q1 = SG_FMA(p3, z2, p2);
    const double q2 = SG_FMA(p5, z2, p4), q3 = SG_FMA(p7, z2, p6);
    const double small = SG_FMA(a * z, SG_FMA(SG_FMA(q3, z4, q2), z8, SG_FMA(q1, z4, q0)), a);
    /* tanh(22) rounds to 1: clamp (NaN stays NaN), so exp cannot overflow */
    const double y = a > 22.0 ? 44.0 : a + a;
    const double kb = SG_FMA(y, 1.4426950408889634, 0x1.8p52); /* k in the low bits */
    const double k = kb - 0x1.8p52;
    const double r = SG_FMA(-k, -4.2009150726810846e-11, SG_FMA(-k, 0x1.62e42ffp-1, y));
    const double e0 = SG_FMA(0.16666666666666644, r, 0.5000000000000001);
    const double e1 = SG_FMA(0.008333333333356199, r, 0.04166666666662431);
    const double e2 = SG_FMA(0.00019841269784669295, r, 0.0013888888917138378);
    const double e3 = SG_FMA(2.755735550523405e-06, r, 2.480152139633535e-05);
    const double e4 = SG_FMA(2.506816919552597e-08, r, 2.762004665507207e-07);
    const double r2 = r * r, r4 = r2 * r2;
    const double eq = SG_FMA(SG_FMA(e4, r4, SG_FMA(e3, r2, e2)), r4, SG_FMA(e1, r2, e0));
    s.d = kb;
    s.u = (s.u + 1023) << 52; /* 2^k */
    const double big = 1.0 - 2.0 / SG_FMA(SG_FMA(r2, eq, r), s.d, s.d + 1.0);
    return copysign(a < 1.0 ? small : big, x);
}""",
    "sg_mod": """static inline double sg_mod(double a, double b)
{
    /* NumPy's np.mod, Python's %: the remainder takes the divisor's sign; NaN for b == 0 */
    const double m = fmod(a, b);
    return m != 0.0 ? ((b < 0.0) != (m < 0.0) ? m + b : m) : copysign(0.0, b);
}""",
    "sg_fmax": """static inline double sg_fmax(double a, double b)
{
    /* NumPy's np.fmax: a NaN loses to a number (sg_max propagates it) */
    return a >= b || b != b ? a : b;
}""",
    "sg_fmin": """static inline double sg_fmin(double a, double b)
{
    return a <= b || b != b ? a : b;
}""",
    "sg_logaddexp": """static inline double sg_logaddexp(double a, double b)
{
    /* NumPy's np.logaddexp: max(a, b) + log1p(exp(-|a - b|)), no overflow; a == b
       (equal infinities too) gives a + log(2) */
    const double d = a - b, e = log1p(exp(-fabs(d)));
    return a == b ? a + 0.6931471805599453 : (d > 0.0 ? a + e : (d <= 0.0 ? b + e : d));
}""",
    "sg_nan_to_num": """static inline double sg_nan_to_num(double x)
{
    /* NumPy's defaults: NaN -> 0, +-inf -> the largest finite double of that sign */
    return x != x ? 0.0 : (fabs(x) == HUGE_VAL ? copysign(1.7976931348623157e308, x) : x);
}""",
}
# The libm functions each helper calls: the op table's c_libm of the row that names the helper.
_HELPER_LIBM = {i.c_helper: i.c_libm for i in INFO.values() if i.c_helper}
_CALL = re.compile(r"\b([a-z_][a-z0-9_]*)\(")


def template_c(op: Op) -> Template:
    """The op's ``"c"`` template (shared by the printer and the tape interpreter)."""
    return template(op, NAME)


def render_op(op: Op, args: list[str]) -> str:
    """``op`` applied to atoms ``args`` (names, subscripts), as a number: a condition is 1.0 or
    0.0 (the printer's ``cond_value``). One statement per op: the tape interpreter's cases and
    the rerolled loops' bodies."""
    text = template_c(op).render(args, [ATOM] * len(args))
    return COND_VALUE.render([text], [0]) if INFO[op].is_condition else text


def simd_declarations(funcs: list[str]) -> list[str]:
    """Declarations of libm's vector variants (glibc's libmvec), used only under SG_SIMD."""
    if not funcs:
        return []
    out = ["#ifdef SG_SIMD /* vector variants from glibc's libmvec */"]
    for f in funcs:
        arity = LIBM[f][0]
        out += [
            "#pragma omp declare simd notinbranch",
            f"double {f}({', '.join(['double'] * arity)});",
        ]
    return out + ["#endif", ""]


def literal(v: float) -> tuple[str, int]:
    """A double literal that the C compiler reads back exactly (repr is round-trip)."""
    if math.isnan(v):
        return "NAN", 20
    if math.isinf(v):
        return ("HUGE_VAL", 20) if v > 0 else ("-HUGE_VAL", 12)
    t, p = const_text(v)
    if "." not in t and "e" not in t and "inf" not in t:
        t += ".0"
    return t, p


class _SlotScope:
    """Hands out workspace slots ``sg_w[<n>]`` in place of temporaries (large functions)."""

    def __init__(self, first: int) -> None:
        self.next = first

    def temp(self, prefix: str = "t") -> str:
        self.next += 1
        return f"sg_w[{self.next - 1}]"


def _arg_layout(params: list[tuple[str, object]]) -> list[tuple[list[str], int]]:
    """Per parameter: its element names (C order) and how many trailing axes it has."""
    out = []
    for p, spec in params:
        if spec is None:
            out.append(([p], 0))
        else:
            out.append((leaves(spec), spec_ndim(spec)))
    return out


def generate(
    params: list[tuple[str, object]],
    roots: list[Expr],
    structure,
    names: dict[int, str],
    new_scope: Callable[[], NameScope],
    doc: str,
    reduce: str | None = None,
) -> tuple[str, Program]:
    """The C translation unit for ``roots``; ``params`` and ``names`` as for the Python backend.

    ``doc`` is not used: it carries users' labels, which never enter C source.
    """
    layout = _arg_layout(params)
    n_in = sum(len(e) for e, _ in layout)
    nodes = topo_order(roots)
    n_ops = sum(1 for n in nodes if n.args)
    looped = _looped(layout, names, roots, nodes, reduce) if n_ops >= LOOP_MIN_OPS else None
    if looped is not None:  # repeated code, rerolled into loops (cloop.py)
        prog, chunks, body = looped
    elif n_ops >= cbuild.VM_MIN_OPS:  # too large for the C compiler to be quick: a tape
        shape = _structure_meta(structure, len(roots))
        return cvm.generate(layout, roots, names, reduce, literal, nodes, shape)
    else:  # the small form, or re-linearized into workspace slots
        prog, chunks, body = _straight(layout, names, roots, nodes, reduce, new_scope, n_in)
    meta = {
        "v": 1,
        "args": [[len(e), nd] for e, nd in layout],
        "m": len(roots),
        "reduce": reduce,
        "structure": _structure_meta(structure, len(roots)),
        "lines": len(prog.lines),
    }
    texts = [t for _, t in prog.lines] + prog.outputs
    called: set[str] = set()
    for t in texts:
        called.update(_CALL.findall(t))
    helpers = [h for h in HELPERS if h in called]
    for h in helpers:
        called.update(_HELPER_LIBM.get(h, ()))
    simd = [f for f in cbuild.SIMD_LIBM if f in called]
    sig = ", ".join(
        ["long long sg_n"]
        + [f"const double *restrict sg_a{i}, long long sg_s{i}" for i in range(len(layout))]
        + ["double *restrict sg_out"]
    )
    argdoc = ", ".join(
        f"a{i}: {'scalar' if nd == 0 else f'{len(e)} values'}" for i, (e, nd) in enumerate(layout)
    )
    out = [
        f"/* Generated by symgrad (c backend): C99 and libm only. {META_TAG}{json.dumps(meta)} */",
        f"/* {FUNC}(n, a0, s0, ...): {len(roots)} output(s) of {argdoc or 'no arguments'}; */",
        "/* argument i for sample j starts at a<i> + j*s<i>; output r of sample j is out[r*n + j]",
        "   (reduce: out[r] over all samples). Returns 0, or 1 if out of memory. */",
        "#include <math.h>",
        "#include <stdlib.h>",
        "",
    ]
    out += simd_declarations(simd)
    for h in helpers:
        out += [HELPERS[h], ""]
    out += chunks
    out += [f"int {FUNC}({sig})", "{", *body, "}", ""]
    return "\n".join(out), prog


def _straight(layout, names, roots, nodes, reduce, new_scope, n_in):
    """Straight-line C: one vectorized loop around the body when small, else chunk functions
    over a workspace (``_large_body``)."""
    cnames = {s: "v_" + n for s, n in names.items()}
    prog = linearize(roots, cnames, NAME, new_scope(), literal, COND_VALUE, order=nodes)
    if len(prog.lines) <= cbuild.SMALL_MAX_LINES:
        body = _small_body(prog, layout, reduce, len(roots))
        chunks: list[str] = []
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


def _looped(layout, names, roots, nodes, reduce):
    """The program with its repeated stretches as loops, or None when that does not shrink
    it enough to compile as one small function."""
    from . import cloop  # NumPy: only for programs this large

    inputs: list[tuple[int, int]] = []
    ranges: list[tuple[int, int]] = []
    flat_of: dict[str, int] = {}
    for a, (elems, _) in enumerate(layout):
        ranges.append((len(inputs), len(inputs) + len(elems)))
        for e, name in enumerate(elems):
            flat_of[name] = len(inputs)
            inputs.append((a, e))
    index = {s: flat_of[n] for s, n in names.items() if n in flat_of}
    for node in nodes:
        if node.op is Op.SYMBOL and node.serial not in index:
            raise ValueError(f"symbol {node.payload!r} is not among the inputs")
    t = cloop.tape(nodes, roots, index)
    pl = cloop.plan(t, ranges)
    if not pl.loops or pl.statements > LOOP_MAX_LINES:
        return None

    stmts, size = cloop.emit(pl, inputs, reduce, literal, render_op)
    counts: dict[str, int] = {}
    for code, c in Counter(t.op.tolist()).items():
        if code != cloop.STORE:
            counts[cloop.OPS[code].value] = c
    args = [f"const double *sg_p{a} = sg_a{a} + sg_j * sg_s{a};" for a in range(len(layout))]
    body = _sample_loop(args + stmts, reduce, len(roots), size)
    return Program([("", s) for s in stmts], [], counts), [], body


def _reduce_tail(reduce: str | None, acc: list[str]) -> list[str]:
    if reduce == "mean":
        return [f"    sg_out[{r}] = {a} / (double)sg_n;" for r, a in enumerate(acc)]
    return [f"    sg_out[{r}] = {a};" for r, a in enumerate(acc)]


def _small_body(prog: Program, layout: list, reduce: str | None, m: int) -> list[str]:
    """One loop over the samples around the whole straight-line body (vectorizable)."""
    lines: list[str] = []
    acc = [f"sg_r{r}" for r in range(m)]
    if reduce and m:
        lines += [f"    double {a} = 0.0;" for a in acc]
        lines += ["#ifdef SG_SIMD", f"#pragma omp simd reduction(+:{','.join(acc)})", "#endif"]
    elif m:
        lines += ["#ifdef SG_SIMD", "#pragma omp simd", "#endif"]
    lines.append("    for (long long sg_j = 0; sg_j < sg_n; ++sg_j) {")
    for i, (elems, _) in enumerate(layout):
        for e, name in enumerate(elems):
            lines.append(f"        const double v_{name} = sg_a{i}[sg_j * sg_s{i} + {e}];")
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
    step = cbuild.CHUNK_LINES
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
