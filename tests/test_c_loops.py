"""Rerolling (backends/c/reroll.py): repeated stretches of large programs run as C loops.

Every test compares the looped C function with the Python backend (or the NumPy backend for
batches and reductions) on the same inputs, and checks that loops were in fact made, so a
wrong index, a wrong carried value or a missing store shows up as a wrong number.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import needs_cc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symgrad as sg
from symgrad.backends.c import abi, reroll

pytestmark = [needs_cc, pytest.mark.usefixtures("c_cache")]
LOOP = "for (long long sg_r"


@pytest.fixture
def small_loops(monkeypatch):
    """Reroll programs from 40 operations up, so small test programs take the looped path."""
    monkeypatch.setattr(abi, "LOOP_MIN_OPS", 40)


def close(got, want, rtol: float = 1e-12) -> bool:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return False
    nan = np.isnan(want)
    if not np.array_equal(np.isnan(got), nan):
        return False
    g, w = got[~nan], want[~nan]
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf
        return bool(np.all((g == w) | (np.abs(g - w) <= rtol * np.maximum(1.0, np.abs(w)))))


def rosenbrock(x):
    total = None
    for i in range(len(x) - 1):
        term = 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
        total = term if total is None else total + term
    return total


def test_rosenbrock_becomes_a_few_loops_and_matches_python():
    x = list(sg.symbols("x0:300"))
    f = rosenbrock(x)
    g = sg.gradient(f, x)
    fc = sg.compile([x], [f, np.array(g, dtype=object)], backend="c")
    fp = sg.compile([x], [f, g], backend="python")
    assert fc.stats["ops"] > abi.LOOP_MIN_OPS  # the default path, no test switch
    assert fc.source.count(LOOP) >= 2 and fc.stats["lines"] < 120
    for xv in (np.linspace(-1.5, 2.0, 300), np.random.default_rng(0).normal(size=300)):
        v, grad = fc(xv)
        pv, pg = fp(xv.tolist())
        assert close(v, pv) and close(grad, pg)
    # a batch: every row its own point
    xb = np.random.default_rng(1).normal(size=(5, 300))
    v, grad = fc(xb)
    assert v.shape == (5,) and grad.shape == (5, 300)
    for i in range(5):
        pv, pg = fp(xb[i].tolist())
        assert close(v[i], pv) and close(grad[i], pg)


def chain_by_hand(y: float, depth: int) -> tuple[list[float], float]:
    h, d, ys = 1.0 / depth, 1.0, []
    for _ in range(depth):
        t = math.tanh(y)
        d *= 1.0 - h * (1.0 - t * t)
        y = y - h * t
        ys.append(y)
    return ys, d


def test_chain_with_every_step_an_output(small_loops):
    """Outputs stored from inside a loop (one per step), a carried value and a backward loop
    reading the forward one's values in reverse."""
    depth = 300
    x = sg.Symbol("x")
    ys, y = [], x
    for _ in range(depth):
        y = y - (1.0 / depth) * sg.tanh(y)
        ys.append(y)
    fc = sg.compile([x], [ys, sg.gradient(y, x)], backend="c")
    assert fc.source.count(LOOP) >= 2
    want_ys, want_d = chain_by_hand(0.7, depth)
    got_ys, got_d = fc(0.7)
    assert close(got_ys, want_ys, 1e-12) and close(got_d, want_d, 1e-10)


def test_outputs_that_are_inputs_constants_or_repeated(small_loops):
    x = list(sg.symbols("x0:60"))
    s = sum((xi * xi for xi in x), x[0])
    outs = [x[3], 2.5, s, s, sg.gradient(s, x), x[0]]
    fc = sg.compile([x], outs, backend="c")
    fp = sg.compile([x], outs, backend="python")
    assert LOOP in fc.source
    xv = np.linspace(-1.0, 1.0, 60)
    got, want = fc(xv), fp(xv.tolist())
    for g, w in zip(got, want):
        assert close(g, w)


@pytest.mark.parametrize("reduce", [None, "sum", "mean"])
def test_batches_and_reduce_match_numpy(small_loops, reduce):
    w = list(sg.symbols("w0:20"))
    x, t = sg.symbols("x t")
    h = x
    for wi in w:  # a deep scalar "network": one weight a layer
        h = sg.tanh(wi * h + 0.1)
    loss = (h - t) ** 2
    outs = [loss, sg.gradient(loss, w)]
    rng = np.random.default_rng(3)
    W, X, T = rng.normal(size=20), rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    fc = sg.compile([w, x, t], outs, backend="c", reduce=reduce)
    fn = sg.compile([w, x, t], outs, backend="numpy", reduce=reduce)
    assert LOOP in fc.source
    got, want = fc(W, X, T), fn(W, X, T)
    assert close(got[0], want[0], 1e-11)
    assert close(np.array(got[1]), np.array(want[1]), 1e-11)


