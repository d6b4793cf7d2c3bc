"""Sparse Hessians and Hessian-vector products (issue 13), beside CasADi and JAX where installed.

``python -m benchmarks.sparse_hessian [--quick] [--write docs/performance.md]``:

1. The Hessian of the extended Rosenbrock function (n = 100, 1,000, 10,000): symgrad's sparse
   Hessian (python, numpy, c; *setup* = build f + differentiate + sparsity + colour + compile,
   the C compiler run against an empty cache; *eval* = one call returning a
   ``scipy.sparse.csr_array``, and the flat vector of nonzeros alone), CasADi's SX ``hessian``
   (sparse; eval = one call returning its sparse ``DM``) and ``jax.jit(jax.hessian)`` (dense).
2. ``sg.hvp`` at n = 100,000 (c) against the gradient's own cost and JAX's ``jit(jvp(grad))``.
3. The cart optimal-control NLP's Lagrangian Hessian (``sigma f + lambda . c``) against CasADi.

Setups are the best of ``--repeats`` runs, evaluations the median of many calls. A peer that
is not installed says so; nothing is extrapolated. ``--write`` replaces this section of the
given Markdown file (between its markers).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

import numpy as np

import symgrad as sg
from symgrad.ir import count_ops

from .sparse_problems import (
    cart_markdown,
    cart_rows,
    cold_cache,
    cpu_seconds,
    hvp_markdown,
    hvp_rows,
    peer,
    point,
    prime_c,
    rel_err,
    rosenbrock_expr,
    rosenbrock_np,
)
from .timing import fmt_time, load_average, machine_info, measure

BEGIN, END = "<!-- sparse-hessian:begin -->", "<!-- sparse-hessian:end -->"


def hand_entries(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The Hessian written out by hand at the given entries: 2x2 blocks, diagonal
    1200 a^2 - 400 b + 2 and 200, coupling -400 a (a = x[2k], b = x[2k+1])."""
    k = np.minimum(rows, cols) // 2
    a, b = x[2 * k], x[2 * k + 1]
    diag = np.where(rows % 2 == 0, 1200 * a * a - 400 * b + 2, 200.0)
    return np.where(rows == cols, diag, -400 * a)


def symgrad_hessian(n: int, backend: str, repeats: int) -> dict:
    best: dict = {}
    best_cpu = float("inf")
    for _ in range(repeats):
        cold_cache()
        c0 = cpu_seconds()
        t0 = time.perf_counter()
        f, x = rosenbrock_expr(n)
        t1 = time.perf_counter()
        H = sg.hessian(f, x, sparse=True)
        t2 = time.perf_counter()
        fn = sg.compile([x], H, backend=backend)
        t3 = time.perf_counter()
        best_cpu = min(best_cpu, cpu_seconds() - c0)
        if not best or t3 - t0 < best["setup"]:
            best = {"setup": t3 - t0, "build": t1 - t0, "hess": t2 - t1, "compile": t3 - t2}
            keep = fn
        del f, x, H, fn
    best["cpu"] = best_cpu
    fn = keep
    x0 = point(n)
    arg = x0.tolist() if backend == "python" else x0
    secs, _, h = measure(lambda: fn(arg))
    flat = sg.CompiledFunction.__call__  # the nonzeros alone, before the csr_array is made
    flat_secs, _, _ = measure(lambda: flat(fn, arg))
    coo = h.tocoo()
    err = rel_err(coo.data, hand_entries(x0, coo.row, coo.col))
    colors, nnz = fn.stats["colors"], fn.stats["nnz"]
    return {**best, "eval": secs, "flat": flat_secs, "colors": colors, "nnz": nnz, "err": err}


def casadi_hessian(n: int, repeats: int) -> dict:
    import casadi as ca

    setups = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        x = ca.SX.sym("x", n)
        f = rosenbrock_np(x, ca.sum1)
        hess, _ = ca.hessian(f, x)
        fn = ca.Function("h", [x], [hess])
        setups.append(time.perf_counter() - t0)
    x0 = point(n)
    secs, _, h = measure(lambda: fn(x0))
    sp = h.sparsity()
    rows, cols = np.array(sp.row()), np.array(sp.get_col())
    err = rel_err(np.array(h.nonzeros()), hand_entries(x0, rows, cols))
    return {"setup": min(setups), "eval": secs, "nnz": h.nnz(), "err": err}


