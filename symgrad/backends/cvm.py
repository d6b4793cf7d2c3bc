"""The tape interpreter: large programs run on one small C virtual machine instead of being
compiled as C of their own.

GCC compiles straight-line code at a few thousand statements a second, so a program of a
million operations would spend minutes in the compiler. Past ``cbuild.VM_MIN_OPS`` operations
the C backend therefore turns the program into a tape: one instruction per operation (opcode,
destination slot, operand slots), constants in a table. The VM that runs tapes is generated
here from the op table's ``"c"`` templates (one ``case`` per op, the same stable helpers as the
straight-line code), so it is compiled once per machine and flags and then found in the cache
like any other library. Slots are reused once a value's last reader has run (``sg_vm_alloc``),
so the workspace stays small and in cache however long the program.

The VM keeps the generated code's calling rules: arguments with per-sample strides (0 for a
broadcast parameter), outputs as one block per output or summed over the batch (``reduce``).
A batch runs in blocks of ``SG_B`` samples per instruction, so dispatch is paid once a block
and the per-instruction loop vectorizes; a single sample runs a scalar loop.
"""

from __future__ import annotations

import ctypes
import json
import math
import re
from collections import Counter
from operator import attrgetter

from ..ir import Expr
from ..ops import ATOM, INFO, Op
from . import cbuild
from .base import Program

BLOCK = 64  # samples per instruction in batched runs (SG_B)
OPS: list[Op] = [op for op in INFO]  # opcode k is OPS[k]: the table's order
CODE: dict[Op, int] = {op: k for k, op in enumerate(OPS)}
VM_TAG = "symgrad-vm"


def _case_body(op: Op, lane: bool) -> str:
    """The statement computing one instruction of ``op``, from its ``"c"`` template."""
    from .c import render_op

    info = INFO[op]
    text = render_op(op, [f"sg_x{i}" for i in range(info.arity)])
    if lane:
        loads = ", ".join(f"sg_x{i} = sg_p{i}[sg_l]" for i in range(info.arity))
        return f"const double {loads}; sg_d[sg_l] = {text};"
    loads = ", ".join(f"sg_x{i} = sg_w[sg_p[{i + 2}]]" for i in range(info.arity))
    return f"const double {loads}; sg_w[sg_p[1]] = {text};"


def vm_source() -> str:
    """The VM's C translation unit: helpers, opcodes, the scalar and blocked interpreters, the
    slot allocator and the entry ``sg_vm``. Depends only on the op table (so its cache entry is
    shared by every large program)."""
    from .c import HELPERS, simd_declarations

    ops = OPS
    arities = ", ".join(str(INFO[op].arity) for op in ops)
    libm = set(cbuild.SIMD_LIBM)
    out = [
        f"/* {VM_TAG}: symgrad's tape interpreter (c backend), generated from the op table. */",
        "#include <math.h>",
        "#include <stdlib.h>",
        "",
        *simd_declarations(sorted(libm)),
        *[line for h in HELPERS.values() for line in (h, "")],
        "enum {",
        *[f"    SG_OP_{op.name} = {k}," for k, op in enumerate(ops)],
        "};",
        f"static const int sg_arity[{len(ops)}] = {{{arities}}};",
        f"#define SG_B {BLOCK}",
        "",
        "/* One sample: instruction [op, dst, a0, a1, ...] sets w[dst] = op(w[a0], w[a1], ...).",
        "   GCC and clang jump straight from one instruction's code to the next's (labels as",
        "   values: one predictable jump per instruction); other compilers use the switch. */",
        "static void sg_run1(const int *sg_p, const int *sg_end, double *restrict sg_w)",
        "{",
        "    if (sg_p >= sg_end) return;",
        "#if defined(__GNUC__)",
        "    static void *const sg_jump[] = {"
        + ", ".join(f"&&sg_L_{op.name}" for op in ops)
        + "};",
        "    goto *sg_jump[sg_p[0]];",
    ]
    for op in ops:
        n = INFO[op].arity
        out.append(
            f"sg_L_{op.name}: {{ {_case_body(op, False)} sg_p += {n + 2}; }}"
            " if (sg_p >= sg_end) return; goto *sg_jump[sg_p[0]];"
        )
    out += [
        "#else",
        "    while (sg_p < sg_end) {",
        "        switch (sg_p[0]) {",
    ]
    for op in ops:
        n = INFO[op].arity
        body = _case_body(op, False)
        out.append(f"        case SG_OP_{op.name}: {{ {body} sg_p += {n + 2}; break; }}")
    out += [
        "        default: return; /* not reached: tapes are written by symgrad */",
        "        }",
        "    }",
        "#endif",
        "}",
        "",
        "/* A block of nl <= SG_B samples: slot s holds lanes w[s*SG_B .. s*SG_B + nl). A",
        "   destination may be one of its operands (never a partial overlap): lane l reads",
        "   lane l. */",
        "static void sg_runb(const int *sg_p, const int *sg_end, double *sg_w, int sg_nl)",
        "{",
        "    while (sg_p < sg_end) {",
        "        double *sg_d = sg_w + (size_t)sg_p[1] * SG_B;",
        "        const double *sg_p0 = sg_w + (size_t)sg_p[2] * SG_B;",
        "        switch (sg_p[0]) {",
    ]
    for op in ops:
        n = INFO[op].arity
        extra = "".join(
            f"const double *sg_p{i} = sg_w + (size_t)sg_p[{i + 2}] * SG_B; " for i in range(1, n)
        )
        out += [
            f"        case SG_OP_{op.name}: {{",
            f"            {extra}" if extra else None,
            "#pragma omp simd",
            f"            for (int sg_l = 0; sg_l < sg_nl; ++sg_l) {{ {_case_body(op, True)} }}",
            f"            sg_p += {n + 2}; break;",
            "        }",
        ]
    out += [
        "        default: return;",
        "        }",
        "    }",
        "}",
        "",
        ALLOC_C,
        ENTRY_C,
    ]
    return "\n".join(line for line in out if line is not None)


