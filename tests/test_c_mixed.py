"""The C backend's phased form: dense layers of a reduced program run as BLAS products between
C kernels. Checked against a plain NumPy formula of the same loss (value) and its central
differences (gradient), against the Python backend sample by sample, and against the NumPy
backend for every batch layout, inf/NaN, threads and pickling."""

from __future__ import annotations

import math
import pickle
import re
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import symgrad as sg
from benchmarks.workloads import dense_forward
from symgrad.backends.lower_lanes import vectorize
from symgrad.backends.lower_matmul import elements_of, lower
from symgrad.backends.lower_phases import kernel_inputs, phases
from symgrad.backends.lowered import Elementwise

pytestmark = pytest.mark.skipif(
    __import__("shutil").which("cc") is None and __import__("shutil").which("gcc") is None,
    reason="needs a C compiler",
)

SIZES = (8, 24, 24, 4)


def _n_params(sizes=SIZES) -> int:
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def _loss(p, x, y, lib):
    """Softmax cross-entropy through log-sum-exp, per sample."""
    z = dense_forward(p, x, lib.tanh, SIZES)
    m = z[0]
    for v in z[1:]:
        m = lib.maximum(m, v)
    s = sum(lib.exp(v - m) for v in z)
    return m + lib.log(s) - sum(o * v for o, v in zip(y, z))


@pytest.fixture(scope="module")
def model():
    p = list(sg.symbols(f"p0:{_n_params()}"))
    x = list(sg.symbols(f"x0:{SIZES[0]}"))
    y = list(sg.symbols(f"y0:{SIZES[-1]}"))
    f = _loss(p, x, y, sg)
    g = np.array(sg.gradient(f, p), dtype=object)
    fn = sg.compile([p, x, y], [f, g], backend="c", reduce="sum")
    ref = sg.compile([p, x, y], [f, g], backend="numpy", reduce="sum")
    return p, x, y, f, g, fn, ref


def _data(n=37, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.uniform(-0.5, 0.5, _n_params())
    X = rng.uniform(-1, 1, (n, SIZES[0]))
    Y = np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], n)]
    return P, X, Y


def _numpy_loss(P, X, Y) -> float:
    """The same loss written with NumPy arrays by hand (an independent formula)."""
    act, k = X, 0
    for li, (nin, nout) in enumerate(zip(SIZES, SIZES[1:])):
        W = P[k : k + nout * (nin + 1)].reshape(nout, nin + 1)
        k += nout * (nin + 1)
        z = act @ W[:, :nin].T + W[:, nin]
        act = np.tanh(z) if li < len(SIZES) - 2 else z
    m = act.max(axis=1)
    lse = m + np.log(np.exp(act - m[:, None]).sum(axis=1))
    return float(np.sum(lse - (Y * act).sum(axis=1)))


def test_dense_layers_take_the_phased_form(model):
    fn = model[5]
    assert "symgrad-plan" in fn.source and "int sg_k" in fn.source
    assert "sg_f(" not in fn.source.split("symgrad-plan")[0]
    assert fn.stats["lines"] > 0


def test_value_and_gradient_against_numpy_formula_and_central_differences(model):
    fn = model[5]
    P, X, Y = _data()
    v, g = fn(P, X, Y)
    assert isinstance(v, float) and g.shape == (_n_params(),)
    assert v == pytest.approx(_numpy_loss(P, X, Y), rel=1e-12)
    h = 1e-6
    for i in np.random.default_rng(1).choice(_n_params(), 25, replace=False):
        e = np.zeros_like(P)
        e[i] = h
        cd = (_numpy_loss(P + e, X, Y) - _numpy_loss(P - e, X, Y)) / (2 * h)
        assert g[i] == pytest.approx(cd, rel=1e-5, abs=1e-7)


