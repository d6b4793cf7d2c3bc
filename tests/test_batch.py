"""batch_argnums (contract section 8): fn written for one sample, data with a leading batch
axis, traced once, compiled batched and folded with reduce. Oracles: the same per-sample
function run in NumPy row by row, and closed-form gradients."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAVE_CC, needs_cc

import symgrad as sg

BACKENDS = ["numpy", pytest.param("c", marks=pytest.mark.skipif(not HAVE_CC, reason="no cc"))]


def sample_loss(p, x, t):
    z = x @ p["w"] + p["b"]
    return np.logaddexp(0.0, -(2.0 * t - 1.0) * z) + 0.1 * p["b"] ** 2


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    t = (rng.uniform(size=300) < 0.5).astype(float)
    p = {"w": rng.normal(size=3), "b": 0.4}
    return p, X, t


def closed_form(p, X, t):
    z = X @ p["w"] + p["b"]
    s = 2 * t - 1
    value = np.sum(np.logaddexp(0.0, -s * z) + 0.1 * p["b"] ** 2)
    dz = -s / (1 + np.exp(s * z))
    return value, X.T @ dz, np.sum(dz) + 0.2 * p["b"] * len(t)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sum_and_mean_over_the_batch(data, backend, request):
    if backend == "c":
        request.getfixturevalue("c_cache")
    p, X, t = data
    calls = []

    def counted(*a):
        calls.append(1)
        return sample_loss(*a)

    vg = sg.value_and_grad(counted, batch_argnums=(1, 2), backend=backend)
    value, g = vg(p, X, t)
    v_ref, gw_ref, gb_ref = closed_form(p, X, t)
    assert value == pytest.approx(v_ref, rel=1e-12)
    assert value == pytest.approx(sum(sample_loss(p, x, ti) for x, ti in zip(X, t)), rel=1e-12)
    np.testing.assert_allclose(g["w"], gw_ref, rtol=1e-10)
    assert g["b"] == pytest.approx(gb_ref, rel=1e-10)
    vm = sg.value_and_grad(sample_loss, batch_argnums=(1, 2), reduce="mean", backend=backend)
    mv, mg = vm(p, X, t)
    assert mv == pytest.approx(v_ref / len(t), rel=1e-12)
    np.testing.assert_allclose(mg["w"], gw_ref / len(t), rtol=1e-10)
    vg(p, X[:17], t[:17])  # another batch length: the same per-sample trace
    assert len(calls) == 2 and vg.traces == 1  # one trace, one check on the first sample
    assert vg.compiled.stats["ops"] < 100  # one sample's program, whatever the rows


def test_default_backend_is_batched():
    vg = sg.value_and_grad(sample_loss, batch_argnums=(1, 2))
    assert vg.backend == ("c" if HAVE_CC else "numpy")
    assert sg.value_and_grad(sample_loss).backend == "python"


def test_a_branch_on_a_per_sample_value_points_to_where(data):
    p, X, t = data

    def branchy(p, x, t):
        if x[0] > 0:
            return p["b"] * x[0]
        return p["b"]

    with pytest.raises(TypeError, match=r"per-sample.*sg\.where"):
        sg.value_and_grad(branchy, batch_argnums=(1, 2), backend="numpy")(p, X, t)


def test_a_branch_on_the_parameters_is_guarded(data):
    p, X, t = data

    def by_sign(p, x, t):
        if p["b"] > 0:
            return p["b"] * np.sum(x)
        return -p["b"] * np.sum(x**2)

    vg = sg.value_and_grad(by_sign, batch_argnums=(1, 2), backend="numpy")
    assert vg(p, X, t)[1]["b"] == pytest.approx(np.sum(X), rel=1e-12)
    q = {"w": p["w"], "b": -0.3}
    assert vg(q, X, t)[1]["b"] == pytest.approx(-np.sum(X**2), rel=1e-12)
    assert vg(p, X, t)[0] == pytest.approx(0.4 * np.sum(X), rel=1e-12) and vg.traces == 2


def test_bad_batch_arguments_are_named():
    with pytest.raises(ValueError, match="batch"):
        sg.value_and_grad(sample_loss, argnums=1, batch_argnums=(1, 2))
    with pytest.raises(ValueError, match="batched backend"):
        sg.value_and_grad(sample_loss, batch_argnums=(1, 2), backend="python")
    with pytest.raises(ValueError, match="holds a number"):
        sg.value_and_grad(lambda p, x: p * x, batch_argnums=1, backend="numpy")(1.0, 2.0)
    with pytest.raises(ValueError, match="leading batch axis"):
        sg.value_and_grad(lambda p, x: p * x, batch_argnums=1, backend="numpy")(1.0, np.array(2.0))
    with pytest.raises(ValueError, match="reduce"):
        sg.value_and_grad(sample_loss, batch_argnums=1, reduce="max")


@pytest.mark.parametrize("backend", ["numpy", pytest.param("c", marks=needs_cc)])
def test_batch_axes_that_do_not_broadcast_name_each_argument(backend):
    """NumPy's own message says "arg 0 with shape (4,) and arg 1 with shape (5,)"; the call
    names the arguments and their batch shapes instead."""
    x, w = sg.Symbol("x"), list(sg.symbols("w0:3"))
    fn = sg.compile([x, w], [x * w[0], w[1] + w[2]], backend=backend)
    with pytest.raises(ValueError, match=r"batch axes do not broadcast: x \(4,\), w \(5,\)"):
        fn(np.arange(4.0), np.ones((5, 3)))
    np.testing.assert_array_equal(fn(np.arange(4.0), np.ones((4, 3)))[0], np.arange(4.0))
