"""Traced NumPy at its edges: each traced call gives plain NumPy's value at the same
arguments (NumPy itself is the oracle, gradients are checked by central differences), or
raises TypeError naming the function; never a wrong value on a later call of the same path."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import needs_cc

import symgrad as sg

H = 1e-6


def fd_grad(f, x: np.ndarray) -> np.ndarray:
    """Central differences of a scalar function of one array."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = H
        g[i] = (f(x + e) - f(x - e)) / (2 * H)
    return g


def same_as_numpy(f, *calls, grad=True):
    """One traced function called on each argument in turn (one path, later calls reuse it)
    agrees with NumPy each time, and its gradient with central differences."""
    vg = sg.value_and_grad(f)
    for x in calls:
        value, g = vg(x)
        assert value == pytest.approx(f(x.copy()), rel=1e-12, abs=1e-12)
        if grad:
            np.testing.assert_allclose(g, fd_grad(f, x), rtol=1e-6, atol=1e-6)


# -- 1. np.linalg.norm ----------------------------------------------------------------------
M1 = np.array([[1.0, 0.0], [2.0, 0.0]])  # column and elementwise sums agree
M2 = np.array([[1.0, -2.0], [3.0, 4.5]])
M3 = np.array([[0.5, -2.0, 1.0], [3.0, 0.25, -4.0]])


@pytest.mark.parametrize("ord", [1, -1, np.inf, -np.inf, None, "fro"])
@pytest.mark.parametrize("axis", [None, (0, 1), (1, 0), (-1, -2)])
def test_matrix_norms_are_numpys(ord, axis):
    same_as_numpy(lambda A: np.linalg.norm(A, ord, axis=axis), M1, M2, M3)


@pytest.mark.parametrize("ord", [1, -np.inf, "fro"])
def test_matrix_norm_keepdims_and_stacks(ord):
    T = np.arange(1.0, 25.0).reshape(2, 3, 4) * np.array([1.0, -1.0, 0.5, 2.0])

    def f(A):
        r = np.linalg.norm(A, ord, axis=(2, 0), keepdims=True)
        assert np.shape(r) == (1, 3, 1)
        return np.sum(r * np.array([1.0, 2.0, 3.0])[None, :, None])

    same_as_numpy(f, T)


def test_vector_norm_minus_inf_is_min_abs():
    f = lambda v: np.linalg.norm(v, -np.inf)
    same_as_numpy(f, np.array([3.0, 1.0, 2.0]), np.array([3.0, 0.5, -2.0]))


def test_vector_norm_zero_counts_nonzeros():
    f = lambda v: np.linalg.norm(v, 0) + np.sum(v)
    vg = sg.value_and_grad(f)
    for x in (np.array([3.0, 1.0, 2.0]), np.array([0.0, -1.0, 0.0])):
        value, g = vg(x)
        assert value == f(x)
        np.testing.assert_array_equal(g, np.ones(3))  # the count has derivative 0


@pytest.mark.parametrize("ord", [-1, 3, 0.5, np.inf, 1, 2])
def test_vector_norms_along_an_axis(ord):
    same_as_numpy(lambda A: np.sum(np.linalg.norm(A, ord, axis=1)), M2, M3)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_singular_value_norms_raise(ord):
    with pytest.raises(TypeError, match="linalg.norm"):
        sg.value_and_grad(lambda A: np.linalg.norm(A, ord))(M2)


def test_norm_errors_are_numpys():
    with pytest.raises(ValueError, match="for vectors"):
        sg.value_and_grad(lambda v: np.linalg.norm(v, "fro"))(np.ones(3))
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        sg.value_and_grad(lambda v: np.linalg.norm(v, 1))(np.ones((2, 2, 2)))


@pytest.mark.parametrize("ord, axis, shape", [(1, (0, 1), (0, 3)), (np.inf, 1, (2, 0))])
def test_norm_max_of_an_empty_axis_is_zero(ord, axis, shape):
    f = lambda A: np.sum(np.linalg.norm(A, ord, axis=axis)) + np.sum(A)
    assert sg.value_and_grad(f)(np.zeros(shape))[0] == f(np.zeros(shape)) == 0.0


# -- 2. dtype= of reductions, astype --------------------------------------------------------
@pytest.mark.parametrize(
    "name, f",
    [
        ("numpy.sum", lambda v: np.sum(v, dtype=int)),
        ("numpy.cumsum", lambda v: np.cumsum(v, dtype=int)[-1]),
        ("numpy.prod", lambda v: np.prod(v, dtype=int)),
        ("numpy.mean", lambda v: np.mean(v, dtype=np.float32)),
        ("numpy.var", lambda v: np.var(v, dtype=np.float16)),
        ("numpy.sum", lambda v: v.sum(dtype=np.int32)),
        ("numpy.add.reduce", lambda v: np.add.reduce(v, dtype=np.float32)),
        ("numpy.multiply", lambda v: np.sum(np.multiply(v, v, dtype=np.float32))),
        ("astype", lambda v: np.sum(v.astype(np.float32) ** 2)),
        ("astype", lambda v: np.sum(v.astype(int))),
        ("full_like", lambda v: np.sum(np.full_like(v, 0.5, dtype=int) + v)),
    ],
)
def test_a_dtype_that_changes_the_value_raises(name, f):
    # whole numbers first: NumPy's answer and the float64 one agree, so only a refusal at
    # the trace keeps the second call from a wrong value
    vg = sg.value_and_grad(f)
    with pytest.raises(TypeError, match=name):
        vg(np.array([1.0, 2.0, 3.0]))
        vg(np.array([0.7, 1.6, 2.2]))


