"""IPOPT on symgrad's sparse constraint Jacobian and Lagrangian Hessian, beside CasADi's own.

The NLP: a cart with quadratic drag pushed from rest at 0 to rest at 1 over 1,000 time steps
with least control effort (as in examples/trust_region.py): 3,002 variables (position and
velocity per node, a force per step), 2,004 equality constraints (explicit-Euler dynamics and
the end conditions). IPOPT (through cyipopt) asks for

- the constraint Jacobian's structure once and its nonzeros at each iterate:
  ``sg.jacobian(dyn, z, sparse=True)``, its values compiled to one flat vector;
- the lower triangle of the Hessian of the Lagrangian ``sigma * effort + lambda . dyn``:
  ``sg.hessian(L, z, sparse=True)``, the entries with row >= column compiled likewise.

Each derivative is first checked against central differences on a 4-step instance. Then the
same NLP goes to CasADi's ``nlpsol("ipopt")`` (if CasADi is installed) and the two runs are
compared: iterations, objective, time. SYMGRAD_EXAMPLE_SMALL=1 (as CI does) uses 200 steps.

Needs cyipopt (pip install "symgrad[ipopt]", which builds against an installed IPOPT, e.g.
Debian's coinor-libipopt-dev with liblapack-dev); without it the example says so and stops.
"""

import os
import sys
import time

import numpy as np

import symgrad as sg

try:
    import cyipopt
except ImportError:
    print('this example needs cyipopt (pip install "symgrad[ipopt]", on an installed IPOPT)')
    sys.exit(0)

SMALL = os.environ.get("SYMGRAD_EXAMPLE_SMALL") == "1" or "--small" in sys.argv
STEPS = 200 if SMALL else 1_000
DRAG = 0.5


def cart(pos, vel, u, sqrt, steps):
    """(effort, dynamics) for any number type with +, -, * and a sqrt."""
    dt = 1.0 / steps
    effort = sum((dt * u[k] * u[k] for k in range(steps)), 0.0)
    dyn = []
    for k in range(steps):
        dyn.append(pos[k + 1] - pos[k] - dt * vel[k])
        drag = DRAG * vel[k] * sqrt(vel[k] * vel[k] + 1e-4)
        dyn.append(vel[k + 1] - vel[k] - dt * (u[k] - drag))
    dyn += [pos[0], vel[0], pos[steps] - 1.0, vel[steps]]
    return effort, dyn


class SymgradCart:
    """The callbacks cyipopt calls, each a compiled symgrad function."""

    def __init__(self, steps: int, backend: str = "c") -> None:
        pos, vel = sg.symbols(f"p0:{steps + 1}"), sg.symbols(f"v0:{steps + 1}")
        u = sg.symbols(f"u0:{steps}")
        z = list(pos) + list(vel) + list(u)
        effort, dyn = cart(pos, vel, u, sg.sqrt, steps)
        lam = list(sg.symbols(f"l0:{len(dyn)}"))
        sigma = sg.Symbol("sigma")
        lagrangian = sigma * effort + sum((li * ci for li, ci in zip(lam, dyn)), 0.0)
        J = sg.jacobian(dyn, z, sparse=True)
        H = sg.hessian(lagrangian, z, sparse=True)
        lower = [k for k in range(H.nnz) if H.rows[k] >= H.cols[k]]
        self.n, self.m = len(z), len(dyn)
        self._fg = sg.compile([z], [effort, sg.gradient(effort, z)], backend=backend)
        self._c = sg.compile([z], dyn, backend=backend)
        self._jac = sg.compile([z], J.values, backend=backend)
        self._hess = sg.compile([z, lam, sigma], [H.values[k] for k in lower], backend=backend)
        self.jac_structure = (np.array(J.rows), np.array(J.cols))
        self.hess_structure = (np.array(H.rows)[lower], np.array(H.cols)[lower])
        self.iterations = 0

    def objective(self, z):
        return float(self._fg(z)[0])

    def gradient(self, z):
        return np.asarray(self._fg(z)[1])

    def constraints(self, z):
        return np.asarray(self._c(z))

    def jacobianstructure(self):
        return self.jac_structure

    def jacobian(self, z):
        return np.asarray(self._jac(z))

    def hessianstructure(self):
        return self.hess_structure

    def hessian(self, z, lagrange, obj_factor):
        return np.asarray(self._hess(z, lagrange, float(obj_factor)))

    def intermediate(self, alg_mod, iter_count, *rest):
        self.iterations = iter_count


