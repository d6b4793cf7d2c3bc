"""The phased form only where its kernels compile quickly (``mixed.kernels_small``): a loss
over a data set closed over as constants (no batch axis) has small products (one sample's
row times the weights) beside a large straight-line softmax per sample; as phased kernels GCC
took minutes on it (300 samples: past 10 minutes), so it takes another form, with the Python
backend's values."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg
from symgrad.backends.c import mixed

pytestmark = pytest.mark.skipif(
    __import__("shutil").which("cc") is None and __import__("shutil").which("gcc") is None,
    reason="needs a C compiler",
)


def _cross_entropy(n: int):
    """Mean softmax cross-entropy of ``X @ W + b`` over ``n`` constant samples (one-hot
    labels), its gradient w.r.t. W and b, and a point."""
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(n, 20)), rng.integers(0, 5, n)
    w, b = list(sg.symbols("w0:100")), list(sg.symbols("b0:5"))
    z = X @ np.array(w, dtype=object).reshape(20, 5) + np.array(b, dtype=object)
    total = 0.0
    for i in range(n):
        m = z[i, 0]
        for v in z[i, 1:]:
            m = sg.maximum(m, v)
        lse = m + sg.log(sum(sg.exp(v - m) for v in z[i]))
        total = total + lse - z[i, labels[i]]
    f = total / n
    point = [rng.normal(size=100) * 0.1, rng.normal(size=5) * 0.1]
    return [w, b], [f, sg.gradient(f, w + b)], point


def test_a_large_straight_softmax_beside_small_products_is_not_phased():
    inputs, outputs, (W, B) = _cross_entropy(40)
    fn = sg.compile(inputs, outputs, backend="c")
    assert "symgrad-plan" not in fn.source  # phased, GCC took ~10 s on its kernels here
    value, grad = fn(W, B)
    want_value, want_grad = sg.compile(inputs, outputs)(list(W), list(B))
    assert value == pytest.approx(want_value, rel=1e-13)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)


def test_wide_products_keep_the_phased_form_past_the_kernel_limit(monkeypatch):
    """Past MAX_KERNEL_OPS the phased form stays where the products outweigh the kernels, and
    is left (with the same values) where they do not."""
    sizes = (8, 24, 24, 4)
    k = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    p, x = list(sg.symbols(f"p0:{k}")), list(sg.symbols("x0:8"))
    from benchmarks.workloads import dense_forward

    f = sum(v * v for v in dense_forward(p, x, sg.tanh, sizes))
    outs = [f, np.array(sg.gradient(f, p), dtype=object)]
    rng = np.random.default_rng(2)
    P, X = rng.uniform(-0.5, 0.5, k), rng.uniform(-1, 1, (9, 8))
    want = sg.compile([p, x], outs, backend="numpy", reduce="sum")(P, X)
    monkeypatch.setattr(mixed, "MAX_KERNEL_OPS", 1)  # its kernels have 3
    kept = sg.compile([p, x], outs, backend="c", reduce="sum")
    monkeypatch.setattr(mixed, "MACS_PER_KERNEL_OP", 10**9)
    left = sg.compile([p, x], outs, backend="c", reduce="sum")
    assert "symgrad-plan" in kept.source and "symgrad-plan" not in left.source
    for fn in (kept, left):
        value, grad = fn(P, X)
        assert value == pytest.approx(want[0], rel=1e-12)
        np.testing.assert_allclose(grad, want[1], rtol=1e-10, atol=1e-13)
