"""The micrograd face: the eager ``Value`` and the tutorial's ``Neuron``, ``Layer``, ``MLP``.

Everything here sits on top of the core (it builds symgrad expressions); nothing in the core
imports it.
"""

from .layers import ACTIVATIONS, MLP, Layer, Module, Neuron
from .value import Value

__all__ = ["Value", "Module", "Neuron", "Layer", "MLP", "ACTIVATIONS"]
