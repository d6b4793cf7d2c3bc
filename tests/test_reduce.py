"""Batch reductions of the NumPy backend: reduce="sum"/"mean" equal the sum/mean of the
per-sample results, on random expressions, for batches of shape (B,) and (B1, B2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import symgrad as sg

# Bounded ops only, so every per-sample value is finite and sums are well conditioned.
UNARY = [sg.sin, sg.cos, sg.tanh, sg.sigmoid, lambda a: sg.exp(sg.tanh(a)), sg.softplus]
BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: sg.maximum(a, b),
    lambda a, b: sg.where(sg.ir.as_expr(a) < b, a, b * 0.5),  # a may be a float: no bool
]


@st.composite
def programs(draw):
    """A random DAG as a list of instructions over earlier nodes (built iteratively)."""
    steps = draw(st.integers(1, 12))
    prog = []
    for k in range(steps):
        n_prev = 5 + k  # x, y, w, b and one constant come first
        if draw(st.booleans()):
            prog.append(
                ("u", draw(st.integers(0, len(UNARY) - 1)), draw(st.integers(0, n_prev - 1)))
            )
        else:
            i = draw(st.integers(0, n_prev - 1))
            j = draw(st.integers(0, n_prev - 1))
            prog.append(("b", draw(st.integers(0, len(BINARY) - 1)), i, j))
    return prog


def build(prog, x, y, w, b):
    nodes = [x, y, w, b, 1.5]
    for step in prog:
        if step[0] == "u":
            nodes.append(UNARY[step[1]](nodes[step[2]]))
        else:
            nodes.append(BINARY[step[1]](nodes[step[2]], nodes[step[3]]))
    return nodes


def _close(a, b, scale):
    return abs(a - b) <= 1e-12 * max(scale, 1.0)


SHAPES = {
    "B": ((7,), (7,)),  # x and y both batched along one axis
    "B1xB2": ((3, 4), (3, 4)),
    "broadcast": ((3, 1), (4,)),  # x and y broadcast to a (3, 4) batch
}


@pytest.mark.parametrize("shape", list(SHAPES))
@given(prog=programs(), seed=st.integers(0, 2**32 - 1))
def test_reductions_equal_sum_and_mean_of_per_sample_results(shape, prog, seed):
    x, y, w, b = sg.symbols("x y w b")
    nodes = build(prog, x, y, w, b)
    # Outputs in a nested structure; include a batch-free one (w only) and a constant.
    outputs = [nodes[-1], [nodes[len(nodes) // 2], w * w + b], 2.5]
    inputs = [x, y, [w, b]]
    plain = sg.compile(inputs, outputs, backend="numpy")
    summed = sg.compile(inputs, outputs, backend="numpy", reduce="sum")
    meaned = sg.compile(inputs, outputs, backend="numpy", reduce="mean")
    per_sample = sg.compile(inputs, outputs)  # the scalar Python backend, one sample at a time

    rng = np.random.default_rng(seed)
    xs, ys = SHAPES[shape]
    X, Y = rng.uniform(-2, 2, xs), rng.uniform(-2, 2, ys)
    WB = rng.uniform(-2, 2, 2)
    batch = np.broadcast_shapes(xs, ys)
    Xb, Yb = np.broadcast_to(X, batch), np.broadcast_to(Y, batch)

    samples = [per_sample(Xb[i], Yb[i], WB) for i in np.ndindex(*batch)]
    leaves = [[s[0], s[1][0], s[1][1], s[2]] for s in samples]
    got_sum, got_mean, got_plain = (fn(X, Y, WB) for fn in (summed, meaned, plain))
    assert isinstance(got_sum, list) and isinstance(got_sum[1], list)
    flat_sum = [got_sum[0], got_sum[1][0], got_sum[1][1], got_sum[2]]
    flat_mean = [got_mean[0], got_mean[1][0], got_mean[1][1], got_mean[2]]
    flat_plain = [got_plain[0], got_plain[1][0], got_plain[1][1], got_plain[2]]
    n = math.prod(batch)
    for k in range(4):
        col = [row[k] for row in leaves]
        scale = math.fsum(abs(v) for v in col)
        assert np.shape(flat_sum[k]) == () and np.shape(flat_mean[k]) == ()
        assert flat_plain[k].shape == batch
        assert _close(float(flat_sum[k]), math.fsum(col), scale)
        assert _close(float(flat_mean[k]), math.fsum(col) / n, scale / n)
        assert _close(float(flat_sum[k]), float(np.sum(flat_plain[k])), scale)


def test_batch_free_output_counts_once_per_sample():
    x, w = sg.symbols("x w")
    fn = sg.compile([x, w], [w * 2.0, x + w], backend="numpy", reduce="sum")
    total_w, total = fn(np.arange(5.0), 1.5)
    assert total_w == pytest.approx(5 * 3.0, rel=1e-15)
    assert total == pytest.approx(10.0 + 5 * 1.5, rel=1e-15)
    assert fn.reduce == "sum"


def test_reduction_of_gradient_is_the_data_sets_summed_gradient():
    w, b, x, y = sg.symbols("w b x y")
    loss = (sg.tanh(w * x + b) - y) ** 2
    fn = sg.compile(
        [[w, b], x, y], [loss, sg.gradient(loss, [w, b])], backend="numpy", reduce="sum"
    )
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=50), rng.normal(size=50)
    value, (gw, gb) = fn([0.3, -0.2], X, Y)
    t = np.tanh(0.3 * X - 0.2)
    assert value == pytest.approx(np.sum((t - Y) ** 2), rel=1e-12)
    assert gw == pytest.approx(np.sum(2 * (t - Y) * (1 - t * t) * X), rel=1e-12)
    assert gb == pytest.approx(np.sum(2 * (t - Y) * (1 - t * t)), rel=1e-12)


def test_reduce_rejects_bad_values():
    x = sg.Symbol("x")
    with pytest.raises(ValueError, match="reduce"):
        sg.compile([x], x, backend="numpy", reduce="max")
    with pytest.raises(ValueError, match="numpy"):
        sg.compile([x], x, reduce="sum")


@pytest.mark.parametrize(
    "xs, ys",
    [((5000,), (5000,)), ((3001, 2), (2,)), ((1, 3), (4099, 1)), ((2500, 3), (2500, 3))],
)
def test_long_batches_run_in_blocks_and_still_sum_exactly(xs, ys):
    """Batches longer than a block (2048 samples) are summed block by block."""
    x, y, w = sg.symbols("x y w")
    e = sg.tanh(w * x + y) * x
    outputs = [e, [e * y, w * w, sg.sigmoid(x - y)]]
    plain = sg.compile([x, y, w], outputs, backend="numpy")
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=xs), rng.normal(size=ys)
    per = plain(X, Y, 0.7)
    flat_per = [per[0], *per[1]]
    for reduce, agg in (("sum", np.sum), ("mean", np.mean)):
        fn = sg.compile([x, y, w], outputs, backend="numpy", reduce=reduce)
        if reduce == "sum":
            assert "_chunk_rows" in fn.source
        got = fn(X, Y, 0.7)
        for g, p in zip([got[0], *got[1]], flat_per):
            scale = float(agg(np.abs(p)))
            assert abs(float(g) - float(agg(p))) <= 1e-12 * max(scale, 1.0)
