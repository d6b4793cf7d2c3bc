"""The error classes. Each subclasses the builtin category a caller would catch."""


class VerificationError(AssertionError):
    """A derivative disagrees with SymPy's; the message names the variable, point and values."""


class RetraceWarning(UserWarning):
    """A traced function took a new Python path on most of its calls (each path compiles)."""


class TraceMismatchError(TypeError):
    """A new trace's result differs from the function run in plain NumPy at the same call
    (NumPy computed on something it did not hand to symgrad: an object array made by hand,
    raw bytes); the message names the function, the output, both values and the fix."""


class GraphvizNotFoundError(FileNotFoundError):
    """Drawing a graph needs Graphviz's ``dot`` on PATH; the message says how to install it."""
