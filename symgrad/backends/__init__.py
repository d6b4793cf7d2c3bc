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


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend(
            "python",
            batched=False,
            needs="the standard library",
            generate=_python_backend.generate,
            load=_python_backend.load,
            lower=_python_backend.lower,
            check_arg=scalar_arg,
        ),
        Backend(
            "numpy",
            batched=True,
            needs="NumPy",
            generate=_numpy_backend.generate,
            load=_numpy_backend.load,
            lower=_batched_lower,
            check_arg=array_arg,
        ),
        Backend(
            "c",
            batched=True,
            needs="NumPy",
            generate=c.generate,
            load=c.load,
            lower=_batched_lower,
            check_arg=array_arg,
            save=c.save,
        ),
    )
}


def get(name: Any) -> Backend:
    """The backend called ``name``; ``ValueError`` listing the others if there is none."""
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"backend must be one of {sorted(BACKENDS)}, not {name!r}") from None
