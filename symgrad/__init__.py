"""symgrad: capture a scalar function as a DAG, emit its gradient as more of the same IR,
compile both into one flat, readable function, and check every derivative against SymPy."""

# dask imports Dask only when called; nn is the micrograd face
from . import dask, expr, nn
from ._version import __version__ as __version__
from .api import CompiledFunction, compile
from .autodiff import Sparse, gradient, hvp
from .display import expr_svg as _expr_svg
from .display import to_dot  # DOT text with .render(path)
from .errors import RetraceWarning, TraceMismatchError, VerificationError
from .expr import *  # noqa: F403  (Symbol, symbols, one function per op-table row)
from .ir import VIEWS as _VIEWS
from .ir import Expr, evaluate
from .nn import Value
from .transforms import grad, hessian, jacobian, jvp, linearize, value_and_grad, vjp
from .verification import from_sympy, to_sympy, verify
from .verification.latex import expr_latex as _expr_latex

_VIEWS.update(latex=_expr_latex, svg=_expr_svg)  # Expr's notebook views, from the layers above ir

__all__ = [
    "Value",
    "nn",
    "Expr",
    "evaluate",
    "to_dot",
    "gradient",
    "jacobian",
    "hessian",
    "hvp",
    "Sparse",
    "compile",
    "CompiledFunction",
    "VerificationError",
    "verify",
    "to_sympy",
    "from_sympy",
    "value_and_grad",
    "grad",
    "jvp",
    "vjp",
    "linearize",
    "RetraceWarning",
    "TraceMismatchError",
    "dask",
    *expr.__all__,
]
