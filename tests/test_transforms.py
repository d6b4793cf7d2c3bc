"""JAX's function transforms (contract section 7): argnums order and structure, has_aux,
static_argnums, jacobian, hessian, jvp, vjp, linearize and nesting. Oracles: closed forms and
central differences, never symgrad against itself."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad as sg

H = 1e-5


def fd(f, x):
    """Central differences of f (scalar or array valued) at the float array x: shape
    f(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(f(x), dtype=float)
    out = np.zeros(f0.shape + x.shape)
    for i in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[i] = H
        out[(...,) + i] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * H)
    return out


def test_argnums_in_the_order_given():
    f = lambda a, b, c: a * b**2 * np.sum(c)
    c = np.array([1.0, 2.0])
    g2, g0 = sg.grad(f, argnums=(2, 0))(2.0, 3.0, c)
    assert g0 == pytest.approx(27.0) and isinstance(g0, float)
    np.testing.assert_allclose(g2, [18.0, 18.0])
    value, (g1, g0b) = sg.value_and_grad(f, argnums=(1, 0))(2.0, 3.0, c)
    assert value == 54.0 and g1 == 36.0 and g0b == 27.0


def test_argnums_of_different_structure_issue_10_item_2():
    f = lambda xs, s: (xs[0] * s + xs[1] ** 2) * s
    gs, gxs = sg.grad(f, argnums=(1, 0))([2.0, 3.0], 1.5)
    # f = xs0 s^2 + xs1^2 s: df/ds = 2 xs0 s + xs1^2, df/dxs = [s^2, 2 xs1 s]
    assert gs == pytest.approx(2 * 2.0 * 1.5 + 9.0)
    assert isinstance(gxs, list) and gxs == pytest.approx([2.25, 9.0])


def test_has_aux():
    def loss(w, x):
        pred = np.tanh(w * x)
        return np.sum(pred**2), {"pred": pred, "tag": "run"}

    x = np.array([0.5, -1.0])
    (value, aux), g = sg.value_and_grad(loss, has_aux=True)(0.7, x)
    np.testing.assert_allclose(aux["pred"], np.tanh(0.7 * x))
    assert aux["tag"] == "run" and value == pytest.approx(np.sum(np.tanh(0.7 * x) ** 2))
    assert g == pytest.approx(fd(lambda w: loss(w, x)[0], 0.7), rel=1e-7)
    g2, aux2 = sg.grad(loss, has_aux=True)(0.7, x)
    assert g2 == pytest.approx(g) and aux2["tag"] == "run"
    with pytest.raises(TypeError, match="has_aux"):
        sg.grad(lambda w: w * 2, has_aux=True)(1.0)


def test_static_argnums_are_baked_in_and_a_new_value_retraces():
    calls = []

    def f(x, n):
        calls.append(n)
        return sum(x**k for k in range(n))  # range() of a static int

    g = sg.grad(f, static_argnums=1)
    assert g(2.0, 3) == pytest.approx(1 + 2 * 2.0)
    assert g(5.0, 3) == pytest.approx(1 + 2 * 5.0) and calls == [3, 3]  # trace, its check
    assert g(2.0, 4) == pytest.approx(1 + 4 + 12) and calls == [3, 3, 4, 4]
    with pytest.raises(TypeError, match="hashable"):
        g(2.0, [3])


def test_python_ints_are_traced_as_numbers_unless_static():
    g = sg.grad(lambda x, k: x**2 * k, argnums=(0, 1))
    gx, gk = g(3.0, 2)
    assert gx == 12.0 and gk == 9.0
    assert g(3.0, 5) == (30.0, 9.0) and g.traces == 1