def central_check(steps: int = 4) -> None:
    """The compiled Jacobian and lower Hessian against central differences of the values."""
    p = SymgradCart(steps, backend="python")
    rng = np.random.default_rng(0)
    z0, lam0, sigma = rng.uniform(-1, 1, p.n), rng.uniform(-1, 1, p.m), 0.7
    h = 1e-5

    def lagrangian(z):
        return sigma * p.objective(z) + lam0 @ p.constraints(z)

    jac = np.zeros((p.m, p.n))
    jac[p.jac_structure] = p.jacobian(z0)
    hess = np.zeros((p.n, p.n))
    hess[p.hess_structure] = p.hessian(z0, lam0, sigma)
    for j in range(p.n):
        e = np.zeros(p.n)
        e[j] = h
        col = (p.constraints(z0 + e) - p.constraints(z0 - e)) / (2 * h)
        assert np.allclose(jac[:, j], col, atol=1e-7), j
        for i in range(j, p.n):  # the lower triangle: row i >= column j
            f = np.zeros(p.n)
            f[i] = h
            d = lagrangian(z0 + e + f) - lagrangian(z0 + e - f)
            d -= lagrangian(z0 - e + f) - lagrangian(z0 - e - f)
            assert abs(hess[i, j] - d / (4 * h * h)) < 1e-4, (i, j)
    print(f"cart, {steps} steps: Jacobian and lower Lagrangian Hessian match central differences")


def solve_symgrad(steps: int):
    t0 = time.perf_counter()
    p = SymgradCart(steps)
    setup = time.perf_counter() - t0
    zeros = np.zeros(p.m)
    nlp = cyipopt.Problem(n=p.n, m=p.m, problem_obj=p, cl=zeros, cu=zeros)
    for key, value in (("print_level", 0), ("sb", "yes"), ("tol", 1e-10)):
        nlp.add_option(key, value)
    t0 = time.perf_counter()
    z, info = nlp.solve(np.zeros(p.n))
    took = time.perf_counter() - t0
    assert info["status"] == 0, info["status_msg"]
    viol = float(np.max(np.abs(p.constraints(z))))
    print(
        f"symgrad + cyipopt: {p.n:,} variables, {p.m:,} constraints, Jacobian "
        f"{len(p.jac_structure[0]):,} and lower Hessian {len(p.hess_structure[0]):,} nonzeros; "
        f"setup {setup:.2f} s, {p.iterations} iterations in {took:.2f} s, "
        f"effort {info['obj_val']:.10f}, max violation {viol:.1e}"
    )
    return info["obj_val"], z


def solve_casadi(steps: int):
    try:
        import casadi as ca
    except ImportError:
        print("CasADi is not installed: no nlpsol('ipopt') run to compare with")
        return None
    t0 = time.perf_counter()
    pos, vel, u = ca.SX.sym("p", steps + 1), ca.SX.sym("v", steps + 1), ca.SX.sym("u", steps)
    effort, dyn = cart(pos, vel, u, ca.sqrt, steps)
    z = ca.vertcat(pos, vel, u)
    opts = {"ipopt.print_level": 0, "print_time": False, "ipopt.sb": "yes", "ipopt.tol": 1e-10}
    solver = ca.nlpsol("cart", "ipopt", {"x": z, "f": effort, "g": ca.vertcat(*dyn)}, opts)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = solver(x0=np.zeros(z.shape[0]), lbg=0, ubg=0)
    took = time.perf_counter() - t0
    stats = solver.stats()
    assert stats["success"], stats["return_status"]
    print(
        f"CasADi nlpsol('ipopt'): setup {setup:.2f} s, {stats['iter_count']} iterations in "
        f"{took:.2f} s, effort {float(res['f']):.10f}"
    )
    return float(res["f"])


if __name__ == "__main__":
    central_check()
    effort, z = solve_symgrad(STEPS)
    # Without drag the least-effort force is 6 - 12 t with effort 12; drag costs a little more.
    assert 12.0 < effort < 13.0, effort
    theirs = solve_casadi(STEPS)
    if theirs is not None:
        assert abs(theirs - effort) <= 1e-8 * effort, (theirs, effort)
        print(f"the two optima agree to {abs(theirs - effort) / effort:.1e} (relative)")
