"""The tutorial's MLP loss and gradient over a chunked Dask array, on a local cluster.

One per-sample loss is compiled once (backend="numpy", reduce="sum"). sg.dask sends the
compiled function to the workers (it pickles by its generated source), runs it on every block
of the chunked data and adds the block sums. The total equals one reduce="sum" call on all the
data in one process. Needs the extra: pip install "symgrad[dask]".
"""

import sys
import time

import numpy as np

import symgrad as sg

try:
    import dask.array as da
    from distributed import Client, LocalCluster
except ImportError:
    sys.exit(sg.dask.INSTALL_HINT)


def mlp_loss():
    """Per-sample squared error of the tutorial's MLP called on symbols: (params, x, y, loss)."""
    model = sg.nn.MLP(3, [8, 8, 1])  # tanh hidden layers, linear output
    x = list(sg.symbols("x0:3"))
    y = sg.Symbol("y")
    return model.symbols(), x, y, (model(x) - y) ** 2


def main() -> None:
    params, x, y, loss = mlp_loss()
    fn = sg.compile(
        [params, x, y], [loss, sg.gradient(loss, params)], backend="numpy", reduce="sum"
    )
    rng = np.random.default_rng(0)
    n = 200_000
    X = rng.uniform(-5, 5, (n, 3))
    Y = 0.04 * X[:, 0] ** 2 + 0.07 * X[:, 1] * X[:, 0] - X[:, 2] + rng.normal(0, 1, n) / 5
    theta = rng.uniform(-1, 1, len(params))

    ref_value, ref_grad = fn(theta, X, Y)  # one call, one process, all the data

    # Two worker processes on the loopback interface: the compiled function really travels.
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        dX = da.from_array(X, chunks=(25_000, 3))
        dY = da.from_array(Y, chunks=25_000)
        t0 = time.perf_counter()
        value, grad = sg.dask.value_and_grad_sum(fn, theta, dX, dY)
        elapsed = time.perf_counter() - t0
        workers = len(client.scheduler_info()["workers"])
    print(f"{n:,} samples in {dX.numblocks[0]} blocks on {workers} workers: {elapsed:.2f} s")

    grad, ref_grad = np.asarray(grad), np.asarray(ref_grad, dtype=float)
    rel_value = abs(value - ref_value) / abs(ref_value)
    rel_grad = np.max(np.abs(grad - ref_grad)) / np.max(np.abs(ref_grad))
    print(f"total loss   dask {value:.15g}   one call {float(ref_value):.15g}")
    print(f"relative difference: loss {rel_value:.1e}, gradient {rel_grad:.1e} (max norm)")
    assert rel_value <= 1e-12 and rel_grad <= 1e-12, "Dask result differs from one call"
    print("equal to one reduce='sum' call to 1e-12 relative")


if __name__ == "__main__":  # worker processes import this file; only the parent runs main
    main()
