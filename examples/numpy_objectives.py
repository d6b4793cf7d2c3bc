"""Unmodified NumPy objectives from the optimization literature, minimized with SciPy using
symgrad's compiled gradient.

Each objective below is written as its authors write it: plain NumPy, ``np.asarray`` on the
way in, ``np.where`` for a penalty, a Python ``if`` on a value. ``sg.value_and_grad`` traces
it (the ``if`` follows the values of each call and is guarded), compiles value and gradient
into one function, and SciPy's L-BFGS-B calls it. Every gradient is first checked against
central differences of the NumPy function itself. Needs SciPy (``pip install symgrad[examples]``).
"""

import numpy as np

import symgrad as sg

try:
    from scipy.optimize import minimize
except ImportError as e:  # pragma: no cover - the examples extra
    raise ImportError("this example needs SciPy: pip install 'symgrad[examples]'") from e


def ackley(x, a=20.0, b=0.2, c=2 * np.pi):
    x = np.asarray(x)
    d = len(x)
    s1 = np.sum(x**2)
    s2 = np.sum(np.cos(c * x))
    return -a * np.exp(-b * np.sqrt(s1 / d)) - np.exp(s2 / d) + a + np.exp(1)


def rastrigin(x):
    x = np.asarray(x)
    return 10.0 * len(x) + np.sum(x**2 - 10.0 * np.cos(2 * np.pi * x))


def penalized_rosenbrock(x):
    """Rosenbrock plus a quadratic penalty outside the box [-1.5, 1.5] (np.where)."""
    x = np.asarray(x)
    rosen = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    outside = np.where(np.abs(x) > 1.5, (np.abs(x) - 1.5) ** 2, 0.0)
    return rosen + 1e3 * np.sum(outside)


def huber_fit(p, t, y):
    """A robust line fit: Huber's loss, written with a Python if on each residual."""
    total = 0.0
    for ti, yi in zip(t, y):
        r = yi - (p[0] + p[1] * ti)
        if abs(r) <= 1.0:
            total = total + 0.5 * r**2
        else:
            total = total + abs(r) - 0.5
    return total


def central(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def solve(name, f, x0, *data, expect=None, tol=1e-6):
    vg = sg.value_and_grad(f)
    value, g = vg(x0, *data)
    assert np.isclose(value, f(x0, *data), rtol=1e-12), name
    assert np.allclose(g, central(lambda t: f(t, *data), x0), rtol=1e-5, atol=1e-6), name
    res = minimize(lambda x: vg(x, *data), x0, jac=True, method="L-BFGS-B")
    if expect is not None:
        assert np.allclose(res.x, expect, atol=tol), (name, res.x)
    print(
        f"{name:22s} f = {res.fun:12.6g} at {np.round(res.x, 4)}   "
        f"{res.nfev:3d} calls, {vg.traces} trace(s)"
    )
    return res, vg


rng = np.random.default_rng(1)
solve("ackley", ackley, np.array([0.3, -0.2, 0.1]), expect=np.zeros(3))
solve("rastrigin", rastrigin, np.array([0.2, -0.1, 0.05, 0.1]), expect=np.zeros(4))
solve("penalized rosenbrock", penalized_rosenbrock, np.array([-1.2, 1.0, 0.8]), expect=np.ones(3),
      tol=1e-3)  # fmt: skip
t = np.linspace(0.0, 4.0, 40)
y = 1.0 + 2.0 * t + rng.normal(scale=0.3, size=t.size)
y[::7] += 8.0  # outliers: the if takes both sides
res, vg = solve("huber line fit", huber_fit, np.array([0.0, 0.0]), t, y)
assert np.allclose(res.x, [1.0, 2.0], atol=0.3), res.x
print(f"the Huber fit traced {vg.traces} path(s) over {vg.calls} calls: one per outlier pattern")