ALLOC_C = """/* Renumber a tape from values (0..nfixed-1 inputs and constants, then one value per
   instruction in order) to slots: a temporary's slot is reused once its last reader has run;
   outputs live to the end. Rewrites tape and outs in place; returns the slot count, -1 if out
   of memory. */
long long sg_vm_alloc(int *tape, long long len, long long nfixed, long long nvalues,
                      int *outs, long long nout)
{
    long long *last = (long long *)malloc((size_t)(nvalues > 0 ? nvalues : 1) * sizeof *last);
    int *slot = (int *)malloc((size_t)(nvalues > 0 ? nvalues : 1) * sizeof *slot);
    int *pool = (int *)malloc((size_t)(nvalues > 0 ? nvalues : 1) * sizeof *pool);
    long long p, v, nfree = 0, next = nfixed;
    if (!last || !slot || !pool) { free(last); free(slot); free(pool); return -1; }
    for (v = 0; v < nvalues; ++v) last[v] = -1;
    for (p = 0; p < len; p += 2 + sg_arity[tape[p]])
        for (int k = 0; k < sg_arity[tape[p]]; ++k) last[tape[p + 2 + k]] = p;
    for (long long r = 0; r < nout; ++r) last[outs[r]] = len;
    for (v = 0; v < nfixed && v < nvalues; ++v) slot[v] = (int)v;
    for (p = 0, v = nfixed; p < len; p += 2 + sg_arity[tape[p]], ++v) {
        int n = sg_arity[tape[p]], a;
        for (int k = 0; k < n; ++k) {
            a = tape[p + 2 + k];
            tape[p + 2 + k] = slot[a];
            if (a >= nfixed && last[a] == p) { pool[nfree++] = slot[a]; last[a] = -2; }
        }
        slot[v] = nfree ? pool[--nfree] : (int)next++;
        tape[p + 1] = slot[v];
    }
    for (long long r = 0; r < nout; ++r) outs[r] = slot[outs[r]];
    free(last); free(slot); free(pool);
    return next;
}
"""

