"""``fn.save``: the C file and a standalone loader (``runtime/saved_loader.py.tmpl``) that
needs only NumPy and a C compiler."""

from __future__ import annotations

import ast
import inspect
import os

from .abi import FUNC, META_TAG, PORTABLE_FLAGS, check_arrays, read_meta
from .mixed import PLAN_TAG, read_plan
from .pack import _array_out, _pack_text, _scalar_out
from .spell import runtime_text

LOADER = runtime_text("saved_loader.py.tmpl")
MIXED_LOADER = runtime_text("saved_mixed.py.tmpl")


def _mixed_runtime() -> str:
    """The phased form's runtime as standalone source: ``mixed_run`` without its imports of
    symgrad, with the two functions it takes from there (``check_arrays``, ``read_plan``)."""
    from . import mixed_run  # NumPy's: only when saving this form

    text = inspect.getsource(mixed_run)
    body = text[text.index("\ndef _ranges") :]
    parts = [inspect.getsource(check_arrays), inspect.getsource(read_plan), body]
    return "\n\n\n".join(p.strip("\n") for p in parts)


def save(source: str, path: str) -> list[str]:
    """Write ``source`` as ``<stem>.c`` and a small standalone loader ``<stem>.py``.

    ``path`` is a directory (files ``f.c`` and ``f.py`` in it) or a file name ending in ``.c``.
    Returns the paths written.
    """
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
    common = {"helpers": helpers, "pack": pack, "c_name": c_name, "so_name": stem + ".so"}
    common.update(flags=PORTABLE_FLAGS, tag=META_TAG)
    if read_meta(source).get("mixed"):
        runtime = _mixed_runtime()
        has_arrays = "{" in read_meta(source)["structure"]
        loader = MIXED_LOADER.format(
            **common, runtime=runtime, plan_tag=PLAN_TAG, has_arrays=has_arrays
        )
    else:
        loader = LOADER.format(**common, func=FUNC)
    with open(py_path, "w", encoding="utf-8") as fh:
        fh.write(loader)
    return [c_path, py_path]
