"""Sparse Jacobians and Hessians: the structure is the true nonzero pattern (found numerically
by central differences, an independent oracle), the values equal central differences and the
dense forms, the colourings are valid star/distance-2 colourings and stay small."""

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symgrad as sg
from symgrad.autodiff import hessian, jacobian
from symgrad.autodiff.sparsity import column_colouring, star_colouring

# -- problems with a known pattern ----------------------------------------------------------


def banded(n, k):
    return {(i, j) for i in range(n) for j in range(max(0, i - k), min(n, i + k + 1))}


def block(n, b):
    return {(i, j) for i in range(n) for j in range(n) if i // b == j // b}


def arrow(n):
    return {(i, i) for i in range(n)} | {(0, j) for j in range(n)} | {(j, 0) for j in range(n)}


def random_pattern(n, p, seed):
    rng = random.Random(seed)
    edges = {(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p}
    return edges | {(j, i) for i, j in edges} | {(i, i) for i in range(n) if rng.random() < 0.7}


PATTERNS = {
    "tridiagonal": banded(12, 1),
    "pentadiagonal": banded(12, 2),
    "block": block(12, 3),
    "arrow": arrow(12),
    "random": random_pattern(12, 0.2, 1),
}


def function_with_hessian(pattern, xs):
    """f with exactly this Hessian pattern: a cubic per diagonal entry, a bilinear coupling per
    edge (sin(x_i x_j) would also fill the diagonal)."""
    f = 0.0
    for i, j in sorted(pattern):
        if i == j:
            f = f + 0.3 * (i + 1) * xs[i] ** 3
        elif i < j:
            f = f + (0.5 + 0.1 * i) * xs[i] * xs[j]
    return f


def outputs_with_jacobian(pattern, xs, m):
    terms = [[] for _ in range(m)]
    for i, j in sorted(pattern):
        terms[i].append(sg.tanh((0.5 + 0.1 * i) * xs[j] + 0.2 * j))
    return [sum(t, 0.0) for t in terms]


def point(n, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, n)


def fd_hessian(fn, x, h=1e-4):
    n = len(x)
    out = np.zeros((n, n))

    def at(i, j, si, sj):
        y = x.copy()
        y[i] += si * h
        y[j] += sj * h
        return fn(y.tolist())[0]

    for i, j in itertools.product(range(n), repeat=2):
        out[i, j] = (at(i, j, 1, 1) - at(i, j, 1, -1) - at(i, j, -1, 1) + at(i, j, -1, -1)) / (
            4 * h * h
        )
    return out


def fd_jacobian(fn, x, h=1e-6):
    cols = []
    for j in range(len(x)):
        hi, lo = x.copy(), x.copy()
        hi[j] += h
        lo[j] -= h
        cols.append((np.array(fn(hi.tolist())) - np.array(fn(lo.tolist()))) / (2 * h))
    return np.array(cols).T


def dense_of(sp, values):
    out = np.zeros(sp.shape)
    for i, j, v in zip(sp.rows, sp.cols, values):
        out[i, j] = v
    return out


# -- Hessians -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_sparse_hessian_pattern_and_values_match_finite_differences(name):
    pattern = PATTERNS[name]
    xs = list(sg.symbols("x0:12"))
    f = function_with_hessian(pattern, xs)
    H = hessian(f, xs, sparse=True)
    assert set(zip(H.rows, H.cols)) == pattern
    assert list(zip(H.rows, H.cols)) == sorted(pattern)  # row-major
    x = point(12)
    fd = fd_hessian(sg.compile([xs], [f]), x)
    assert {(i, j) for i, j in zip(*np.nonzero(np.abs(fd) > 1e-6))} == pattern  # the truth
    got = dense_of(H, sg.compile([xs], H.values)(x.tolist()))
    np.testing.assert_allclose(got, fd, atol=2e-5, rtol=1e-5)
    dense = np.array(sg.compile([xs], hessian(f, xs))(x.tolist()))
    np.testing.assert_allclose(got, dense, rtol=1e-13, atol=1e-13)


def test_each_hessian_entry_is_built_once():
    pattern = PATTERNS["random"]
    xs = list(sg.symbols("x0:12"))
    f = function_with_hessian(pattern, xs)
    H = hessian(f, xs, sparse=True)
    where = {(i, j): v for i, j, v in zip(H.rows, H.cols, H.values)}
    assert all(where[i, j] is where[j, i] for i, j in where)
    D = hessian(f, xs)
    assert all(D[i][j] is D[j][i] for i in range(12) for j in range(12))


@pytest.mark.parametrize("n", [3, 10, 1000])
def test_tridiagonal_hessian_takes_at_most_three_colours(n):
    xs = list(sg.symbols(f"x0:{n}"))
    f = sum(((1.0 - xs[i]) ** 2 + 100.0 * (xs[i + 1] - xs[i] ** 2) ** 2 for i in range(n - 1)), 0.0)
    H = hessian(f, xs, sparse=True)
    assert H.colors <= 3 and H.nnz == 3 * n - 2


def test_arrow_hessian_takes_two_colours():
    xs = list(sg.symbols("x0:40"))
    H = hessian(function_with_hessian(arrow(40), xs), xs, sparse=True)
    assert H.colors == 2


def test_constant_and_linear_functions_have_empty_hessians():
    xs = list(sg.symbols("x0:4"))
    for f in (sg.ir.const(2.0), xs[0] + 3 * xs[1]):
        H = hessian(f, xs, sparse=True)
        assert H.nnz == 0 and H.shape == (4, 4)


def test_where_condition_carries_no_structure():
    x, y = sg.symbols("x y")
    H = hessian(sg.where(x > 0, y * y, -y), [x, y], sparse=True)
    assert list(zip(H.rows, H.cols)) == [(1, 1)]


def is_star_colouring(adj, colour):
    """Brute force: adjacent vertices differ, no path on 4 vertices has only 2 colours."""
    for v, nb in enumerate(adj):
        if any(colour[v] == colour[w] for w in nb):
            return False
    for a, nb in enumerate(adj):
        for b in nb:
            for c in adj[b]:
                if c == a:
                    continue
                for d in adj[c]:
                    if d not in (a, b) and len({colour[a], colour[b], colour[c], colour[d]}) == 2:
                        return False
    return True


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 25), st.floats(0.05, 0.6), st.integers(0, 10**6))
def test_star_colouring_is_a_star_colouring(n, p, seed):
    pattern = random_pattern(n, p, seed)
    adj = [sorted(j for i2, j in pattern if i2 == i and j != i) for i in range(n)]
    assert is_star_colouring(adj, star_colouring(adj))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 9), st.floats(0.1, 0.7), st.integers(0, 10**6))
