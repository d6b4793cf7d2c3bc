"""A symbol listed twice in ``wrt``: every form repeats its column (as the dense forms do), and a
directional derivative moves it by the sum of its tangents. Oracles: the dense forms and
central differences."""

import numpy as np
import pytest

import symgrad as sg

x, y, z = sg.symbols("x y z")
ENV = {x: 1.0, y: 3.0, z: -0.5}
FS = [x * y, x, sg.sin(x) * z + y * y]
F = x * x * y + sg.exp(x * z)
WRTS = [[x, x], [x, y, x], [y, x, y, x], [z, x, z], [x, y, z, y, x]]


def _ev(e):
    return np.array(sg.evaluate(e, ENV), dtype=float)


def _fd_dir(fs, wrt, t, h=1e-6):
    """Central difference of fs along t, where a duplicated symbol moves by its summed tangent."""
    step: dict = {}
    for s, v in zip(wrt, t):
        step[s] = step.get(s, 0.0) + v
    hi = {s: ENV[s] + h * step.get(s, 0.0) for s in ENV}
    lo = {s: ENV[s] - h * step.get(s, 0.0) for s in ENV}
    return (np.array(sg.evaluate(fs, hi)) - np.array(sg.evaluate(fs, lo))) / (2 * h)


def _tangents(n, seed):
    return np.random.default_rng(seed).uniform(-1, 1, n).tolist()


@pytest.mark.parametrize("wrt", WRTS)
def test_jvp_with_duplicates_is_dense_jacobian_times_t(wrt):
    for seed in range(3):
        t = _tangents(len(wrt), seed)
        got = _ev(sg.jvp(FS, wrt, t))
        want = _ev(sg.jacobian(FS, wrt)) @ np.array(t)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got, _fd_dir(FS, wrt, t), rtol=1e-6, atol=1e-7)


def test_jvp_unit_tangent_on_either_copy_gives_the_same_column():
    a = _ev(sg.jvp([x * y, x], [x, x], [1.0, 0.0]))
    b = _ev(sg.jvp([x * y, x], [x, x], [0.0, 1.0]))
    np.testing.assert_allclose(a, [3.0, 1.0])
    np.testing.assert_allclose(b, [3.0, 1.0])


@pytest.mark.parametrize("wrt", WRTS)
def test_hvp_with_duplicates_is_dense_hessian_times_v(wrt):
    for seed in range(3):
        v = _tangents(len(wrt), seed)
        got = _ev(sg.hvp(F, wrt, v))
        want = _ev(sg.hessian(F, wrt)) @ np.array(v)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        grads = sg.gradient(F, wrt)
        np.testing.assert_allclose(got, _fd_dir(grads, wrt, v), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("wrt", WRTS)
def test_sparse_jacobian_with_duplicates_equals_dense(wrt):
    S = sg.jacobian(FS, wrt, sparse=True)
    assert S.shape == (len(FS), len(wrt))
    assert list(zip(S.rows, S.cols)) == sorted(zip(S.rows, S.cols))  # row-major
    dense = _ev(sg.jacobian(FS, wrt))
    np.testing.assert_allclose(_ev(S.to_dense()), dense, rtol=1e-12)
    assert {(i, j) for i, j in zip(S.rows, S.cols)} == set(zip(*np.nonzero(dense)))


@pytest.mark.parametrize("wrt", WRTS)
def test_sparse_hessian_with_duplicates_equals_dense(wrt):
    S = sg.hessian(F, wrt, sparse=True)
    assert S.shape == (len(wrt), len(wrt))
    assert list(zip(S.rows, S.cols)) == sorted(zip(S.rows, S.cols))
    dense = _ev(sg.hessian(F, wrt))
    np.testing.assert_allclose(_ev(S.to_dense()), dense, rtol=1e-12)
    assert {(i, j) for i, j in zip(S.rows, S.cols)} == set(zip(*np.nonzero(dense)))


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_compiled_sparse_forms_with_duplicates_match_dense(backend):
    pytest.importorskip("scipy")
    H = sg.hessian(x * x * y, [x, x], sparse=True)
    J = sg.jacobian([x * y, x], [x, x], sparse=True)
    h = sg.compile([x, y], H, backend=backend)(1.0, 3.0).toarray()
    j = sg.compile([x, y], J, backend=backend)(1.0, 3.0).toarray()
    np.testing.assert_allclose(h, [[6.0, 6.0], [6.0, 6.0]])
    np.testing.assert_allclose(j, [[3.0, 3.0], [1.0, 1.0]])


def test_verify_accepts_compiled_sparse_forms_with_duplicates():
    pytest.importorskip("scipy")
    fn = sg.compile(
        [x, y, z], [sg.hessian(F, [x, y, x], sparse=True), sg.jacobian(FS, [z, x, z], sparse=True)]
    )
    assert sg.verify(fn, points=2).complete


def test_dense_forms_still_repeat_the_column():
    np.testing.assert_allclose(_ev(sg.gradient(x * x * y, [x, x])), [6.0, 6.0])
    np.testing.assert_allclose(_ev(sg.vjp([x * y, x], [x, x], [1.0, 1.0])), [4.0, 4.0])
    np.testing.assert_allclose(_ev(sg.hessian(x * x * y, [x, x])), [[6.0, 6.0], [6.0, 6.0]])
