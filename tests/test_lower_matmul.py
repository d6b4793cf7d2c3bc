"""The matrix-structure lowering pass (backends/lower_matmul.py) on its own: the products it
finds on dense layers (forward, transposed in the gradient, outer-product sums under a
reduction), none on irregular graphs, and the lowered program's values equal the scalar
graph's (a small interpreter of the lowered program here, against sg.evaluate; the compiled
backends against each other, with inf and NaN, and against central differences)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import needs_cc
from hypothesis import given, settings
from hypothesis import strategies as st
from test_numpy_matmul import _mlp  # the tanh MLP loss, written per sample

import symgrad as sg
from symgrad.backends.lower_lanes import vectorize
from symgrad.backends.lower_matmul import lower
from symgrad.backends.lowered import Dot, Elementwise, Lanes, MatMul, OuterSum, Total, Vectors
from symgrad.ops import INFO, Op


def _elements(*params):
    """serial -> (parameter number, flat index) for lists of symbols."""
    return {s.serial: (q, i) for q, p in enumerate(params) for i, s in enumerate(p)}


def _run(low, env: dict, flat: dict[int, list[float]]) -> list[float]:
    """The lowered program for one sample: products as plain sums, elementwise steps lane by
    lane through the op table, the rest by sg.evaluate; under a reduction (one sample) each
    item read at its pick."""
    env = dict(env)
    values: list[list[float]] = []  # per step, its rows

    def lane(a: Lanes, j: int) -> float:
        return values[a.step][j if a.perm is None else a.perm[j]]

    def operand(v: Vectors) -> list[float]:
        if v.lanes is not None:
            return [lane(v.lanes, j) for j in range(len(v.nodes))]
        return sg.evaluate(list(v.nodes), env)

    for m in low.steps:
        if isinstance(m, MatMul):
            vec, P = operand(m.vectors), flat[m.param]
            sums = [sum(P[i] * v for i, v in zip(idx, vec)) for idx in m.index]
            vals = [s + P[idx[-1]] if m.bias else s for s, idx in zip(sums, m.index)]
        else:
            vals = []
            for j in range(len(m.rows)):
                args = [lane(a, j) if isinstance(a, Lanes) else sg.evaluate(a, env) for a in m.args]
                vals.append(INFO[m.op].on_floats(*args))
        values.append(vals)
        env.update(zip(m.rows, vals))
    if low.items is None:
        return sg.evaluate(low.roots, env)
    vals = []
    for it in low.items:
        if isinstance(it, Total):
            vals.append(sg.evaluate(it.node, env))
        elif isinstance(it, Dot):
            vals.append(sg.evaluate(it.a, env) * sg.evaluate(it.b, env))
        else:
            rs, cs = operand(it.rows), operand(it.cols)
            vals.append([[r * c for c in cs] + [r] * it.ones for r in rs])
    return [vals[k[0]] if len(k) == 1 else vals[k[0]][k[1]][k[2]] for k in low.picks]


def test_a_dense_layer_is_one_product_with_its_bias():
    p = list(sg.symbols("p0:8"))
    x = list(sg.symbols("x0:3"))
    zs = [p[4 * j + 3] + sum(p[4 * j + k] * x[k] for k in range(3)) for j in range(2)]
    low = lower([sg.tanh(z) for z in zs], _elements(p, x))
    (m,) = low.products
    assert m.param == 0 and m.bias
    assert m.index == ((0, 1, 2, 3), (4, 5, 6, 7))
    assert m.vectors.param == 1 and (m.vectors.start, m.vectors.step) == (0, 1)
    assert [n.serial for n in m.vectors.nodes] == [v.serial for v in x]
    # the roots read the rows: tanh(row j), and nothing of the sums is left
    assert [r.args[0] for r in low.roots] == list(m.rows)


def test_mlp_gradient_has_forward_transposed_and_outer_products():
    p, x, y, loss, grad = _mlp()
    low = lower([loss, *grad], _elements(p, x), reduce=True)
    assert len(low.products) == 3  # two layers forward, the adjoint of the hidden layer
    fwd1, fwd2, back = low.products
    assert fwd1.vectors.param == 1  # layer 1 reads x as a slice
    assert fwd2.vectors.param is None  # layer 2 stacks the tanh outputs
    # the transposed product: row j (a hidden unit) sums W2[k][j] * g_k over the outputs k
    assert len(back.rows) == 4 and len(back.index[0]) == 2 and not back.bias
    assert sorted(i for row in back.index for i in row) == [
        16 + 5 * k + j for k in range(2) for j in range(4)
    ]
    outer = [it for it in low.items if isinstance(it, OuterSum)]
    assert sorted((len(o.rows.nodes), len(o.cols.nodes), o.ones) for o in outer) == [
        (2, 4, True),
        (4, 3, True),
    ]
    assert any(o.cols.param == 1 for o in outer)  # dW1 = sum_batch dz1 x^T reads x directly
    env = dict(zip(p, np.random.default_rng(1).normal(size=len(p))))
    env.update(zip(x, [0.3, -1.2, 2.0]))
    env[y] = 0.25
    flat = {0: [env[s] for s in p], 1: [env[s] for s in x]}
    want = sg.evaluate([loss, *grad], env)
    np.testing.assert_allclose(_run(low, env, flat), want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_run(vectorize(low), env, flat), want, rtol=1e-12, atol=1e-15)


def test_rows_of_a_layer_become_whole_array_steps():
    """tanh over a layer's rows is one step; the next layer and the weight gradients read
    that array whole; the gradient's (1 - t*t) * g rows too, with the row order permuted."""
    p, x, y, loss, grad = _mlp()
    low = vectorize(lower([loss, *grad], _elements(p, x), reduce=True))
    ew = [m for m in low.steps if isinstance(m, Elementwise)]
    first = low.steps.index(low.products[0])
    tanh1 = next(m for m in ew if m.op is Op.TANH and m.args == (Lanes(first),))
    assert len(tanh1.rows) == 4
    second = low.products[1]
    assert second.vectors.lanes == Lanes(low.steps.index(tanh1))
    assert low.steps.index(second) > low.steps.index(tanh1)  # dependency order
    outer = [it for it in low.items if isinstance(it, OuterSum)]
    assert all(o.rows.lanes is not None for o in outer)  # the adjoints, as arrays
    assert any(o.cols.lanes == Lanes(low.steps.index(tanh1)) for o in outer)  # dW2 reads t
    assert any(a.perm is not None for m in ew for a in m.args if isinstance(a, Lanes))


