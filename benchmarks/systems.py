"""The systems under test. Each is one entry of ``SYSTEMS``: an object whose ``setup(case)``
returns a ``Run`` (or raises ``NotApplicable``). Adding a column, say symgrad's C backend, is
one more ``Symgrad("c")`` line at the bottom.
"""

from __future__ import annotations

import atexit
import importlib.util
import math
import os
import shutil
import sys
import tempfile
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


CACHE_ENV = "SYMGRAD_CACHE_DIR"


def _empty_cache_dir() -> str:
    """A new, empty C cache directory, removed when the process exits (libraries loaded from
    it stay mapped until then)."""
    path = tempfile.mkdtemp(prefix="sg-bench-cache-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


class Symgrad(System):
    """symgrad compiled: build from symbols + gradient + passes + codegen + load = setup."""

    def __init__(self, backend: str = "python") -> None:
        self.backend = backend
        self.name = f"symgrad {backend}"

    def setup(self, case: Case) -> Run:
        """Setup includes the first call, as JAX's does: the C backend builds a batch loop's
        vectorized code for the arguments that call batches on that call. Every setup runs
        against an empty C cache, so the C compiler's time is in it (as XLA's is in JAX's):
        a later run of the same script would load the libraries from the cache instead."""
        saved = os.environ.get(CACHE_ENV)
        os.environ[CACHE_ENV] = _empty_cache_dir()
        try:
            run = super().setup(case)
            t0 = time.perf_counter()
            run.call()
            run.setup_s += time.perf_counter() - t0
        finally:
            if saved is None:
                del os.environ[CACHE_ENV]
            else:
                os.environ[CACHE_ENV] = saved
        return run

    def _compile(self, inputs, f, wrt):
        import symgrad as sg

        g = sg.gradient(f, wrt)
        if self.backend != "python" and len(wrt) > 1:  # one array, as JAX and PyTorch return
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

    def wide(self, case: Case) -> Run:
        import numpy as np

        import symgrad as sg

        if self.backend == "python":
            raise NotApplicable  # a batch of 4,000: the batched backends' job
        sizes = W.wide_sizes(case.size)
        d = case.data
        t0 = time.perf_counter()
        p = list(sg.symbols(f"p0:{W.mlp_n_params(sizes)}"))
        x, y = list(sg.symbols("x0:10")), sg.Symbol("y")
        f = W.wide_loss(p, x, y, sg.tanh, case.size)
        g = np.array(sg.gradient(f, p), dtype=object)
        fn = sg.compile([p, x, y], [f, g], backend=self.backend, reduce="sum")
        setup = time.perf_counter() - t0
        fwd = sg.compile([p, x, y], f, backend=self.backend, reduce="sum")
        P, X, Y = (np.array(d[k]) for k in ("params", "xs", "ys"))
        return Run(
            setup,
            lambda: fn(P, X, Y),
            lambda r: (float(r[0]), np.asarray(r[1], dtype=float).ravel().tolist()),
            lambda: fwd(P, X, Y),
            "per-sample graph on (batch, ...) arrays, reduce='sum'",
            _info(fn, fwd),
            setup_scales=False,
        )

    def mnist(self, case: Case) -> Run:
        import numpy as np

        import symgrad as sg

        if self.backend == "python" and case.size > 1:
            raise NotApplicable  # scalar code per sample: the batched backends' job
        d = case.data
        lib = _sg_lib()
        t0 = time.perf_counter()
        p = list(sg.symbols(f"p0:{W.mlp_n_params(W.MNIST_SIZES)}"))
        x = list(sg.symbols(f"x0:{W.MNIST_SIZES[0]}"))
        y = list(sg.symbols("y0:10"))
        f = W.mnist_loss(p, x, y, lib)
        g = np.array(sg.gradient(f, p), dtype=object)
        batched = self.backend != "python"
        opts = {"backend": self.backend, **({"reduce": "sum"} if batched else {})}
        fn = sg.compile([p, x, y], [f, g], **opts)
        setup = time.perf_counter() - t0
        fwd = sg.compile([p, x, y], f, **opts)
        P, X, Y = (np.array(d[k]) for k in ("params", "xs", "ys"))
        if not batched:
            X, Y = X[0], Y[0]
        return Run(
            setup,
            lambda: fn(P, X, Y),
            lambda r: (float(r[0]), np.asarray(r[1], dtype=float).ravel().tolist()),
            lambda: fwd(P, X, Y),
            "per-sample graph" + (" on (batch, ...) arrays, reduce='sum'" if batched else ""),
            _info(fn, fwd),
            setup_scales=False,
        )

    def ode(self, case: Case) -> Run:
        import symgrad as sg

        t0 = time.perf_counter()
        theta, state = list(sg.symbols("a b c d")), list(sg.symbols("x0 y0"))
        f = W.lotka_volterra_rk4(theta, state, case.size)
        fn = self._compile([theta, state], f, theta + state)
        setup = time.perf_counter() - t0
        fwd = sg.compile([theta, state], f, backend=self.backend)
        th, st = case.data["theta"], case.data["state"]
        if self.backend != "python":
            import numpy as np

            th, st = np.array(th), np.array(st)
        return Run(
            setup,
            lambda: fn(th, st),
            lambda r: (float(r[0]), [float(v) for v in r[1]]),
            lambda: fwd(th, st),
            "",
            _info(fn, fwd),
        )


def _sg_lib():
    import types

    import symgrad as sg

    return types.SimpleNamespace(tanh=sg.tanh, exp=sg.exp, log=sg.log, maximum=sg.maximum)


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

    def ode(self, case: Case) -> Run:
        d = case.data
        return self._run(
            d["theta"] + d["state"], lambda v: W.lotka_volterra_rk4(v[:4], v[4:], case.size)
        )


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

    def wide(self, case: Case) -> Run:
        return self.mlp(case, W.wide_sizes(case.size))

    def mlp(self, case: Case, sizes=W.MLP_SIZES) -> Run:
        t = self._lib()
        d = case.data
        X, Y = t.tensor(d["xs"]), t.tensor(d["ys"])

        def f(p):
            h = X
            layers = _mlp_layers(p, sizes)
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

    def mnist(self, case: Case) -> Run:
        t = self._lib()
        d = case.data
        X, labels = t.tensor(d["xs"]), t.tensor(d["ys"]).argmax(dim=1)
        ce = t.nn.functional.cross_entropy

        def f(p):
            (w1, b1), (w2, b2) = _mlp_layers(p, W.MNIST_SIZES)
            return ce(t.tanh(X @ w1.T + b1) @ w2.T + b2, labels, reduction="sum")

        return self._vg(t, t.tensor(d["params"], requires_grad=True), f)

    def ode(self, case: Case) -> Run:
        t = self._lib()
        d = case.data
        f = lambda v: W.lotka_volterra_rk4(v[:4], v[4:], case.size)
        run = self._vg(t, t.tensor(d["theta"] + d["state"], requires_grad=True), f)
        run.note += "; the RK4 loop on 0-d tensors"
        return run


class Jax(System):
    name = "JAX jit"
    module = "jax"

    def _lib(self):
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        return jax, jnp

    def _vg(self, f, *args, setup_scales: bool = False) -> Run:
        """Setup (trace + XLA compile) does not grow with the data unless ``setup_scales``:
        a Python loop unrolled under jit does."""
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
            setup_scales=setup_scales,
        )

    def wide(self, case: Case) -> Run:
        return self.mlp(case, W.wide_sizes(case.size))

    def mlp(self, case: Case, sizes=W.MLP_SIZES) -> Run:
        jax, jnp = self._lib()
        d = case.data
        X, Y = jnp.asarray(d["xs"]), jnp.asarray(d["ys"])

        def f(p, X, Y):
            h = X
            layers = _mlp_layers(p, sizes)
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
        run = self._vg(
            lambda x: W.chain(x, case.size, jnp.tanh)[0],
            jnp.asarray([case.data["x"]]),
            setup_scales=True,
        )
        run.note = "Python loop unrolled under jit"
        return run

    def mnist(self, case: Case) -> Run:
        jax, jnp = self._lib()
        d = case.data
        X, Y = jnp.asarray(d["xs"]), jnp.asarray(d["ys"])

        def f(p, X, Y):
            (w1, b1), (w2, b2) = _mlp_layers(p, W.MNIST_SIZES)
            z = jnp.tanh(X @ w1.T + b1) @ w2.T + b2
            return jnp.sum(jax.nn.logsumexp(z, axis=1) - jnp.sum(Y * z, axis=1))

        return self._vg(f, jnp.asarray(d["params"]), X, Y)

    def ode(self, case: Case) -> Run:
        jax, jnp = self._lib()
        d, steps = case.data, case.size
        h = 10.0 / steps

        def f(v):
            a, b, c, dd = v[0], v[1], v[2], v[3]
            rhs = lambda s: jnp.stack([a * s[0] - b * s[0] * s[1], dd * s[0] * s[1] - c * s[1]])

            def step(_, s):
                k1 = rhs(s)
                k2 = rhs(s + 0.5 * h * k1)
                k3 = rhs(s + 0.5 * h * k2)
                k4 = rhs(s + h * k3)
                return s + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

            s = jax.lax.fori_loop(0, steps, step, v[4:])
            return (s[0] - 1.0) ** 2 + (s[1] - 1.0) ** 2

        run = self._vg(f, jnp.asarray(d["theta"] + d["state"]))
        run.note = "lax.fori_loop under jit(value_and_grad)"
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

    def ode(self, case: Case) -> Run:
        import casadi as ca

        t0 = time.perf_counter()
        v = ca.SX.sym("v", 6)
        f = W.lotka_volterra_rk4([v[i] for i in range(4)], [v[4], v[5]], case.size)
        build = time.perf_counter() - t0
        d = case.data
        run = self._fn([v], f, [ca.DM(d["theta"] + d["state"])])
        run.setup_s += build
        return run

    def mnist(self, case: Case) -> Run:
        import casadi as ca

        d = case.data
        nin, nh, nout = W.MNIST_SIZES
        t0 = time.perf_counter()
        w1, b1 = ca.MX.sym("w1", nh, nin), ca.MX.sym("b1", nh)
        w2, b2 = ca.MX.sym("w2", nout, nh), ca.MX.sym("b2", nout)
        X, Y = ca.MX.sym("X", nin, case.size), ca.MX.sym("Y", nout, case.size)
        ones = ca.DM.ones(1, case.size)
        z = ca.mtimes(w2, ca.tanh(ca.mtimes(w1, X) + ca.mtimes(b1, ones))) + ca.mtimes(b2, ones)
        m = ca.mmax(z)  # one shift for the whole batch keeps exp finite here
        lse = m + ca.log(ca.sum1(ca.exp(z - m)))
        f = ca.sum2(lse - ca.sum1(Y * z))
        ws = [w1, b1, w2, b2]
        g = [ca.gradient(f, w) for w in ws]
        F = ca.Function("F", [*ws, X, Y], [f, *g])
        F0 = ca.Function("F0", [*ws, X, Y], [f])
        setup = time.perf_counter() - t0
        (W1, B1), (W2, B2) = _mlp_layers(__import__("numpy").array(d["params"]), W.MNIST_SIZES)
        args = [ca.DM(W1), ca.DM(B1), ca.DM(W2), ca.DM(B2), ca.DM(d["xs"]).T, ca.DM(d["ys"]).T]

        def unpack(r):
            import numpy as np

            gw1, gb1, gw2, gb2 = (np.asarray(x.full()) for x in r[1:])
            flat = [np.hstack([gw1, gb1.reshape(-1, 1)]), np.hstack([gw2, gb2.reshape(-1, 1)])]
            return float(r[0]), np.concatenate([x.ravel() for x in flat]).tolist()

        return Run(
            setup,
            lambda: F(*args),
            unpack,
            lambda: F0(*args),
            "MX (matrix graph), as CasADi users write layers",
            setup_scales=False,
        )

    def chain(self, case: Case) -> Run:
        import casadi as ca

        x = ca.SX.sym("x")
        t0 = time.perf_counter()
        f = W.chain(x, case.size, ca.tanh)
        build = time.perf_counter() - t0
        run = self._fn([x], f, [case.data["x"]])
        run.setup_s += build
        return run


