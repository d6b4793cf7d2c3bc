"""The C form for programs with matrix products: scalar kernels in C, the products in BLAS.

When ``lower_matmul`` finds dense layers in a batched program (reduced or not), the C backend does
not spell each of a layer's multiply-adds as a scalar statement per sample (100,000 separate
memory-bound sums for an MNIST-size layer); it runs the program in phases
(``lower_phases``): a C kernel per phase computes that phase's scalar code for a block of
samples, vectorized across them, and writes the values the products read into a block of
rows; between the kernels the products run as matrix products through the BLAS that NumPy
already has in the process (no new dependency; docs/c_backend.md says why not a generated
kernel). The reduced outputs (a layer's weight gradients: sums over the batch of
outer products) are matrix products too.

The source is one C translation unit holding the kernels ``sg_k<p>``, a comment per product
saying what it computes, and the plan (``symgrad-plan:`` comment, JSON): what each kernel reads,
each product's weights and vectors, where each reduced output is found. ``mixed_run`` runs it.
Nothing a user names reaches the source.
"""

from __future__ import annotations

import json
import textwrap
from itertools import chain

from ...ir import Expr, make, symbol
from ...ops import Op
from ..base import Params, linearize
from ..lower_phases import Phased, kernel_inputs
from ..lowered import Dot, Elementwise, Lowered, MatMul, OuterSum, Total
from ..naming import NameScope
from .abi import make_meta, meta_comment
from .spell import COND_VALUE, NAME, literal, render_op

PLAN_TAG = "symgrad-plan: "
# Samples per block: about this many doubles of workspace (the rows every step and phase
# writes), at least 16. The block's row length is a constant of the source (SG_B): with the
# length a run-time value, GCC's combine pass spends tens of seconds on a wide layer's kernel
# (27 s against 1.3 s measured for MLP(10, [256, 256, 1])), and constant offsets vectorize.
BLOCK_DOUBLES = 1 << 21
# Use this form when the products stand for at least this many multiply-adds per sample:
# below it, the one straight loop of the small form is faster (docs/c_backend.md).
MIN_PRODUCT_MACS = 1_000


# Kernels are straight-line C vectorized across samples, which GCC compiles at ~1,000 operations
# a second (MLP(10, [256, 256, 1]): 1,026 in 1.6 s; a softmax cross-entropy over 100 samples
# traced without batch_argnums, products of 100 multiply-adds per sample: 37,000 in 41 s). Past
# this many the phased form is used only where the products do this many times more work
# (a wide layer's); otherwise the program takes the other forms (rerolled loops, the tape).
MAX_KERNEL_OPS = 8_000
MACS_PER_KERNEL_OP = 8


def may_pay(nodes: list, elements: dict, n_roots: int) -> bool:
    """Whether products found in ``nodes`` could reach ``MIN_PRODUCT_MACS``, checked before the
    search: a product's multiply-adds are multiplications by parameter elements, and a
    weight-gradient outer sum's are outputs, so fewer of both than that is never worth it."""
    if n_roots >= MIN_PRODUCT_MACS:
        return True
    count = n_roots
    mul = Op.MUL
    for n in nodes:
        if n.op is mul and (n.args[0].serial in elements or n.args[1].serial in elements):
            count += 1
            if count >= MIN_PRODUCT_MACS:
                return True
    return False


def worth_it(low: Lowered) -> bool:
    """Whether ``low``'s products carry enough of the work for the phased form to pay."""
    return _macs(low) >= MIN_PRODUCT_MACS


def kernels_small(low: Lowered, ph: Phased) -> bool:
    """Whether the kernels of ``ph`` compile in seconds, or the products outweigh them."""
    return ph.ops <= MAX_KERNEL_OPS or _macs(low) >= MACS_PER_KERNEL_OP * ph.ops


def _macs(low: Lowered) -> int:
    macs = sum(len(m.rows) * len(m.vectors.nodes) for m in low.products)
    for it in low.items or ():
        if isinstance(it, OuterSum):
            macs += len(it.rows.nodes) * len(it.cols.nodes)
    return macs


