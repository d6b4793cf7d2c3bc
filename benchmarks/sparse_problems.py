"""The problems of ``benchmarks/sparse_hessian.py`` and its two smaller studies: ``sg.hvp`` at
n = 100,000 against the gradient and JAX, and the cart optimal-control NLP's Lagrangian Hessian
against CasADi. Each spells the problem once per system, from the same formula."""

from __future__ import annotations

import gc
import os
import tempfile
import time

import numpy as np

import symgrad as sg
from symgrad import ir
from symgrad.ir import count_ops

from .timing import fmt_time, measure


def rosenbrock_expr(n: int):
    x = list(sg.symbols(f"x0:{n}"))
    f = sum((100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(0, n, 2)), 0.0)
    return f, x


def rosenbrock_np(x, sum_):
    a, b = x[0::2], x[1::2]
    return sum_(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)


def point(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1.0, 1.5, n)


def cold_cache() -> None:
    """A fresh C cache, so that each setup runs the C compiler on its program (honest compile
    times), from a settled heap (``settle``). The CPython call entry, built once per process,
    is loaded by ``prime_c`` first."""
    settle()
    os.environ["SYMGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="sg-sparse-bench-")


def settle() -> None:
    """Free what the setups before left behind, untimed: the intern table's dead nodes and
    the cyclic collector's backlog (symgrad pauses the collector while it builds, so the
    objects made meanwhile wait for the next collection). Otherwise a setup pays for the one
    before it: at n = 10,000, building f took 0.6 s after two earlier setups against 0.13 s
    in a fresh process (measured), which a fresh process, or a session that builds once, never
    sees."""
    gc.collect()
    ir._sweep()  # single-threaded here; tests/test_ir.py calls it the same way
    gc.collect()


def prime_c() -> None:
    """Build and load the C backend's call entry once, untimed: a user pays it on the first C
    compile of a session (or never, from a warm cache), not on every one."""
    cold_cache()
    x = sg.Symbol("x")
    sg.compile([x], [x * x], backend="c")(1.0)


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the C compiler): a setup's cost
    that other jobs on a loaded machine inflate far less than its wall time."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def peer(fn, *args) -> dict:
    """A peer's figures, or why there are none (never a guess)."""
    try:
        return fn(*args)
    except ImportError:
        return {"status": "not installed here"}
    except MemoryError as exc:
        return {"status": f"gave up: out of memory ({exc})"}


def rel_err(got, want) -> float:
    got, want = np.asarray(got), np.asarray(want)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


# -- hvp at n = 100,000 ----------------------------------------------------------------------


def hand_hessian_times(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    a, b, va, vb = x[0::2], x[1::2], v[0::2], v[1::2]
    out = np.empty_like(x)
    out[0::2] = (1200 * a * a - 400 * b + 2) * va - 400 * a * vb
    out[1::2] = -400 * a * va + 200 * vb
    return out


def as_array(exprs: list) -> np.ndarray:
    """A 1-d object array of expressions: compiled, one float64 array comes back (a list
    output comes back as a list of Python floats, which at n = 100,000 costs ten times the
    arithmetic)."""
    out = np.empty(len(exprs), dtype=object)
    out[:] = exprs
    return out


def symgrad_hvp(n: int) -> dict:
    """Gradient and hvp (``v`` a vector of symbols) on the C backend, each compiled to return
    one array as JAX's do: ops, setup, evaluation."""
    cold_cache()
    f, x = rosenbrock_expr(n)
    v = list(sg.symbols(f"v0:{n}"))
    t0 = time.perf_counter()
    grad = sg.gradient(f, x)
    g_fn = sg.compile([x], as_array(grad), backend="c")
    g_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    hv = sg.hvp(f, x, v)
    h_fn = sg.compile([x, v], as_array(hv), backend="c")
    h_setup = time.perf_counter() - t0
    x0, v0 = point(n), np.random.default_rng(1).normal(size=n)
    g_secs, _, _ = measure(lambda: g_fn(x0))
    h_secs, _, got = measure(lambda: h_fn(x0, v0))
    return {
        "grad_ops": count_ops(grad),
        "hvp_ops": count_ops(hv),
        "grad_setup": g_setup,
        "hvp_setup": h_setup,
        "grad_eval": g_secs,
        "hvp_eval": h_secs,
        "err": rel_err(got, hand_hessian_times(x0, v0)),
    }


def jax_hvp(n: int) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def f(v):
        return rosenbrock_np(v, jnp.sum)

    x0, v0 = jnp.asarray(point(n)), jnp.asarray(np.random.default_rng(1).normal(size=n))
    t0 = time.perf_counter()
    hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1])
    got = jax.block_until_ready(hvp(x0, v0))
    setup = time.perf_counter() - t0
    grad = jax.jit(jax.grad(f))
    jax.block_until_ready(grad(x0))
    secs, _, _ = measure(lambda: jax.block_until_ready(hvp(x0, v0)))
    g_secs, _, _ = measure(lambda: jax.block_until_ready(grad(x0)))
    err = rel_err(got, hand_hessian_times(np.asarray(x0), np.asarray(v0)))
    return {"setup": setup, "eval": secs, "grad_eval": g_secs, "err": err}


