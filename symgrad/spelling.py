"""How a backend spells an op: templates with precedences, the builders the op table's rows use,
and the libm functions those spellings may call.

A template is text with ``{0}, {1} ...`` for the arguments; the printers put parentheses around
an argument whose precedence is below what its slot allows. The op table (``ops.py``) gives each
op one template per backend; nothing here knows any op.
"""

from __future__ import annotations

from dataclasses import dataclass

# Precedence levels shared by the printers (Python's, which C's agree with where we use them).
TERNARY, CMP, SUM, PROD, UNARY, POWER, ATOM = 1, 4, 10, 11, 12, 13, 20

BACKENDS = ("math", "python", "numpy", "c")
"""The spellings every row has: ``math`` (how ``str()`` prints it), ``python`` (code on ``math``),
``numpy`` and ``c``; a row may add ``python_ieee``, the Python spelling that never raises."""


@dataclass(frozen=True)
class Template:
    """How a backend spells an op: ``text`` with ``{0}, {1} ...`` for the arguments.

    ``prec`` is the precedence of the whole result; ``arg_prec[i]`` is the least precedence the
    i-th argument may have without parentheses. An argument written more than once in ``text``
    must be an atom (a name or a literal), so the printer gives it a name first.
    """

    text: str
    prec: int = ATOM
    arg_prec: tuple[int, ...] = ()

    def render(self, texts: list[str], precs: list[int]) -> str:
        parts = []
        for i, (t, p) in enumerate(zip(texts, precs)):
            need = self.arg_prec[i] if i < len(self.arg_prec) else 0
            parts.append(f"({t})" if p < need else t)
        return self.text.format(*parts)

    def repeats(self, i: int) -> bool:
        return self.text.count("{%d}" % i) > 1


def infix(sym: str, prec: int, right_assoc: bool = False) -> Template:
    """A binary operator; operands of equal precedence keep their grouping (no reassociation)."""
    left, right = (prec + 1, prec) if right_assoc else (prec, prec + 1)
    return Template("{0}%s{1}" % sym, prec, (left, right))


def call(name: str, arity: int = 1) -> Template:
    return Template(f"{name}(" + ", ".join("{%d}" % i for i in range(arity)) + ")")


def same(t: Template, **extra: Template) -> dict[str, Template]:
    """One spelling for every backend (operators), with per-backend exceptions."""
    return {"math": t, "python": t, "numpy": t, "c": t, **extra}


def fn(
    name: str,
    arity: int = 1,
    *,
    ieee: str | None = None,
    py: str | None = None,
    np: str | None = None,
    c: str | None = None,
    math: str | None = None,
) -> dict[str, Template]:
    """Calls of a function named alike in ``math``, NumPy (``np.<name>``) and C's libm, with
    per-backend exceptions; ``ieee`` names the ``symgrad.scalar`` helper that never raises."""
    t = {
        "math": call(math or name, arity),
        "python": call(py or name, arity),
        "numpy": call(np or f"np.{name}", arity),
        "c": call(c or name, arity),
    }
    if ieee:
        t["python_ieee"] = call(ieee, arity)
    return t


def spell(math: Template, python: Template, numpy: Template, c: Template, **extra: Template):
    """Four different spellings (and extras such as ``python_ieee``)."""
    return {"math": math, "python": python, "numpy": numpy, "c": c, **extra}


# The libm functions a C spelling (template or helper body) may call: name -> (arity, whether
# glibc's libmvec has vector variants of it on x86-64, which the C backend declares under
# SG_SIMD). Listed here so no backend guesses an arity from a name; a row names the ones it
# calls in ``c_libm`` (tests/test_ops_table.py holds the two in step).
LIBM: dict[str, tuple[int, bool]] = {
    "exp": (1, True),
    "expm1": (1, True),
    "log": (1, True),
    "log1p": (1, True),
    "sin": (1, True),
    "cos": (1, True),
    "tan": (1, True),
    "asin": (1, True),
    "acos": (1, True),
    "atan": (1, True),
    "atan2": (2, True),
    "sinh": (1, True),
    "cosh": (1, True),
    "tanh": (1, True),
    "erf": (1, True),
    "pow": (2, True),
    "log2": (1, True),
    "log10": (1, True),
    "exp2": (1, True),
    "asinh": (1, True),
    "acosh": (1, True),
    "atanh": (1, True),
    "sqrt": (1, False),  # these are single instructions where the CPU has them
    "fabs": (1, False),
    "floor": (1, False),
    "ceil": (1, False),
    "rint": (1, False),
    "fmod": (2, False),
}