def test_lanes_stay_scalar_when_incomplete_or_cyclic():
    x = list(sg.symbols("x0:3"))
    p = list(sg.symbols("p0:9"))
    zs = [sum(p[3 * j + k] * x[k] for k in range(3)) for j in range(3)]
    # only two of three rows get tanh, and a chain row -> next row is no lane-wise op
    chain = sg.tanh(zs[0]) * zs[1] + zs[2]
    roots = [sg.tanh(zs[0]), sg.tanh(zs[1]), chain]
    low = vectorize(lower(roots, _elements(p, x)))
    assert not [m for m in low.steps if isinstance(m, Elementwise)]
    env = dict(zip(p + x, np.linspace(-1, 1, 12)))
    flat = {0: [env[s] for s in p], 1: [env[s] for s in x]}
    np.testing.assert_allclose(_run(low, env, flat), sg.evaluate(roots, env), rtol=1e-12)


@pytest.mark.parametrize(
    "case", ["different_vectors", "two_params", "one_sum", "no_weights", "shared_sum"]
)
def test_no_structure_on_irregular_graphs(case):
    p, q = list(sg.symbols("p0:6")), list(sg.symbols("q0:6"))
    x = list(sg.symbols("x0:3"))
    if case == "different_vectors":  # each sum over its own vectors
        roots = [p[0] * x[0] + p[1] * x[1], p[2] * x[1] + p[3] * x[2]]
    elif case == "two_params":  # one sum's weights from two parameters
        roots = [p[0] * x[0] + q[1] * x[1], p[2] * x[0] + q[3] * x[1]]
    elif case == "one_sum":
        roots = [sg.tanh(p[0] * x[0] + p[1] * x[1] + p[2] * x[2])]
    elif case == "no_weights":  # products of values none of which is a list's element
        a, b = sg.symbols("a b")
        roots = [a * x[0] + b * x[1], b * x[0] + a * x[1]]
        x = []
    else:  # the sums are outputs themselves, read whole: never absorbed
        s = p[0] * x[0] + p[1] * x[1]
        roots = [s, p[2] * x[0] + s]
    low = lower(roots, _elements(p, q, x))
    assert low.products == [] and low.roots == roots