ENTRY_C = """/* Run a tape over n samples. Argument i of sample j starts at args[i] + j*strides[i];
   input slot k is element in_off[k] of argument in_arg[k]; constants fill the slots after the
   inputs. Output r of sample j goes to out[r*n + j], or with reduce (1 sum, 2 mean) out[r]
   accumulates over the samples in order. Returns 0, or 1 if out of memory. */
int sg_vm(const int *tape, long long len, long long nslots, const double *consts,
          long long nconst, long long nin, const int *in_arg, const int *in_off, long long nout,
          const int *out_slot, long long n, const double *const *args, const long long *strides,
          int reduce, double *out)
{
    const int *end = tape + len;
    long long r, k, j;
    if (reduce) for (r = 0; r < nout; ++r) out[r] = 0.0;
    if (n == 1) {
        double *w = (double *)malloc((size_t)(nslots > 0 ? nslots : 1) * sizeof *w);
        if (!w) return 1;
        for (k = 0; k < nin; ++k) w[k] = args[in_arg[k]][in_off[k]];
        for (k = 0; k < nconst; ++k) w[nin + k] = consts[k];
        sg_run1(tape, end, w);
        for (r = 0; r < nout; ++r) out[r] = w[out_slot[r]];
        free(w);
        return 0;
    }
    double *w = (double *)malloc((size_t)(nslots > 0 ? nslots : 1) * SG_B * sizeof *w);
    if (!w) return 1;
    for (k = 0; k < nconst; ++k)
        for (int l = 0; l < SG_B; ++l) w[(nin + k) * SG_B + l] = consts[k];
    for (j = 0; j < n; j += SG_B) {
        int nl = (int)(n - j < SG_B ? n - j : SG_B);
        for (k = 0; k < nin; ++k) {
            const double *a = args[in_arg[k]] + in_off[k];
            long long s = strides[in_arg[k]];
            for (int l = 0; l < nl; ++l) w[k * SG_B + l] = a[(j + l) * s];
        }
        sg_runb(tape, end, w, nl);
        for (r = 0; r < nout; ++r) {
            const double *v = w + (size_t)out_slot[r] * SG_B;
            if (reduce) {
                double acc = out[r];
                for (int l = 0; l < nl; ++l) acc += v[l];
                out[r] = acc;
            } else {
                for (int l = 0; l < nl; ++l) out[r * n + j + l] = v[l];
            }
        }
    }
    if (reduce == 2) for (r = 0; r < nout; ++r) out[r] /= (double)n;
    free(w);
    return 0;
}
"""


# -- building a tape --------------------------------------------------------------------------


