"""scipy.optimize.minimize with a symgrad-compiled value and gradient (jac=True).

The extended Rosenbrock function in n = 1,000 variables,
    f(x) = sum_i 100 (x[2i+1] - x[2i]**2)**2 + (1 - x[2i])**2,
is built once from symbols, differentiated in one reverse sweep, and compiled into one flat
function returning (value, gradient). SciPy calls it; its minimum is x = (1, ..., 1).
Needs SciPy: pip install "symgrad[examples]".
"""

import sys
import time

import numpy as np

import symgrad as sg

try:
    from scipy.optimize import minimize
except ImportError:
    sys.exit('this example needs SciPy: pip install "symgrad[examples]"')

N = 1_000

t0 = time.perf_counter()
x = sg.symbols(f"x0:{N}")
f = sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(0, N, 2))
compiled = sg.compile([list(x)], [f, sg.gradient(f, list(x))])
print(
    f"built, differentiated and compiled in {time.perf_counter() - t0:.2f} s "
    f"({compiled.stats['ops']} ops, {compiled.stats['source_lines']} lines of Python)"
)


def value_and_grad(v: np.ndarray) -> tuple[float, np.ndarray]:
    value, grad = compiled(v)
    return value, np.asarray(grad)


x0 = np.tile([-1.2, 1.0], N // 2)  # the classical starting point
t0 = time.perf_counter()
result = minimize(
    value_and_grad,
    x0,
    jac=True,
    method="L-BFGS-B",
    options={"maxiter": 10_000, "gtol": 1e-10, "ftol": 0.0},
)
elapsed = time.perf_counter() - t0
gnorm = float(np.linalg.norm(value_and_grad(result.x)[1]))
err = float(np.max(np.abs(result.x - 1.0)))
print(f"L-BFGS-B: {result.nit} iterations, {result.nfev} evaluations, {elapsed:.2f} s")
print(f"f = {result.fun:.3e}   |grad f| = {gnorm:.3e}   max |x - 1| = {err:.3e}")
assert gnorm < 1e-6, "did not converge: gradient norm above 1e-6"
assert err < 1e-6, "did not reach the minimum at all ones"
print("converged to all ones")
