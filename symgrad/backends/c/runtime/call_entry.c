/* symgrad call entry (c backend), for @ABI@ */
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
    const long long *q = plan + 8;
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
    void *fn = (void *)(intptr_t)plan[0];
    if (bnd == 0)
        for (int i = 0; i < p; ++i)
            stride[i] = 0;
    if (plan[6] > 0 && n >= plan[6]) { /* a large batch: the vectorized build */
        long long batched = 0;         /* built for these batched arguments only */
        for (int i = 0; i < p; ++i)
            batched |= stride[i] != 0 ? 1LL << i : 0;
        if (plan[5] == 0 || batched != plan[7])
            goto done; /* not built yet, or for other arguments: the general path */
        fn = (void *)(intptr_t)plan[5];
    }
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
            rc = sg_invoke(fn, p, n, ptr, stride, out);
            Py_END_ALLOW_THREADS
        } else {
            rc = sg_invoke(fn, p, n, ptr, stride, out);
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
            rc = sg_invoke(fn, p, n, ptr, stride, (double *)ov.buf);
            Py_END_ALLOW_THREADS
        } else {
            rc = sg_invoke(fn, p, n, ptr, stride, (double *)ov.buf);
        }
        PyBuffer_Release(&ov);
    }
    if (rc != 0) {
        Py_XDECREF(result);
        result = NULL;
        PyErr_SetString(rc == 1 ? PyExc_MemoryError : PyExc_RuntimeError,
                        rc < 0    ? "symgrad call entry: unsupported arity"
                        : rc == 1 ? "the compiled C function could not allocate its workspace"
                                  : "symgrad call entry: a build for other strides was called");
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
