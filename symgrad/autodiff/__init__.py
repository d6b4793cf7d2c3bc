"""Differentiation that emits IR: gradients, tangents and their products are expressions."""

from .forward import hvp, jvp, vjp
from .reverse import gradient, hessian, jacobian

__all__ = ["gradient", "jacobian", "hessian", "jvp", "vjp", "hvp"]