class _Count:
    """Stands for ``Program.lines`` of a tape: its length is the instruction count."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def build_tape(layout: list, names: dict[int, str], roots: list[Expr], nodes: list[Expr]):
    """(tape values, constants, input map, output values, op counts) for ``roots``.

    Values are numbered inputs first (in argument order), then constants, then one per
    instruction in topological order; ``sg_vm_alloc`` later maps them to reused slots.
    """
    where: dict[str, tuple[int, int]] = {}
    for i, (elems, _) in enumerate(layout):
        for e, name in enumerate(elems):
            where[name] = (i, e)
    val: dict[int, int] = {}
    in_arg: list[int] = []
    in_off: list[int] = []
    for name in names.values():
        i, e = where[name]
        in_arg.append(i)
        in_off.append(e)
    order = sorted(range(len(in_arg)), key=lambda k: (in_arg[k], in_off[k]))
    serials = list(names)
    in_arg = [in_arg[k] for k in order]
    in_off = [in_off[k] for k in order]
    for slot, k in enumerate(order):
        val[serials[k]] = slot
    consts: list[float] = []
    nin = len(in_arg)
    ops = []
    for node in nodes:
        if node.op is Op.CONST:
            val[node.serial] = nin + len(consts)
            consts.append(node.payload)
        elif node.args:
            ops.append(node)
        elif node.serial not in val:
            raise ValueError(f"symbol {node.payload!r} is not among the inputs")
    k = nin + len(consts)
    tape: list[int] = []
    ext = tape.extend
    code = CODE
    for node in ops:  # the hot loop of a large compile: kept lean
        a = node.args
        if len(a) == 2:
            ext((code[node.op], k, val[a[0].serial], val[a[1].serial]))
        elif len(a) == 1:
            ext((code[node.op], k, val[a[0].serial]))
        else:
            ext((code[node.op], k, *[val[x.serial] for x in a]))
        val[node.serial] = k
        k += 1
    outs = [val[r.serial] for r in roots]
    counts = {op.value: n for op, n in Counter(map(attrgetter("op"), ops)).items()}
    return tape, consts, (in_arg, in_off), outs, counts, k


def _c_ints(name: str, values, per_line: int = 24) -> list[str]:
    vals = [str(v) for v in values] or ["0"]
    rows = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    return [f"static const int {name}[] = {{", *[f"    {r}," for r in rows], "};"]


def generate(layout, roots, names, reduce, literal, nodes, structure) -> tuple[str, Program]:
    """C source for ``roots`` as a tape for the VM: the VM's source, the tape as data and an
    ``sg_f`` with the generated code's ABI that runs it (so a saved file builds on its own)."""
    import numpy as np

    tape, consts, (in_arg, in_off), outs, counts, nvalues = build_tape(layout, names, roots, nodes)
    nin = len(in_arg)
    arr = np.array(tape, dtype=np.int32)
    out_arr = np.array(outs, dtype=np.int32)
    lib = machine()
    nslots = lib.sg_vm_alloc(
        arr.ctypes.data, len(arr), nin + len(consts), nvalues, out_arr.ctypes.data, len(out_arr)
    )
    if nslots < 0:
        raise MemoryError("not enough memory to allocate the tape's slots")
    meta = {
        "v": 1,
        "args": [[len(e), nd] for e, nd in layout],
        "m": len(roots),
        "reduce": reduce,
        "structure": structure,
        "lines": 0,
        "vm": {"len": len(arr), "slots": int(nslots), "nin": nin, "nconst": len(consts)},
    }
    n_instr = len(tape) and sum(counts.values())
    p = len(layout)
    sig = ", ".join(
        ["long long sg_n"]
        + [f"const double *sg_a{i}, long long sg_s{i}" for i in range(p)]
        + ["double *sg_out"]
    )
    ptrs = ", ".join(f"sg_a{i}" for i in range(p)) or "0"
    strides = ", ".join(f"sg_s{i}" for i in range(p)) or "0"
    red = {None: 0, "sum": 1, "mean": 2}[reduce]
    tape_text = ", ".join(map(str, arr.tolist()))
    consts_text = ", ".join(literal(c)[0] for c in consts) or "0.0"
    lines = [
        f"/* Generated by symgrad (c backend, tape interpreter). {cbuild_meta(meta)} */",
        f"/* {n_instr} operations: more than symgrad compiles as straight-line C, so they run",
        "   on symgrad's tape interpreter. The interpreter (up to the tape below) is generated",
        "   from the op table and is the same for every large program: it is compiled once per",
        "   machine and cached, and the tape is handed to it at each call. This file, compiled",
        "   on its own, gives the same sg_f as straight-line generated code (fn.save's loader",
        "   builds it that way).",
        "   Tape: per instruction the opcode (enum SG_OP_*), the destination slot, then one",
        "   operand slot per argument; slots 0..nin-1 hold the inputs (sg_in_arg/sg_in_off),",
        "   then the constants (sg_consts), then temporaries. */",
        vm_source(),
        "/* -- the program -- */",
        f"static const int sg_tape[] = {{{tape_text or '0'}}};",
        f"static const double sg_consts[] = {{{consts_text}}};",
        *_c_ints("sg_in_arg", in_arg),
        *_c_ints("sg_in_off", in_off),
        *_c_ints("sg_out_slot", out_arr.tolist()),
        "",
        f"int sg_f({sig})",
        "{",
        f"    const double *sg_args[{max(p, 1)}] = {{{ptrs}}};",
        f"    const long long sg_st[{max(p, 1)}] = {{{strides}}};",
        f"    return sg_vm(sg_tape, {len(arr)}, {int(nslots)}, sg_consts, {len(consts)}, {nin},",
        f"                 sg_in_arg, sg_in_off, {len(roots)}, sg_out_slot, sg_n, sg_args, sg_st,",
        f"                 {red}, sg_out);",
        "}",
        "",
    ]
    prog = Program(_Count(n_instr), [], counts)  # type: ignore[arg-type]
    return "\n".join(lines), prog


def cbuild_meta(meta: dict) -> str:
    from .cload import META_TAG

    return META_TAG + json.dumps(meta)


# -- running ----------------------------------------------------------------------------------

_machine: ctypes.CDLL | None = None


