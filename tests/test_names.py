"""Names are labels, never code: a symbol named after any identifier a backend generates
(``f_ieee``, ``_log``, ``math``, ``np``, ``t1``, ``sg_f`` ...) cannot shadow it (issue 10,
item 6). The identifiers are collected from generated sources, so a new one is covered."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from helpers import HAVE_CC
from hypothesis import given
from hypothesis import strategies as st

import symgrad as sg

BACKENDS = ["python", "numpy"] + (["c"] if HAVE_CC else [])
IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def _programs(syms):
    """A few programs touching every kind of generated name: helpers, the IEEE path, lists,
    a reduction's driver and matrix products, array outputs."""
    x, y = syms[:2]
    w = list(syms[2:8])
    f = sg.log(x) / y + sg.sqrt(x) ** 1.5 + sg.sigmoid(w[0] * x + w[1] * y + w[2])
    g = sg.tanh(w[3] * x + w[4] * y + w[5]) * sg.where(x > y, sg.exp(y), sg.sin(x))
    return [x, y, w], [f + g, sg.gradient(f + g, [x, y, *w])]


def _identifiers(backend: str) -> set[str]:
    syms = sg.symbols("x y w0:6")
    inputs, outputs = _programs(list(syms))
    found: set[str] = set()
    for reduce in (None, "sum") if backend != "python" else (None,):
        src = sg.compile(inputs, outputs, backend=backend, reduce=reduce).source
        body = re.sub(r'"""(.|\n)*?"""', "", src)  # the docstring is prose
        found |= set(IDENT.findall(body))
    return found - {"x", "y"} - {f"w{i}" for i in range(6)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_symbols_named_like_generated_identifiers(backend, c_cache):
    names = sorted(_identifiers(backend) | {"f_ieee", "_log", "math", "np", "sg_f", "t1", "f"})
    assert len(names) > 10
    # Every name as the label of x, of y and of the list's elements (in turns of 8).
    for k in range(0, len(names), 8):
        labels = (names[k : k + 8] * 8)[:8]
        syms = [sg.Symbol(lbl) for lbl in labels]
        inputs, outputs = _programs(syms)
        fn = sg.compile(inputs, outputs, backend=backend)
        point = [0.0, 2.0, [0.1, -0.2, 0.3, 0.4, 0.5, -0.6]]
        env = dict(zip(syms, [point[0], point[1], *point[2]]))
        want = sg.evaluate(outputs, env)
        got = fn(*point)
        assert math.isinf(float(np.asarray(got[0]))), labels  # log(0) = -inf, not an error
        np.testing.assert_allclose(np.asarray(got[1], dtype=float), want[1], rtol=1e-12)


def _body(fn) -> str:
    return fn.source.split("\ndef f(")[-1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_outputs_carry_their_variables_names(backend, c_cache):
    """``g_w0`` = df/dw0, ``g1_x`` a Jacobian's second row, ``h_x_y`` a second derivative;
    built from the parameter names, and the values stay right."""
    w0, w1, b, x, y = sg.symbols("w0 w1 b x y")
    f = sg.tanh(w0 * x + w1 * y + b) ** 2
    fn = sg.compile([[w0, w1], b, x, y], [f, sg.gradient(f, [w0, w1, b])], backend=backend)
    src = fn.source
    for name in ("g_w0", "g_w1", "g_b"):
        assert re.search(rf"\b{name}\b", src), (name, src)
    jac = sg.jacobian([f, sg.exp(w0 * b)], [w0, b])
    hes = sg.hessian(f, [x, y])
    fj = sg.compile([[w0, w1], b, x, y], [jac, hes], backend=backend)
    for name in ("g0_w0", "g0_b", "g1_w0", "g1_b", "h_x_x", "h_x_y", "h_y_y"):
        assert re.search(rf"\b{name}\b", fj.source), (name, fj.source)
    point = ([0.3, -0.7], 0.2, 1.1, 0.4)
    env = {w0: 0.3, w1: -0.7, b: 0.2, x: 1.1, y: 0.4}
    got, want = fn(*point), sg.evaluate([f, sg.gradient(f, [w0, w1, b])], env)
    assert float(np.asarray(got[0])) == pytest.approx(want[0], rel=1e-12)
    np.testing.assert_allclose(np.asarray(got[1], dtype=float), want[1], rtol=1e-12)
    got, want = fj(*point), sg.evaluate([jac, hes], env)
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-12)


def test_derivative_names_never_shadow_and_stay_out_when_unclear():
    """A user symbol labelled ``g_x`` keeps its own name (the gradient becomes ``g_x_1``); a
    node that is its own derivative (``exp``) or the derivative of two variables keeps a
    temporary; a label that is code never reaches the source."""
    x, gx = sg.Symbol("x"), sg.Symbol("g_x")
    f = gx * x * x
    fn = sg.compile([x, gx], [f, sg.gradient(f, [x])])
    assert "g_x_1 = " in fn.source and fn(3.0, 2.0) == [18.0, [12.0]]
    e = sg.exp(x)
    fe = sg.compile([x], [e, sg.gradient(e, x)])
    assert "g_x" not in fe.source and fe(0.0) == [1.0, 1.0]
    a, c = sg.symbols("a c")
    same = sg.gradient(a * x + c * x, [a, c])  # d/da and d/dc are both the node x... a symbol
    s2 = sg.gradient(sg.sin(x) * (a + c), [a, c])  # both sin(x): one node, two claims
    fs = sg.compile([x, a, c], [same, s2])
    assert "g_a" not in fs.source and "g_c" not in fs.source
    evil = sg.Symbol("x = __import__('os')  #")
    fv = sg.compile([evil], sg.gradient(sg.tanh(evil), [evil]))
    assert "('os')" not in fv.source and "#" not in _body(fv)  # only identifier characters
    assert "g_x___import___os = _sech2(x___import___os)" in fv.source
    assert fv(0.0) == [1.0]


def test_numpy_reduced_gradient_matrices_are_named_after_their_variable():
    """The NumPy backend's matrix form keeps the gradient's name: a layer's weight gradients
    are one matrix, printed as ``g_w = _outer(...)`` (or ``_gram``), not an anonymous term."""
    w = list(sg.symbols("w0:40"))
    x = list(sg.symbols("x0:4"))
    h = [sg.tanh(sum(w[4 * j + i] * x[i] for i in range(4)) + w[32 + j]) for j in range(8)]
    f = sum(hj * hj for hj in h)
    fn = sg.compile([w, x], [f, sg.gradient(f, w)], backend="numpy", reduce="sum")
    assert "    g_w = _outer(" in fn.source
    X = np.random.default_rng(0).uniform(-1, 1, (5, 4))
    W = np.linspace(-1, 1, 40)
    ref = sg.compile([w, x], [f, sg.gradient(f, w)], backend="python")
    want = np.sum([ref(W.tolist(), X[i].tolist())[1] for i in range(5)], axis=0)
    np.testing.assert_allclose(fn(W, X)[1], want, rtol=1e-12)


@given(st.text(max_size=40))
def test_sanitize_gives_a_plain_identifier_and_keeps_plain_labels(label):
    """The fast path (plain labels returned as they are) and the regex agree: every result is
    an ASCII identifier of at most 32 characters with no leading or trailing underscore."""
    from symgrad.backends.naming import sanitize

    out = sanitize(label)
    assert out.isascii() and out.isidentifier() and len(out) <= 32
    assert out[0] != "_" and out[-1] != "_"
    assert out == sanitize("\x00" + label)  # a character the fast path refuses: the regex
    if label.isascii() and label.isidentifier() and len(label) <= 32 and label.strip("_") == label:
        assert out == label


_LABELS = st.lists(
    st.one_of(
        st.sampled_from(["w0", "w0", "x", "_x", "x_", "lambda", "np", "t0", "a" * 40, "g_w0"]),
        st.text(max_size=12),
    ),
    max_size=30,
)


@given(_LABELS)
def test_fresh_all_names_as_fresh_one_by_one(labels):
    """The one-loop naming of a flat input list gives exactly the names ``fresh`` would, in
    order (duplicates, reserved words, underscores, unicode and long labels included), and
    leaves the scope in the same state."""
    from symgrad.backends.naming import NameScope

    one, many = NameScope(), NameScope()
    want = [one.fresh(lb) for lb in labels]
    assert many.fresh_all(labels) == want
    assert [many.fresh(lb) for lb in labels] == [one.fresh(lb) for lb in labels]