class NumpyByHand(System):
    """Backpropagation written by hand in NumPy: what a NumPy user writes without an AD tool."""

    name = "NumPy by hand"
    module = "numpy"

    def _run(self, vg, fwd, note="forward and backward written out, float64") -> Run:
        unpack = lambda r: (float(r[0]), r[1].tolist())
        return Run(0.0, vg, unpack, fwd, note, setup_scales=False)

    @staticmethod
    def _pack(grads) -> Any:
        import numpy as np

        return np.concatenate([np.hstack([gw, gb[:, None]]).ravel() for gw, gb in grads])

    def wide(self, case: Case) -> Run:
        return self.mlp(case, W.wide_sizes(case.size))

    def mlp(self, case: Case, sizes=W.MLP_SIZES) -> Run:
        import numpy as np

        d = case.data
        X, Y = np.array(d["xs"]), np.array(d["ys"])
        layers = _mlp_layers(np.array(d["params"]), sizes)

        def forward():
            hs = [X]
            for i, (w, b) in enumerate(layers):
                z = hs[-1] @ w.T + b
                hs.append(np.tanh(z) if i < len(layers) - 1 else z)
            return hs

        def vg():
            hs = forward()
            r = hs[-1][:, 0] - Y
            delta = 2.0 * r[:, None]
            grads = []
            for i in range(len(layers) - 1, -1, -1):
                w, _ = layers[i]
                grads.append((delta.T @ hs[i], delta.sum(0)))
                if i:
                    delta = (delta @ w) * (1.0 - hs[i] ** 2)
            return float(r @ r), self._pack(grads[::-1])

        return self._run(vg, lambda: forward()[-1])

    def mnist(self, case: Case) -> Run:
        import numpy as np

        d = case.data
        X, Y = np.array(d["xs"]), np.array(d["ys"])
        (w1, b1), (w2, b2) = _mlp_layers(np.array(d["params"]), W.MNIST_SIZES)

        def forward():
            h = np.tanh(X @ w1.T + b1)
            z = h @ w2.T + b2
            m = z.max(axis=1, keepdims=True)
            e = np.exp(z - m)
            s = e.sum(axis=1, keepdims=True)
            return h, z, e / s, float(np.sum(m[:, 0] + np.log(s[:, 0]) - np.sum(Y * z, axis=1)))

        def vg():
            h, z, p, loss = forward()
            dz = p - Y
            dh = (dz @ w2) * (1.0 - h * h)
            grads = [(dh.T @ X, dh.sum(0)), (dz.T @ h, dz.sum(0))]
            return loss, self._pack(grads)

        return self._run(vg, lambda: forward()[3])


class Sympy(System):
    """SymPy diff + lambdify(cse=True), run in a worker process so a time budget can stop it."""

    name = "SymPy diff+lambdify"
    module = "sympy"
    remote = True
    workloads = ("mlp", "rosen", "chain", "ode")  # the scalar-graph workloads


SYSTEMS: list[System] = [
    Symgrad("python"),
    Symgrad("numpy"),
    Symgrad("c"),
    SgValue(),
    Micrograd(),
    Sympy(),
    NumpyByHand(),
    Torch(),
    Jax(),
    Casadi(),
]
"""The columns of every table, in order; the first is the reference for the cross-check."""
