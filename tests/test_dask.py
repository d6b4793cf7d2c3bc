"""sg.dask: a compiled function over chunked Dask arrays equals one reduce="sum" call."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import symgrad as sg

REASON = 'Dask is not installed; install the extra with: pip install "symgrad[dask]"'


def _loss():
    w = list(sg.symbols("w0:3"))
    b, y = sg.symbols("b y")
    x = list(sg.symbols("x0:3"))
    z = sg.tanh(sum(wi * xi for wi, xi in zip(w, x)) + b)
    loss = (z - y) ** 2
    return [[*w, b], x, y], [loss, sg.gradient(loss, [*w, b])]


def _data(n=1003, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 3))
    Y = np.sin(X[:, 0]) - 0.5 * X[:, 2]
    return np.array([0.3, -0.4, 0.8, 0.1]), X, Y


def _assert_equal_to_1e12(got, ref):
    value, grad = got
    rv, rg = ref
    assert value == pytest.approx(float(rv), rel=1e-12)
    scale = max(abs(float(g)) for g in rg)
    for a, b in zip(grad, rg):
        assert abs(a - float(b)) <= 1e-12 * max(abs(float(b)), scale)


def test_missing_dask_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    inputs, outputs = _loss()
    fn = sg.compile(inputs, outputs, backend="numpy", reduce="sum")
    with pytest.raises(ImportError, match=r'pip install "symgrad\[dask\]"'):
        sg.dask.value_and_grad_sum(fn, *_data())


@pytest.mark.parametrize("reduce", ["sum", None])
def test_blocks_sum_to_one_reduce_sum_call(reduce):
    da = pytest.importorskip("dask.array", reason=REASON)
    inputs, outputs = _loss()
    ref_fn = sg.compile(inputs, outputs, backend="numpy", reduce="sum")
    fn = sg.compile(inputs, outputs, backend="numpy", reduce=reduce)
    P, X, Y = _data()
    ref = ref_fn(P, X, Y)
    # Uneven chunks that differ between the two arrays: blockwise aligns them.
    dX, dY = da.from_array(X, chunks=(250, 3)), da.from_array(Y, chunks=400)
    got = sg.dask.value_and_grad_sum(fn, P, dX, dY, scheduler="threads")
    assert isinstance(got, list) and len(got[1]) == 4
    _assert_equal_to_1e12(got, ref)
    lazy = sg.dask.sum_blocks(fn, P, dX, dY)
    assert lazy.shape == (5,)


def test_rejects_mean_and_non_numpy_functions():
    da = pytest.importorskip("dask.array", reason=REASON)
    inputs, outputs = _loss()
    P, X, Y = _data(20)
    dX, dY = da.from_array(X, chunks=(5, 3)), da.from_array(Y, chunks=5)
    with pytest.raises(ValueError, match="reduce='sum'"):
        sg.dask.value_and_grad_sum(
            sg.compile(inputs, outputs, backend="numpy", reduce="mean"), P, dX, dY
        )
    with pytest.raises(TypeError, match="backend='numpy'"):
        sg.dask.value_and_grad_sum(sg.compile(inputs, outputs), P, dX, dY)
    with pytest.raises(ValueError, match="sample axis"):
        sg.dask.value_and_grad_sum(
            sg.compile(inputs, outputs, backend="numpy", reduce="sum"), P, dX, dY[:10]
        )


def test_distributed_cluster_of_two_workers():
    pytest.importorskip("dask.array", reason=REASON)
    distributed = pytest.importorskip("distributed", reason=REASON)
    import dask.array as da

    inputs, outputs = _loss()
    fn = sg.compile(inputs, outputs, backend="numpy", reduce="sum")
    P, X, Y = _data(2000, seed=3)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        got = sg.dask.value_and_grad_sum(
            fn, P, da.from_array(X, chunks=(500, 3)), da.from_array(Y, chunks=500)
        )
    _assert_equal_to_1e12(got, fn(P, X, Y))
