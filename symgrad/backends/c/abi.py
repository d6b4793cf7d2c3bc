"""The one definition of what generated C looks like from outside: the entry ``sg_f``'s
signature, the metadata a source carries, the compiler flags, the size tiers and the tape
interpreter's opcode numbering.

Every other module of the C backend (the printer, the tape form, the call entry, ctypes, the
saved loader) spells the signature through these functions, so it cannot drift between them.

``sg_f(n, a0, s0, a1, s1, ..., out)``: ``n`` samples; argument ``i`` of sample ``j`` starts at
``a<i> + j*s<i>`` (stride 0: broadcast); output ``r`` of sample ``j`` is ``out[r*n + j]``, or
with ``reduce`` ``out[r]`` summed (or averaged) over the samples. Returns 0, or 1 if out of
memory.
"""

from __future__ import annotations

import ctypes
import json
import math
import platform

from ...ops import INFO, Op
from ...spelling import LIBM

FUNC = "sg_f"
META_TAG = "symgrad-meta: "
META_VERSION = 1
REDUCE_CODE = {None: 0, "sum": 1, "mean": 2}  # how the tape interpreter is told
CACHE_FORMAT = "c1"  # bump when the calling convention of generated libraries changes

# -- size tiers -------------------------------------------------------------------------------
# Measured on a shared 2-core x86-64 with GCC 12 (docs/c_backend.md): whole-function -O2
# compile time grows faster than linearly (Rosenbrock n=1,000, 4,500 lines: 22 s at -O2, 20 s
# at -O1), while 250-line chunks compile at a steady ~3,000 lines/s at -O1 and ~8,000 lines/s
# at -O0. So: up to SMALL_MAX_LINES one vectorized -O2 loop; beyond, chunks at -O1; beyond
# O1_MAX_LINES, chunks at -O0.
# Programs of this many operations or more are first tried as rerolled loops (reroll.py) ...
LOOP_MIN_OPS = 2_000
# ... and kept as loops when that leaves at most this many statements (straight ones plus one
# body per loop); otherwise the straight forms.
LOOP_MAX_LINES = 2_000
SMALL_MAX_LINES = 1_000
# Programs of this many operations or more that rerolling left straight run on the tape
# interpreter (tape.py) instead of being compiled: such irregular code compiles at ~900
# chunked statements/s at -O1, not the ~3,000/s of repetitive code (a random 17,675-op DAG and
# its gradient, 8,556 statements: 8.9 s of GCC against 0.3 s to build its tape; a call takes
# 162 us on the tape, 60 us compiled). docs/c_backend.md has the measurements.
VM_MIN_OPS = 8_000
O1_MAX_LINES = 50_000
CHUNK_LINES = 250
# The small form's one loop is vectorized across samples (-DSG_SIMD -fopenmp-simd, libmvec),
# which triples GCC's time (a 712-line body: 5.1 s against 1.5 s) and gains nothing on one
# sample. So it is first built plain, and the vectorized build is made on the first call of at
# least this many samples, which it then serves (smaller ones stay on the plain build, so a
# call's values never depend on which builds exist yet); see native.NativeFunction.
SIMD_MIN_SAMPLES = 16
# The phased form's kernels (mixed.py) are built at -O1: short vectorized loops over a block of
# samples, which GCC vectorizes the same at -O1 (``#pragma omp simd`` forces it) with the same
# bits; -O2 only costs compile time (MNIST-size MLP: 0.32 -> 0.25 s; MLP(10, [64, 64, 1]):
# 6.3 -> 2.7 s on a loaded machine), calls at batch 1 and 1,000 equal within noise
# (docs/c_backend.md).
MIXED_OPT = "-O1"

# -- the tape interpreter's opcodes: the op table's order ------------------------------------
OPS: list[Op] = [op for op in INFO]  # opcode k is OPS[k]
CODE: dict[Op, int] = {op: k for k, op in enumerate(OPS)}

# Functions with SIMD variants in glibc's libmvec (x86-64), from the op table's libm list
# (symgrad/spelling.py LIBM); see ``cache.simd_supported``.
SIMD_LIBM = [f for f, (_, vector) in LIBM.items() if vector]


def signature(p: int, restrict: bool = True) -> str:
    """``sg_f``'s C parameter list for ``p`` arguments."""
    r = "restrict " if restrict else ""
    return ", ".join(
        ["long long sg_n"]
        + [f"const double *{r}sg_a{i}, long long sg_s{i}" for i in range(p)]
        + [f"double *{r}sg_out"]
    )


def declaration(p: int, restrict: bool = True) -> list[str]:
    """``int sg_f(...)`` for ``p`` arguments as source lines: one line when short, else one
    argument (pointer and stride) per line, so no line of the source is hundreds long."""
    one = f"int {FUNC}({signature(p, restrict)})"
    if len(one) <= 100:
        return [one]
    parts = signature(p, restrict).split(", ")
    params = [parts[0]] + [f"{a}, {b}" for a, b in zip(parts[1:-1:2], parts[2:-1:2])]
    params.append(parts[-1])
    return [f"int {FUNC}("] + [f"    {q}," for q in params[:-1]] + [f"    {params[-1]})"]


