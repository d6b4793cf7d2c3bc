"""sg.compile with sg.Sparse outputs: a scipy.sparse.csr_array on every backend, whose
structure is the true pattern and whose values equal a hand-derived Hessian (an oracle that
owes nothing to symgrad), central differences and the dense Hessian."""

import pickle
import sys

import numpy as np
import pytest
from helpers import needs_cc

import symgrad as sg
from symgrad.autodiff import hessian, jacobian

BACKENDS = ["python", "numpy", pytest.param("c", marks=needs_cc)]


@pytest.fixture
def backend(request):
    if request.param == "c":
        request.getfixturevalue("c_cache")
    return request.param


def chain(n):
    """The chained Rosenbrock function: a tridiagonal Hessian."""
    xs = list(sg.symbols(f"x0:{n}"))
    terms = ((1.0 - xs[i]) ** 2 + 100.0 * (xs[i + 1] - xs[i] ** 2) ** 2 for i in range(n - 1))
    return sum(terms, 0.0), xs


def chain_hessian(x):
    """By hand: d2/dxi2 of (1-xi)^2 + 100(xi+1 - xi^2)^2 is 2 - 400 xi+1 + 1200 xi^2, the
    coupling -400 xi, and 200 on the next diagonal."""
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 2.0 - 400.0 * x[i + 1] + 1200.0 * x[i] ** 2
        h[i, i + 1] = h[i + 1, i] = -400.0 * x[i]
        h[i + 1, i + 1] += 200.0
    return h


def central_hessian(fn, x, h=1e-4):
    n = len(x)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for si, sj, w in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                y = np.array(x, dtype=float)
                y[i] += si * h
                y[j] += sj * h
                acc += w * fn(y)
            out[i, j] = acc / (4 * h * h)
    return out


def point(n, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, n)


def call_arg(x, backend):
    return x.tolist() if backend == "python" else x


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_hessian_compiles_to_csr_with_the_true_structure_and_values(backend):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    n = 7
    f, xs = chain(n)
    H = hessian(f, xs, sparse=True)
    fn = sg.compile([xs], H, backend=backend)
    x = point(n, 3)
    h = fn(call_arg(x, backend))
    assert isinstance(h, scipy_sparse.csr_array) and h.shape == (n, n)
    want = chain_hessian(x)
    truth = {(i, j) for i in range(n) for j in range(n) if abs(i - j) <= 1}
    assert set(zip(*h.nonzero())) == truth and h.nnz == len(truth)
    np.testing.assert_allclose(h.toarray(), want, rtol=1e-13, atol=1e-12)
    fd = central_hessian(lambda y: sg.evaluate(f, dict(zip(xs, y.tolist()))), x)
    np.testing.assert_allclose(h.toarray(), fd, rtol=1e-5, atol=1e-4)
    dense = np.array(sg.compile([xs], hessian(f, xs), backend=backend)(call_arg(x, backend)))
    np.testing.assert_allclose(h.toarray(), dense, rtol=1e-14, atol=1e-13)
    assert fn.stats["colors"] <= 3 and fn.stats["nnz"] == 3 * n - 2


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_sparse_among_other_outputs_at_any_depth(backend):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    f, xs = chain(6)
    H = hessian(f, xs, sparse=True)
    J = jacobian([xs[i] * xs[i + 1] for i in range(5)], xs, sparse=True)
    fn = sg.compile([xs], [f, (sg.gradient(f, xs), H), J], backend=backend)
    assert fn.stats["colors"] == [H.colors, J.colors] and fn.stats["nnz"] == [16, 10]
    x = point(6, 5)
    value, (grad, h), j = fn(call_arg(x, backend))
    assert isinstance(h, scipy_sparse.csr_array) and isinstance(j, scipy_sparse.csr_array)
    np.testing.assert_allclose(h.toarray(), chain_hessian(x), rtol=1e-13, atol=1e-12)
    want_j = np.zeros((5, 6))
    for i in range(5):
        want_j[i, i], want_j[i, i + 1] = x[i + 1], x[i]
    assert j.shape == (5, 6)
    np.testing.assert_allclose(j.toarray(), want_j, rtol=1e-15)
    assert float(value) == pytest.approx(sg.evaluate(f, dict(zip(xs, x.tolist()))), rel=1e-13)
    assert len(grad) == 6


def test_results_do_not_share_index_arrays():
    pytest.importorskip("scipy.sparse")
    f, xs = chain(4)
    fn = sg.compile([xs], hessian(f, xs, sparse=True))
    a = fn([0.1, 0.2, 0.3, 0.4])
    a.indices[:] = 0  # a caller's in-place change
    b = fn([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(b.toarray(), chain_hessian(np.array([0.1, 0.2, 0.3, 0.4])))


def test_a_sparse_output_pickles_and_keeps_its_stats():
    pytest.importorskip("scipy.sparse")
    f, xs = chain(5)
    fn = sg.compile([xs], hessian(f, xs, sparse=True))
    assert fn.stats["colors"] == 3
    back = pickle.loads(pickle.dumps(fn))
    x = [0.3, -0.2, 0.1, 0.4, 0.5]
    np.testing.assert_array_equal(back(x).toarray(), fn(x).toarray())
    assert back.stats["nnz"] == 13


def test_a_batched_call_is_refused_not_misread():
    pytest.importorskip("scipy.sparse")
    f, xs = chain(4)
    fn = sg.compile([xs], hessian(f, xs, sparse=True), backend="numpy")
    with pytest.raises(ValueError, match="unbatched"):
        fn(np.zeros((3, 4)))


def test_verify_judges_a_function_with_sparse_outputs():
    pytest.importorskip("scipy.sparse")
    f, xs = chain(4)
    fn = sg.compile([xs], [f, hessian(f, xs, sparse=True)])
    report = str(sg.verify(fn))
    # each stored entry is judged as the second derivative it claims to be, by the checker's
    # own hyper-dual forward mode, not by re-evaluating symgrad's expression
    assert report.count("second-order forward mode") == 10
    assert "d^2out[0]/dx3/dx3" in report


def test_missing_scipy_names_the_extra(monkeypatch):
    f, xs = chain(3)
    H = hessian(f, xs, sparse=True)
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(ImportError, match=r"symgrad\[examples\]"):
        sg.compile([xs], H)
    sg.compile([xs], H.values)  # the values alone need no SciPy


def test_a_result_is_a_sound_csr_array():
    """The fast copy of the compile-time template behaves as SciPy's constructor's result."""
    scipy_sparse = pytest.importorskip("scipy.sparse")
    f, xs = chain(6)
    fn = sg.compile([xs], hessian(f, xs, sparse=True))
    x = point(6, 9)
    h = fn(x.tolist())
    ref = scipy_sparse.csr_array((h.data.copy(), h.indices.copy(), h.indptr.copy()), shape=(6, 6))
    h.check_format(full_check=True)
    assert h.dtype == np.float64 and h.has_sorted_indices
    np.testing.assert_array_equal((h @ np.ones(6)), ref @ np.ones(6))
    np.testing.assert_array_equal((h + h).toarray(), 2 * ref.toarray())
    np.testing.assert_array_equal(h.T.toarray(), ref.toarray().T)
    h.data[:] = 0.0  # changing one result in place leaves the next alone
    np.testing.assert_allclose(fn(x.tolist()).toarray(), chain_hessian(x), rtol=1e-13)
