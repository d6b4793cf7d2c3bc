"""The tape interpreter's C: one virtual machine generated from the op table's ``"c"``
templates (one ``case`` per op, the same helpers as the straight-line code), with the slot
allocator and the entry point from ``runtime/tape_alloc.c`` and ``runtime/tape_entry.c``.
It depends only on the op table, so it is compiled once per machine and flags and found in the
cache like any other library.
"""

from __future__ import annotations

import ctypes

from ...ops import INFO, Op
from . import cache
from .abi import OPS, SIMD_LIBM
from .spell import HELPERS, render_op, runtime_text, simd_declarations

BLOCK = 64  # samples per instruction in batched runs (SG_B)
VM_TAG = "symgrad-vm"
ALLOC_C = runtime_text("tape_alloc.c")
ENTRY_C = runtime_text("tape_entry.c")


def _case_body(op: Op, lane: bool) -> str:
    """The statement computing one instruction of ``op``, from its ``"c"`` template."""
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
    out = [*_head(OPS), *_run1(OPS), "", *_runb(OPS), "", ALLOC_C, ENTRY_C]
    return "\n".join(line for line in out if line is not None)


def _head(ops: list[Op]) -> list[str]:
    """Includes, vector declarations, helpers, the opcodes and their arities."""
    arities = ", ".join(str(INFO[op].arity) for op in ops)
    return [
        f"/* {VM_TAG}: symgrad's tape interpreter (c backend), generated from the op table. */",
        "#include <math.h>",
        "#include <stdlib.h>",
        "",
        *simd_declarations(sorted(set(SIMD_LIBM))),
        *[line for h in HELPERS.values() for line in (h, "")],
        "enum {",
        *[f"    SG_OP_{op.name} = {k}," for k, op in enumerate(ops)],
        "};",
        f"static const int sg_arity[{len(ops)}] = {{{arities}}};",
        f"#define SG_B {BLOCK}",
        "",
    ]


def _run1(ops: list[Op]) -> list[str]:
    """``sg_run1``: one sample, threaded code where the compiler has labels as values."""
    out = [
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
    out += ["#else", "    while (sg_p < sg_end) {", "        switch (sg_p[0]) {"]
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
    ]
    return out


def _runb(ops: list[Op]) -> list[str]:
    """``sg_runb``: a block of samples, one vectorizable lane loop per instruction."""
    out = [
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
    return out + ["        default: return;", "        }", "    }", "}"]


_machine: ctypes.CDLL | None = None


def machine() -> ctypes.CDLL:
    """The VM library: built from ``vm_source()`` once per machine (then from the cache),
    loaded once per process."""
    global _machine
    if _machine is None:
        lib = ctypes.CDLL(cache.build(vm_source(), 0))
        p, ll = ctypes.c_void_p, ctypes.c_longlong
        lib.sg_vm_alloc.argtypes = [p, ll, ll, ll, p, ll]
        lib.sg_vm_alloc.restype = ll
        lib.sg_vm.argtypes = [p, ll, ll, p, ll, ll, p, p, ll, p, ll, p, p, ctypes.c_int, p, p]
        lib.sg_vm.restype = ctypes.c_int
        _machine = lib
    return _machine
