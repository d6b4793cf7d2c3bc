"""The sensitivity of a simulation to its parameters, compiled to C.

A damped oscillator integrated with 20,000 explicit Euler steps,
    v <- v + h * (-k * x - c * v + a * tanh(x)),   x <- x + h * v,
is written as the Python loop one would write for numbers, run once on symbols. sg.gradient
gives d x(T) / d (k, c, a, x0, v0) in one reverse sweep, and backend="c" compiles value and
gradient: the graph repeats itself step by step, so the generated C is two short loops (the
steps forwards, the adjoint steps backwards) instead of half a million statements. The gradient is
checked against central differences of the same simulation in plain Python.
Needs a C compiler (cc, gcc or clang, or CC).
"""

import math
import os
import shutil
import sys
import time

import symgrad as sg

if not (os.environ.get("CC") or any(shutil.which(n) for n in ("cc", "gcc", "clang"))):
    print("skipped: this example needs a C compiler (install gcc or clang, or set CC)")
    sys.exit(0)

STEPS = 20_000
H = 10.0 / STEPS


def simulate(k, c, a, x0, v0, tanh=math.tanh):
    """x(T): works on floats and, unchanged, on symgrad expressions."""
    x, v = x0, v0
    for _ in range(STEPS):
        v = v + H * (-k * x - c * v + a * tanh(x))
        x = x + H * v
    return x


params = sg.symbols("k c a x0 v0")
t0 = time.perf_counter()
xT = simulate(*params, tanh=sg.tanh)
grad = sg.gradient(xT, list(params))
t1 = time.perf_counter()
fn = sg.compile([list(params)], [xT, grad], backend="c")
t2 = time.perf_counter()
print(f"traced {STEPS:,} steps and their gradient in {t1 - t0:.2f} s; compiled in {t2 - t1:.2f} s")
loops = fn.source.count("for (long long sg_r")
print(f"{fn.stats['ops']:,} operations, printed as {fn.stats['lines']} statements in {loops} loops")

p = [2.0, 0.3, 0.5, 1.0, 0.0]
value, g = fn(p)
runs = 20
t0 = time.perf_counter()
for _ in range(runs):
    fn(p)
per_call = (time.perf_counter() - t0) / runs
t0 = time.perf_counter()
plain = simulate(*p)
plain_time = time.perf_counter() - t0
print(f"x(T) = {value:.12f} (plain Python: {plain:.12f})")
print(f"value + 5 derivatives: {per_call * 1e3:.2f} ms a call; the value alone in plain Python:")
print(f"  {plain_time * 1e3:.1f} ms")
assert abs(value - plain) <= 1e-12 * max(1.0, abs(plain))

names = ["k", "c", "a", "x0", "v0"]
for i, name in enumerate(names):  # central differences of the plain-Python simulation
    eps = 1e-6
    up, down = list(p), list(p)
    up[i] += eps
    down[i] -= eps
    fd = (simulate(*up) - simulate(*down)) / (2 * eps)
    print(f"  d x(T) / d {name:2s} = {g[i]: .10f}   central difference {fd: .10f}")
    assert abs(g[i] - fd) <= 1e-6 * max(1.0, abs(fd)), name
print("gradient agrees with central differences")
