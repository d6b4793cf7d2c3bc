"""The C backend's call entry: a tiny CPython extension that calls a loaded ``sg_f`` directly.

A ctypes call converts every argument through ``argtypes`` and each array's address has to be
fetched from Python first; for a function whose C work takes a few microseconds that is most of
the call. This module generates one small extension (``METH_FASTCALL``, the buffer protocol)
that, given a per-function *plan* (a ``bytes`` of ``long long``: the address of ``sg_f``, the
argument count, the output count, flags, statements per sample, then per argument its trailing
ndim, size and shape), checks the arguments, calls ``sg_f`` through a function pointer of the
right arity and returns the outputs: a list of Python floats when they are unbatched (or
reduced) scalars, else a fresh float64 array of shape ``(outputs, *batch)``.

It handles the common case only: floats (``np.float64`` included) and ints for scalar
arguments, C-contiguous native float64 ``numpy.ndarray`` (read-only included) whose trailing
shapes match and whose batch shapes are all equal or absent. For anything else it returns
``None`` and the caller takes the general path (conversions, partial broadcasting, the errors
that name the argument), so behaviour and errors are those of the general path by
construction.

The extension is compiled once per machine, compiler and Python ABI, through ``cbuild``'s
content-hashed cache (its own subdirectory), and loaded once per process. Where it cannot be
built (no Python headers, an exotic compiler) the C backend calls through ctypes, unchanged.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
import threading

from . import cbuild

MAX_ARGS = 16  # functions with more arguments call through ctypes
MODULE = "_symgrad_ccall"
SUBDIR = "ext1"  # the cache subdirectory (bump with the plan layout)
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
        types = ", ".join(["long long", *["const double *, long long"] * p, "double *"])
        args = ", ".join(["n", *[f"ptr[{i}], stride[{i}]" for i in range(p)], "out"])
        cases.append(f"    case {p}: return ((int (*)({types}))fn)({args});")
    return "\n".join(cases)


def source() -> str:
    """The extension's C source; its text names the Python ABI, so the cache key does too."""
    abi = f"{sys.implementation.cache_tag} {sysconfig.get_config_var('SOABI')} {sys.version}"
    return _SOURCE.replace("@ABI@", " ".join(abi.split()).replace("*/", "")).replace(
        "@DISPATCH@", _dispatch()
    )


