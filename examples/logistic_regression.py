"""Logistic regression on 5,000 rows with batch_argnums: data sets are not symbols.

The loss is written for ONE sample, in plain NumPy. ``batch_argnums=(1, 2)`` says that
arguments 1 and 2 (the features and the label) carry a leading batch axis: symgrad traces the
per-sample loss once (a few dozen nodes, however many rows there are), compiles it with a
batched backend (C when a compiler is found, else NumPy), and folds value and gradients over
the rows with ``reduce="mean"``. The old way, tracing a loss over the whole data array,
unrolls every row into symbols; this example times both.
"""

import time

import numpy as np

import symgrad as sg


def sample_loss(params, x, t):
    """Negative log-likelihood of one sample: log(1 + exp(-s z)) with s = +-1."""
    z = x @ params["w"] + params["b"]
    return np.logaddexp(0.0, -(2.0 * t - 1.0) * z)


rng = np.random.default_rng(0)
n, d = 5_000, 3
w_true, b_true = np.array([2.0, -1.0, 0.5]), -0.3
X = rng.normal(size=(n, d))
y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ w_true + b_true)))).astype(float)

vg = sg.value_and_grad(sample_loss, batch_argnums=(1, 2), reduce="mean")
params = {"w": np.zeros(d), "b": 0.0}
start = time.perf_counter()
value, g = vg(params, X, y)
first = time.perf_counter() - start
print(f"first call, {n:,} rows (trace + compile, {vg.backend} backend): {first:.3f} s")
vn = sg.value_and_grad(sample_loss, batch_argnums=(1, 2), reduce="mean", backend="numpy")
start = time.perf_counter()
vn(params, X, y)
print(
    f"first call, {n:,} rows (trace + compile, numpy backend): {time.perf_counter() - start:.3f} s"
)

start = time.perf_counter()
for step in range(300):
    value, g = vg(params, X, y)
    params = {"w": params["w"] - 1.0 * g["w"], "b": params["b"] - 1.0 * g["b"]}
    if step % 100 == 0:
        print(f"step {step:3d}   mean loss {value:.5f}")
steps = time.perf_counter() - start
print(f"300 full-batch steps: {steps:.3f} s ({steps / 300 * 1e3:.2f} ms a step)")
print(f"learned w = {np.round(params['w'], 2)}, b = {params['b']:.2f} (true {w_true}, {b_true})")
assert vg.traces == 1

# The compiled value and gradient against NumPy's closed form on the same rows.
value, g = vg(params, X, y)
z = X @ params["w"] + params["b"]
p = 1 / (1 + np.exp(-z))
assert np.isclose(value, np.mean(np.logaddexp(0.0, -(2 * y - 1) * z)), rtol=1e-12)
assert np.allclose(g["w"], X.T @ (p - y) / n, rtol=1e-10, atol=1e-13)
assert np.isclose(g["b"], np.mean(p - y), rtol=1e-10, atol=1e-13)
print("value and gradient match NumPy's closed form X^T (sigmoid(z) - y) / n")


# The way it replaces: a loss over the whole data array, every row unrolled into symbols.
def full_loss(params, X, y):
    z = X @ params["w"] + params["b"]
    return np.mean(np.logaddexp(0.0, -(2.0 * y - 1.0) * z))


rows = 500  # a tenth of the data: the unrolled way grows with the rows
start = time.perf_counter()
unrolled = sg.value_and_grad(full_loss, backend="numpy")
u_value, u_g = unrolled(params, X[:rows], y[:rows])
u_first = time.perf_counter() - start
b_value, b_g = vg(params, X[:rows], y[:rows])
assert np.isclose(u_value, b_value, rtol=1e-12) and np.allclose(u_g["w"], b_g["w"], rtol=1e-10)
print(
    f"unrolled into symbols instead: first call {u_first:.3f} s for {rows} rows "
    f"({unrolled.compiled.stats['ops']:,} ops; batch_argnums: "
    f"{vg.compiled.stats['ops']} ops for any number of rows)"
)
