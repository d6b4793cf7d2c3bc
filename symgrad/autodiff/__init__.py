"""Differentiation that emits IR: gradients, tangents and their products are expressions.

Reverse mode (``gradient``, ``vjp``), forward mode (``jvp``), forward over reverse (``hvp``),
and Jacobians and Hessians dense or sparse (``sparse=True`` gives a ``Sparse``), all through
one rule table.
"""

from .forward import hvp, jvp, vjp
from .reverse import gradient
from .sparse import Sparse, hessian, jacobian

__all__ = ["gradient", "jacobian", "hessian", "jvp", "vjp", "hvp", "Sparse"]