_OPS = st.sampled_from(["add", "mul", "sub", "tanh", "exp"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_OPS, st.integers(0, 10**6), st.integers(0, 10**6)), max_size=40))
def test_random_graphs_keep_their_values(steps):
    """Random programs over a weight list w and inputs x: whatever the pass finds, the lowered
    program gives the graph's values (sg.evaluate as the oracle)."""
    w, x = list(sg.symbols("w0:6")), list(sg.symbols("x0:3"))
    pool = [*w, *x, *(w[i] * x[i % 3] + w[(i + 1) % 6] * x[(i + 1) % 3] for i in range(6))]
    for op, i, j in steps:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        pool.append(
            {"add": a + b, "mul": a * b, "sub": a - b, "tanh": sg.tanh(a), "exp": sg.exp(-a * a)}[
                op
            ]
        )
    roots = [e for e in pool[-3:] if isinstance(e, sg.Expr) and not e.is_const]
    if not roots:
        return
    env = {s: 0.1 * (k + 1) * (-1) ** k for k, s in enumerate(w + x)}
    flat = {0: [env[s] for s in w], 1: [env[s] for s in x]}
    for reduce in (False, True):
        low = lower(roots, _elements(w, x), reduce=reduce)
        for prog in (low, vectorize(low)):
            got, want = _run(prog, env, flat), sg.evaluate(roots, env)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def _samples(P, X, Y):
    return [(P.tolist(), X[i].tolist(), float(Y[i])) for i in range(len(Y))]


@pytest.mark.parametrize("backend", ["numpy", pytest.param("c", marks=needs_cc)])
def test_every_backend_equals_the_unlowered_program_with_inf_and_nan(backend):
    """The Python backend (no lowering) sample by sample is the reference; inf and NaN in the
    weights and the inputs must come out where it puts them."""
    p, x, y, loss, grad = _mlp()
    P = np.random.default_rng(2).normal(size=len(p))
    X = np.random.default_rng(3).normal(size=(6, 3))
    Y = np.linspace(-1.0, 1.0, 6)
    X[1, 0], X[2, 2], X[4, 1] = np.inf, np.nan, -np.inf
    ref = sg.compile([p, x, y], [loss, grad])
    want = np.array([[r[0], *r[1]] for r in (ref(*s) for s in _samples(P, X, Y))])
    fn = sg.compile([p, x, y], [loss, grad], backend=backend)
    v, g = fn(P, X, Y)
    got = np.column_stack([v, np.array(g).T])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-11, atol=1e-13)
    Pbad = P.copy()
    Pbad[0], Pbad[17] = np.inf, np.nan  # a first-layer weight, a second-layer weight
    want = np.array([[r[0], *r[1]] for r in (ref(*s) for s in _samples(Pbad, X, Y))])
    v, g = fn(Pbad, X, Y)
    got = np.column_stack([v, np.array(g).T])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    red = sg.compile([p, x, y], [loss, grad], backend=backend, reduce="sum")
    rv, rg = red(Pbad, X, Y)
    np.testing.assert_array_equal(np.isnan([rv, *rg]), np.isnan(want.sum(axis=0)))


