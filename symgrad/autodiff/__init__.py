"""Reverse-mode differentiation that emits IR: gradients are expressions like any other."""

from .reverse import gradient, hessian, jacobian

__all__ = ["gradient", "jacobian", "hessian"]