def test_equals_python_backend_sample_by_sample(model):
    p, x, y, f, g, fn, _ = model
    P, X, Y = _data(n=5, seed=2)
    one = sg.compile([p, x, y], [f, g])
    vs, gs = zip(*(one(P.tolist(), X[i].tolist(), Y[i].tolist()) for i in range(5)))
    v, grad = fn(P, X, Y)
    assert v == pytest.approx(sum(vs), rel=1e-13)
    np.testing.assert_allclose(grad, np.sum(gs, axis=0), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize(
    "layout",
    ["plain", "no batch", "two batch axes", "batched params", "broadcast y", "empty", "long"],
)
def test_every_batch_layout_equals_numpy_backend(model, layout):
    fn, ref = model[5], model[6]
    P, X, Y = _data(n=6 if layout != "long" else 5000, seed=3)
    if layout == "no batch":
        X, Y = X[0], Y[0]
    elif layout == "two batch axes":
        X, Y = X.reshape(2, 3, -1), Y.reshape(2, 3, -1)
    elif layout == "batched params":
        P = P + 0.01 * np.random.default_rng(4).standard_normal((6, P.size))
    elif layout == "broadcast y":
        Y = Y[:1]
    elif layout == "empty":
        X, Y = X[:0], Y[:0]
    a, b = fn(P, X, Y), ref(P, X, Y)
    assert a[0] == pytest.approx(b[0], rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("layout", ["plain", "no batch", "two batch axes", "empty"])
def test_unreduced_programs_take_the_phased_form_too(model, layout):
    """Per-sample outputs (no reduce=): each sample's value and gradient, as the NumPy backend
    gives them, with the batch shape."""
    p, x, y, f, g = model[:5]
    fn = sg.compile([p, x, y], [f, g], backend="c")
    ref = sg.compile([p, x, y], [f, g], backend="numpy")
    assert "symgrad-plan" in fn.source
    P, X, Y = _data(n=6, seed=7)
    if layout == "no batch":
        X, Y = X[0], Y[0]
    elif layout == "two batch axes":
        X, Y = X.reshape(2, 3, -1), Y.reshape(2, 3, -1)
    elif layout == "empty":
        X, Y = X[:0], Y[:0]
    a, b = fn(P, X, Y), ref(P, X, Y)
    assert np.shape(a[0]) == np.shape(b[0]) and np.shape(a[1]) == np.shape(b[1])
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-13)
    if layout == "no batch":
        assert isinstance(a[0], float)


def test_mean_reduction(model):
    p, x, y, f, g, _, _ = model
    fn = sg.compile([p, x, y], [f, g], backend="c", reduce="mean")
    assert "symgrad-plan" in fn.source
    P, X, Y = _data(n=9)
    v, grad = fn(P, X, Y)
    assert v == pytest.approx(_numpy_loss(P, X, Y) / 9, rel=1e-12)
    assert np.isnan(fn(P, X[:0], Y[:0])[0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_inputs_give_the_numpy_backends_values(model, bad):
    fn, ref = model[5], model[6]
    P, X, Y = _data(n=8)
    X[3, 2] = bad
    P2 = P.copy()
    P2[5] = bad
    for args in [(P, X, Y), (P2, X[:2], Y[:2])]:
        a, b = fn(*args), ref(*args)
        np.testing.assert_array_equal(np.isnan(a[1]), np.isnan(b[1]))
        np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-13, equal_nan=True)
        assert (np.isnan(a[0]) and np.isnan(b[0])) or a[0] == pytest.approx(b[0], rel=1e-12)


def test_threads_and_pickling(model):
    fn = model[5]
    datas = [_data(n=300, seed=s) for s in range(4)]
    want = [fn(*d) for d in datas]
    got: dict[int, tuple] = {}

    def work(i):
        for _ in range(5):
            got[i] = fn(*datas[i])

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for i in range(4):
        assert got[i][0] == want[i][0]
        np.testing.assert_array_equal(got[i][1], want[i][1])
    back = pickle.loads(pickle.dumps(fn))
    np.testing.assert_array_equal(back(*datas[0])[1], want[0][1])


def test_save_writes_a_loader_that_needs_only_numpy(model, tmp_path):
    fn = model[5]
    fn.save(str(tmp_path / "out"))
    assert (tmp_path / "out" / "f.c").read_text() == fn.source
    P, X, Y = _data(n=50, seed=5)
    np.savez(tmp_path / "d.npz", P=P, X=X, Y=Y)
    script = (
        "import sys, numpy as np\n"
        "sys.modules['symgrad'] = None\n"  # the loader must not need symgrad
        "sys.path.insert(0, sys.argv[1]); import f\n"
        "d = np.load(sys.argv[2])\n"
        "v, g = f.f(d['P'], d['X'], d['Y'])\n"
        "np.save(sys.argv[3], np.concatenate([[v], g]))\n"
        "try:\n    f.f(d['P'], d['X'][:, :3], d['Y'])\nexcept ValueError as e:\n    print(e)\n"
    )
    out = tmp_path / "r.npy"
    res = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "out"), str(tmp_path / "d.npz"), str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = np.load(out)
    v, g = fn(P, X, Y)
    assert got[0] == pytest.approx(v, rel=1e-12)
    np.testing.assert_allclose(got[1:], g, rtol=1e-10, atol=1e-13)
    assert "argument 2" in res.stdout


def test_wrong_arguments_are_named(model):
    fn = model[5]
    P, X, Y = _data()
    with pytest.raises(ValueError, match="argument 'x'"):
        fn(P, X[:, :3], Y)


def test_irregular_programs_keep_the_plain_form():
    x = list(sg.symbols("x0:400"))
    f = sum(100 * (b - a**2) ** 2 + (1 - a) ** 2 for a, b in zip(x, x[1:]))
    w = sg.Symbol("w")
    fn = sg.compile([x, w], [f * w, sg.gradient(f * w, x)], backend="c", reduce="sum")
    assert "symgrad-plan" not in fn.source


# -- the phase partition, without a backend --------------------------------------------------


@pytest.mark.parametrize("lanes", [False, True], ids=["scalar rows", "elementwise steps"])
def test_phases_lay_out_each_step_operand_in_place(model, lanes):
    p, x, y, f, g, _, _ = model
    roots = [f, *g]
    names = {s.serial: f"n{s.serial}" for s in [*p, *x, *y]}
    params = [("p", [names[s.serial] for s in p]), ("x", [names[s.serial] for s in x])]
    params.append(("y", [names[s.serial] for s in y]))
    low = lower(roots, elements_of(params, names), reduce=True)
    assert len(low.products) >= 4  # forward layers and the transposed products
    if lanes:
        low = vectorize(low)
        assert any(isinstance(m, Elementwise) for m in low.steps)
    ph = phases(low)
    for s, (m, at) in enumerate(zip(low.steps, ph.vector_at)):
        for r in m.rows:
            assert ph.phase_of.get(r.serial, ph.step_phase[s] + 1) == ph.step_phase[s] + 1
        places = at if isinstance(m, Elementwise) else [at]
        operands = m.args if isinstance(m, Elementwise) else [m.vectors]
        for where, v in zip(places, operands):
            if where[0] == "slot":
                k, row = where[1:]
                assert k <= ph.step_phase[s]
                nodes = v.nodes if hasattr(v, "nodes") else (v,)
                slots = ph.phases[k].slots[row : row + len(nodes)]
                assert [n.serial for n in slots] == [n.serial for n in nodes]
            elif where[0] == "lanes":
                assert where[1] < s and ph.step_phase[where[1]] <= ph.step_phase[s]
    for k, phase in enumerate(ph.phases):
        for node in kernel_inputs(phase, k, ph.phase_of):
            assert node.op.value == "symbol" or 0 <= ph.phase_of[node.serial] < k
            if node.op.value != "symbol":
                assert node.serial in ph.phases[ph.phase_of[node.serial]].where


# -- random dense programs: the phased form against the NumPy backend ------------------------

_ACTS = {
    "tanh": sg.tanh,
    "sigmoid": sg.sigmoid,
    "relu": lambda v: sg.where(v > 0, v, 0.0),
    "softplus": sg.softplus,
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(2, 40), min_size=3, max_size=4),
    act=st.sampled_from(sorted(_ACTS)),
    loss=st.sampled_from(["squares", "logsumexp", "abs"]),
    n=st.sampled_from([1, 7, 300]),
    seed=st.integers(0, 2**16),
)
def test_random_dense_programs_equal_the_numpy_backend(sizes, act, loss, n, seed):
    """Random layer widths, activations and losses: whenever the phased form is taken, its
    value and gradient equal the NumPy backend's (a different code path: NumPy's lowering
    printed as array code), on random data including an inf and a NaN sample."""
    k = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    p = list(sg.symbols(f"p0:{k}"))
    x = list(sg.symbols(f"x0:{sizes[0]}"))
    z = dense_forward(p, x, _ACTS[act], tuple(sizes))
    if loss == "squares":
        f = sum(v * v for v in z)
    elif loss == "abs":
        f = sum(abs(v - 0.5) for v in z)
    else:
        m = z[0]
        for v in z[1:]:
            m = sg.maximum(m, v)
        f = m + sg.log(sum(sg.exp(v - m) for v in z))
    outs = [f, np.array(sg.gradient(f, p), dtype=object)]
    fn = sg.compile([p, x], outs, backend="c", reduce="sum")
    ref = sg.compile([p, x], outs, backend="numpy", reduce="sum")
    event("phased" if "symgrad-plan" in fn.source else "plain")
    rng = np.random.default_rng(seed)
    P = rng.uniform(-1, 1, k) / np.sqrt(max(sizes))
    X = rng.uniform(-2, 2, (n, sizes[0]))
    for data in [X, np.where(np.arange(n)[:, None] == n - 1, np.inf, X)]:
        a, b = fn(P, data), ref(P, data)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-10, atol=1e-12, equal_nan=True)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-11, equal_nan=True)