_SOURCE = r"""/* symgrad call entry (c backend), for @ABI@ */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define SG_MAXARGS 16
#define SG_STACK_OUT 256

static PyObject *sg_ndarray = NULL; /* numpy.ndarray */
static PyObject *sg_empty = NULL;   /* numpy.empty */

static int sg_invoke(void *fn, int p, long long n, const double **ptr, const long long *stride,
                     double *out)
{
    switch (p) {
@DISPATCH@
    }
    return -1;
}

static PyObject *sg_setup(PyObject *self, PyObject *const *argv, Py_ssize_t argc)
{
    if (argc != 2) {
        PyErr_SetString(PyExc_TypeError, "setup(ndarray, empty)");
        return NULL;
    }
    Py_XSETREF(sg_ndarray, Py_NewRef(argv[0]));
    Py_XSETREF(sg_empty, Py_NewRef(argv[1]));
    Py_RETURN_NONE;
}

/* call(plan, args): the outputs, or None when the arguments need the general path. */
static PyObject *sg_call(PyObject *self, PyObject *const *argv, Py_ssize_t argc)
{
    if (argc != 2 || !PyBytes_CheckExact(argv[0]) || !PyTuple_CheckExact(argv[1])) {
        PyErr_SetString(PyExc_TypeError, "call(plan: bytes, args: tuple)");
        return NULL;
    }
    if (sg_empty == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup() was not called");
        return NULL;
    }
    const long long *plan = (const long long *)PyBytes_AS_STRING(argv[0]);
    PyObject *args = argv[1];
    const int p = (int)plan[1];
    const long long m = plan[2], flags = plan[3];
    if (p > SG_MAXARGS || PyTuple_GET_SIZE(args) != p || m <= 0)
        Py_RETURN_NONE;

    Py_buffer views[SG_MAXARGS];
    double vals[SG_MAXARGS];
    const double *ptr[SG_MAXARGS];
    long long stride[SG_MAXARGS];
    int nviews = 0;
    const Py_ssize_t *batch = NULL;
    int bnd = 0;
    PyObject *result = Py_None;
    const long long *q = plan + 5;
    for (int i = 0; i < p; ++i) {
        const long long nd = q[0], k = q[1];
        const long long *dims = q + 2;
        q += 2 + nd;
        PyObject *a = PyTuple_GET_ITEM(args, i);
        if (PyFloat_Check(a) || PyLong_CheckExact(a)) { /* float, np.float64, int (no bool) */
            if (nd)
                goto done;
            vals[i] = PyFloat_Check(a) ? PyFloat_AS_DOUBLE(a) : PyLong_AsDouble(a);
            if (vals[i] == -1.0 && PyErr_Occurred()) { /* an int too large for a double */
                PyErr_Clear();
                goto done;
            }
            ptr[i] = &vals[i];
            stride[i] = 0;
            continue;
        }
        if ((PyObject *)Py_TYPE(a) != sg_ndarray)
            goto done;
        Py_buffer *v = &views[nviews];
        if (PyObject_GetBuffer(a, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            PyErr_Clear(); /* strided: the general path copies it */
            goto done;
        }
        ++nviews;
        if (v->itemsize != 8 || v->format == NULL || strcmp(v->format, "d") != 0)
            goto done;
        const int bd = v->ndim - (int)nd;
        if (bd < 0)
            goto done;
        long long size = 1; /* dims[j] < 0: any extent, the size checked */
        for (int j = 0; j < nd; ++j) {
            size *= (long long)v->shape[bd + j];
            if (dims[j] >= 0 && (long long)v->shape[bd + j] != dims[j])
                goto done;
        }
        if (size != k)
            goto done;
        ptr[i] = (const double *)v->buf;
        if (bd == 0) {
            stride[i] = 0;
            continue;
        }
        if (batch == NULL) {
            batch = v->shape;
            bnd = bd;
        } else if (bd != bnd || memcmp(batch, v->shape, (size_t)bd * sizeof(Py_ssize_t)) != 0) {
            goto done; /* broadcasting between batch shapes: the general path */
        }
        stride[i] = k;
    }
    long long n = 1;
    for (int j = 0; j < bnd; ++j)
        n *= (long long)batch[j];
    if (n <= 0)
        goto done;
    if (bnd == 0)
        for (int i = 0; i < p; ++i)
            stride[i] = 0;
    const int batched_out = bnd > 0 && !(flags & 1);
    const int release = (flags & 4) && n * plan[4] >= @GIL_WORK@;
    int rc;
    if (!batched_out && (flags & 2)) { /* scalars: a list of floats, no array */
        double stack_out[SG_STACK_OUT];
        double *out = m <= SG_STACK_OUT ? stack_out : PyMem_Malloc((size_t)m * sizeof(double));
        if (out == NULL) {
            result = PyErr_NoMemory();
            goto done;
        }
        if (release) {
            Py_BEGIN_ALLOW_THREADS
            rc = sg_invoke((void *)(intptr_t)plan[0], p, n, ptr, stride, out);
            Py_END_ALLOW_THREADS
        } else {
            rc = sg_invoke((void *)(intptr_t)plan[0], p, n, ptr, stride, out);
        }
        if (rc == 0) {
            result = PyList_New((Py_ssize_t)m);
            for (long long r = 0; result != NULL && r < m; ++r) {
                PyObject *x = PyFloat_FromDouble(out[r]);
                if (x == NULL)
                    Py_CLEAR(result);
                else
                    PyList_SET_ITEM(result, (Py_ssize_t)r, x);
            }
        }
        if (out != stack_out)
            PyMem_Free(out);
    } else { /* a fresh (m, *batch) or (m,) float64 array */
        PyObject *shape = PyTuple_New(1 + (batched_out ? bnd : 0));
        if (shape == NULL) {
            result = NULL;
            goto done;
        }
        PyTuple_SET_ITEM(shape, 0, PyLong_FromLongLong(m));
        for (int j = 0; batched_out && j < bnd; ++j)
            PyTuple_SET_ITEM(shape, j + 1, PyLong_FromSsize_t(batch[j]));
        result = PyObject_CallOneArg(sg_empty, shape);
        Py_DECREF(shape);
        if (result == NULL)
            goto done;
        Py_buffer ov;
        if (PyObject_GetBuffer(result, &ov, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
            Py_CLEAR(result);
            goto done;
        }
        if (release) {
            Py_BEGIN_ALLOW_THREADS
            rc = sg_invoke((void *)(intptr_t)plan[0], p, n, ptr, stride, (double *)ov.buf);
            Py_END_ALLOW_THREADS
        } else {
            rc = sg_invoke((void *)(intptr_t)plan[0], p, n, ptr, stride, (double *)ov.buf);
        }
        PyBuffer_Release(&ov);
    }
    if (rc != 0) {
        Py_XDECREF(result);
        result = NULL;
        PyErr_SetString(PyExc_MemoryError,
                        rc < 0 ? "symgrad call entry: unsupported arity"
                               : "the compiled C function could not allocate its workspace");
    }
done:
    for (int i = 0; i < nviews; ++i)
        PyBuffer_Release(&views[i]);
    if (result == Py_None)
        Py_RETURN_NONE;
    return result;
}

static PyMethodDef sg_methods[] = {
    {"setup", (PyCFunction)(void (*)(void))sg_setup, METH_FASTCALL, "setup(ndarray, empty)"},
    {"call", (PyCFunction)(void (*)(void))sg_call, METH_FASTCALL, "call(plan, args)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef sg_module = {PyModuleDef_HEAD_INIT, "@MODULE@", NULL, -1, sg_methods};

PyMODINIT_FUNC PyInit_@MODULE@(void) { return PyModule_Create(&sg_module); }
""".replace("@GIL_WORK@", str(GIL_WORK)).replace("@MODULE@", MODULE)

