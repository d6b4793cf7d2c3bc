"""SymPy as the judge: the bridge to and from SymPy, and ``verify``. SymPy is imported lazily."""

from .bridge import from_sympy, to_sympy
from .check import VariableCheck, VerifyReport, finite_difference, verify

__all__ = ["to_sympy", "from_sympy", "verify", "VerifyReport", "VariableCheck", "finite_difference"]