def pointer_type(p: int) -> str:
    """The C type of a pointer to ``sg_f`` with ``p`` arguments (the call entry casts to it)."""
    return f"int (*)({', '.join(['long long', *['const double *, long long'] * p, 'double *'])})"


def ctypes_argtypes(p: int) -> list:
    """``sg_f``'s ``argtypes`` for ctypes (``p`` arguments)."""
    return [ctypes.c_longlong] + [ctypes.c_void_p, ctypes.c_longlong] * p + [ctypes.c_void_p]


def make_meta(layout: list, m: int, reduce, structure: str, lines: int, vm=None) -> dict:
    """The calling facts a loader needs, as the source records them: per argument its size and
    trailing ndim, the output count, the reduction, the output structure, the statements per
    sample; for the tape form, the tape's sizes."""
    meta = {
        "v": META_VERSION,
        "args": [[len(e), nd] for e, nd in layout],
        "m": m,
        "reduce": reduce,
        "structure": structure,
        "lines": lines,
    }
    if vm is not None:
        meta["vm"] = vm
    return meta


def meta_comment(meta: dict) -> str:
    """The source's last line: the calling facts for loaders, out of a reader's way."""
    return f"/* {META_TAG}{json.dumps(meta)} */"


def read_meta(source: str) -> dict:
    """The calling facts that ``generate`` recorded in the source's last comment (sources
    written before that kept them in the first line; those read the same way)."""
    i = source.rfind(META_TAG)
    if i < 0:
        raise ValueError("this is not C source generated by symgrad (no metadata comment)")
    return json.JSONDecoder().raw_decode(source, i + len(META_TAG))[0]


# -- compiler flags ---------------------------------------------------------------------------


IEEE_FLAGS = ("-fno-math-errno", "-fno-builtin-atan")
"""Flags every build takes: see ``flags_for``."""


def flags_for(n_lines: int, simd: bool, opt: str | None = None) -> list[str]:
    """Compiler flags for a function of ``n_lines`` straight-line statements (``opt``, e.g.
    ``MIXED_OPT``, overrides the level its size would choose).

    IEEE semantics: never -ffast-math; no contraction into FMAs (arithmetic matches the other
    backends bit for bit; libm functions and symgrad's own ``sg_tanh`` are within a few ulp).
    -fno-math-errno only drops errno writes, which no caller reads; but with it GCC folds
    sin(atan(x)) and cos(atan(x)) into forms that turn a NaN into 1 or 0, so atan is not treated
    as a builtin (-fno-builtin-atan). Larger functions get lower levels (see the size tiers).
    """
    if opt is None:
        opt = "-O2" if n_lines <= SMALL_MAX_LINES else "-O1" if n_lines <= O1_MAX_LINES else "-O0"
    flags = [opt, "-std=c99", "-fPIC", "-shared", "-ffp-contract=off", *IEEE_FLAGS]
    if platform.machine() in ("x86_64", "AMD64"):
        flags.append("-march=native")
    if simd:
        flags += ["-DSG_SIMD", "-fopenmp-simd"]
    return flags


def libs(simd: bool) -> list[str]:
    return ["-lmvec", "-lm"] if simd else ["-lm"]


PORTABLE_FLAGS = "-O2 -std=c99 -fPIC -shared -ffp-contract=off " + " ".join(IEEE_FLAGS)
"""The flags a saved loader compiles with: no CPU-specific code, no libmvec."""


def check_arrays(arrays: tuple, args: list) -> None:
    """What ``sg_f`` relies on: one float64 array per argument with the compiled trailing
    size, ``args`` holding (size, trailing ndim) per argument (the call entry checks the same
    in C); a TypeError or ValueError naming the argument otherwise."""
    import numpy as np

    ndarray, f64 = np.ndarray, np.float64
    if len(arrays) != len(args):
        raise TypeError(
            f"this compiled C function takes {len(args)} argument(s), got {len(arrays)}"
        )
    for i, (a, (k, nd)) in enumerate(zip(arrays, args)):
        if not isinstance(a, ndarray) or a.dtype != f64:
            got = f"dtype {a.dtype}" if isinstance(a, ndarray) else type(a).__name__
            raise TypeError(
                f"argument {i + 1} must be a float64 NumPy array, got {got}; "
                "convert it with np.asarray(a, dtype=np.float64)"
            )
        if a.ndim < nd or math.prod(a.shape[a.ndim - nd :]) != k:
            raise ValueError(
                f"argument {i + 1} must end in {nd} axes holding {k} value(s), got shape {a.shape}"
            )