def test_reduced_gradient_matches_central_differences():
    """The lowered NumPy program's summed gradient against central differences of the loss
    computed by plain NumPy (an oracle that shares no code with symgrad)."""
    p, x, y, loss, grad = _mlp()
    rng = np.random.default_rng(5)
    P, X, Y = rng.normal(size=len(p)), rng.normal(size=(50, 3)), rng.normal(size=50)
    fn = sg.compile([p, x, y], [loss, grad], backend="numpy", reduce="sum")
    assert "_matmul(" in fn.source and "_outer(" in fn.source
    v, g = fn(P, X, Y)

    def numpy_loss(P):
        W1, W2 = P[:16].reshape(4, 4), P[16:].reshape(2, 5)
        h = np.tanh(X @ W1[:, :3].T + W1[:, 3])
        o = np.tanh(h @ W2[:, :4].T + W2[:, 4])
        return float(((o - Y[:, None]) ** 2).sum())

    assert v == pytest.approx(numpy_loss(P), rel=1e-12)
    h = 1e-6
    cd = [(numpy_loss(P + h * e) - numpy_loss(P - h * e)) / (2 * h) for e in np.eye(len(p))]
    np.testing.assert_allclose(g, cd, rtol=1e-6, atol=1e-7)


def test_products_count_the_operations_they_stand_for():
    p, x, y, loss, grad = _mlp()
    plain = sg.compile([p, x, y], [loss, grad])  # no lowering
    fn = sg.compile([p, x, y], [loss, grad], backend="numpy")
    assert fn.stats["ops"] == plain.stats["ops"]
    low = lower([loss, *grad], _elements(p, x))
    assert all(isinstance(m, MatMul) for m in low.products)
    assert sum(m.op_counts["mul"] for m in low.products) == 4 * 3 + 2 * 4 + 4 * 2
    assert math.isfinite(sum(low.op_counts.values()))


def test_rows_read_only_by_another_product_are_defined():
    """A product may stack some rows of another (here rows 2 and 0 of three; row 1 goes
    elsewhere): those rows must be named before the product reads them. Values against the
    Python backend."""
    p = list(sg.symbols("p0:20"))
    x = list(sg.symbols("x0:3"))
    zs = [sum(p[3 * j + k] * x[k] for k in range(3)) for j in range(3)]
    outs = [p[9 + 2 * j] * zs[2] + p[10 + 2 * j] * zs[0] for j in range(2)] + [sg.tanh(zs[1])]
    fn = sg.compile([p, x], outs, backend="numpy")
    assert "_vectors([" in fn.source  # stacked, not a step's array
    ref = sg.compile([p, x], outs)
    P = np.linspace(-1.0, 1.0, 20)
    X = np.random.default_rng(8).normal(size=(5, 3))
    want = np.array([ref(P.tolist(), X[i].tolist()) for i in range(5)]).T
    np.testing.assert_allclose(np.array(fn(P, X)), want, rtol=1e-12, atol=1e-14)


_PICKS = st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.booleans())


@settings(max_examples=60, deadline=None)
@given(st.lists(_PICKS, max_size=25))
def test_scalar_order_taken_from_the_outputs_is_the_walked_one(picks):
    """Under a reduction the scalar graph's order is the outputs' order minus the folded
    products (shared, not walked again); it must equal a fresh walk of the items' operands,
    whether a product output is used by another output or not."""
    import symgrad.backends.lower_matmul as lm
    from symgrad.ir import orders_shared, topo_order

    shared = []
    w, x = list(sg.symbols("w0:4")), list(sg.symbols("x0:3"))
    pool = [*w, *x, sg.tanh(w[0] * x[0] + w[1] * x[1])]
    roots = []
    for i, j, reuse in picks:
        r = pool[i % len(pool)] * pool[j % len(pool)]
        roots.append(r)
        if reuse:  # another output reads the product: it must stay in the scalar graph
            roots.append(r + w[2])
        pool.append(r)
    roots += [sg.exp(w[3]), w[3] * sg.sin(x[2])]  # the last: a product nothing uses: folded
    with pytest.MonkeyPatch.context() as mp, orders_shared():
        mp.setattr(lm, "share_order", lambda roots, nodes: shared.append((roots, nodes)))
        lm.lower(roots, _elements(w, x), reduce=True)
    assert shared
    for scalar, nodes in shared:
        assert [n.serial for n in nodes] == [n.serial for n in topo_order(scalar)]
