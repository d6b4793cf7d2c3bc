"""The C backend's call entry: a tiny CPython extension that calls a loaded ``sg_f`` directly.

A ctypes call converts every argument through ``argtypes`` and each array's address has to be
fetched from Python first; for a function whose C work takes a few microseconds that is most of
the call. This module generates one small extension (``METH_FASTCALL``, the buffer protocol)
that, given a per-function *plan* (a ``bytes`` of ``long long``: the address of ``sg_f``, the
argument count, the output count, flags, statements per sample, the address of the vectorized
build's ``sg_f`` and the batch size from which it serves (0: the one build serves every call),
then per argument its trailing ndim, size and shape), checks the arguments, calls ``sg_f``
through a function pointer of the right arity and returns the outputs: a list of Python floats
when they are unbatched (or reduced) scalars, else a fresh float64 array of shape
``(outputs, *batch)``.

It handles the common case only: floats (``np.float64`` included) and ints for scalar
arguments, C-contiguous native float64 ``numpy.ndarray`` (read-only included) whose trailing
shapes match and whose batch shapes are all equal or absent. For anything else it returns
``None`` and the caller takes the general path (conversions, partial broadcasting, the errors
that name the argument, a large batch whose vectorized build is not made yet), so behaviour
and errors are those of the general path by construction.

The extension is compiled once per machine, compiler and Python ABI, through ``cache``'s
content-hashed cache (its own subdirectory), and loaded once per process. On a cold cache it
is compiled in a thread beside the first function's own compile, and no call waits for it: the
functions made meanwhile call through ctypes until it is loaded (``start``, ``ready``). Where
it cannot be built (no Python headers, an exotic compiler) the C backend calls through ctypes,
unchanged.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
import threading

from . import cache
from .abi import pointer_type
from .spell import runtime_text

MAX_ARGS = 16  # functions with more arguments call through ctypes
MODULE = "_symgrad_ccall"
SUBDIR = "ext2"  # the cache subdirectory (bump with the plan layout)
# Flags in plan[3].
REDUCE, FLOATS, RELEASE_GIL = 1, 2, 4
# Release the GIL around calls doing at least this many statements' work (samples x lines):
# releasing it costs little, but reacquiring it with another thread running can wait a whole
# switch interval, which a microsecond call should not risk.
GIL_WORK = 20_000


def _dispatch() -> str:
    """``switch (p)`` calling ``fn`` as ``int (*)(long long, [const double *, long long]*p,
    double *)`` for each arity up to MAX_ARGS."""
    cases = []
    for p in range(MAX_ARGS + 1):
        args = ", ".join(["n", *[f"ptr[{i}], stride[{i}]" for i in range(p)], "out"])
        cases.append(f"    case {p}: return (({pointer_type(p)})fn)({args});")
    return "\n".join(cases)


def source() -> str:
    """The extension's C source; its text names the Python ABI, so the cache key does too."""
    abi = f"{sys.implementation.cache_tag} {sysconfig.get_config_var('SOABI')} {sys.version}"
    return _SOURCE.replace("@ABI@", " ".join(abi.split()).replace("*/", "")).replace(
        "@DISPATCH@", _dispatch()
    )


_SOURCE = (
    runtime_text("call_entry.c").replace("@GIL_WORK@", str(GIL_WORK)).replace("@MODULE@", MODULE)
)

_module: object = None  # the loaded extension; False once it could not be had
_error: str = ""  # why not (for the curious and for tests)
_builder: threading.Thread | None = None  # compiling it beside the first function (cold cache)
_load_lock = threading.Lock()
_start_lock = threading.Lock()


def module():
    """The loaded extension, building it into the cache on first use (waiting for a build
    under way in another thread); None where it cannot be built or loaded (then the C backend
    calls through ctypes)."""
    global _module, _error
    if _module is None:
        with _load_lock:
            if _module is None:
                try:
                    _module = _load(compile_missing=True)
                except Exception as exc:  # no headers, no compiler, a cache problem: ctypes
                    _module, _error = False, f"{type(exc).__name__}: {exc}"
    return _module or None


def ready() -> bool:
    """Whether ``module()`` answers without waiting: the extension is loaded, or known to be
    unavailable."""
    return _module is not None


def start() -> None:
    """Have the extension soon without making anyone wait for a compiler: loaded now when it
    is in the disk cache; on a cold cache, compiled in a thread (the compiler is a subprocess,
    so it runs beside the first function's own compile), and functions made meanwhile call
    through ctypes until ``ready()``. The thread is not a daemon: the interpreter lets the
    build finish at exit (a killed build would leave its temporary directory behind)."""
    global _module, _builder, _error
    if _module is not None or _building():
        return
    with _start_lock:
        if _module is not None or _building():
            return
        with _load_lock:
            try:
                found = _load(compile_missing=False)
            except Exception as exc:
                _module, _error = False, f"{type(exc).__name__}: {exc}"
                return
            if found is not None:
                _module = found
                return
        _builder = threading.Thread(target=module, name="symgrad-ccall-build")
        _builder.start()


def _building() -> bool:
    return _builder is not None and _builder.is_alive()


def _load(compile_missing: bool):
    """The extension loaded from the cache (compiled first if ``compile_missing``), or None."""
    if os.environ.get("SYMGRAD_C_CALL", "").lower() == "ctypes":
        raise RuntimeError("disabled by SYMGRAD_C_CALL=ctypes")
    include = sysconfig.get_paths().get("include") or ""
    if not os.path.exists(os.path.join(include, "Python.h")):
        raise FileNotFoundError(f"no Python.h in {include!r}")
    # After flags_for's -std=c99: CPython's headers want C11 from 3.12 on.
    extra = ["-std=gnu11", f"-I{include}"]
    if sys.platform == "darwin":
        extra.append("-Wl,-undefined,dynamic_lookup")
    path = cache.build(
        source(), 0, extra_flags=extra, subdir=SUBDIR, compile_missing=compile_missing
    )
    if path is None:
        return None
    loader = importlib.machinery.ExtensionFileLoader(MODULE, path)
    spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    import numpy as np

    mod.setup(np.ndarray, np.empty)
    return mod


def plan(
    address: int, args: list, m: int, reduce: bool, floats: bool, lines: int, vector=(0, 0, 0)
) -> bytes:
    """The plan ``call`` reads: ``args`` as (size, trailing shape) per argument; ``floats``:
    unbatched results as a list of floats (else always an array); ``vector``: (the address of
    the vectorized build, 0 while there is none; the batch size from which it serves, 0 for
    never; the mask of batched arguments it was built for, bit i for argument i)."""
    flags = (REDUCE if reduce else 0) | (FLOATS if floats else 0) | RELEASE_GIL
    words = [address, len(args), m, flags, max(lines, 1), *vector]
    for k, shape in args:
        words += [len(shape), k, *shape]
    return b"".join(w.to_bytes(8, sys.byteorder, signed=True) for w in words)
