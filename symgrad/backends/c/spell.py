"""How values and ops are spelled in C, shared by every C form (straight-line code, rerolled
loops, the tape interpreter), and the runtime files they include.

Runtime C lives in real files under ``runtime/`` (package data): one ``<helper>.h`` per
helper (``sg_tanh.h`` ...), the tape interpreter's allocator and entry, the call entry, the
saved loader's template.
"""

from __future__ import annotations

import math
import re
from importlib import resources

from ...ops import ATOM, INFO, Op, Template, template
from ...printing import const_text
from ...spelling import LIBM

NAME = "c"
COND_VALUE = Template("({0} ? 1.0 : 0.0)")


def runtime_text(name: str) -> str:
    """The text of ``runtime/<name>`` (shipped with the package)."""
    return resources.files(__package__).joinpath("runtime", name).read_text(encoding="ascii")


# The helpers: every op row's ``c_helper``, its body in runtime/<name>.h (a missing file fails
# here, at import). Sources include them in this order: the helpers of _FIRST as sources have
# always had them, then any newer ones in the table's order.
_FIRST = (
    "sg_sigmoid",
    "sg_softplus",
    "sg_max",
    "sg_min",
    "sg_sign",
    "sg_tanh",
    "sg_mod",
    "sg_fmax",
    "sg_fmin",
    "sg_logaddexp",
    "sg_nan_to_num",
)
_NAMED = [i.c_helper for i in INFO.values() if i.c_helper]
HELPER_NAMES = tuple(h for h in _FIRST if h in _NAMED) + tuple(h for h in _NAMED if h not in _FIRST)
HELPERS: dict[str, str] = {h: runtime_text(h + ".h").rstrip("\n") for h in HELPER_NAMES}
# The libm functions each helper calls: the op table's c_libm of the row that names the helper.
HELPER_LIBM = {i.c_helper: i.c_libm for i in INFO.values() if i.c_helper}
# Which helper file defines each C function (sg_tanh.h defines sg_tanh_q, which sg_sech2 calls).
_DEFINED = re.compile(r"^(?:SG_INLINE|static inline) double (\w+)\(", re.M)
_CALLED = re.compile(r"\b(sg_\w+)\(")
_DEFINER = {f: h for h in HELPER_NAMES for f in _DEFINED.findall(HELPERS[h])}


def helpers_for(called: set[str]) -> list[str]:
    """The helpers whose bodies the functions in ``called`` need, with the helpers those
    bodies call in turn, in include order (a definer before its callers)."""
    todo = [_DEFINER[f] for f in called if f in _DEFINER]
    need: set[str] = set()
    while todo:
        h = todo.pop()
        if h not in need:
            need.add(h)
            todo += [_DEFINER[f] for f in _CALLED.findall(HELPERS[h]) if f in _DEFINER]
    return [h for h in HELPER_NAMES if h in need]


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