def test_jacobian_in_the_structure_of_output_and_argument():
    def f(x, y):
        return {"a": np.sin(x) * y, "b": np.sum(x**2) * y}

    x = np.array([0.3, -0.5, 1.1])
    jx = sg.jacobian(f)(x, 2.0)
    assert jx["a"].shape == (3, 3) and jx["b"].shape == (3,)
    np.testing.assert_allclose(jx["a"], fd(lambda t: f(t, 2.0)["a"], x), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(jx["b"], fd(lambda t: f(t, 2.0)["b"], x), rtol=1e-7)
    jy, jx2 = sg.jacobian(f, argnums=(1, 0))(x, 2.0)["a"]
    np.testing.assert_allclose(jy, np.sin(x)) and np.testing.assert_allclose(jx2, jx["a"])


def test_hessian_of_a_python_function():
    f = lambda x: np.sum(x**3) * x[0] + np.prod(x)
    x = np.array([1.0, 2.0, -0.5])
    H_ = sg.hessian(f)(x)
    assert H_.shape == (3, 3)
    np.testing.assert_allclose(H_, fd(lambda t: fd(f, t), x), rtol=1e-4, atol=1e-4)


def test_jvp_vjp_linearize():
    f = lambda x, y: np.sin(x) * y
    x, y = np.array([0.2, 1.0, -0.7]), 1.5
    tx, ty = np.array([1.0, -2.0, 0.5]), 0.3
    out, tan = sg.jvp(f, (x, y), (tx, ty))
    np.testing.assert_allclose(out, f(x, y))
    np.testing.assert_allclose(tan, np.cos(x) * y * tx + np.sin(x) * ty, rtol=1e-13)
    out2, pullback = sg.vjp(f, x, y)
    ct = np.array([0.5, 1.0, 2.0])
    gx, gy = pullback(ct)
    np.testing.assert_allclose(out2, f(x, y))
    np.testing.assert_allclose(gx, ct * np.cos(x) * y, rtol=1e-13)
    assert gy == pytest.approx(np.sum(ct * np.sin(x)), rel=1e-13)
    out3, f_jvp = sg.linearize(f, x, y)
    np.testing.assert_allclose(f_jvp(tx, ty), tan, rtol=1e-13)
    np.testing.assert_allclose(out3, out)


def test_nesting():
    assert sg.grad(sg.grad(lambda x: x**4))(2.0) == pytest.approx(48.0)
    assert sg.grad(sg.grad(sg.grad(lambda x: np.sin(x))))(0.3) == pytest.approx(-np.cos(0.3))
    f = lambda x: np.sum(np.exp(x) * x[0])
    x = np.array([0.5, -0.2])
    J = sg.jacobian(sg.grad(f))(x)
    np.testing.assert_allclose(J, fd(lambda t: fd(f, t), x), rtol=1e-4, atol=1e-5)
    # a transform of a transform with a Python branch on the value
    g = sg.grad(sg.grad(lambda x: x**3 if x > 0 else -(x**2)))
    assert g(2.0) == pytest.approx(12.0) and g(-2.0) == pytest.approx(-2.0)


def test_symbolic_forms_keep_their_meaning():
    x, y = sg.symbols("x y")
    assert sg.evaluate(sg.grad(x * y, x), {x: 2.0, y: 3.0}) == 3.0
    J = sg.jacobian([x * y, x + y], [x, y])
    assert sg.evaluate(J, {x: 2.0, y: 3.0}) == [[3.0, 2.0], [1.0, 1.0]]
    Hs = sg.hessian(x**2 * y, [x, y])
    assert sg.evaluate(Hs, {x: 2.0, y: 3.0}) == [[6.0, 4.0], [4.0, 0.0]]
    (t,) = sg.jvp([x * y], [x, y], [1.0, 0.0])
    assert sg.evaluate(t, {x: 2.0, y: 3.0}) == 3.0
    gx, gy = sg.vjp([x * y, x], [x, y], [1.0, 2.0])
    assert sg.evaluate([gx, gy], {x: 2.0, y: 3.0}) == [5.0, 2.0]
    # a function transform called with expressions builds expressions
    e = sg.grad(lambda a: a**3)(x)
    assert sg.evaluate(e, {x: 2.0}) == 12.0


def test_expression_forms_take_wrt_by_name():
    x, y = sg.symbols("x y")
    assert sg.jacobian([x * y], wrt=[x, y]) == sg.jacobian([x * y], [x, y]) == [[y, x]]
    assert sg.grad(x * y, wrt=x) is sg.grad(x * y, x)
    s = sg.hessian(x * y, wrt=[x, y], sparse=True)
    assert (s.rows, s.cols) == ((0, 1), (1, 0))


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda x: sg.jacobian([x * x], [x], has_aux=True), "function form"),
        (lambda x: sg.hessian(x * x, [x], static_argnums=1), "function form"),
        (lambda x: sg.grad(x * x, x, backend="c"), "function form"),
        (lambda x: sg.jacobian([x], [x], foo=1), "unknown keyword"),
        (lambda x: sg.jacobian([x], [x], wrt=[x]), "wrt given twice"),
        (lambda x: sg.jacobian(lambda a: 2 * a, sparse=True), "sparse=True is for expressions"),
        (lambda x: sg.hessian(lambda a: a * a, sparse=True), "sparse=True is for expressions"),
        (lambda x: sg.grad(lambda a: a * a, wrt=0), "unknown keyword"),
    ],
)
def test_options_of_the_other_form_are_errors_not_ignored(call, words):
    """A keyword that does not apply (has_aux with expressions, sparse with a function, a typo)
    raised nothing before and was dropped: a dense result where a sparse one was asked."""
    with pytest.raises(TypeError, match=words):
        call(sg.Symbol("x"))