def test_random_sparse_hessians_equal_dense(n, p, seed):
    pattern = random_pattern(n, p, seed)
    xs = list(sg.symbols(f"x0:{n}"))
    f = function_with_hessian(pattern, xs) + 0.0 * xs[0]
    H = hessian(f, xs, sparse=True)
    assert set(zip(H.rows, H.cols)) == pattern
    x = point(n, seed)
    got = dense_of(H, sg.evaluate(H.values, dict(zip(xs, x.tolist()))))
    want = np.array(sg.evaluate(hessian(f, xs), dict(zip(xs, x.tolist()))))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# -- Jacobians ------------------------------------------------------------------------------


def rect(m, n, seed):
    rng = random.Random(seed)
    return {(i, j) for i in range(m) for j in range(n) if rng.random() < 0.25} | {(0, 0)}


JAC_PATTERNS = {
    "banded": (banded(12, 1), 12),
    "block": (block(12, 4), 12),
    "arrow": (arrow(12), 12),
    "dense row": ({(0, j) for j in range(12)} | {(i, i) for i in range(12)}, 12),
    "random": (rect(9, 12, 4), 9),
}


@pytest.mark.parametrize("name", sorted(JAC_PATTERNS))
@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_sparse_jacobian_pattern_and_values_match_finite_differences(name, backend):
    pattern, m = JAC_PATTERNS[name]
    xs = list(sg.symbols("x0:12"))
    fs = outputs_with_jacobian(pattern, xs, m)
    J = jacobian(fs, xs, sparse=True)
    assert list(zip(J.rows, J.cols)) == sorted(pattern)
    x = point(12, 2)
    fd = fd_jacobian(sg.compile([xs], fs), x)
    assert {(i, j) for i, j in zip(*np.nonzero(np.abs(fd) > 1e-8))} == pattern
    got = dense_of(J, sg.compile([xs], J.values, backend=backend)(x.tolist()))
    np.testing.assert_allclose(got, fd, atol=1e-7, rtol=1e-6)


def test_jacobian_colours():
    xs = list(sg.symbols("x0:30"))
    tri = jacobian(outputs_with_jacobian(banded(30, 1), xs, 30), xs, sparse=True)
    assert tri.colors == 3  # a tridiagonal Jacobian: three columns per product
    row = {(0, j) for j in range(30)} | {(i, i) for i in range(30)}
    dense_row = jacobian(outputs_with_jacobian(row, xs, 30), xs, sparse=True)
    assert dense_row.colors == 2  # rows compress (vjp per colour); columns would take 30


def test_column_colouring_separates_columns_that_share_a_row():
    rows = [[0, 1], [1, 2], [2, 3], [0, 3]]
    colour = column_colouring(rows, 4)
    assert all(colour[a] != colour[b] for r in rows for a in r for b in r if a != b)


def test_sparse_shape_and_dense_view():
    x, y = sg.symbols("x y")
    J = jacobian([x * y, sg.ir.const(1.0), sg.sin(y)], [x, y], sparse=True)
    assert J.shape == (3, 2) and J.rows == (0, 0, 2) and J.cols == (0, 1, 1)
    assert J.indptr == (0, 2, 2, 3)
    zero = sg.ir.const(0.0)
    assert J.to_dense() == [[y, x], [zero, zero], [zero, sg.cos(y)]]


def test_entries_that_are_the_constant_zero_are_left_out():
    """1 + 0*x depends on x (0*inf is nan, so 0*x stays), but its derivative is the constant
    0: structurally zero, not an entry (the compiled csr_array stored explicit zeros)."""
    x, y = sg.symbols("x y")
    s = sg.jacobian([1.0 + 0 * x, x * y], [x, y], sparse=True)
    assert list(zip(s.rows, s.cols)) == [(1, 0), (1, 1)]
    assert s.values == [y, x]
    h = sg.hessian(x * y + 0 * (x * x), [x, y], sparse=True)
    assert list(zip(h.rows, h.cols)) == [(0, 1), (1, 0)]
