"""The tape interpreter: large programs run on one small C virtual machine instead of being
compiled as C of their own.

GCC compiles straight-line code at a few thousand statements a second, so a program of a
million operations would spend minutes in the compiler. Past ``abi.VM_MIN_OPS`` operations
the C backend therefore turns the program into a tape: one instruction per operation (opcode,
destination slot, operand slots), constants in a table. The VM that runs tapes
(``tape_vm``) is generated from the op table's ``"c"`` templates, so it is compiled once per
machine and flags and then found in the cache like any other library. Slots are reused once a
value's last reader has run (``sg_vm_alloc``), so the workspace stays small and in cache
however long the program.

The VM keeps the generated code's calling rules: arguments with per-sample strides (0 for a
broadcast parameter), outputs as one block per output or summed over the batch (``reduce``).
A batch runs in blocks of ``SG_B`` samples per instruction, so dispatch is paid once a block
and the per-instruction loop vectorizes; a single sample runs a scalar loop.
"""

from __future__ import annotations

import ctypes
import math
import re
import threading
from collections import Counter
from operator import attrgetter

from ...ir import Expr
from ...ops import ATOM, INFO, Op
from ..base import Program
from .abi import CODE, OPS, REDUCE_CODE, declaration, make_meta, meta_comment
from .spell import literal
from .tape_vm import BLOCK, machine, vm_source


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


def generate(layout, roots, names, reduce, nodes, structure) -> tuple[str, Program]:
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
    vm = {"len": len(arr), "slots": int(nslots), "nin": nin, "nconst": len(consts)}
    meta = make_meta(layout, len(roots), reduce, structure, 0, vm)
    n_instr = len(tape) and sum(counts.values())
    tables = _tables(arr.tolist(), consts, in_arg, in_off, out_arr.tolist())
    lines = [
        "/* Generated by symgrad (c backend, tape interpreter). */",
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
        *tables,
        *_entry(len(layout), vm, len(roots), reduce),
        meta_comment(meta),
        "",
    ]
    prog = Program(_Count(n_instr), [], counts)  # type: ignore[arg-type]
    return "\n".join(lines), prog


def _tables(tape: list, consts: list, in_arg: list, in_off: list, outs: list) -> list[str]:
    """The program as C data: the tape, the constants, the input and output maps."""
    tape_text = ", ".join(map(str, tape))
    consts_text = ", ".join(literal(c)[0] for c in consts) or "0.0"
    return [
        "/* -- the program -- */",
        f"static const int sg_tape[] = {{{tape_text or '0'}}};",
        f"static const double sg_consts[] = {{{consts_text}}};",
        *_c_ints("sg_in_arg", in_arg),
        *_c_ints("sg_in_off", in_off),
        *_c_ints("sg_out_slot", outs),
        "",
    ]


def _entry(p: int, vm: dict, m: int, reduce) -> list[str]:
    """``sg_f`` (the ABI's signature) calling ``sg_vm`` on the tables."""
    ptrs = ", ".join(f"sg_a{i}" for i in range(p)) or "0"
    strides = ", ".join(f"sg_s{i}" for i in range(p)) or "0"
    return [
        *declaration(p, restrict=False),
        "{",
        f"    const double *sg_args[{max(p, 1)}] = {{{ptrs}}};",
        f"    const long long sg_st[{max(p, 1)}] = {{{strides}}};",
        f"    return sg_vm(sg_tape, {vm['len']}, {vm['slots']}, sg_consts, {vm['nconst']}, "
        f"{vm['nin']},",
        f"                 sg_in_arg, sg_in_off, {m}, sg_out_slot, sg_n, sg_args, sg_st,",
        f"                 {REDUCE_CODE[reduce]}, sg_out, 0);",
        "}",
    ]


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

    import numpy as np

    vm = meta["vm"]
    prog = read_program(source)
    lib = machine()
    tape = prog["sg_tape"][: vm["len"]]
    consts = prog["sg_consts"][: vm["nconst"]]
    in_arg = prog["sg_in_arg"][: vm["nin"]]
    in_off = prog["sg_in_off"][: vm["nin"]]
    outs = prog["sg_out_slot"][: meta["m"]]
    keep = (tape, consts, in_arg, in_off, outs)
    red = REDUCE_CODE[meta["reduce"]]
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
    # The workspace, allocated at the first call and kept: a call that finds it in use (another
    # thread; ctypes releases the GIL) passes NULL and the VM allocates its own.
    work: list = []
    busy = threading.Lock()
    size = max(vm["slots"], 1) * BLOCK

    def runner(n, *rest, _keep=keep):
        ptrs = ptrs_t(*rest[0:-1:2])
        strides = st_t(*rest[1:-1:2])
        if not busy.acquire(blocking=False):
            return run(*head, n, ptrs, strides, red, rest[-1], None)
        try:
            if not work:
                work.append(np.empty(size))
            return run(*head, n, ptrs, strides, red, rest[-1], work[0].ctypes.data)
        finally:
            busy.release()

    runner.program = keep  # type: ignore[attr-defined]
    return runner


def listing(program, limit: int | None = 200) -> str:
    """The tape as readable lines (``w7 = tanh(w3)``), from ``make_runner(...).program``: the
    first ``limit`` instructions (None: all), after the inputs and constants."""
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
