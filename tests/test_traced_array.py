"""The traced array: NumPy's protocols on stand-ins. Every value is checked against NumPy run
on floats, every gradient against central differences (never symgrad against itself)."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import symgrad as sg
from symgrad.tracing import ufuncs
from symgrad.tracing.array import Traced

H = 1e-6


def num_grad(f, x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[i] = H
        g[i] = (f(x + e) - f(x - e)) / (2 * H)
    return g


def check(f, x, rel=1e-6, backend="python"):
    value, g = sg.value_and_grad(f, backend=backend)(x)
    assert value == pytest.approx(float(f(x)), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g, num_grad(lambda t: float(f(t)), x), rtol=rel, atol=1e-7)


X = np.array([[0.3, -1.2, 0.7], [1.5, 0.2, -0.4]])


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.sum(x),
        lambda x: np.sum(x, axis=0) @ np.array([1.0, 2.0, 3.0]),
        lambda x: np.prod(x),
        lambda x: np.mean(x**2),
        lambda x: np.var(x),
        lambda x: np.std(x, axis=1).sum(),
        lambda x: np.var(x, ddof=1),
        lambda x: np.max(x) - np.min(x, axis=0).sum(),
        lambda x: np.cumsum(x).dot(np.arange(6.0)),
        lambda x: x.sum(axis=1, keepdims=True).sum(),
        lambda x: np.sum(x @ x.T),
        lambda x: np.dot(x[0], x[1]),
        lambda x: np.sum(x[:, 1:] * x[:, :-1]),
        lambda x: np.sum(x.T[::-1] * np.array([1.0, 2.0])),  # broadcasting
        lambda x: np.linalg.norm(x),
        lambda x: np.sum(np.square(x) + np.reciprocal(x + 3) + np.hypot(x, 1.0)),
        lambda x: np.sum(np.deg2rad(x) + np.rad2deg(x) / 100),
        lambda x: np.sum(np.concatenate([x.ravel(), x[0]]) ** 2),
        lambda x: np.sum(np.stack([x[0], x[1] ** 2])),
        lambda x: np.einsum("ij,ij->", x, x),
        lambda x: np.trace(x[:, :2]),
        lambda x: np.sum(np.clip(x, -0.5, 0.5)),
        lambda x: sum(x.ravel()) + max(x.ravel()) * min(x.ravel()),
        lambda x: np.sum(np.where(x > 0, x**2, -x)),
        lambda x: np.sum(np.maximum(x, 0.1) + np.minimum(x, 0.1)),
        lambda x: np.sum(np.abs(x) * np.sign(x)),
        lambda x: np.logaddexp(x[0], x[1]).sum(),
        lambda x: np.sum(np.log2(x + 2) + np.log10(x + 2) + np.exp2(x)),
        lambda x: np.sum(np.arcsinh(x) + np.arctanh(x / 2) + np.arccosh(x + 3)),
        lambda x: np.sum(np.tanh(x) + np.arctan2(x, 2.0)),
        lambda x: np.average(x, weights=np.ones_like(X) * 2),
    ],
)
def test_numpy_code_traces_to_numpys_value_and_the_true_gradient(f):
    check(f, X)


def test_comparisons_build_conditions_including_equality():
    f = lambda v: np.sum(np.where(v == 0, 1.0, v**2) + np.where(v != 1, v, 10.0))
    vg = sg.value_and_grad(f)
    for v in (np.array([0.0, 2.0, 1.0]), np.array([1.0, 0.0, 3.0])):
        value, g = vg(v)
        assert value == f(v)
        # d/dv where(v == 0, 1, v**2) = 2v off 0; d/dv where(v != 1, v, 10) = 1 off 1
        np.testing.assert_array_equal(g, np.where(v == 0, 0.0, 2 * v) + (v != 1))
    assert vg.traces == 1  # conditions, not decisions: no retrace


def test_conditions_combine_with_and_or_not():
    f = lambda v: np.sum(np.where((v > 0) & ~(v > 2) | (v == -1), v, 0.0))
    vg = sg.value_and_grad(f)
    v = np.array([-1.0, 0.5, 3.0, 1.0, -2.0])
    assert vg(v)[0] == f(v)
    np.testing.assert_array_equal(vg(v)[1], [1.0, 1.0, 0.0, 1.0, 0.0])


def test_ufunc_names_come_from_the_op_table():
    """Each name of the op table's ufunc column is a NumPy ufunc, and applying it to traced
    values builds exactly that op."""
    assert len(ufuncs.UFUNC_OPS) >= 25
    x, y = Traced(sg.Symbol("x")), Traced(sg.Symbol("y"))
    for name, op in ufuncs.UFUNC_OPS.items():
        uf = getattr(np, name)
        assert isinstance(uf, np.ufunc), name
        if op.arity != uf.nin:
            continue
        out = uf(*(x, y)[: uf.nin])
        assert isinstance(out, Traced) and out.a.op is op, name


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x: np.percentile(x, 50), "percentile"),
        (lambda x: np.unique(x), "unique"),
        (lambda x: np.fft.fft(x), "fft"),
        (lambda x: np.gcd(x, x), "gcd"),
        (lambda x: np.add.reduceat(x, [0, 2]), "add.reduceat"),
        (lambda x: np.linalg.det(np.outer(x, x)), "det"),
    ],
)
def test_unsupported_numpy_functions_raise_type_error_naming_them(call, name):
    with pytest.raises(TypeError, match=name.replace(".", r"\.")):
        sg.value_and_grad(lambda x: np.sum(call(x)))(np.array([1.0, 2.0, 3.0]))


def test_no_numpy_function_passes_an_object_array_through_unchanged():
    """NumPy's np.nan_to_num returns an object array unchanged (a NaN inside survives): on a
    traced array it is the op table's nan_to_num, so the value is NumPy's on floats."""
    f = lambda x: np.sum(np.nan_to_num(x) * np.array([1.0, 2.0, 1e-300]))
    x = np.array([np.nan, 2.0, np.inf])
    value, g = sg.value_and_grad(f)(x)
    assert value == f(x) and np.isfinite(value)
    assert g[1] == 2.0
    with pytest.raises(TypeError, match="nan_to_num"):  # options it does not have: refused
        sg.value_and_grad(lambda x: np.sum(np.nan_to_num(x, nan=1.0)))(x)


def test_writing_into_a_float_buffer_says_what_to_write_instead():
    def into_zeros(x):
        b = np.zeros(2)
        b[0] = x[0] * 2
        return b.sum()

    with pytest.raises(TypeError, match=r"zeros_like.*np\.stack"):
        sg.value_and_grad(into_zeros)(np.array([1.0, 2.0]))

    def into_zeros_like(x):  # zeros_like of a traced array is a traced buffer: it works
        b = np.zeros_like(x)
        b[0] = x[0] * 2
        b[1] = x[1] ** 2
        return b.sum()

    value, g = sg.value_and_grad(into_zeros_like)(np.array([1.0, 3.0]))
    assert value == 11.0 and list(g) == [2.0, 6.0]

    def into_object_buffer(x):
        b = np.zeros(2, dtype=object)
        b[0], b[1] = x[0] * 2, x[1] ** 2
        return np.sum(b)

    assert sg.value_and_grad(into_object_buffer)(np.array([1.0, 3.0]))[0] == 11.0


def test_expr_minus_list_and_scalar_broadcasting():
    value, g = sg.value_and_grad(lambda x: np.sum((x - [1.0, 2.0]) ** 2))(3.0)
    assert value == 5.0 and g == 6.0


OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
             "**": operator.pow, "%": operator.mod}  # fmt: skip


@pytest.mark.parametrize("op", sorted(OPERATORS))
@pytest.mark.parametrize("seq", [[1.0, 2.0], (1.0, 2.0)])
def test_outside_a_trace_expr_with_a_list_says_what_to_write(op, seq):
    """An expression is a scalar: with a list or tuple (either side) it is a TypeError naming
    the operand and the elementwise spellings, which then work."""
    x, fn, kind = sg.Symbol("x"), OPERATORS[op], type(seq).__name__
    for left, right in ((x, seq), (seq, x)):
        with pytest.raises(TypeError, match=rf"for \{op[0]}.*a {kind} \(.*np\.array\({kind}\)"):
            fn(left, right)
    ours = fn(x, np.array(seq))
    assert sg.evaluate(list(ours), {x: 1.5}) == pytest.approx(list(fn(1.5, np.array(seq))))


def test_np_asarray_of_a_traced_array_keeps_tracing():
    def f(x):
        x = np.asarray(x)  # the first line of many literature objectives
        return np.sum(x**2) + np.sum(np.cos(2 * np.pi * x))

    check(f, np.array([0.1, -0.3, 0.8]))


def test_outside_a_trace_bool_of_an_expression_raises_as_before():
    x = sg.Symbol("x")
    with pytest.raises(TypeError, match="sg.where"):
        bool(x > 0)
    with pytest.raises(TypeError):
        bool(Traced(x) > 0)


def test_products_and_sums_build_the_graphs_numpys_object_loops_build():
    """Same nodes (interning makes equal graphs the same objects), so generated programs do
    not change with the front end and the backends' matrix-product paths still apply."""
    W = np.array([[sg.Symbol(f"w{i}{j}") for j in range(3)] for i in range(2)], dtype=object)
    x = np.array([sg.Symbol(f"x{j}") for j in range(3)], dtype=object)
    ours = (Traced(W) @ Traced(x)).a
    theirs = W @ x
    assert all(a is b for a, b in zip(ours, theirs))
    assert np.sum(Traced(W)).a is np.sum(W)
    assert np.sum(Traced(W), axis=0).a.tolist() == list(np.sum(W, axis=0))
    W2 = np.arange(6.0).reshape(2, 3)
    vg = sg.value_and_grad(lambda w, x: np.sum(w @ x), argnums=1, backend="numpy")
    value, g = vg(W2, np.array([1.0, -1.0, 2.0]))
    assert value == np.sum(W2 @ np.array([1.0, -1.0, 2.0]))
    np.testing.assert_allclose(g, W2.sum(axis=0))