_module: object = None  # the loaded extension; False once it could not be had
_error: str = ""  # why not (for the curious and for tests)


def module():
    """The loaded extension, building it into the cache on first use; None where it cannot be
    built or loaded (then the C backend calls through ctypes)."""
    global _module, _error
    if _module is None:
        try:
            _module = _load()
        except Exception as exc:  # no headers, no compiler, a cache problem: use ctypes
            _module, _error = False, f"{type(exc).__name__}: {exc}"
    return _module or None


def prefetch() -> threading.Thread | None:
    """Start building the extension in a thread, if it is not loaded yet: the compiler is a
    subprocess, so on a cold cache it runs beside the first function's own compile instead of
    after it. Join the thread before calling ``module``."""
    if _module is not None:
        return None
    thread = threading.Thread(target=module, name="symgrad-ccall-build", daemon=True)
    thread.start()
    return thread


def _load():
    if os.environ.get("SYMGRAD_C_CALL", "").lower() == "ctypes":
        raise RuntimeError("disabled by SYMGRAD_C_CALL=ctypes")
    include = sysconfig.get_paths().get("include") or ""
    if not os.path.exists(os.path.join(include, "Python.h")):
        raise FileNotFoundError(f"no Python.h in {include!r}")
    # After flags_for's -std=c99: CPython's headers want C11 from 3.12 on.
    extra = ["-std=gnu11", f"-I{include}"]
    if sys.platform == "darwin":
        extra.append("-Wl,-undefined,dynamic_lookup")
    path = cbuild.build(source(), 0, extra_flags=extra, subdir=SUBDIR)
    loader = importlib.machinery.ExtensionFileLoader(MODULE, path)
    spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    import numpy as np

    mod.setup(np.ndarray, np.empty)
    return mod


def plan(address: int, args: list, m: int, reduce: bool, floats: bool, lines: int) -> bytes:
    """The plan ``call`` reads: ``args`` as (size, trailing shape) per argument; ``floats``:
    unbatched results as a list of floats (else always an array)."""
    flags = (REDUCE if reduce else 0) | (FLOATS if floats else 0) | RELEASE_GIL
    words = [address, len(args), m, flags, max(lines, 1)]
    for k, shape in args:
        words += [len(shape), k, *shape]
    return b"".join(w.to_bytes(8, sys.byteorder, signed=True) for w in words)
