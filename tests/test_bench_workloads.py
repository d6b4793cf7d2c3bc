"""The benchmark suite's own workloads and hand-written peers compute what they claim: a peer
that drifted from the workload would make every ratio in docs/performance.md meaningless."""

import math

import numpy as np
import pytest
from helpers import count_compiles, needs_cc

from benchmarks import workloads as W
from benchmarks.suite import Result, cross_check, run_one
from benchmarks.systems import NumpyByHand, Symgrad


def _central(f, x, h=1e-6):
    out = []
    for i in range(len(x)):
        up, dn = list(x), list(x)
        up[i] += h
        dn[i] -= h
        out.append((f(up) - f(dn)) / (2 * h))
    return out


def test_hand_written_mlp_backprop_matches_symgrad():
    case = W.make_case("mlp", 7)
    ref = run_one(Symgrad("python"), case, 30, 0.0)
    hand = run_one(NumpyByHand(), case, 30, 0.0)
    cross_check(hand, ref)
    assert ref.status == hand.status == "ok"
    assert hand.agrees == "yes", hand.agrees


def test_ode_gradient_matches_central_differences():
    case = W.make_case("ode", 50)
    res = run_one(Symgrad("python"), case, 30, 0.0)
    d = case.data
    f = lambda v: W.lotka_volterra_rk4(v[:4], v[4:], 50)
    fd = _central(f, d["theta"] + d["state"])
    assert math.isclose(res.value, f(d["theta"] + d["state"]), rel_tol=1e-12)
    assert np.allclose(res.grads, fd, rtol=1e-5, atol=1e-7)


def test_mnist_loss_is_softmax_cross_entropy():
    rng = np.random.default_rng(0)
    sizes = W.MNIST_SIZES
    n = W.mlp_n_params(sizes)
    p = rng.uniform(-0.05, 0.05, n)
    x = rng.random(sizes[0])
    label = 3
    onehot = [1.0 if j == label else 0.0 for j in range(10)]
    lib = type("lib", (), {"tanh": math.tanh, "exp": math.exp, "log": math.log, "maximum": max})
    got = W.mnist_loss(p.tolist(), x.tolist(), onehot, lib)
    k, act = 0, x
    for li, (nin, nout) in enumerate(zip(sizes, sizes[1:])):
        m = p[k : k + nout * (nin + 1)].reshape(nout, nin + 1)
        act = m[:, :nin] @ act + m[:, nin]
        act = np.tanh(act) if li == 0 else act
        k += nout * (nin + 1)
    z = act
    want = np.log(np.sum(np.exp(z))) - z[label]
    assert math.isclose(got, want, rel_tol=1e-12)


def test_cross_check_flags_a_wrong_gradient():
    ref = Result("mlp", 1, "a", value=1.0, grads=[1.0, 2.0])
    bad = Result("mlp", 1, "b", value=1.0, grads=[1.0, 2.1])
    cross_check(bad, ref)
    assert bad.agrees.startswith("NO")


def test_dense_flops_count_the_layer_products():
    """MNIST MLP, 1,000 samples: forward and weight-gradient products of both layers (784*128 and
    128*10 multiply-adds each) and the hidden layer's input gradient (128*10), 2 flops each."""
    from benchmarks import limits

    assert limits.dense_flops((784, 128, 10), 1000) == 2 * 1000 * (2 * 784 * 128 + 3 * 128 * 10)
    assert limits.dense_shape("mnist", 1) == ((784, 128, 10), 1)
    assert limits.dense_shape("rosen", 10) is None
    assert limits.gemm_gflops(64, 2) > 0.0


def test_random_dag_is_the_same_graph_for_every_number_type():
    """benchmarks/random_dag.py feeds symgrad and CasADi the same DAG: built over floats it gives
    the value symgrad's compiled function gives, and its gradient matches central differences."""
    import math as m

    import symgrad as sg
    from benchmarks.random_dag import N_INPUTS, random_dag

    x0 = [0.01 * k - 0.4 for k in range(N_INPUTS)]
    xs = list(sg.symbols(f"x0:{N_INPUTS}"))
    f = random_dag(xs, 300, sg.tanh, sg.sin)
    fn = sg.compile([xs], [f, sg.gradient(f, xs)])
    v, g = fn(x0)
    assert v == pytest.approx(random_dag(x0, 300, m.tanh, m.sin), rel=1e-12)
    for i in (0, 17, 99):
        h = 1e-6
        up, dn = list(x0), list(x0)
        up[i] += h
        dn[i] -= h
        fd = (random_dag(up, 300, m.tanh, m.sin) - random_dag(dn, 300, m.tanh, m.sin)) / (2 * h)
        assert g[i] == pytest.approx(fd, rel=1e-6, abs=1e-8)


@needs_cc
def test_symgrad_setup_counts_the_c_compiler(monkeypatch):
    """The suite's C setup runs the compiler every time (an empty cache per setup), so a warm
    cache from an earlier row or run never shrinks the reported figure."""
    runs = count_compiles(monkeypatch)
    case = W.make_case("rosen", 10)
    for _ in range(2):
        before = len(runs)
        Symgrad("c").setup(case)
        assert len(runs) > before