def test_labels_never_reach_the_looped_source(small_loops):
    evil = "*/ int main(void) { return 1; } /* ) λ"
    x = [sg.Symbol(f"{evil}{i}") for i in range(30)]
    f = rosenbrock(x)
    fc = sg.compile([x], [f, sg.gradient(f, x)], backend="c")
    assert LOOP in fc.source and "main(" not in fc.source and "λ" not in fc.source
    fp = sg.compile([x], [f, sg.gradient(f, x)], backend="python")
    xv = np.linspace(0.1, 1.3, 30)
    got, want = fc(xv), fp(xv.tolist())
    assert close(got[0], want[0]) and close(got[1], want[1])


def test_a_program_without_repeats_stays_straight(small_loops):
    rng = np.random.default_rng(7)
    x = list(sg.symbols("x0:8"))
    pool = list(x)
    ops = [lambda a, b: a * b, lambda a, b: a + b, lambda a, b: sg.sin(a) - b, sg.maximum]
    for _ in range(60):  # a random DAG: no stretch repeats with affine operands
        i, j, k = rng.integers(len(pool), size=3)
        pool.append(ops[k % len(ops)](pool[i], pool[j]))
    f = pool[-1] + pool[-2] + pool[-7]
    fc = sg.compile([x], [f], backend="c")
    fp = sg.compile([x], [f], backend="python")
    xv = rng.normal(size=8)
    assert close(fc(xv)[0], fp(xv.tolist())[0])


def test_negative_and_special_constants_in_loop_bodies(small_loops):
    """Constants are printed as atoms: a negative literal or -HUGE_VAL in parentheses."""
    x = sg.Symbol("x")
    y, ys = x, []
    for i in range(30):
        y = sg.maximum(y * -0.5 - (-0.25 - i), -math.inf) + sg.where(y > 1e308, math.nan, -0.0)
        ys.append(y)
    fc = sg.compile([x], [ys, sg.gradient(y, x)], backend="c")
    fp = sg.compile([x], [ys, sg.gradient(y, x)], backend="python")
    body = fc.source[fc.source.index("int sg_f(") :]
    assert LOOP in body and "--" not in body and "(-HUGE_VAL)" in body
    for xv in (0.7, -3.0, math.inf):
        got, want = fc(xv), fp(xv)
        assert close(got[0], want[0]) and close(got[1], want[1]), xv


def test_special_values_flow_through_loops(small_loops):
    x = list(sg.symbols("x0:40"))
    acc = x[0]
    for i in range(1, 40):
        acc = sg.where(x[i] > acc, x[i], acc) + sg.log(abs(x[i]))
    outs = [acc, sg.gradient(acc, x)]
    fc = sg.compile([x], outs, backend="c")
    fp = sg.compile([x], outs, backend="python")
    assert LOOP in fc.source
    xv = np.linspace(-2.0, 2.0, 40)
    for bad in (math.inf, -math.inf, math.nan, 0.0, -0.0):
        xv2 = xv.copy()
        xv2[17] = bad
        got, want = fc(xv2), fp(xv2.tolist())
        assert close(got[0], want[0]) and close(got[1], want[1]), bad


# -- random programs built by Python loops -------------------------------------------------

UNARY = [sg.tanh, sg.sin, lambda a: a * a, lambda a: -a, sg.sigmoid, lambda a: sg.exp(-a * a)]
BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: sg.maximum(a, b),
    lambda a, b: sg.where(sg.ir.as_expr(a) > b, a, b * 0.5),  # a may be a float: no bool
]


@st.composite
def step_shapes(draw):
    """One loop body: a small expression tree over the carried state ``y``, inputs at affine
    indices (forwards and backwards) and constants; the same tree at every step."""
    n_nodes = draw(st.integers(2, 6))
    tree = []
    for _ in range(n_nodes):
        if draw(st.booleans()):
            tree.append(("u", draw(st.integers(0, len(UNARY) - 1)), draw(st.integers(0, 6))))
        else:
            tree.append(
                (
                    "b",
                    draw(st.integers(0, len(BINARY) - 1)),
                    draw(st.integers(0, 6)),
                    draw(st.integers(0, 6)),
                )
            )
    accumulate = draw(st.booleans())
    return tree, accumulate


def build(tree, accumulate, xs, steps):
    n = len(xs)
    y, acc = xs[0] * 0.5, None
    for i in range(steps):
        leaves = [y, xs[i % n], xs[n - 1 - (i % n)], xs[(2 * i + 1) % n], 0.25, y * 0.5]
        vals = list(leaves)
        for node in tree:
            if node[0] == "u":
                vals.append(UNARY[node[1]](vals[node[2] % len(vals)]))
            else:
                vals.append(BINARY[node[1]](vals[node[2] % len(vals)], vals[node[3] % len(vals)]))
        y = 0.9 * y + 0.1 * vals[-1]
        if accumulate:
            acc = vals[-1] if acc is None else acc + vals[-1]
    return [y] if acc is None else [y, acc]