def hvp_rows(n: int, log=print) -> dict:
    out = {"n": n, "symgrad": symgrad_hvp(n), "jax": peer(jax_hvp, n)}
    s, j = out["symgrad"], out["jax"]
    log(
        f"hvp n = {n:,}: symgrad c {fmt_time(s['hvp_eval'])} (gradient {fmt_time(s['grad_eval'])},"
        f" {s['hvp_eval'] / s['grad_eval']:.2f}x); JAX "
        + (j.get("status") or f"{fmt_time(j['eval'])} (grad {fmt_time(j['grad_eval'])})")
    )
    return out


def hvp_markdown(h: dict) -> list[str]:
    s, j = h["symgrad"], h["jax"]
    if "status" in j:
        jax_txt = f"JAX: {j['status']}."
    else:
        jax_txt = (
            f"JAX `jit(jvp(grad))` evaluates in {fmt_time(j['eval'])} (its `jit(grad)` in "
            f"{fmt_time(j['grad_eval'])}), after {fmt_time(j['setup'])} of setup: symgrad's hvp "
            f"takes **{s['hvp_eval'] / j['eval']:.2f}x** JAX's time (target within 2x)."
        )
    return [
        f"Hessian-vector product at n = {h['n']:,} (C backend, `v` a vector of symbols, both "
        "compiled to return one float64 array as JAX's do): "
        f"`sg.hvp` takes {s['hvp_ops']:,} ops against the gradient's {s['grad_ops']:,} "
        f"({s['hvp_ops'] / s['grad_ops']:.2f}x) and evaluates in {fmt_time(s['hvp_eval'])} against "
        f"the gradient's {fmt_time(s['grad_eval'])} (**{s['hvp_eval'] / s['grad_eval']:.2f}x**; "
        f"target under 4x). Setup (cold C cache): gradient {fmt_time(s['grad_setup'])}, hvp "
        f"{fmt_time(s['hvp_setup'])}; rel. err against the hand-written product "
        f"{s['err']:.0e}. {jax_txt}",
    ]


# -- the cart optimal-control NLP ------------------------------------------------------------

DRAG = 0.5


def cart_constraints(pos, vel, u, sqrt, steps: int) -> list:
    """Explicit Euler with quadratic drag, from rest at 0 to rest at 1 (examples/trust_region)."""
    dt = 1.0 / steps
    dyn = []
    for k in range(steps):
        dyn.append(pos[k + 1] - pos[k] - dt * vel[k])
        drag = DRAG * vel[k] * sqrt(vel[k] * vel[k] + 1e-4)
        dyn.append(vel[k + 1] - vel[k] - dt * (u[k] - drag))
    dyn += [pos[0], vel[0], pos[steps] - 1.0, vel[steps]]
    return dyn