@pytest.mark.parametrize("dt", [None, float, np.float64, "f8", "float64"])
def test_float64_dtypes_trace(dt):
    f = lambda v: np.sum(v * v, dtype=dt) + np.mean(v, dtype=dt) + np.sum(v.astype(dt or float))
    same_as_numpy(f, np.array([0.7, 1.6, 2.2]))


# -- 3. floor division -----------------------------------------------------------------------
_FD = [0.0, -0.0, 0.5, -0.5, 1.5, -2.5, 0.1, -0.1, 0.3, -0.7, 3.5, 1e300, -1e-310, 5e-324]
_FD += [np.inf, -np.inf, np.nan, 2.4999999999999996, 0.49999999999999994, 7.0, -7.0]


@pytest.mark.parametrize(
    "backend",
    ["python", "numpy", pytest.param("c", marks=needs_cc)],
)
def test_floor_divide_is_numpys_bit_for_bit(backend, request):
    """x // d as NumPy computes it (from fmod), never floor(x / d): 0.5 // 0.1 is 4.0."""
    if backend == "c":
        request.getfixturevalue("c_cache")  # the test run's library cache, never the user's
    rng = np.random.default_rng(3)
    pairs = [(a, b) for a in _FD for b in _FD]
    A = np.array(
        [a for a, _ in pairs] + list(rng.normal(size=200) * 10.0 ** rng.integers(-4, 4, 200))
    )
    B = np.array(
        [b for _, b in pairs] + list(rng.normal(size=200) * 10.0 ** rng.integers(-4, 4, 200))
    )
    vg = sg.value_and_grad(lambda a, b: a // b, backend=backend)
    with np.errstate(all="ignore"):
        want = A // B
        got = np.array([vg(a, b)[0] for a, b in zip(A, B)])
    same = (got == want) & (np.signbit(got) == np.signbit(want)) | np.isnan(got) & np.isnan(want)
    assert same.all(), [(A[i], B[i], got[i], want[i]) for i in np.where(~same)[0][:5]]


def test_floor_divide_later_calls_and_gradient():
    f = lambda w, x: w * np.sum(x // 0.1) + np.sum(np.floor_divide(x, -0.3))
    vg = sg.value_and_grad(f, argnums=(0, 1))
    for x in (np.array([0.23, 0.47]), np.array([0.5, 1.5]), np.array([-0.6, 0.9])):
        value, (gw, gx) = vg(1.5, x)
        assert value == f(1.5, x)
        assert gw == np.sum(x // 0.1)
        np.testing.assert_array_equal(gx, np.zeros(2))  # piecewise constant in x


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 1 // 1e-310 overflows, as in NumPy
def test_divmod_is_numpys():
    vals = np.array([0.5, -1.5, 2.5, -0.7, 3.0, 0.0, 1e-310])
    for f in [
        lambda v: np.sum(np.divmod(v, 0.1)[0] * 3.0 + np.divmod(v, 0.1)[1]),
        lambda v: np.sum(divmod(v, -0.3)[1] * v),
        lambda v: sum(divmod(1.0, v[0])) + sum(divmod(v[1], v[2])),
    ]:
        vg = sg.value_and_grad(f)
        for x in (vals, vals[::-1].copy(), vals * 7.0):
            assert vg(x)[0] == f(x)


# -- 4. booleans --------------------------------------------------------------------------
def test_bool_plus_bool_is_logical_or():
    x1, x2 = np.array([2.0, -1.0, 3.0]), np.array([0.5, -1.0, 2.0])
    for f in [
        lambda v: np.sum(((v > 0) + (v < 1)) * v),
        lambda v: np.sum(np.add(v > 0, v < 1) * v),
        lambda v: ((v[0] > 0) + (v[1] < 1)) * v[2],
        lambda v: np.sum(((v > 0) + True) * v),
        lambda v: np.sum(((v > 0) + np.array([True, False, False])) * v),
        lambda v: np.sum(((v > 0) * (v < 1)) * v),  # and: the product, as in NumPy
        lambda v: np.sum(v > 0) * v[0] + np.sum((v > 0) + 1.0),  # counts and numbers
        lambda v: np.sum(np.add(v > 0, v < 1, dtype=float) * v),  # as numbers: 1 + 1 is 2
        lambda v: np.sum(np.subtract(v > 0, v < 1, dtype=float) * v),
    ]:
        same_as_numpy(f, x1, x2)


def test_products_of_bools_are_bools():
    """np.dot / @ / inner / vdot of two bool arrays is NumPy's bool (any of the ands)."""
    M = np.array([[1.0, -2.0, 3.0], [0.5, 2.0, -1.0]])
    for f in [
        lambda v: np.dot(v > 0, v < 1) * v[0],
        lambda v: ((v > 0) @ (v < 1)) * v[0],
        lambda v: np.sum((M > 0) @ (v < 1)) * v[1],
        lambda v: np.vdot(v > 0, v < 1) * v[2],
        lambda v: np.sum(np.inner(M > 0, v < 1)) * v[2],
        lambda v: np.sum(np.matmul(M > 0, v > 0)) * v[0],
        lambda v: np.dot(v > 0, v),  # bool with float: numbers
    ]:
        same_as_numpy(f, np.array([0.5, -1.0, 2.0]), np.array([2.0, 0.25, -3.0]))


@pytest.mark.parametrize(
    "f",
    [lambda v: np.sum((v > 0) - (v < 1)), lambda v: -(v[0] > 0) * v[1], lambda v: np.sum(-(v > 0))],
)
def test_bool_minus_bool_raises_as_numpy_does(f):
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(TypeError, match="numpy boolean"):
        f(x)
    with pytest.raises(TypeError, match="numpy boolean"):
        sg.value_and_grad(f)(x)


# -- 5. np.inner ------------------------------------------------------------------------------
@pytest.mark.parametrize("sb", [(3,), (4, 3), (2, 4, 3), (2, 1, 4, 3)])
@pytest.mark.parametrize("sa", [(3,), (2, 3), (2, 2, 3)])
def test_inner_contracts_the_last_axes(sa, sb):
    rng = np.random.default_rng(1)
    a, B1, B2 = rng.normal(size=sa), rng.normal(size=sb), rng.normal(size=sb)
    w = rng.normal(size=sa[:-1] + sb[:-1])
    f = lambda a, B: np.sum(np.inner(a, B) * w)
    vg = sg.value_and_grad(f, argnums=(0, 1))
    for B in (B1, B2):
        value, (ga, gB) = vg(a, B)
        assert value == pytest.approx(f(a, B), rel=1e-12)
        np.testing.assert_allclose(ga, fd_grad(lambda x, B=B: f(x, B), a), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(gB, fd_grad(lambda x: f(a, x), B), rtol=1e-6, atol=1e-7)


# -- 6. np.argsort with ties --------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::symgrad.tracing.RetraceWarning")
@pytest.mark.parametrize("kind", [None, "quicksort", "heapsort", "stable"])
@pytest.mark.parametrize("n", [5, 40, 300])
def test_argsort_ties_are_numpys(kind, n):
    rng = np.random.default_rng(n)
    weights = np.arange(n) ** 2.0
    f = lambda v: np.sum(np.argsort(v, kind=kind) * weights)
    vg = sg.value_and_grad(f)
    first = rng.permutation(n).astype(float)  # no ties
    assert vg(first)[0] == f(first)
    for _ in range(4):
        x = np.round(rng.normal(size=n) * 2)  # many ties
        assert vg(x)[0] == f(x)
        assert vg(x * 1.5)[0] == f(x * 1.5)  # the same ties: the same path


def test_argsort_stable_flag():
    x = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    f = lambda v: np.sum(np.argsort(v, stable=True) * np.arange(5.0) ** 2)
    assert sg.value_and_grad(f)(x)[0] == f(x)


# -- 7. sg.logsumexp of traced values --------------------------------------------------------
def _lse(v):
    m = np.max(v)
    return m + np.log(np.sum(np.exp(v - m)))


def test_logsumexp_of_traced_values():
    v = np.array([-1.0, 0.0, 2.0])
    softmax = np.exp(v - _lse(v))
    for f, want, grad in [
        (lambda v: sg.logsumexp(v), _lse(v), softmax),
        (lambda v: sg.logsumexp(list(v)), _lse(v), softmax),
        (lambda v: sg.logsumexp(v.reshape(1, 3)), _lse(v), softmax),
        (lambda v: sg.logsumexp([v[0], 1.0]), np.logaddexp(-1.0, 1.0), None),
    ]:
        value, g = sg.value_and_grad(f)(v)
        assert value == pytest.approx(want, rel=1e-14)
        if grad is None:  # d/dv0 log(e^v0 + e): the first term's softmax weight
            grad = np.array([1.0 / (1.0 + np.exp(1.0 - v[0])), 0.0, 0.0])
        np.testing.assert_allclose(g, grad, rtol=1e-12)


def test_logsumexp_refuses_array_terms():
    v = np.array([-1.0, 0.0, 2.0])
    with pytest.raises(TypeError, match="scalar terms"):
        sg.value_and_grad(lambda v: sg.logsumexp([v, v]))(v)
