"""Second-order optimization with symgrad's sparse Hessians and Hessian-vector products.

1. The extended Rosenbrock function in n = 10,000 variables, solved by SciPy's
   ``trust-constr`` with symgrad's sparse Hessian (``sg.hessian(f, x, sparse=True)``, compiled
   to a ``scipy.sparse.csr_array``) and by ``Newton-CG`` with ``hessp`` (``sg.hvp``: the Hessian
   times a vector of symbols, never the Hessian itself).
2. A discretized optimal-control problem: a cart with quadratic drag pushed from rest at 0 to
   rest at 1 over 1,000 time steps with least control effort; states and controls are the
   variables, the dynamics are 2,000 equality constraints. ``trust-constr`` gets the sparse
   constraint Jacobian and the sparse Hessian of the constraints' weighted sum.

Every derivative is first checked against finite differences on a small instance. Set
SYMGRAD_EXAMPLE_SMALL=1 (as CI does) for n = 1,000 and 200 steps. Needs SciPy:
pip install "symgrad[examples]".
"""

import os
import sys
import time

import numpy as np

import symgrad as sg

try:
    from scipy.optimize import NonlinearConstraint, minimize
except ImportError:
    sys.exit('this example needs SciPy: pip install "symgrad[examples]"')

SMALL = os.environ.get("SYMGRAD_EXAMPLE_SMALL") == "1" or "--small" in sys.argv
N = 1_000 if SMALL else 10_000
STEPS = 200 if SMALL else 1_000


def rosenbrock(n: int):
    x = list(sg.symbols(f"x0:{n}"))
    f = sum((100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(0, n, 2)), 0.0)
    return f, x


def compile_problem(f, x, backend="c"):
    """(value and gradient, sparse Hessian, hessp) as compiled functions."""
    p = list(sg.symbols(f"p0:{len(x)}"))
    fg = sg.compile([x], [f, sg.gradient(f, x)], backend=backend)
    hess = sg.compile([x], sg.hessian(f, x, sparse=True), backend=backend)
    hessp = sg.compile([x, p], sg.hvp(f, x, p), backend=backend)
    return fg, hess, hessp


def fd_hessian(fun, x, h=1e-4):
    """Central second differences of the value alone (independent of every derivative)."""
    n = len(x)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            vals = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                y = x.copy()
                y[i] += si * h
                y[j] += sj * h
                vals.append(fun(y))
            out[i, j] = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * h * h)
    return out


def check_small_rosenbrock() -> None:
    f, x = rosenbrock(6)
    fg, hess, hessp = compile_problem(f, x, backend="python")
    x0 = np.random.default_rng(0).uniform(-1.5, 1.5, 6)
    fd = fd_hessian(lambda y: fg(y)[0], x0)
    h = hess(x0).toarray()
    assert np.allclose(h, fd, rtol=1e-5, atol=1e-3), np.abs(h - fd).max()
    v = np.arange(1.0, 7.0)
    assert np.allclose(np.asarray(hessp(x0, v)), fd @ v, rtol=1e-5, atol=1e-3)
    diff = np.abs(h - fd).max()
    print(f"n = 6: sparse Hessian and hessp match finite differences (max diff {diff:.1e})")