def compile_and_compare(tree, accumulate: bool, n: int, seed: int):
    """The loop-built program with ``n`` steps, its outputs (every value, the gradient of the
    last) compared between the C backend and the Python backend; returns the C function."""
    xs = list(sg.symbols(f"x0:{n}"))
    vals = build(tree, accumulate, xs, steps=n)
    outs = [vals, sg.gradient(vals[-1], xs)]
    fc = sg.compile([xs], outs, backend="c")
    fp = sg.compile([xs], outs, backend="python")
    xv = np.random.default_rng(seed).normal(size=n)
    got, want = fc(xv), fp(xv.tolist())
    assert close(got[0], want[0], 1e-9), (got[0], want[0])
    assert close(got[1], want[1], 1e-9)
    return fc


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(step_shapes(), st.integers(0, 2**32 - 1))
def test_random_looped_programs_match_python(shape, seed):
    # No assertion that loops were found: interning can share a node between steps (tanh of
    # x[i] at step i and of x[n-1-j] at step j), which is not affine and rightly stays
    # straight. test_fixed_steps_reroll holds shapes that must loop.
    old = abi.LOOP_MIN_OPS
    abi.LOOP_MIN_OPS = 40  # (hypothesis runs many examples per function-scoped fixture)
    try:
        compile_and_compare(*shape, n=24, seed=seed)
    finally:
        abi.LOOP_MIN_OPS = old


@pytest.mark.parametrize(
    "tree",
    [
        [("u", 0, 0)],  # tanh of the state
        [("b", 2, 0, 1), ("u", 1, 6)],  # y * x[i], then sin
        [("b", 3, 1, 0), ("b", 4, 6, 2)],  # maximum, where
        [("u", 4, 1), ("b", 0, 6, 0)],  # sigmoid(x[i]) + y
    ],
)
@pytest.mark.parametrize("accumulate", [False, True])
def test_fixed_steps_reroll(small_loops, tree, accumulate):
    fc = compile_and_compare(tree, accumulate, n=40, seed=5)
    assert fc.source.count(LOOP) >= 2  # the forward steps and the backward ones
    assert fc.stats["lines"] < fc.stats["ops"] / 3


def test_plan_finds_the_period_and_counts():
    """The planner alone: a 3-op step repeated 50 times is one loop of body 3."""
    x = sg.Symbol("x")
    y = x
    for _ in range(50):
        y = y - 0.01 * sg.tanh(y)
    from symgrad.ir import topo_order

    nodes = topo_order([y])
    t = reroll.tape(nodes, [y], {x.serial: 0})
    pl = reroll.plan(t, [(0, 1)])
    # step 0 reads the input x, not a temporary: it stays straight, as does the final store
    assert [(lp.period, lp.count) for lp in pl.loops] == [(3, 49)]
    assert pl.statements == t.n - 3 * 48 == 3 + 3 + 1


def _dag(n: int, seed: int = 0):
    """A random irregular DAG of ``n`` operations over 20 inputs (nothing repeats)."""
    import random

    rng = random.Random(seed)
    xs = list(sg.symbols("x0:20"))
    nodes = list(xs)
    for _ in range(n):
        a, b = nodes[-1 - rng.randrange(min(len(nodes), 30))], nodes[rng.randrange(len(nodes))]
        r = rng.random()
        nodes.append(a + b if r < 0.4 else a - b if r < 0.6 else sg.tanh(a * b))
    return xs, nodes[-1] + nodes[-2]


def test_a_large_irregular_graph_gives_up_on_its_head(monkeypatch):
    """Past 16 heads, an irregular graph is taped for rerolling only on its head (then runs
    on the interpreter, values unchanged); a long chain still rerolls whole."""
    from symgrad.backends.c import loops

    lengths: list[int] = []
    real = reroll.tape
    monkeypatch.setattr(
        reroll, "tape", lambda nodes, *a: lengths.append(len(nodes)) or real(nodes, *a)
    )
    xs, f = _dag(30 * loops._HEAD)
    fn = sg.compile([xs], [f], backend="c")
    assert lengths == [4 * loops._HEAD] and fn._fn.on_vm
    point = [0.01 * k - 0.1 for k in range(20)]
    assert close(fn(np.array(point))[0], sg.compile([xs], [f])(point)[0])
    lengths.clear()
    y = sg.Symbol("y")
    g = y
    for _ in range(20_000):
        g = g - sg.tanh(g) * 1e-4
    chain = sg.compile([y], [g, sg.gradient(g, [y])[0]], backend="c")
    assert LOOP in chain.source and len(lengths) == 2 and lengths[0] == 4 * loops._HEAD
    assert close(chain(0.7), sg.compile([y], [g, sg.gradient(g, [y])[0]])(0.7))
