"""symgrad: capture a scalar function as a DAG, emit its gradient as more of the same IR,
compile both into one flat, readable function, and check every derivative against SymPy."""

# dask imports Dask only when called; nn is the micrograd face
from . import dask, expr, nn  # noqa: E402
from ._version import __version__ as __version__
from .api import CompiledFunction, compile  # noqa: E402
from .autodiff import Sparse, gradient, hvp  # noqa: E402
from .display import expr_svg as _expr_svg  # noqa: E402
from .display import to_dot  # noqa: E402  (DOT text with .render(path))
from .errors import RetraceWarning, TraceMismatchError, VerificationError  # noqa: E402
from .expr import *  # noqa: E402, F403  (Symbol, symbols, one function per op-table row)
from .ir import VIEWS as _VIEWS  # noqa: E402
from .ir import Expr, evaluate  # noqa: E402
from .nn import Value  # noqa: E402
from .transforms import grad, hessian, jacobian, jvp, linearize, value_and_grad, vjp  # noqa: E402
from .verification import from_sympy, to_sympy, verify  # noqa: E402
from .verification.latex import expr_latex as _expr_latex  # noqa: E402

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