def test_verify_judges_the_phased_form_against_the_oracle(model):
    """sg.verify evaluates the compiled phased function and compares every output with the
    50-digit oracle."""
    fn = model[5]
    report = sg.verify(fn, points=1, seed=3)
    assert "symgrad-plan" in fn.source
    assert "ok" in str(report) and "mismatch" not in str(report).lower()


def test_an_irregular_graph_skips_the_search_for_products(monkeypatch):
    """Fewer multiplications by parameter elements (plus outputs) than MIN_PRODUCT_MACS: no
    product search at all, and the same values; a dense layer still gets its products."""
    from symgrad.backends import lower_matmul

    calls: list[int] = []
    real = lower_matmul.lower
    monkeypatch.setattr(lower_matmul, "lower", lambda *a, **k: calls.append(1) or real(*a, **k))
    xs = list(sg.symbols("x0:4"))
    v = xs[0]
    for k in range(1500):  # one product by an element, then additions and tanh
        v = sg.tanh(v * xs[k % 4]) if k == 0 else sg.tanh(v) + v * 0.5
    fn = sg.compile([xs], [v], backend="c")
    assert calls == [] and "symgrad-plan" not in fn.source
    point = np.array([0.3, -0.2, 0.1, 0.4])
    assert math.isclose(float(fn(point)[0]), sg.compile([xs], [v])(list(point))[0], rel_tol=1e-12)
    w, x = list(sg.symbols("w0:1200")), list(sg.symbols("u0:40"))
    rows = [sum(w[40 * j + k] * x[k] for k in range(40)) for j in range(30)]
    dense = sg.compile([w, x], [sg.tanh(r) for r in rows], backend="c")
    assert calls == [1] and "symgrad-plan" in dense.source


