"""Array outputs: an array of expressions anywhere in the outputs comes back as one float array
of shape B + S ("numpy"; S with reduce) or nested lists of shape S ("python")."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers import needs_cc

import symgrad as sg


def _syms():
    x, y = sg.symbols("x y")
    w = list(sg.symbols("w0:3"))
    return x, y, w


def _matrix(x, y, w):
    """A 2x3 object array mixing expressions, symbols, numbers and a condition."""
    return np.array(
        [[x * w[0], sg.tanh(y + w[1]), 2.5], [w[2], x, sg.where(x < y, x, y * w[0])]],
        dtype=object,
    )


def _env(x, y, w, xv, yv, wv):
    return {x: xv, y: yv, **dict(zip(w, wv))}


def _expected(arr, env):
    flat = sg.evaluate([e for e in arr.ravel().tolist()], env)
    return np.array(flat, dtype=np.float64).reshape(arr.shape)


def test_python_backend_nested_lists_of_floats():
    x, y, w = _syms()
    A = _matrix(x, y, w)
    fn = sg.compile([x, y, w], A)
    out = fn(0.3, -1.2, [0.5, 2.0, -0.7])
    assert isinstance(out, list) and len(out) == 2 and all(len(row) == 3 for row in out)
    assert all(type(v) is float for row in out for v in row)
    want = _expected(A, _env(x, y, w, 0.3, -1.2, [0.5, 2.0, -0.7]))
    np.testing.assert_allclose(np.array(out), want, rtol=1e-12)


def test_numpy_backend_one_array_of_batch_plus_shape():
    x, y, w = _syms()
    A = _matrix(x, y, w)
    fn = sg.compile([x, y, w], A, backend="numpy")
    rng = np.random.default_rng(0)
    X, Y, W = rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=3)
    out = fn(X, Y, W)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (4, 5, 2, 3)
    for i in range(4):
        for j in range(5):
            want = _expected(A, _env(x, y, w, X[i, j], Y[j], W))
            np.testing.assert_allclose(out[i, j], want, rtol=1e-12, atol=1e-15)
    # No batch axes: shape S.
    assert fn(0.3, -1.2, W).shape == (2, 3)


def test_outputs_never_alias_inputs():
    x, y, w = _syms()
    fn = sg.compile([x, y, w], np.array([x, w[0]], dtype=object), backend="numpy")
    X = np.arange(3.0)
    out = fn(X, 0.0, [1.0, 2.0, 3.0])
    out[...] = -1.0
    assert X.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_numpy_reduce_gives_shape_s(reduce):
    x, y, w = _syms()
    A = _matrix(x, y, w)
    fn = sg.compile([x, y, w], [A[0, 0] + A[1, 1], A], backend="numpy", reduce=reduce)
    plain = sg.compile([x, y, w], A, backend="numpy")
    rng = np.random.default_rng(1)
    X, Y, W = rng.normal(size=(3, 7)), rng.normal(size=(3, 7)), rng.normal(size=3)
    total, arr = fn(X, Y, W)
    assert arr.shape == (2, 3) and arr.dtype == np.float64
    per_sample = plain(X, Y, W)
    want = per_sample.sum(axis=(0, 1)) if reduce == "sum" else per_sample.mean(axis=(0, 1))
    np.testing.assert_allclose(arr, want, rtol=1e-12)


def test_long_batch_reduce_runs_in_blocks():
    x, y, w = _syms()
    fn = sg.compile([x, w], np.array([x * w[0], w[1]], dtype=object), backend="numpy", reduce="sum")
    X = np.linspace(0.5, 1.0, 5000)
    out = fn(X, [2.0, 3.0, 0.0])
    np.testing.assert_allclose(out, [2.0 * X.sum(), 3.0 * 5000], rtol=1e-12)


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_nested_inside_lists_and_tuples(backend):
    x, y, w = _syms()
    A = _matrix(x, y, w)
    v = np.array([x + y, x * y], dtype=object)
    fn = sg.compile([x, y, w], (x, [A, (v,)], [np.array(y, dtype=object)]), backend=backend)
    out = fn(0.3, -1.2, [0.5, 2.0, -0.7])
    assert isinstance(out, tuple) and isinstance(out[1], list) and isinstance(out[1][1], tuple)
    env = _env(x, y, w, 0.3, -1.2, [0.5, 2.0, -0.7])
    np.testing.assert_allclose(np.array(out[1][0]), _expected(A, env), rtol=1e-12)
    np.testing.assert_allclose(np.array(out[1][1][0]), [-0.9, 0.3 * -1.2], rtol=1e-12)
    zero_d = out[2][0]
    if backend == "numpy":
        assert isinstance(zero_d, np.ndarray) and zero_d.shape == ()
    else:
        assert type(zero_d) is float  # nested lists of shape () are the one float
    assert float(zero_d) == -1.2


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_hostile_shapes_empty_and_zero_d(backend):
    x = sg.Symbol("x")
    outputs = [
        np.zeros((0,), dtype=object),
        np.zeros((2, 0, 3), dtype=object),
        np.array(x * 2.0, dtype=object),  # 0-d
        np.array([[1.0, 2.0]]),  # a float array: constants
        np.array([[[x]]], dtype=object),
    ]
    fn = sg.compile([x], outputs, backend=backend)
    out = fn(1.5)
    if backend == "python":
        assert out == [[], [[], []], 3.0, [[1.0, 2.0]], [[[1.5]]]]
    else:
        assert [a.shape for a in out] == [(0,), (2, 0, 3), (), (1, 2), (1, 1, 1)]
        assert float(out[2]) == 3.0 and out[3].tolist() == [[1.0, 2.0]] and out[4].item() == 1.5
        batched = fn(np.array([1.0, 2.0]))
        assert [a.shape for a in batched] == [(2, 0), (2, 2, 0, 3), (2,), (2, 1, 2), (2, 1, 1, 1)]
        reduced = sg.compile([x], outputs, backend="numpy", reduce="sum")(np.array([1.0, 2.0]))
        assert [a.shape for a in reduced] == [(0,), (2, 0, 3), (), (1, 2), (1, 1, 1)]
        assert float(reduced[2]) == 6.0 and reduced[3].tolist() == [[2.0, 4.0]]


def test_top_level_array_and_gradient_array():
    x, y, w = _syms()
    f = sg.tanh(w[0] * x + w[1] * y + w[2]) ** 2
    grad = np.array(sg.gradient(f, w), dtype=object)
    fn = sg.compile([w, x, y], [f, grad], backend="numpy", reduce="sum")
    X, Y = np.linspace(-1, 1, 11), np.linspace(0, 2, 11)
    value, g = fn([0.1, 0.2, 0.3], X, Y)
    assert g.shape == (3,)
    each = sg.compile([w, x, y], sg.gradient(f, w))
    want = np.sum([each([0.1, 0.2, 0.3], a, b) for a, b in zip(X, Y)], axis=0)
    np.testing.assert_allclose(g, want, rtol=1e-12)
    assert sg.compile([w, x, y], grad)([0.1, 0.2, 0.3], 1.0, 2.0) == pytest.approx(
        each([0.1, 0.2, 0.3], 1.0, 2.0), rel=1e-12
    )


def test_array_of_arrays_is_rejected():
    x = sg.Symbol("x")
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.array([x]), x
    with pytest.raises(TypeError, match="expressions or numbers"):
        sg.compile([x], ragged)


@needs_cc
@pytest.mark.usefixtures("c_cache")
@pytest.mark.parametrize("reduce", [None, "sum"])
def test_c_backend_returns_the_numpy_backends_arrays(reduce):
    x, y, w = _syms()
    A = _matrix(x, y, w)
    outputs = [
        x * y,
        A,
        (np.array([x + y, x * y], dtype=object),),
        np.zeros((2, 0, 3), dtype=object),
        np.array(x * 2.0, dtype=object),
    ]
    fn_np = sg.compile([x, y, w], outputs, backend="numpy", reduce=reduce)
    fn_c = sg.compile([x, y, w], outputs, backend="c", reduce=reduce)
    for args in [(0.3, -1.2, [0.5, 2.0, -0.7]), (np.array([0.3, 1.0]), -1.2, [0.5, 2.0, -0.7])]:
        want, got = fn_np(*args), fn_c(*args)
        flat_w = [want[0], want[1], want[2][0], want[3], want[4]]
        flat_g = [got[0], got[1], got[2][0], got[3], got[4]]
        assert isinstance(got[2], tuple)
        for a, b in zip(flat_w, flat_g):
            assert np.shape(a) == np.shape(b)
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-13)


def test_source_deterministic_and_python_module_needs_no_numpy(tmp_path):
    x, y, w = _syms()
    A = _matrix(x, y, w)
    a = sg.compile([x, y, w], [A, np.zeros((2, 0), dtype=object)])
    b = sg.compile([x, y, w], [A, np.zeros((2, 0), dtype=object)])
    assert a.source == b.source
    path = tmp_path / "mod.py"
    a.save(str(path))
    code = (
        "import sys, importlib.util\n"
        "sys.modules['numpy'] = None  # any import of numpy now fails\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(m.f(0.3, -1.2, [0.5, 2.0, -0.7])[1])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[[], []]"
