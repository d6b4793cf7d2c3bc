"""``fn.save``: the C file and a standalone loader (``runtime/saved_loader.py.tmpl``) that
needs only NumPy and a C compiler."""

from __future__ import annotations

import ast
import inspect
import os

from .abi import FUNC, META_TAG, PORTABLE_FLAGS, read_meta
from .pack import _array_out, _pack_text, _scalar_out
from .spell import runtime_text

LOADER = runtime_text("saved_loader.py.tmpl")


def save(source: str, path: str) -> list[str]:
    """Write ``source`` as ``<stem>.c`` and a small standalone loader ``<stem>.py``.

    ``path`` is a directory (files ``f.c`` and ``f.py`` in it) or a file name ending in ``.c``.
    Returns the paths written.
    """
    if read_meta(source).get("mixed"):
        raise NotImplementedError(
            "fn.save is not available for the C backend's phased form (a program with matrix "
            "products, which it runs through NumPy's BLAS): save the NumPy backend's module "
            "instead (sg.compile(..., backend='numpy')), which needs only NumPy"
        )
    if path.endswith(".c"):
        directory, c_name = os.path.split(os.path.abspath(path))
    else:
        directory, c_name = os.path.abspath(path), "f.c"
    os.makedirs(directory, exist_ok=True)
    stem = c_name[:-2]
    c_path = os.path.join(directory, c_name)
    py_path = os.path.join(directory, stem + ".py")
    with open(c_path, "w", encoding="ascii") as fh:
        fh.write(source)
    structure = ast.literal_eval(read_meta(source)["structure"])
    pack = _pack_text(structure)
    if pack is None:  # nested too deep for one expression: the loader returns the flat list
        pack = "lambda v, o: v"
    helpers = "\n\n".join(inspect.getsource(h) for h in (_array_out, _scalar_out))
    helpers = helpers.replace("def _array_out(", "def _a(").replace("def _scalar_out(", "def _s(")
    loader = LOADER.format(
        helpers=helpers,
        pack=pack,
        c_name=c_name,
        so_name=stem + ".so",
        flags=PORTABLE_FLAGS,
        tag=META_TAG,
        func=FUNC,
    )
    with open(py_path, "w", encoding="utf-8") as fh:
        fh.write(loader)
    return [c_path, py_path]