def test_a_layers_adjoints_are_written_once_for_the_product_and_the_weight_gradient():
    """MLP(4, [40, 40, 1]): the second layer's adjoints feed the transposed product and the
    outer sum of its weight gradient. Both read one block of rows in one order, so the kernel
    writes each value once (before, the sweep's order made the product's the reverse and the
    kernel wrote them twice); values equal the NumPy backend's."""
    sizes = (4, 40, 40, 1)
    k = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    p, x, y = list(sg.symbols(f"p0:{k}")), list(sg.symbols("x0:4")), sg.Symbol("y")
    f = (dense_forward(p, x, sg.tanh, sizes)[0] - y) ** 2
    outs = [f, np.array(sg.gradient(f, p), dtype=object)]
    fn = sg.compile([p, x, y], outs, backend="c", reduce="sum")
    assert "symgrad-plan" in fn.source
    for kernel in re.findall(r"int sg_k\d+\(.*?\n}\n", fn.source, re.S):
        values = re.findall(r"sg_o\[\d+ \* SG_B \+ sg_j\] = (\w+);", kernel)
        assert len(values) == len(set(values)), "a value written to two rows"
    ref = sg.compile([p, x, y], outs, backend="numpy", reduce="sum")
    rng = np.random.default_rng(5)
    P, X, Y = rng.uniform(-0.5, 0.5, k), rng.uniform(-1, 1, (301, 4)), rng.uniform(-1, 1, 301)
    a, b = fn(P, X, Y), ref(P, X, Y)
    assert a[0] == pytest.approx(b[0], rel=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("n", [1, 16, 17, 33, 40])
def test_blocks_after_the_first_add_to_the_totals_the_first_wrote(model, monkeypatch, n):
    """With 16-sample blocks, a batch runs as several blocks: the first writes each reduced
    total in place (an outer product by broadcasting when it holds one sample), the later
    ones add to it (one of a single sample at n = 17 and 33); the totals equal the NumPy
    backend's, which sums the whole batch at once."""
    from symgrad.backends.c import mixed

    p, x, y, f, g, _, ref = model
    monkeypatch.setattr(mixed, "BLOCK_DOUBLES", 1)  # the smallest block: 16 samples
    fn = sg.compile([p, x, y], [f, g], backend="c", reduce="sum")
    assert "#define SG_B 16" in fn.source
    P, X, Y = _data(n=n, seed=n)
    a, b = fn(P, X, Y), ref(P, X, Y)
    assert a[0] == pytest.approx(b[0], rel=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-13)
