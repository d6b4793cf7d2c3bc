"""The tutorial's first step: the derivative of f(x) = 3x² − 4x + 5.

symgrad differentiates f symbolically; we compare the result with the hand-derived 6x − 4 and
with the finite difference (f(x + h) − f(x)) / h that the tutorial uses to check its work.
Writes derivative.png when matplotlib is installed.
"""

import symgrad as sg

x = sg.Symbol("x")
f = 3 * x**2 - 4 * x + 5
df = sg.gradient(f, x)
print(f"f(x)  = {f}")
print(f"f'(x) = {df}        (by hand: 6*x - 4)")

fn = sg.compile([x], [f, df])
h = 1e-6
print(f"\n{'x':>6} {'f(x)':>10} {'symgrad':>10} {'6x - 4':>10} {'finite diff':>14}")
for point in [-2.0, -1.0, 0.0, 2 / 3, 1.0, 3.0]:
    value, slope = fn(point)
    by_hand = 6 * point - 4
    finite = (fn(point + h)[0] - value) / h
    print(f"{point:>6.3f} {value:>10.4f} {slope:>10.4f} {by_hand:>10.4f} {finite:>14.6f}")
    assert abs(slope - by_hand) < 1e-12, (point, slope, by_hand)
    assert abs(finite - by_hand) < 1e-4, (point, finite, by_hand)

# The tutorial's example: at x = -2, f is 25 and falls at rate -16, so a step right lowers it.
value, slope = fn(-2.0)
assert (value, slope) == (25.0, -16.0)
print(f"\nf(-2) = {value}, f'(-2) = {slope}: f(-1.999) = {fn(-1.999)[0]:.6f} is lower.")
print("f' is 0 at x = 2/3, the minimum:", fn(2 / 3)[1])

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("\n(no plot: matplotlib is not installed; python -m pip install 'symgrad[plot]')")
else:
    import numpy as np

    batch = sg.compile([x], [f, df], backend="numpy")  # the same code on whole arrays
    xs = np.linspace(-5, 5, 400)
    ys, dys = batch(xs)
    plt.figure(figsize=(6, 4))
    plt.plot(xs, ys, label=r"$f(x) = 3x^2 - 4x + 5$")
    plt.plot(xs, dys, label=r"$f'(x) = 6x - 4$ (symgrad)")
    plt.axhline(0, color="black", linewidth=0.5)
    plt.axvline(0, color="black", linewidth=0.5)
    plt.xlabel("x")
    plt.legend()
    plt.grid(True)
    plt.savefig("derivative.png", dpi=100)
    print("\nplotted f and f' to derivative.png")