def generate(
    low: Lowered, ph: Phased, params: Params, arg_pos: dict[int, tuple[int, int]],
    layout: list, reduce: str | None, structure: str, runtime,
) -> tuple[str, list[tuple[str, str]]]:  # fmt: skip
    """The translation unit (kernels, product comments, plan and metadata) and the kernels'
    statements as (name, text), what ``fn.stats`` counts as lines."""
    from .runs import flat_picks, runs  # NumPy: only for programs this large

    n_args = len(params)
    blocks = _Blocks(n_args, len(low.steps))
    rows = sum(len(m.rows) for m in low.steps) + sum(len(p.slots) for p in ph.phases)
    block = max(16, BLOCK_DOUBLES // max(1, rows))
    kernels: list[list[str]] = []
    lines: list[tuple[str, str]] = []
    for k, phase in enumerate(ph.phases):
        body, n = _kernel(k, phase, ph, arg_pos, blocks) if phase.slots else ([], [])
        kernels.append(body)
        lines += n
    for s, (m, at) in enumerate(zip(low.steps, ph.vector_at)):
        if isinstance(m, Elementwise):
            body, statement = _lanewise(s, m, at, blocks)
            kernels.append(body)
            lines.append((f"sg_e{s}", statement))
    plan = {
        "block": block,
        "blocks": [n_args, len(low.steps), len(ph.phases)],
        "rows": [len(p.slots) for p in ph.phases],
        "kernels": [bool(p.slots) for p in ph.phases],
        "steps": [_step_plan(m, k, at) for m, k, at in zip(low.steps, ph.step_phase, ph.vector_at)],
        "items": [_item_plan(it, at) for it, at in zip(low.items or (), ph.item_at)],
        "picks": [list(r) for r in runs(flat_picks(low.items, low.picks))]
        if low.items is not None
        else [],
        "roots": None if low.items is not None else [list(at[1:]) for at in ph.root_at],
    }
    m = len(low.picks) if low.items is not None else len(low.roots)
    meta = make_meta(layout, m, reduce, structure, len(lines))
    meta["mixed"] = 1
    text = [*_HEADER, f"#define SG_B {block}", "", *runtime(kernels), ""]
    for body in kernels:
        text += body
    text += _step_comments(low.steps, ph.step_phase)
    text += _plan_comment(plan)
    text += [meta_comment(meta), ""]
    return "\n".join(text), lines


_HEADER = [
    "/* Generated by symgrad (c backend, phased form): C99 and libm; the matrix products run",
    "   through the BLAS NumPy has. sg_k<p>(n, b, s) computes phase p for n <= SG_B samples:",
    "   b[i] holds argument i (value e of sample j at b[i][j*s[i] + e]), then each step's rows",
    "   and each phase's slots (row r of sample j at [r*SG_B + j]); phase p writes its own. */",
    "#include <math.h>",
    "#include <stdlib.h>",
    "",
]


class _Blocks:
    """Block numbers: the arguments, then each product's rows, then each phase's slots."""

    def __init__(self, n_args: int, n_steps: int) -> None:
        self.n_args, self.n_steps = n_args, n_steps

    def step(self, s: int) -> int:
        return self.n_args + s

    def phase(self, k: int) -> int:
        return self.n_args + self.n_steps + k


def _kernel(k, phase, ph: Phased, arg_pos, blocks: _Blocks) -> tuple[list[str], list]:
    """C for phase ``k``: (its lines, its statements as (name, text))."""
    inputs = kernel_inputs(phase, k, ph.phase_of)
    loads, fresh, read = _loads(inputs, ph, arg_pos, blocks)
    slots = _rebuilt(phase.slots, fresh, ph.phase_of, k)
    # Each input is read where it is used: its load expression stands in for its name.
    reads = {fresh.get(i.serial, i).serial: src for i, src in zip(inputs, loads)}
    prog = linearize(slots, reads, NAME, NameScope(), literal, COND_VALUE)
    out_block = blocks.phase(k)
    body = [
        f"int sg_k{k}(long long sg_n, double *const *sg_b, const long long *sg_s)",
        "{",
        *[f"    const double *restrict sg_b{b} = sg_b[{b}];" for b in sorted(set(read))],
        f"    double *restrict sg_o = sg_b[{out_block}];",
        "#ifdef SG_SIMD",
        "#pragma omp simd",
        "#endif",
        "    for (long long sg_j = 0; sg_j < sg_n; ++sg_j) {",
        *[f"        const double {nm} = {t};" for nm, t in prog.lines],
        *[f"        sg_o[{r} * SG_B + sg_j] = {t};" for r, t in enumerate(prog.outputs)],
        "    }",
        "    return 0;",
        "}",
        "",
    ]
    return body, prog.lines


def _loads(inputs, ph: Phased, arg_pos, blocks: _Blocks):
    """Per input, its C load expression; fresh symbols standing for earlier phases' values;
    the blocks read."""
    fresh: dict[int, Expr] = {}
    loads: list[str] = []
    read: list[int] = []
    step_rows = ph.step_rows
    for i, node in enumerate(inputs):
        if node.serial in arg_pos:
            q, e = arg_pos[node.serial]
            src = f"sg_b{q}[sg_j * sg_s[{q}] + {e}]"
            read.append(q)
        elif node.serial in step_rows:
            s, j = step_rows[node.serial]
            b = blocks.step(s)
            src = f"sg_b{b}[{j} * SG_B + sg_j]"
            read.append(b)
        else:
            j = ph.phase_of[node.serial]
            b = blocks.phase(j)
            src = f"sg_b{b}[{ph.phases[j].where[node.serial]} * SG_B + sg_j]"
            read.append(b)
            fresh[node.serial] = symbol(f"sg_in{i}")
        loads.append(src)
    return loads, fresh, read


def _rebuilt(slots: list[Expr], fresh: dict[int, Expr], phase_of: dict, k: int) -> list[Expr]:
    """The slots with each earlier phase's value replaced by its fresh symbol (iterative, in
    serial order: a node's arguments are older than it)."""
    if not fresh:
        return list(slots)
    todo: dict[int, Expr] = {}
    stack = list(slots)
    while stack:
        n = stack.pop()
        if n.serial in todo or n.serial in fresh:
            continue
        todo[n.serial] = n
        if phase_of.get(n.serial, -1) == k:
            stack.extend(n.args)
    new: dict[int, Expr] = dict(fresh)
    for s in sorted(todo):
        n = todo[s]
        if n.args and any(a.serial in new for a in n.args):
            new[s] = make(n.op, tuple(new.get(a.serial, a) for a in n.args))
    return [new.get(n.serial, n) for n in slots]


def _lanewise(s: int, m: Elementwise, at: tuple, blocks: _Blocks) -> tuple[list[str], str]:
    """``sg_e<s>``: elementwise step ``s`` as a loop over its rows around a vectorized loop
    over the samples (a few lines of C, whatever the layer's width); and its statement."""
    pre, args = [], []
    for i, where in enumerate(at):
        if where[0] == "lanes":
            _, step, perm = where
            if perm is None:
                pre.append(f"    const double *restrict sg_a{i} = sg_b[{blocks.step(step)}];")
                args.append(f"sg_a{i}[sg_r * SG_B + sg_j]")
            else:
                pre.append(f"    static const long long sg_p{i}[{len(perm)}] = {{")
                pre += [f"        {line}" for line in _wrapped(_c_ints(perm)[1:-1], 88)]
                pre.append("    };")
                pre.append(f"    const double *restrict sg_a{i} = sg_b[{blocks.step(step)}];")
                args.append(f"sg_a{i}[sg_p{i}[sg_r] * SG_B + sg_j]")
        else:  # a per-sample value, the same for every row
            _, k, row = where
            pre.append(
                f"    const double *restrict sg_a{i} = sg_b[{blocks.phase(k)}] + {row} * SG_B;"
            )
            args.append(f"sg_a{i}[sg_j]")
    statement = f"sg_o[sg_r * SG_B + sg_j] = {render_op(m.op, args)};"
    body = [
        f"int sg_e{s}(long long sg_n, double *const *sg_b, const long long *sg_s)",
        "{",
        *pre,
        f"    double *restrict sg_o = sg_b[{blocks.step(s)}];",
        "    (void)sg_s;",
        f"    for (long long sg_r = 0; sg_r < {len(m.rows)}; ++sg_r) {{",
        "#ifdef SG_SIMD",
        "#pragma omp simd",
        "#endif",
        "        for (long long sg_j = 0; sg_j < sg_n; ++sg_j)",
        f"            {statement}",
        "    }",
        "    return 0;",
        "}",
        "",
    ]
    return body, statement


def _c_ints(values) -> str:
    return "{" + ", ".join(str(v) for v in values) + "}"


def _place_plan(where: tuple, v=None) -> dict:
    """A place (``lower_phases``) as the runtime reads it."""
    if where[0] == "slot":
        out = {"phase": where[1], "row": where[2]}
    elif where[0] == "lanes":
        out = {"lanes": where[1], "perm": None if where[2] is None else list(where[2])}
    else:
        out = {"param": v.param, "start": v.start, "step": v.step}
    if v is not None:
        out["n"] = len(v.nodes)
    return out


def _step_plan(m: MatMul | Elementwise, k: int, at) -> dict:
    if isinstance(m, Elementwise):
        return {"after": k, "lanewise": True, "rows": len(m.rows)}
    v = m.vectors
    from .runs import runs  # NumPy: only for programs this large

    flat = chain.from_iterable(m.index)
    return {
        "after": k,
        "param": m.param,
        "shape": [len(m.rows), len(v.nodes) + m.bias],
        "index": [list(r) for r in runs(flat)],
        "k": len(v.nodes),
        "bias": m.bias,
        "vectors": _place_plan(at, v),
    }


def _item_plan(it, at) -> dict:
    if isinstance(it, Total):
        return {"total": list(at[0][1:])}
    if isinstance(it, Dot):
        return {"dot": [list(at[0][1:]), list(at[1][1:])]}
    assert isinstance(it, OuterSum)
    rows, cols = _place_plan(at[0], it.rows), _place_plan(at[1], it.cols)
    return {"outer": [rows, cols], "ones": it.ones}


def _step_comments(steps: list, after: list[int]) -> list[str]:
    """What each step computes, for a reader (sizes only: no user text)."""
    out = ["/* Steps between the kernels, in order (sg_k<p>, then the steps after phase p):"]
    for s, (m, k) in enumerate(zip(steps, after)):
        if isinstance(m, Elementwise):
            out.append(
                f"   step {s} after phase {k}: {len(m.rows)} rows = {m.op.value}(...), sg_e{s}"
            )
            continue
        n, kk = len(m.rows), len(m.vectors.nodes)
        what = (
            "a parameter slice" if m.vectors.param is not None
            else f"the rows of step {m.vectors.lanes.step}" if m.vectors.lanes is not None
            else f"rows of phase {k}"
        )  # fmt: skip
        bias = " + bias" if m.bias else ""
        out.append(f"   step {s} after phase {k}: {n} rows = W[{n}x{kk}] @ ({what}){bias}, BLAS")
    return [*out, "*/", ""]


def _plan_comment(plan: dict) -> list[str]:
    """The plan, one entry per line (never one huge line)."""
    out = [f"/* {PLAN_TAG}{{"]
    keys = list(plan)
    for i, key in enumerate(keys):
        value = plan[key]
        sep = "," if i < len(keys) - 1 else ""
        if isinstance(value, list) and value and isinstance(value[0], dict | list):
            out.append(f'"{key}": [')
            for j, v in enumerate(value):
                out += _wrapped(json.dumps(v) + ("," if j < len(value) - 1 else ""))
            out.append("]" + sep)
        else:
            out += _wrapped(f'"{key}": {json.dumps(value)}{sep}')
    return [*out, "} */", ""]


def _wrapped(text: str, width: int = 96) -> list[str]:
    """``text`` broken at its spaces into lines of at most ``width`` (JSON allows white space
    between tokens, and the plan holds no string with a space)."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def read_plan(source: str) -> dict:
    """The plan ``generate`` wrote into ``source``."""
    i = source.index(PLAN_TAG) + len(PLAN_TAG)
    j = source.index("} */", i)
    return json.loads(source[i : j + 1])
