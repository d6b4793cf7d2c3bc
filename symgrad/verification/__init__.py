"""The judges: the SymPy bridge, ``verify`` (SymPy with a deadline, else the oracle) and
``verify(fn)`` (a compiled program against the forward-mode oracle). SymPy and mpmath are
imported lazily."""

from .bridge import from_sympy, to_sympy
from .check import VariableCheck, VerifyReport, finite_difference, verify
from .report import OutputCheck, ProgramReport

__all__ = [
    "to_sympy",
    "from_sympy",
    "verify",
    "VerifyReport",
    "VariableCheck",
    "ProgramReport",
    "OutputCheck",
    "finite_difference",
]