def machine() -> ctypes.CDLL:
    """The VM library: built from ``vm_source()`` once per machine (then from the cache),
    loaded once per process."""
    global _machine
    if _machine is None:
        lib = ctypes.CDLL(cbuild.build(vm_source(), 0))
        p, ll = ctypes.c_void_p, ctypes.c_longlong
        lib.sg_vm_alloc.argtypes = [p, ll, ll, ll, p, ll]
        lib.sg_vm_alloc.restype = ll
        lib.sg_vm.argtypes = [p, ll, ll, p, ll, ll, p, p, ll, p, ll, p, p, ctypes.c_int, p]
        lib.sg_vm.restype = ctypes.c_int
        _machine = lib
    return _machine


_ARRAY = re.compile(r"static const (?:int|double) (sg_\w+)\[\] = \{([^}]*)\};")
_SPECIAL = {"NAN": math.nan, "HUGE_VAL": math.inf, "-HUGE_VAL": -math.inf}


def read_program(source: str) -> dict:
    """The tape and its tables, read back from a VM-backed source (pickling sends the source)."""
    import numpy as np

    found = {}
    start = source.find("/* -- the program -- */")
    for m in _ARRAY.finditer(source, start):
        name, body = m.group(1), m.group(2)
        if name == "sg_consts":
            parts = [t.strip() for t in body.split(",") if t.strip()]
            found[name] = np.array(
                [_SPECIAL[t] if t in _SPECIAL else float(t) for t in parts], dtype=np.float64
            )
        else:
            found[name] = np.fromstring(body, dtype=np.int32, sep=",")
    return found


def make_runner(source: str, meta: dict):
    """A function taking the generated ``sg_f``'s arguments ``(n, a0, s0, ..., out)`` that runs
    the tape of ``source`` on the VM."""

    vm = meta["vm"]
    prog = read_program(source)
    lib = machine()
    tape = prog["sg_tape"][: vm["len"]]
    consts = prog["sg_consts"][: vm["nconst"]]
    in_arg = prog["sg_in_arg"][: vm["nin"]]
    in_off = prog["sg_in_off"][: vm["nin"]]
    outs = prog["sg_out_slot"][: meta["m"]]
    keep = (tape, consts, in_arg, in_off, outs)
    red = {None: 0, "sum": 1, "mean": 2}[meta["reduce"]]
    p = len(meta["args"])
    ptrs_t, st_t = ctypes.c_void_p * max(p, 1), ctypes.c_longlong * max(p, 1)
    head = (
        tape.ctypes.data,
        len(tape),
        vm["slots"],
        consts.ctypes.data,
        len(consts),
        len(in_arg),
        in_arg.ctypes.data,
        in_off.ctypes.data,
        len(outs),
        outs.ctypes.data,
    )
    run = lib.sg_vm

    def runner(n, *rest, _keep=keep):
        ptrs = ptrs_t(*rest[0:-1:2])
        strides = st_t(*rest[1:-1:2])
        return run(*head, n, ptrs, strides, red, rest[-1])

    runner.program = keep  # type: ignore[attr-defined]
    return runner


def listing(program, limit: int | None = 200) -> str:
    """The tape as readable lines (``w7 = tanh(w3)``), from ``make_runner(...).program``: the
    first ``limit`` instructions (None: all), after the inputs and constants."""
    from .c import literal

    tape, consts, in_arg, in_off, outs = program
    lines = [f"w{k} = argument {a}[{e}]" for k, (a, e) in enumerate(zip(in_arg, in_off))]
    lines += [f"w{len(in_arg) + k} = {literal(c)[0]}" for k, c in enumerate(consts.tolist())]
    t = tape.tolist()
    p = shown = 0
    while p < len(t) and (limit is None or shown < limit):
        op = OPS[t[p]]
        n = INFO[op].arity
        args = [f"w{a}" for a in t[p + 2 : p + 2 + n]]
        lines.append(f"w{t[p + 1]} = {INFO[op].templates['math'].render(args, [ATOM] * n)}")
        p += n + 2
        shown += 1
    if p < len(t):
        lines.append(f"... ({len(t) - p} more tape entries)")
    lines.append("outputs: " + ", ".join(f"w{o}" for o in outs.tolist()))
    return "\n".join(lines)