def jax_hessian(n: int) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    t0 = time.perf_counter()
    fn = jax.jit(jax.hessian(lambda v: rosenbrock_np(v, jnp.sum)))
    x0 = jnp.asarray(point(n))
    jax.block_until_ready(fn(x0))
    setup = time.perf_counter() - t0
    secs, _, h = measure(lambda: jax.block_until_ready(fn(x0)))
    h = np.asarray(h)
    rows, cols = np.nonzero(h)
    err = rel_err(h[rows, cols], hand_entries(np.asarray(x0), rows, cols))
    return {"setup": setup, "eval": secs, "err": err}


def run(quick: bool, repeats: int = 2, log=print) -> dict:
    import scipy.sparse  # noqa: F401  (imported once here, not inside the first setup timed)

    prime_c()

    sizes = [100, 1_000] if quick else [100, 1_000, 10_000]
    rows = []
    for n in sizes:
        for name, call in (
            ("symgrad python", lambda n=n: symgrad_hessian(n, "python", repeats)),
            ("symgrad numpy", lambda n=n: symgrad_hessian(n, "numpy", repeats)),
            ("symgrad c", lambda n=n: symgrad_hessian(n, "c", repeats)),
            ("CasADi SX hessian", lambda n=n: peer(casadi_hessian, n, repeats)),
            ("jax.jit(jax.hessian)", lambda n=n: peer(jax_hessian, n)),
        ):
            r = {"n": n, "system": name, **call()}
            rows.append(r)
            log(_row_text(r))
    hvp = hvp_rows(10_000 if quick else 100_000, log)
    cart = cart_rows(200 if quick else 1_000, repeats, log)
    ratios = []
    for n in (10, 100, 1000):
        f, x = rosenbrock_expr(n)
        ratios.append((n, count_ops(sg.gradient(f, x)), count_ops(sg.hvp(f, x, [1.0] * n))))
    return {"rows": rows, "hvp": hvp, "cart": cart, "ratios": ratios, "repeats": repeats}


def _row_text(r: dict) -> str:
    if "status" in r:
        return f"n = {r['n']:>6,} {r['system']:22s} {r['status']}"
    extra = ""
    if "build" in r:
        extra = f" (build {r['build']:.2f}, hessian {r['hess']:.2f}, compile {r['compile']:.2f} s)"
    return (
        f"n = {r['n']:>6,} {r['system']:22s} setup {fmt_time(r['setup']):>9s} "
        f"eval {fmt_time(r['eval']):>9s}{extra}"
    )


def _table_row(r: dict) -> str:
    if "status" in r:
        return f"| {r['n']:,} | {r['system']} | {r['status']} | | | | | | |"
    split = f"{r['build']:.2f} + {r['hess']:.2f} + {r['compile']:.2f} s" if "build" in r else ""
    flat = fmt_time(r["flat"]) if "flat" in r else ""
    colours = r.get("colors", "")
    cpu = f"{r['cpu']:.2f} s" if "cpu" in r else ""
    return (
        f"| {r['n']:,} | {r['system']} | {fmt_time(r['setup'])} | {cpu} | {split} | "
        f"{fmt_time(r['eval'])} | {flat} | {colours} | {r['err']:.0e} |"
    )