def solve_rosenbrock() -> None:
    t0 = time.perf_counter()
    f, x = rosenbrock(N)
    fg, hess, hessp = compile_problem(f, x)
    setup = time.perf_counter() - t0
    print(
        f"Rosenbrock n = {N:,}: built and compiled in {setup:.2f} s; Hessian "
        f"{hess.stats['nnz']:,} nonzeros from {hess.stats['colors']} Hessian-vector products"
    )
    x0 = np.tile([-1.2, 1.0], N // 2)

    def fun(v):
        value, grad = fg(v)
        return float(value), np.asarray(grad)

    for method, extra in (("trust-constr", {"hess": hess}), ("Newton-CG", {"hessp": hessp})):
        t0 = time.perf_counter()
        opts = {"gtol": 1e-8, "maxiter": 2000} if method == "trust-constr" else {"xtol": 1e-10}
        res = minimize(fun, x0, jac=True, method=method, options=opts, **extra)
        err = float(np.max(np.abs(res.x - 1.0)))
        took = time.perf_counter() - t0
        print(f"  {method:12s} {res.nit:4d} iterations, {took:6.2f} s, max |x - 1| = {err:.1e}")
        assert err < 1e-5, f"{method} did not reach the minimum"


def cart(steps: int):
    """Variables z = (position, velocity) per node and a force per step; the objective is
    the control effort, the constraints are explicit-Euler dynamics with quadratic drag."""
    dt, drag = 1.0 / steps, 0.5
    pos = list(sg.symbols(f"p0:{steps + 1}"))
    vel = list(sg.symbols(f"v0:{steps + 1}"))
    u = list(sg.symbols(f"u0:{steps}"))
    z = pos + vel + u
    effort = sum((dt * ui * ui for ui in u), 0.0)
    dyn = []
    for k in range(steps):
        dyn.append(pos[k + 1] - pos[k] - dt * vel[k])
        dyn.append(vel[k + 1] - vel[k] - dt * (u[k] - drag * vel[k] * sg.sqrt(vel[k] ** 2 + 1e-4)))
    dyn += [pos[0], vel[0], pos[steps] - 1.0, vel[steps]]
    return z, effort, dyn


def compile_cart(steps: int, backend: str):
    z, effort, dyn = cart(steps)
    lam = list(sg.symbols(f"l0:{len(dyn)}"))
    weighted = sum((li * ci for li, ci in zip(lam, dyn)), 0.0)
    fns = {
        "fg": sg.compile([z], [effort, sg.gradient(effort, z)], backend=backend),
        "hess": sg.compile([z], sg.hessian(effort, z, sparse=True), backend=backend),
        "c": sg.compile([z], dyn, backend=backend),
        "jac": sg.compile([z], sg.jacobian(dyn, z, sparse=True), backend=backend),
        "chess": sg.compile([z, lam], sg.hessian(weighted, z, sparse=True), backend=backend),
        "lagr": sg.compile([z, lam], weighted, backend=backend),
    }
    return z, dyn, fns


def check_small_cart() -> None:
    z, dyn, fns = compile_cart(4, "python")
    rng = np.random.default_rng(1)
    z0, lam0 = rng.uniform(-1, 1, len(z)), rng.uniform(-1, 1, len(dyn))
    fd = fd_hessian(lambda y: fns["lagr"](y, lam0), z0)
    h = fns["chess"](z0, lam0).toarray()
    assert np.allclose(h, fd, rtol=1e-5, atol=1e-4), np.abs(h - fd).max()
    jac = fns["jac"](z0).toarray()
    step = 1e-6
    for j in range(len(z)):
        hi, lo = z0.copy(), z0.copy()
        hi[j] += step
        lo[j] -= step
        col = (np.asarray(fns["c"](hi)) - np.asarray(fns["c"](lo))) / (2 * step)
        assert np.allclose(jac[:, j], col, atol=1e-6)
    print("cart, 4 steps: constraint Jacobian and Lagrangian Hessian match finite differences")


def solve_cart() -> None:
    t0 = time.perf_counter()
    z, dyn, fns = compile_cart(STEPS, "c")
    print(
        f"cart, {STEPS:,} steps: {len(z):,} variables, {len(dyn):,} constraints, compiled in "
        f"{time.perf_counter() - t0:.2f} s; constraint Jacobian {fns['jac'].stats['nnz']:,} "
        f"nonzeros ({fns['jac'].stats['colors']} colours), Lagrangian Hessian "
        f"{fns['chess'].stats['nnz']:,} ({fns['chess'].stats['colors']} colours)"
    )

    def fun(v):
        value, grad = fns["fg"](v)
        return float(value), np.asarray(grad)

    zeros = np.zeros(len(dyn))
    constraint = NonlinearConstraint(
        lambda v: np.asarray(fns["c"](v)),
        zeros,
        zeros,
        jac=lambda v: fns["jac"](v),
        hess=lambda v, lam: fns["chess"](v, lam),
    )
    t0 = time.perf_counter()
    res = minimize(
        fun,
        np.zeros(len(z)),
        jac=True,
        hess=lambda v: fns["hess"](v),
        method="trust-constr",
        constraints=[constraint],
        options={"gtol": 1e-8, "xtol": 1e-12, "maxiter": 500},
    )
    viol = float(np.max(np.abs(fns["c"](res.x))))
    print(
        f"  trust-constr {res.nit:4d} iterations, {time.perf_counter() - t0:6.2f} s, "
        f"effort = {res.fun:.6f}, max constraint violation = {viol:.1e}"
    )
    assert viol < 1e-6, "dynamics not satisfied"
    # Without drag the least-effort force is linear in time (6 - 12 t) with effort 12; drag
    # costs a little more.
    assert 12.0 < res.fun < 13.0, res.fun


if __name__ == "__main__":
    check_small_rosenbrock()
    solve_rosenbrock()
    check_small_cart()
    solve_cart()
