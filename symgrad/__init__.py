"""symgrad: capture a scalar function as a DAG, emit its gradient as more of the same IR,
compile both into one flat, readable function, and check every derivative against SymPy."""

__version__ = "0.1.0"

from . import dask  # noqa: E402  (imports Dask only when called)
from .api import CompiledFunction, compile  # noqa: E402
from .autodiff import gradient, hessian, jacobian  # noqa: E402
from .errors import VerificationError  # noqa: E402
from .expr import (  # noqa: E402
    Symbol,
    acos,
    asin,
    atan,
    atan2,
    cos,
    cosh,
    erf,
    exp,
    expm1,
    log,
    log1p,
    maximum,
    minimum,
    relu,
    sigmoid,
    sign,
    sin,
    sinh,
    softplus,
    sqrt,
    symbols,
    tan,
    tanh,
    where,
)
from .ir import Expr, evaluate  # noqa: E402
from .nn import Value  # noqa: E402  (also binds sg.nn, the micrograd face)
from .printing import to_dot  # noqa: E402
from .trace import grad, value_and_grad  # noqa: E402
from .verification import from_sympy, to_sympy, verify  # noqa: E402

__all__ = [
    "Value",
    "nn",
    "Expr",
    "Symbol",
    "symbols",
    "evaluate",
    "to_dot",
    "gradient",
    "jacobian",
    "hessian",
    "compile",
    "CompiledFunction",
    "VerificationError",
    "verify",
    "to_sympy",
    "from_sympy",
    "exp",
    "log",
    "sqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "relu",
    "softplus",
    "maximum",
    "minimum",
    "where",
    "expm1",
    "log1p",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "erf",
    "sign",
    "value_and_grad",
    "grad",
    "dask",
]