def markdown(res: dict, info: dict, load: str) -> str:
    lines = [
        BEGIN,
        "## Sparse Hessians and Hessian-vector products",
        "",
        "Written by `python -m benchmarks` (or `python -m benchmarks.sparse_hessian --write",
        "docs/performance.md`). Extended Rosenbrock, the Hessian alone. *setup*: build the",
        "expression, differentiate, find the sparsity, colour, compile (the C compiler against",
        "an empty cache, from a heap where the earlier rows' garbage is collected first),",
        f"the best of {res['repeats']}; *split*: build + sparse Hessian +",
        "compile. *eval*: one call returning a `scipy.sparse.csr_array` (CasADi: its sparse",
        "`DM`; JAX: the dense matrix), the median of repeats; *values*: symgrad's flat vector of",
        "nonzeros alone, before SciPy wraps it. *setup CPU*: the CPU seconds of that setup (this",
        "process and the C compiler; best of the repeats), which the other jobs inflate far less",
        "than the wall time. *rel. err*: the nonzeros against the Hessian",
        "written out by hand.",
        f"Machine: {info.get('cpu', '?')}, {info.get('cores', '?')} cores shared with other jobs",
        f"(load average {load} during the run): absolute times are pessimistic; the ratios",
        "within one run are the figures to read.",
        "",
        "| n | system | setup | setup CPU | split | eval | values | colours | rel. err |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [_table_row(r) for r in res["rows"]]
    lines += ["", "Targets (issue 13) and where a peer wins, read off the rows above:", ""]
    lines += [f"- {t}" for t in targets(res)]
    lines += ["", *hvp_markdown(res["hvp"]), "", *cart_markdown(res["cart"]), ""]
    lines.append(
        "Op counts, hvp over gradient, as n grows (a constant: forward over reverse, never n "
        "sweeps): " + ", ".join(f"n = {n:,}: {b / a:.2f}x" for n, a, b in res["ratios"]) + "."
    )
    lines.append(END)
    return "\n".join(lines) + "\n"


def _find(res: dict, n: int, system: str) -> dict | None:
    for r in res["rows"]:
        if r["n"] == n and r["system"] == system and "status" not in r:
            return r
    return None


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def targets(res: dict) -> list[str]:
    """Each target as met or missed with its figures, then every peer win: computed from the
    measured rows, never typed in."""
    out = []
    big = max(r["n"] for r in res["rows"])
    c, cas = _find(res, big, "symgrad c"), _find(res, big, "CasADi SX hessian")
    if c and big >= 10_000:
        cpu = f" ({c['cpu']:.2f} s of CPU)" if "cpu" in c else ""
        out.append(
            f"n = {big:,} setup under 5 s (symgrad c): {fmt_time(c['setup'])}{cpu}, "
            f"{_verdict(c['setup'] < 5.0)} in this run (its load average is above)."
        )
    if c and cas:
        out.append(
            f"n = {big:,} evaluation no slower than CasADi's: symgrad c {fmt_time(c['eval'])} "
            f"(csr_array; the values alone {fmt_time(c['flat'])}) against {fmt_time(cas['eval'])}"
            f": {_verdict(c['eval'] <= cas['eval'])}."
        )
    c1, jax1 = _find(res, 1_000, "symgrad c"), _find(res, 1_000, "jax.jit(jax.hessian)")
    if c1 and jax1:
        out.append(
            f"n = 1,000 at least 10x faster than jax.jit(jax.hessian): "
            f"{jax1['eval'] / c1['eval']:.0f}x ({fmt_time(c1['eval'])} against "
            f"{fmt_time(jax1['eval'])}): {_verdict(jax1['eval'] >= 10 * c1['eval'])}."
        )
    s, j = res["hvp"]["symgrad"], res["hvp"]["jax"]
    out.append(
        f"hvp at n = {res['hvp']['n']:,} under 4x the gradient: "
        f"{s['hvp_eval'] / s['grad_eval']:.2f}x: {_verdict(s['hvp_eval'] < 4 * s['grad_eval'])}."
    )
    if "eval" in j:
        out.append(
            f"hvp within 2x of JAX jvp(grad): {s['hvp_eval'] / j['eval']:.2f}x JAX's time: "
            f"{_verdict(s['hvp_eval'] <= 2 * j['eval'])}."
        )
    for r in res["rows"]:
        if "status" in r or r["system"].startswith("symgrad"):
            continue
        for k in ("setup", "eval"):
            beaten = [
                f"{name[8:]} {fmt_time(ours[k])}"
                for name in ("symgrad python", "symgrad numpy", "symgrad c")
                if (ours := _find(res, r["n"], name)) is not None and r[k] < ours[k]
            ]
            if beaten:
                out.append(
                    f"{r['system']} wins at n = {r['n']:,} in {k}: {fmt_time(r[k])} against "
                    f"symgrad {', '.join(beaten)}."
                )
    return out


def write(path: str, text: str) -> None:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = fh.read()
    except FileNotFoundError:
        doc = ""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", re.S)
    doc = pattern.sub(lambda _: text, doc) if pattern.search(doc) else doc.rstrip() + "\n\n" + text
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sparse_hessian")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=2, help="setups timed per row (best taken)")
    ap.add_argument("--write", metavar="MARKDOWN", help="replace this section of the file")
    ap.add_argument("--json", metavar="PATH", help="also keep the raw figures here")
    ap.add_argument("--from-json", metavar="PATH", help="render figures kept by --json")
    a = ap.parse_args(argv)
    if a.from_json:
        with open(a.from_json, encoding="utf-8") as fh:
            res, load = json.load(fh)
    else:
        before = load_average()
        res = run(a.quick, a.repeats, log=lambda s: print(s, flush=True))
        load = f"{before} at the start, {load_average()} at the end"
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump([res, load], fh)
    text = markdown(res, machine_info(), load)
    if a.write:
        write(a.write, text)
        print(f"wrote the section into {a.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
