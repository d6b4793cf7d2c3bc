"""Code generators, and the one table of them that ``sg.compile`` reads.

Every backend has the same skeleton: ``lower`` (graph-level preparation: the Python backend's
schedule, the batched backends' reduction) -> ``generate`` (print the module) -> ``load`` (turn
the source into a callable) -> ``save``. ``api.py`` calls these through the ``Backend`` record
and never tests a backend's name; adding a backend is one module and one row below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import c
from . import numpy as _numpy_backend
from . import python as _python_backend
from .args import array_arg, scalar_arg


@dataclass(frozen=True)
class Backend:
    """One code generator's entry points and facts.

    ``batched``: arguments may carry leading batch axes and outputs are NumPy arrays (so
    argument checks go through NumPy). ``needs``: what its module needs at run time, for the
    generated docstring. ``lower(roots, reduce)`` turns the compile options into ``generate``'s
    keyword arguments. ``save`` is ``None`` when the source itself is the saved file.
    """

    name: str
    batched: bool
    needs: str
    generate: Callable[..., tuple[str, Any]]
    load: Callable[[str], Callable]
    lower: Callable[..., dict]
    check_arg: Callable[..., Any]
    save: Callable[[str, str], None] | None = None

    @property
    def reduces(self) -> bool:
        """Whether ``reduce=`` (folding the batch axes) is available."""
        return self.batched


def _batched_lower(roots: list, reduce: str | None) -> dict:
    return {"reduce": reduce}


# One row a backend: its module gives generate, load and (if it has one) save.
#   name      batched  needs at run time         module            lower                check_arg
_ROWS = (
    ("python", False, "the standard library", _python_backend, _python_backend.lower, scalar_arg),
    ("numpy", True, "NumPy", _numpy_backend, _batched_lower, array_arg),
    ("c", True, "NumPy", c, _batched_lower, array_arg),
)
BACKENDS: dict[str, Backend] = {
    name: Backend(
        name,
        batched=batched,
        needs=needs,
        generate=module.generate,
        load=module.load,
        lower=lower,
        check_arg=check_arg,
        save=getattr(module, "save", None),
    )
    for name, batched, needs, module, lower, check_arg in _ROWS
}


def get(name: Any) -> Backend:
    """The backend called ``name``; ``ValueError`` listing the others if there is none."""
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"backend must be one of {sorted(BACKENDS)}, not {name!r}") from None
