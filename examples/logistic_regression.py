"""Logistic regression with sg.value_and_grad over NumPy arrays.

The loss is an ordinary NumPy-style function of a parameter dict and the data arrays.
sg.value_and_grad calls it once with object arrays of symbols in place of the arrays, compiles
the value and gradient, and reuses that code for every later call with arrays of the same
shapes: new data (here, each mini-batch) never retraces.
"""

import numpy as np

import symgrad as sg


def loss(params, X, y):
    """Mean negative log-likelihood; softplus(-s) = -log(sigmoid(s)), stable for any s."""
    z = X @ params["w"] + params["b"]  # an object array of expressions while tracing
    signed = (2.0 * y - 1.0) * z  # labels 0/1 -> -1/+1
    return sum(sg.softplus(-s) for s in signed) / len(y)


rng = np.random.default_rng(0)
d, n, batch = 3, 3_000, 100
w_true, b_true = np.array([2.0, -1.0, 0.5]), -0.3
X_all = rng.normal(size=(n, d))
y_all = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X_all @ w_true + b_true)))).astype(float)

vg = sg.value_and_grad(loss)  # gradient with respect to argument 0, the parameter dict
params = {"w": np.zeros(d), "b": 0.0}
lr = 0.5
for epoch in range(15):
    order = rng.permutation(n)
    for start in range(0, n, batch):
        idx = order[start : start + batch]
        value, g = vg(params, X_all[idx], y_all[idx])
        params = {"w": params["w"] - lr * g["w"], "b": params["b"] - lr * g["b"]}
    if epoch % 5 == 0 or epoch == 14:
        print(f"epoch {epoch:2d}   mini-batch loss {value:.4f}")

print(f"traced {vg.traces} time(s) for {15 * n // batch} calls")
print(
    f"learned w = {np.round(params['w'], 2)}, b = {params['b']:.2f}   "
    f"(true w = {w_true}, b = {b_true})"
)

# Check the compiled gradient against the closed form X^T (sigmoid(z) - y) / n on a batch.
Xb, yb = X_all[:batch], y_all[:batch]
value, g = vg(params, Xb, yb)
p = 1 / (1 + np.exp(-(Xb @ params["w"] + params["b"])))
assert np.allclose(g["w"], Xb.T @ (p - yb) / batch, rtol=1e-12, atol=1e-14)
assert np.isclose(g["b"], np.mean(p - yb), rtol=1e-12, atol=1e-14)
assert vg.traces == 1
print("gradient matches the closed form X^T (sigmoid(z) - y) / n")
print(f"\nthe generated code starts:\n{vg.source[:600]}...")
