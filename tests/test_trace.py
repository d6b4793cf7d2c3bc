"""sg.value_and_grad and sg.grad: the tracing front end. Values are checked against NumPy and
central finite differences, never against symgrad itself."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from helpers import counted

import symgrad as sg

H = 1e-6


def fd(f, x: float) -> float:
    """Central difference of a one-argument float function."""
    return (f(x + H) - f(x - H)) / (2 * H)


def loss_np(p, X, y):
    """A plain-NumPy loss used both for tracing and (on floats) as the reference."""
    z = np.tanh(X @ p["w"] + p["b"])
    return np.sum((z - y) ** 2) + 0.1 * np.sum(p["w"] ** 2)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    p = {"w": rng.normal(size=3), "b": 0.25}
    X, y = rng.normal(size=(6, 3)), rng.normal(size=6)
    return p, X, y


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_dict_of_array_and_number(data, backend):
    p, X, y = data
    vg = sg.value_and_grad(loss_np, backend=backend)
    value, g = vg(p, X, y)
    assert value == pytest.approx(float(loss_np(p, X, y)), rel=1e-12)
    assert isinstance(g, dict) and list(g) == ["w", "b"]
    assert isinstance(g["w"], np.ndarray) and g["w"].dtype == np.float64 and g["w"].shape == (3,)
    assert isinstance(g["b"], float)
    for i in range(3):

        def f(t, i=i):
            w = p["w"].copy()
            w[i] = t
            return float(loss_np({"w": w, "b": p["b"]}, X, y))

        assert g["w"][i] == pytest.approx(fd(f, p["w"][i]), rel=1e-6, abs=1e-8)
    fb = lambda t: float(loss_np({"w": p["w"], "b": t}, X, y))
    assert g["b"] == pytest.approx(fd(fb, p["b"]), rel=1e-6, abs=1e-8)


def test_nested_lists_and_tuples_mirror_the_argument():
    def f(args):
        (a, (b, c)), d = args
        return a * b + c[0] ** 2 * d - c[1] / a

    vg = sg.value_and_grad(f)
    arg = ((1.5, [2.0, [3.0, 4.0]]), -0.5)
    value, g = vg(arg)
    a, b, c0, c1, d = 1.5, 2.0, 3.0, 4.0, -0.5
    assert value == pytest.approx(a * b + c0**2 * d - c1 / a, rel=1e-14)
    assert isinstance(g, tuple) and isinstance(g[0], tuple)
    assert isinstance(g[0][1], list) and isinstance(g[0][1][1], list)
    (ga, (gb, (gc0, gc1))), gd = g
    assert ga == pytest.approx(b + c1 / a**2, rel=1e-14)
    assert gb == pytest.approx(a, rel=1e-14)
    assert gc0 == pytest.approx(2 * c0 * d, rel=1e-14)
    assert gc1 == pytest.approx(-1 / a, rel=1e-14)
    assert gd == pytest.approx(c0**2, rel=1e-14)


def test_namedtuple_and_two_dimensional_array():
    Params = namedtuple("Params", "W scale")

    def f(p, x):
        return np.sum(np.exp(p.W * p.scale) * x)

    W = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    value, g = sg.value_and_grad(f)(Params(W, 0.7), x)
    assert isinstance(g, Params)
    assert g.W.shape == (2, 3) and g.W.dtype == np.float64
    np.testing.assert_allclose(value, np.sum(np.exp(W * 0.7) * x), rtol=1e-13)
    np.testing.assert_allclose(g.W, 0.7 * np.exp(W * 0.7) * x, rtol=1e-13)
    assert g.scale == pytest.approx(np.sum(W * np.exp(W * 0.7) * x), rel=1e-13)


def test_new_data_never_retraces_and_gives_new_values(data):
    p, X, y = data
    f = counted(loss_np)
    vg = sg.value_and_grad(f)
    vg(p, X, y)
    rng = np.random.default_rng(7)
    for _ in range(3):
        p2 = {"w": rng.normal(size=3), "b": float(rng.normal())}
        X2, y2 = rng.normal(size=(6, 3)), rng.normal(size=6)
        value, g = vg(p2, X2, y2)
        assert value == pytest.approx(float(loss_np(p2, X2, y2)), rel=1e-12)
    assert vg.traces == 1 and len(f.calls) == 2  # the trace and its check in plain NumPy


def test_a_structure_change_retraces(data):
    p, X, y = data
    f = counted(loss_np)
    vg = sg.value_and_grad(f)
    vg(p, X, y)
    vg(p, X[:4], y[:4])  # new shape
    assert vg.traces == 2
    vg(p, X[:4], y[:4])
    vg(p, X, y)  # both structures stay cached
    assert vg.traces == 2
    vg({"w": p["w"], "b": 0.25, "extra": 1.0}, X, y)  # new dict keys
    assert vg.traces == 3 and len(f.calls) == 2 * 3  # each trace, and its check


def test_static_flag_selects_a_trace():
    def f(x, use_square):
        return x * x if use_square else x

    vg = sg.value_and_grad(f)
    assert vg(3.0, True) == (9.0, 6.0)
    assert vg(3.0, False) == (3.0, 1.0)
    assert vg(5.0, True) == (25.0, 10.0)
    assert vg.traces == 2


def test_argnums_tuple_and_negative():
    def f(a, X, b):
        return np.sum(np.sin(X * a)) + b * a

    X = np.array([0.5, 1.0, 2.0])
    value, (ga, gb) = sg.value_and_grad(f, argnums=(0, 2))(0.3, X, 2.0)
    assert value == pytest.approx(np.sum(np.sin(X * 0.3)) + 0.6, rel=1e-14)
    assert ga == pytest.approx(np.sum(X * np.cos(X * 0.3)) + 2.0, rel=1e-14)
    assert gb == pytest.approx(0.3, rel=1e-14)
    gX = sg.grad(f, argnums=-2)(0.3, X, 2.0)
    np.testing.assert_allclose(gX, 0.3 * np.cos(X * 0.3), rtol=1e-14)


def test_grad_returns_only_the_gradient_and_source_is_reachable():
    g = sg.grad(lambda x: x**3)
    assert g(2.0) == pytest.approx(12.0, rel=1e-15)
    assert "def f(" in g.source and g.compiled.backend == "python"
    vg = sg.value_and_grad(lambda x, y: x * y, argnums=1, backend="numpy")
    assert vg(2.0, 5.0) == (10.0, 2.0)
    assert "import numpy as np" in vg.source


def test_keyword_arguments_are_data():
    vg = sg.value_and_grad(lambda w, *, x: (w * x) ** 2)
    assert vg(3.0, x=2.0) == (36.0, 24.0)
    assert vg(3.0, x=1.0) == (9.0, 6.0)
    assert vg.traces == 1


def test_integer_inputs_compute_in_floating_point():
    value, g = sg.value_and_grad(lambda v: np.sum(v / 2))(np.array([1, 2, 3]))
    assert value == 3.0 and g.dtype == np.float64
    np.testing.assert_array_equal(g, [0.5, 0.5, 0.5])


def test_python_if_on_a_traced_value_follows_the_call_and_is_guarded():
    def f(x):
        if x > 0:
            return x * x
        return -x

    vg = sg.value_and_grad(f)
    assert vg(2.0) == (4.0, 4.0) and vg(-3.0) == (3.0, -1.0)
    assert vg(5.0) == (25.0, 10.0) and vg.traces == 2  # both paths stay cached
    # The compilable form needs no guard at all.
    vw = sg.value_and_grad(lambda x: sg.where(x > 0, x, -x))
    assert vw(2.0) == (2.0, 1.0) and vw(-3.0) == (3.0, -1.0) and vw.traces == 1


def test_errors_name_the_offending_argument():
    with pytest.raises(ValueError, match="argnums"):
        sg.value_and_grad(lambda x: x, argnums=1)(1.0)
    with pytest.raises(TypeError, match="argnums"):
        sg.value_and_grad(lambda x: x, argnums="0")
    with pytest.raises(TypeError, match="scalar"):
        sg.value_and_grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(TypeError, match=r"x\[1\]"):
        sg.value_and_grad(lambda x: x[0])([1.0, object()])
    with pytest.raises(TypeError, match="differentiated"):
        sg.value_and_grad(lambda x: x[0])([1.0, "label"])
    with pytest.raises(ValueError, match="backend"):
        sg.value_and_grad(lambda x: x, backend="fortran")
    with pytest.raises(ValueError, match="call"):
        sg.value_and_grad(lambda x: x).source  # noqa: B018


def test_unused_argument_has_zero_gradient_and_constant_result():
    vg = sg.value_and_grad(lambda x, y: 2.0, argnums=(0, 1))
    value, (gx, gy) = vg(1.0, np.ones(2))
    assert value == 2.0 and gx == 0.0
    assert gy.shape == (2,) and gy.dtype == np.float64 and not gy.any()
