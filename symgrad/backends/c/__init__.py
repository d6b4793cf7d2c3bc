"""The native backend: the same program as C99 on libm.

Files by job: ``abi`` (the entry's signature, metadata, flags, size tiers), ``spell`` (how
values and ops are written in C; the runtime files), ``emit`` (writes the C), ``reroll`` and
``loops`` (repeated stretches found and printed as loops), ``tape`` and ``tape_vm`` (large
programs on the tape interpreter), ``mixed`` and ``mixed_run`` (the phased form: C kernels
between BLAS products, for programs with dense layers), ``cache`` and ``store`` (the compiler
and the checked disk cache), ``call`` (the CPython call entry), ``pack`` (outputs into their
structure), ``native`` (loading and calling), ``save`` (the standalone loader ``fn.save``
writes), ``runtime/`` (C and Python shipped as package data).
"""

from __future__ import annotations

from .abi import read_meta
from .emit import generate
from .native import NativeFunction, load
from .save import save

NAME = "c"

__all__ = ["NAME", "NativeFunction", "generate", "load", "read_meta", "save"]
