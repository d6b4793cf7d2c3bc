"""The systems under test. Each is one entry of ``SYSTEMS``: an object whose ``setup(case)``
returns a ``Run`` (or raises ``NotApplicable``). Adding a column, say symgrad's C backend, is
one more ``Symgrad("c")`` line at the bottom.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import workloads as W
from .workloads import Case


class NotApplicable(Exception):
    """This system has no natural way to run this workload."""


@dataclass
class Run:
    """A system ready to run one case. ``call`` computes value and gradient and returns them in
    the system's own form; ``unpack`` turns that into (value, flat list of floats) for the
    cross-check, outside the timing. ``forward`` computes the value alone (None: no such path).
    """

    setup_s: float
    call: Callable[[], Any]
    unpack: Callable[[Any], tuple[float, list[float]]]
    forward: Callable[[], Any] | None = None
    note: str = ""
    info: dict | None = None
    setup_scales: bool = True  # False: setup does not grow with the size (a per-sample graph)


def _installed(mod: str) -> bool:
    return importlib.util.find_spec(mod) is not None


class System:
    name = "?"
    module: str | None = None
    install = "pip install '.[bench]'"

    def available(self) -> str | None:
        """None if usable here, else why not."""
        if self.module and not _installed(self.module):
            return f"not installed ({self.install})"
        return None

    def setup(self, case: Case) -> Run:
        fn = getattr(self, case.workload, None)
        if fn is None:
            raise NotApplicable
        return fn(case)


# -- symgrad ------------------------------------------------------------------------------------


class Symgrad(System):
    """symgrad compiled: build from symbols + gradient + passes + codegen + load = setup."""

    def __init__(self, backend: str = "python") -> None:
        self.backend = backend
        self.name = f"symgrad {backend}"

    def _compile(self, inputs, f, wrt):
        import symgrad as sg

        g = sg.gradient(f, wrt)
        if self.backend == "c" and len(wrt) > 1:  # one array, as JAX and PyTorch return
            import numpy as np

            g = np.array(g, dtype=object)
        return sg.compile(inputs, [f, g], backend=self.backend)

    def mlp(self, case: Case) -> Run:
        import symgrad as sg

        d = case.data
        n = W.mlp_n_params()
        if self.backend == "python":
            block = case.size if case.size <= 1000 else 100
            t0 = time.perf_counter()
            p = list(sg.symbols(f"p0:{n}"))
            xs = [list(sg.symbols(f"x{i}_0:3")) for i in range(block)]
            ys = list(sg.symbols(f"y0:{block}"))
            f = W.mlp_loss(p, xs, ys, sg.tanh)
            fn = self._compile([p, xs, ys], f, p)
            setup = time.perf_counter() - t0
            fwd = sg.compile([p, xs, ys], f)
            params = d["params"]
            blocks = [
                (d["xs"][i : i + block], d["ys"][i : i + block]) for i in range(0, case.size, block)
            ]
            if len(blocks) == 1:
                X, Y = blocks[0]
                call = lambda: fn(params, X, Y)
                forward = lambda: fwd(params, X, Y)
                unpack = lambda r: (r[0], r[1])
                note = ""
            else:

                def call():
                    total, acc = 0.0, [0.0] * n
                    for X, Y in blocks:
                        v, g = fn(params, X, Y)
                        total += v
                        acc = [a + b for a, b in zip(acc, g)]
                    return total, acc

                def forward():
                    return sum(fwd(params, X, Y) for X, Y in blocks)

                unpack = lambda r: r
                note = f"compiled for blocks of {block} samples, called {len(blocks)} times"
            return Run(setup, call, unpack, forward, note, _info(fn, fwd))
        if self.backend in ("numpy", "c"):
            import numpy as np

            t0 = time.perf_counter()
            p = list(sg.symbols(f"p0:{n}"))
            x = list(sg.symbols("x0:3"))
            y = sg.Symbol("y")
            f = W.mlp_loss(p, [x], [y], sg.tanh)
            g = sg.gradient(f, p)
            fn = sg.compile([p, x, y], [f, g], backend=self.backend, reduce="sum")
            setup = time.perf_counter() - t0
            fwd = sg.compile([p, x, y], f, backend=self.backend, reduce="sum")
            P, X, Y = np.array(d["params"]), np.array(d["xs"]), np.array(d["ys"])
            return Run(
                setup,
                lambda: fn(P, X, Y),
                lambda r: (float(r[0]), [float(v) for v in r[1]]),
                lambda: fwd(P, X, Y),
                "per-sample graph on (batch, ...) arrays, reduce='sum'",
                _info(fn, fwd),
                setup_scales=False,
            )
        raise NotApplicable

    def rosen(self, case: Case) -> Run:
        import symgrad as sg

        if self.backend == "numpy":
            raise NotApplicable
        t0 = time.perf_counter()
        x = list(sg.symbols(f"x0:{case.size}"))
        f = W.rosenbrock(x)
        fn = self._compile([x], f, x)
        setup = time.perf_counter() - t0
        fwd = sg.compile([x], f, backend=self.backend)
        xv = case.data["x"]
        if self.backend == "c":  # a float64 array is its argument (a list is converted per call)
            import numpy as np

            xv = np.array(xv)
        return Run(
            setup, lambda: fn(xv), lambda r: (r[0], r[1]), lambda: fwd(xv), "", _info(fn, fwd)
        )

    def chain(self, case: Case) -> Run:
        import symgrad as sg

        if self.backend == "numpy":
            raise NotApplicable
        t0 = time.perf_counter()
        x = sg.Symbol("x")
        f = W.chain(x, case.size, sg.tanh)
        fn = self._compile([x], f, [x])
        setup = time.perf_counter() - t0
        fwd = sg.compile([x], f, backend=self.backend)
        xv = case.data["x"]
        return Run(
            setup, lambda: fn(xv), lambda r: (r[0], r[1]), lambda: fwd(xv), "", _info(fn, fwd)
        )


def _info(fn, fwd) -> dict:
    return {"ops": fn.stats["ops"], "forward_ops": fwd.stats["ops"]}


# -- eager scalar engines ---------------------------------------------------------------------


class Eager(System):
    """An eager scalar engine (micrograd's design): each call builds the graph and runs
    backward. The forward-only path builds the graph without backward."""

    def _value(self):  # the Value class
        raise NotImplementedError

    def _tanh(self, v):
        return v.tanh()

    def _run(self, leaves_data: list[float], build: Callable[[list], Any]) -> Run:
        V = self._value()
        leaves = [V(v) for v in leaves_data]

        def call():
            for leaf in leaves:
                leaf.grad = 0.0
            out = build(leaves)
            out.backward()
            return out.data, [leaf.grad for leaf in leaves]

        return Run(
            0.0, call, lambda r: (float(r[0]), [float(v) for v in r[1]]), lambda: build(leaves).data
        )

    def mlp(self, case: Case) -> Run:
        d = case.data
        return self._run(d["params"], lambda p: W.mlp_loss(p, d["xs"], d["ys"], self._tanh))

    def rosen(self, case: Case) -> Run:
        return self._run(case.data["x"], W.rosenbrock)

    def chain(self, case: Case) -> Run:
        return self._run([case.data["x"]], lambda v: W.chain(v[0], case.size, self._tanh))


class SgValue(Eager):
    name = "sg.Value (eager)"

    def available(self) -> str | None:
        try:
            from symgrad.nn import Value  # noqa: F401
        except ImportError:
            return "symgrad.nn.Value not available in this checkout"
        return None

    def _value(self):
        from symgrad.nn import Value

        return Value


class Micrograd(Eager):
    name = "micrograd"
    module = "micrograd"

    def _value(self):
        from micrograd.engine import Value

        return Value

    def _tanh(self, v):
        # micrograd's package has no tanh; this is the tutorial's, in micrograd's own style.
        from micrograd.engine import Value

        t = math.tanh(v.data)
        out = Value(t, (v,), "tanh")

        def _backward():
            v.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def _run(self, leaves_data, build):
        # micrograd's build_topo recurses once per graph level; CPython 3.11 keeps Python
        # frames off the C stack, so a raised limit is all it needs.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 200_000))
        run = super()._run(leaves_data, build)
        run.note = f"tutorial tanh added; recursion limit raised to {sys.getrecursionlimit():,}"
        return run

    def chain(self, case: Case) -> Run:
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * case.size + 10_000))
        return super().chain(case)


# -- array libraries --------------------------------------------------------------------------


def _mlp_layers(flat, sizes=W.MLP_SIZES):
    """(W, b) per layer from the flat layout (per neuron: weights then bias)."""
    out, k = [], 0
    for nin, nout in zip(sizes, sizes[1:]):
        m = flat[k : k + nout * (nin + 1)].reshape(nout, nin + 1)
        out.append((m[:, :nin], m[:, nin]))
        k += nout * (nin + 1)
    return out


class Torch(System):
    name = "PyTorch eager"
    module = "torch"
    # Not in the bench extra: PyPI's default torch is the CUDA build (several GB).
    install = "pip install torch --index-url https://download.pytorch.org/whl/cpu"

    def _lib(self):
        import torch

        torch.set_default_dtype(torch.float64)
        return torch

    def _vg(self, t, inputs, f):
        def call():
            inputs.grad = None
            out = f(inputs)
            out.backward()
            return out, inputs.grad

        def forward():
            with t.no_grad():
                return f(inputs)

        return Run(
            0.0,
            call,
            lambda r: (float(r[0].detach()), r[1].tolist()),
            forward,
            f"float64, {t.get_num_threads()} threads",
        )

    def mlp(self, case: Case) -> Run:
        t = self._lib()
        d = case.data
        X, Y = t.tensor(d["xs"]), t.tensor(d["ys"])

        def f(p):
            h = X
            layers = _mlp_layers(p)
            for i, (w, b) in enumerate(layers):
                h = h @ w.T + b
                if i < len(layers) - 1:
                    h = t.tanh(h)
            return ((h[:, 0] - Y) ** 2).sum()

        return self._vg(t, t.tensor(d["params"], requires_grad=True), f)

    def rosen(self, case: Case) -> Run:
        t = self._lib()
        f = lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        return self._vg(t, t.tensor(case.data["x"], requires_grad=True), f)

    def chain(self, case: Case) -> Run:
        t = self._lib()
        f = lambda x: W.chain(x, case.size, t.tanh)[0]
        return self._vg(t, t.tensor([case.data["x"]], requires_grad=True), f)


class Jax(System):
    name = "JAX jit"
    module = "jax"

    def _lib(self):
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        return jax, jnp

    def _vg(self, f, *args) -> Run:
        jax, jnp = self._lib()
        t0 = time.perf_counter()
        vg = jax.jit(jax.value_and_grad(f))
        jax.block_until_ready(vg(*args))  # trace + compile
        setup = time.perf_counter() - t0
        fw = jax.jit(f)
        jax.block_until_ready(fw(*args))
        return Run(
            setup,
            lambda: jax.block_until_ready(vg(*args)),
            lambda r: (float(r[0]), [float(v) for v in r[1].ravel()]),
            lambda: jax.block_until_ready(fw(*args)),
            "jit(value_and_grad), x64; setup = trace + XLA compile",
        )

    def mlp(self, case: Case) -> Run:
        jax, jnp = self._lib()
        d = case.data
        X, Y = jnp.asarray(d["xs"]), jnp.asarray(d["ys"])

        def f(p, X, Y):
            h = X
            layers = _mlp_layers(p)
            for i, (w, b) in enumerate(layers):
                h = h @ w.T + b
                if i < len(layers) - 1:
                    h = jnp.tanh(h)
            return ((h[:, 0] - Y) ** 2).sum()

        return self._vg(f, jnp.asarray(d["params"]), X, Y)

    def rosen(self, case: Case) -> Run:
        jax, jnp = self._lib()
        f = lambda x: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        return self._vg(f, jnp.asarray(case.data["x"]))

    def chain(self, case: Case) -> Run:
        jax, jnp = self._lib()
        run = self._vg(lambda x: W.chain(x, case.size, jnp.tanh)[0], jnp.asarray([case.data["x"]]))
        run.note = "Python loop unrolled under jit"
        return run


class Casadi(System):
    name = "CasADi SX"
    module = "casadi"

    def _fn(self, inputs, f, args, scalar_inputs=None) -> Run:
        import casadi as ca

        t0 = time.perf_counter()
        x = inputs[0]
        g = ca.gradient(f, x)
        F = ca.Function("F", inputs, [f, g])
        setup = time.perf_counter() - t0
        F0 = ca.Function("F0", inputs, [f])
        return Run(
            setup,
            lambda: F(*args),
            lambda r: (float(r[0]), [float(v) for v in r[1].full().ravel()]),
            lambda: F0(*args),
            "SX Function (virtual machine); setup = build + gradient + Function",
        )

    def mlp(self, case: Case) -> Run:
        import casadi as ca

        d = case.data
        n, B = W.mlp_n_params(), case.size
        p, X, Y = ca.SX.sym("p", n), ca.SX.sym("X", B, 3), ca.SX.sym("Y", B)
        t0 = time.perf_counter()
        pl = [p[i] for i in range(n)]
        xs = [[X[b, j] for j in range(3)] for b in range(B)]
        f = W.mlp_loss(pl, xs, [Y[b] for b in range(B)], ca.tanh)
        build = time.perf_counter() - t0
        run = self._fn([p, X, Y], f, [ca.DM(d["params"]), ca.DM(d["xs"]), ca.DM(d["ys"])])
        run.setup_s += build
        return run

    def rosen(self, case: Case) -> Run:
        import casadi as ca

        t0 = time.perf_counter()
        x = ca.SX.sym("x", case.size)
        f = ca.sum1(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        build = time.perf_counter() - t0
        run = self._fn([x], f, [ca.DM(case.data["x"])])
        run.setup_s += build
        return run

    def chain(self, case: Case) -> Run:
        import casadi as ca

        x = ca.SX.sym("x")
        t0 = time.perf_counter()
        f = W.chain(x, case.size, ca.tanh)
        build = time.perf_counter() - t0
        run = self._fn([x], f, [case.data["x"]])
        run.setup_s += build
        return run


class Sympy(System):
    """SymPy diff + lambdify(cse=True), run in a worker process so a time budget can stop it."""

    name = "SymPy diff+lambdify"
    module = "sympy"
    remote = True


SYSTEMS: list[System] = [
    Symgrad("python"),
    Symgrad("numpy"),
    Symgrad("c"),
    SgValue(),
    Micrograd(),
    Sympy(),
    Torch(),
    Jax(),
    Casadi(),
]
"""The columns of every table, in order; the first is the reference for the cross-check."""
