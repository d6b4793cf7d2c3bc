"""benchmarks/sparse_hessian.py's oracles are right (central differences of the function
itself), its symgrad rows cross-check, and its report states targets from the figures given."""

import numpy as np
import pytest

from benchmarks import sparse_hessian as S
from benchmarks import sparse_problems as P


def f_np(x):
    return P.rosenbrock_np(x, np.sum)


def central(x, i, j, h=1e-4):
    def at(di, dj):
        y = x.copy()
        y[i] += di
        y[j] += dj
        return f_np(y)

    return (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)


def test_hand_written_hessian_matches_central_differences():
    x = P.point(8)
    rows, cols = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    rows, cols = rows.ravel(), cols.ravel()
    mask = np.minimum(rows, cols) // 2 == np.maximum(rows, cols) // 2  # the 2x2 blocks
    want = np.array([central(x, i, j) for i, j in zip(rows[mask], cols[mask])])
    np.testing.assert_allclose(S.hand_entries(x, rows[mask], cols[mask]), want, rtol=1e-5)
    outside = [central(x, i, j) for i, j in zip(rows[~mask], cols[~mask])]
    assert np.max(np.abs(outside)) < 1e-4  # and nothing outside them (rounding noise only)
    v = np.random.default_rng(3).normal(size=8)
    dense = np.zeros((8, 8))
    dense[rows[mask], cols[mask]] = want
    np.testing.assert_allclose(P.hand_hessian_times(x, v), dense @ v, rtol=1e-5, atol=1e-6)


def test_symgrad_row_cross_checks():
    pytest.importorskip("scipy.sparse")
    r = S.symgrad_hessian(20, "python", 1)
    assert r["err"] < 1e-14 and r["colors"] == 2 and r["nnz"] == 40


def test_targets_follow_the_figures():
    rows = [
        {"n": 10_000, "system": "symgrad c", "setup": 6.0, "eval": 1e-4, "flat": 2e-5},
        {"n": 10_000, "system": "CasADi SX hessian", "setup": 0.5, "eval": 2e-4},
        {"n": 1_000, "system": "symgrad c", "setup": 1.0, "eval": 1e-5, "flat": 1e-6},
        {"n": 1_000, "system": "jax.jit(jax.hessian)", "setup": 0.5, "eval": 5e-3},
    ]
    hvp = {"n": 100_000, "symgrad": {"hvp_eval": 3.0, "grad_eval": 1.0}, "jax": {"eval": 1.0}}
    out = "\n".join(S.targets({"rows": rows, "hvp": hvp}))
    assert "setup under 5 s (symgrad c): 6.00 s, **missed**" in out
    assert "no slower than CasADi's" in out and "**met**" in out
    assert "500x" in out
    assert "3.00x: **met**" in out  # under 4x the gradient
    assert "3.00x JAX's time: **missed**" in out
    assert "CasADi SX hessian wins at n = 10,000 in setup: 500 ms against symgrad c 6.00 s" in out
    assert "jax.jit(jax.hessian) wins at n = 1,000 in setup" in out
    assert "wins at n = 10,000 in eval" not in out
