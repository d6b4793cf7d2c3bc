"""The tutorial's training loop: eager ``sg.Value`` first, then one compiled function.

Data as in the tutorial: f(x, y, z) = 0.04x² + 0.07xy − z + noise, 100 points; the model is
MLP(3, [8, 8, 1]) trained by full-batch gradient descent on the summed squared error. Both
loops start from the same weights and reach the same losses; the compiled one is much faster.
Writes training.png when matplotlib is installed.
"""

import random
import time

import numpy as np

import symgrad as sg
from symgrad.nn import MLP

rng = random.Random(0)


def f(x, y, z):
    return 0.04 * x**2 + 0.07 * y * x - z + rng.gauss(0, 1) / 5


X = [[rng.uniform(-5, 5) for _ in range(3)] for _ in range(100)]
y = [f(*x) for x in X]

ann = MLP(3, [8, 8, 1], seed=0)
start = ann.values()
# The summed error's gradient grows with the data set: at the tutorial's 0.001 the loss falls for
# ten epochs, then jumps back up (70 at epoch 10, 176 at epoch 15). 2.5e-4 falls at every epoch.
epochs, lr = 30, 2.5e-4

# 1. Eager, exactly the tutorial's loop.
t0 = time.perf_counter()
eager = []
for i in range(epochs):
    y_pred = [ann(x) for x in X]
    loss = sum((pred - origin) ** 2 for pred, origin in zip(y_pred, y))
    loss.backward()
    for p in ann.parameters():
        p.data = p.data - lr * p.grad
        p.grad = 0
    eager.append(loss.data)
    if i % 10 == 0:
        print(f"Epoch {i}, Loss: {loss}")
t_eager = (time.perf_counter() - t0) / epochs
eager_final = ann.values()

# 2. Compiled: call the model on symbols once to get one sample's loss as an expression,
#    differentiate it, and compile loss + gradient summed over a batch of samples.
xs, ys = list(sg.symbols("x0:3")), sg.Symbol("y")
sample_loss = (ann(xs) - ys) ** 2
params = ann.symbols()
step = sg.compile(
    [params, xs, ys],
    [sample_loss, sg.gradient(sample_loss, params)],
    backend="numpy",
    reduce="sum",
)
theta, Xa, ya = np.array(start), np.array(X), np.array(y)
t0 = time.perf_counter()
compiled = []
for _ in range(epochs):
    total, grad = step(theta, Xa, ya)
    theta = theta - lr * np.asarray(grad)
    compiled.append(float(total))
t_comp = (time.perf_counter() - t0) / epochs
ann.set_values(theta)

print(f"\n{'epoch':>5} {'eager':>18} {'compiled':>18}")
for i in [*range(0, epochs, 10), epochs - 1]:
    print(f"{i:>5} {eager[i]:>18.10f} {compiled[i]:>18.10f}")
gap = max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(eager, compiled))
print(f"largest relative difference between the curves: {gap:.1e}")
print(
    f"time per epoch: eager {t_eager * 1e3:.1f} ms, compiled {t_comp * 1e3:.2f} ms "
    f"({t_eager / t_comp:.0f}x)"
)
assert gap < 1e-9
# It trains as a tutorial should: down at every epoch, to well under half the starting loss.
assert all(b < a for a, b in zip(compiled, compiled[1:])), "the loss rose during training"
assert compiled[-1] < compiled[0] / 3
assert np.allclose(theta, eager_final, rtol=1e-9, atol=1e-12)

print("\nprediction vs target on the first five points (trained, compiled):")
predict = sg.compile([params, xs], ann(xs), backend="numpy")
for x, target, pred in zip(X[:5], y[:5], predict(theta, Xa[:5])):
    print(f"  {[round(v, 2) for v in x]} -> {pred:8.4f}  (target {target:8.4f})")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("\n(no plot: matplotlib is not installed; python -m pip install 'symgrad[plot]')")
else:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(compiled, label="compiled", linewidth=2)
    ax1.plot(eager, "--", label="eager Value")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("summed squared error")
    ax1.legend()
    ax2.scatter(y, predict(theta, Xa), s=10)
    ax2.plot([min(y), max(y)], [min(y), max(y)], color="black", linewidth=0.5)
    ax2.set_xlabel("target")
    ax2.set_ylabel("prediction")
    fig.tight_layout()
    fig.savefig("training.png", dpi=100)
    print("\nplotted the loss curves and predictions to training.png")