def symgrad_cart(steps: int, repeats: int) -> dict:
    best = None
    for _ in range(repeats):
        cold_cache()
        t0 = time.perf_counter()
        pos, vel = sg.symbols(f"p0:{steps + 1}"), sg.symbols(f"v0:{steps + 1}")
        u = sg.symbols(f"u0:{steps}")
        z = list(pos) + list(vel) + list(u)
        dt = 1.0 / steps
        dyn = cart_constraints(pos, vel, u, sg.sqrt, steps)
        lam = list(sg.symbols(f"l0:{len(dyn)}"))
        sigma = sg.Symbol("sigma")
        lagr = sigma * sum((dt * ui * ui for ui in u), 0.0)
        lagr = lagr + sum((li * ci for li, ci in zip(lam, dyn)), 0.0)
        H = sg.hessian(lagr, z, sparse=True)
        fn = sg.compile([z, lam, sigma], H, backend="c")
        setup = time.perf_counter() - t0
        if best is None or setup < best[0]:
            best = (setup, fn, len(z), len(dyn))
    setup, fn, nz, nc = best
    z0, l0 = cart_point(nz, nc)
    secs, _, h = measure(lambda: fn(z0, l0, 0.7))
    return {"setup": setup, "eval": secs, "h": h, "colors": fn.stats["colors"], "nnz": h.nnz}


def cart_point(nz: int, nc: int):
    rng = np.random.default_rng(2)
    return rng.uniform(-1.0, 1.0, nz), rng.uniform(-1.0, 1.0, nc)


def casadi_cart(steps: int, repeats: int) -> dict:
    import casadi as ca

    setups = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        pos, vel, u = ca.SX.sym("p", steps + 1), ca.SX.sym("v", steps + 1), ca.SX.sym("u", steps)
        z = ca.vertcat(pos, vel, u)
        dt = 1.0 / steps
        dyn = ca.vertcat(*cart_constraints(pos, vel, u, ca.sqrt, steps))
        lam, sigma = ca.SX.sym("l", dyn.shape[0]), ca.SX.sym("sigma")
        lagr = sigma * dt * ca.sumsqr(u) + ca.dot(lam, dyn)
        hess, _ = ca.hessian(lagr, z)
        fn = ca.Function("h", [z, lam, sigma], [hess])
        setups.append(time.perf_counter() - t0)
    z0, l0 = cart_point(z.shape[0], dyn.shape[0])
    secs, _, h = measure(lambda: fn(z0, l0, 0.7))
    return {"setup": min(setups), "eval": secs, "h": h.sparse(), "nnz": h.nnz()}


def cart_rows(steps: int, repeats: int, log=print) -> dict:
    s, c = symgrad_cart(steps, repeats), peer(casadi_cart, steps, repeats)
    if "h" in c:  # two independent implementations must agree entry by entry
        diff = abs(s["h"] - c["h"].tocsr()).max()
        s["vs_casadi"] = float(diff) / float(abs(c["h"]).max())
    for r in (s, c):
        r.pop("h", None)
    log(
        f"cart {steps:,} steps, Lagrangian Hessian: symgrad c setup {fmt_time(s['setup'])}, "
        f"eval {fmt_time(s['eval'])}; CasADi "
        + (c.get("status") or f"setup {fmt_time(c['setup'])}, eval {fmt_time(c['eval'])}")
    )
    return {"steps": steps, "symgrad": s, "casadi": c}


def cart_markdown(cart: dict) -> list[str]:
    s, c = cart["symgrad"], cart["casadi"]
    head = (
        f"The cart NLP of `examples/trust_region.py` over {cart['steps']:,} steps: the Hessian "
        "of its Lagrangian `sigma * effort + lambda . dynamics` (what IPOPT asks for), "
        f"{s['nnz']:,} nonzeros from {s['colors']} colour(s)."
    )
    rows = [
        "",
        "| system | setup | eval |",
        "| --- | ---: | ---: |",
        f"| symgrad c (csr_array) | {fmt_time(s['setup'])} | {fmt_time(s['eval'])} |",
    ]
    if "status" in c:
        rows.append(f"| CasADi SX hessian | {c['status']} | |")
    else:
        rows.append(f"| CasADi SX hessian (DM) | {fmt_time(c['setup'])} | {fmt_time(c['eval'])} |")
        head += (
            f" symgrad's entries equal CasADi's to {s['vs_casadi']:.0e} (relative to the "
            f"largest); CasADi stores {c['nnz']:,} entries."
        )
    return [head, *rows]
