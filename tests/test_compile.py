"""sg.compile: structure, errors that name the argument, hostile names, standalone source."""

import inspect
import math
import os
import pathlib
import subprocess
import sys
import traceback

import numpy as np
import pytest

import symgrad as sg

BACKENDS = ["python", "numpy"]


def test_output_structure_is_preserved():
    x, y = sg.symbols("x y")
    fn = sg.compile([x, y], (x + y, [x * y, (2.0,)], 3))
    out = fn(2.0, 3.0)
    assert isinstance(out, tuple) and isinstance(out[1], list) and isinstance(out[1][1], tuple)
    assert out == (5.0, [6.0, (2.0,)], 3.0)
    assert all(isinstance(v, float) for v in (out[0], out[1][0], out[1][1][0], out[2]))
    assert sg.compile([x], x * 2)(1.5) == 3.0


def test_python_backend_returns_floats_for_int_inputs():
    x, y = sg.symbols("x y")
    out = sg.compile([x, y], [x + y, x, x * y])(1, 2)
    assert out == [3.0, 1.0, 2.0] and all(type(v) is float for v in out)


def test_python_backend_returns_floats_for_int_list_elements():
    z = sg.symbols("z0:2")
    fn = sg.compile([list(z)], [z[0] * z[1], z[0], sg.maximum(z[0], z[1]), -z[1], z[0] * 2.0])
    out = fn([2, 3])
    assert out == [6.0, 2.0, 3.0, -3.0, 4.0] and all(type(v) is float for v in out)


def test_list_inputs_and_numpy_arrays():
    w = sg.symbols("w0:3")
    m = [list(sg.symbols("a b")), list(sg.symbols("c d"))]
    f = sum(wi * (i + 1) for i, wi in enumerate(w)) + m[0][1] * m[1][0]
    for backend in BACKENDS:
        fn = sg.compile([list(w), m], f, backend=backend)
        assert float(fn([1.0, 2.0, 3.0], [[0.0, 2.0], [5.0, 0.0]])) == 24.0
        assert float(fn(np.array([1.0, 2.0, 3.0]), np.array([[0, 2], [5, 0]]))) == 24.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors_name_the_argument(backend):
    x, y = sg.symbols("x y")
    w = sg.symbols("w0:2")
    fn = sg.compile([x, list(w)], x * w[0] + w[1], backend=backend)
    with pytest.raises(TypeError, match="2 argument"):
        fn(1.0)
    with pytest.raises(TypeError, match="2 argument"):
        fn(1.0, [1.0, 2.0], 3.0)
    with pytest.raises(ValueError, match="'w'"):
        fn(1.0, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="'x'"):
        fn("a", [1.0, 2.0])
    with pytest.raises(TypeError, match="'w'"):
        fn(1.0, ["a", "b"])


def test_compile_errors():
    x, y = sg.symbols("x y")
    with pytest.raises(ValueError, match="'y'"):
        sg.compile([x], x + y)
    with pytest.raises(ValueError, match="twice"):
        sg.compile([x, x], x)
    with pytest.raises(ValueError, match="twice"):
        sg.compile([[x, y], x], x)
    with pytest.raises(TypeError, match="symbol"):
        sg.compile([x + 1], x)
    with pytest.raises(TypeError, match="list or tuple"):
        sg.compile(x, x)
    with pytest.raises(ValueError, match="backend"):
        sg.compile([x], x, backend="fortran")


HOSTILE = [
    "x)",
    "__import__",
    "def",
    "a b",
    "'",
    '"""',
    "\n",
    "λ",
    "1x",
    "f",
    "exp",
    "t0",
    "np",
    "math",
    "inf",
    "import os; os.system('echo pwned')",
    "",
    "_sigmoid",
    "w",
    "w_1",
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_hostile_names_compile_and_run_correctly(backend):
    syms = [sg.Symbol(n) for n in HOSTILE]
    f = sum((i + 1) * s for i, s in enumerate(syms)) + sg.exp(syms[11]) * sg.tanh(syms[12])
    grad = sg.gradient(f, syms)
    fn = sg.compile(syms, [f, grad], backend=backend)
    vals = [0.1 * (i + 1) for i in range(len(syms))]
    got = fn(*vals)
    want = sg.evaluate([f, grad], dict(zip(syms, vals)))
    assert math.isclose(float(got[0]), want[0], rel_tol=1e-12)
    assert all(math.isclose(float(a), b, rel_tol=1e-12) for a, b in zip(got[1], want[1]))
    for n in ("__import__(", "os.system(", "import os", "echo pwned"):
        assert n not in fn.source


def test_same_named_symbols_stay_distinct():
    a, b = sg.Symbol("x"), sg.Symbol("x")
    f = a * a + 3 * b
    for backend in BACKENDS:
        fn = sg.compile([a, b], [f, sg.gradient(f, [a, b])], backend=backend)
        v, g = fn(2.0, 5.0)
        assert float(v) == 19.0 and [float(t) for t in g] == [4.0, 3.0]
    assert sg.to_sympy(a) != sg.to_sympy(b)


def test_source_is_deterministic_and_standalone(tmp_path):
    def build():
        w0, w1, b, x0, x1 = sg.symbols("w0 w1 b x0 x1")
        f = sg.tanh(w0 * x0 + w1 * x1 + b) ** 2 + sg.log(sg.sigmoid(x0) / w1)
        return sg.compile([w0, w1, b, x0, x1], [f, sg.gradient(f, [w0, w1, b])])

    fn = build()
    assert build().source == fn.source
    path = tmp_path / "gen.py"
    path.write_text(fn.source + "\nprint(repr(f(0.5, -1.0, 0.1, 2.0, 3.0)))\n")
    # -S: no site-packages, so neither symgrad nor NumPy can be imported
    out = subprocess.run(
        [sys.executable, "-S", "-I", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert out.strip() == repr(fn(0.5, -1.0, 0.1, 2.0, 3.0))
    assert "import numpy" not in fn.source and "symgrad" not in fn.source.split('"""')[2]


def test_numpy_source_needs_only_numpy(tmp_path):
    x, y = sg.symbols("x y")
    fn = sg.compile([x, y], [sg.softplus(x * y), sg.sigmoid(x)], backend="numpy")
    path = tmp_path / "gen_np.py"
    path.write_text(fn.source + "\nprint(repr([v.tolist() for v in f([1.0, 2.0], 3.0)]))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-I", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    ).stdout
    assert out.strip() == repr([v.tolist() for v in fn([1.0, 2.0], 3.0)])
    assert "symgrad" not in fn.source.split('"""')[2]


def test_generated_code_is_in_linecache_and_tracebacks():
    x = sg.Symbol("x")
    fn = sg.compile([x], [sg.exp(x) * 2.0])
    src = inspect.getsource(fn._fn)
    assert src.startswith("def f(")
    try:
        fn._fn(object())  # fails inside the generated code itself
    except TypeError:
        tb = traceback.format_exc()
    assert "<symgrad-python-" in tb and "exp(x)*2.0" in tb


def test_ieee_fallback_python_backend():
    x, y = sg.symbols("x y")
    f = [x / y, sg.log(x), sg.sqrt(x), sg.exp(y * 1000.0), sg.sin(y / x), x**y]
    fn = sg.compile([x, y], f)
    for px, py in [(0.0, 0.0), (-1.0, 0.0), (1.0, 0.0), (math.inf, 2.0), (-8.0, 1 / 3)]:
        got = fn(px, py)
        want = sg.evaluate(f, {x: px, y: py})
        got_np = [float(v) for v in sg.compile([x, y], f, backend="numpy")(px, py)]
        for a, b, c in zip(got, want, got_np):
            assert (math.isnan(a) and math.isnan(b) and math.isnan(c)) or a == b == c


def test_numpy_batch_broadcasting():
    x, y = sg.symbols("x y")
    w = sg.symbols("w0:2")
    f = x * w[0] + y * w[1]
    fn = sg.compile([x, y, list(w)], [f, sg.gradient(f, [x, *w]), 1.0], backend="numpy")
    xs = np.arange(6.0).reshape(2, 3)
    val, (gx, gw0, gw1), one = fn(xs, 2.0, np.array([1.0, 10.0]))
    assert val.shape == (2, 3) and np.allclose(val, xs + 20.0)
    assert gx.shape == (2, 3) and np.all(gx == 1.0)
    assert np.array_equal(gw0, xs) and np.all(gw1 == 2.0) and one.shape == (2, 3)
    gw0[0, 0] = 99.0
    assert xs[0, 0] == 0.0  # outputs never alias the caller's arrays
    with pytest.raises(ValueError, match="'w'"):
        fn(xs, 2.0, np.ones((2, 3)))
    with pytest.raises(ValueError):
        fn(np.ones(2), np.ones(3), np.ones(2))  # batch shapes that do not broadcast


GOLDEN = '''"""Generated by symgrad 0.1.0 (python backend); needs only the standard library.

f(w0, w1, b, x0, x1)
"""

from math import exp, tanh


def _sech2(x):
    # sech(x)^2 = 4e / (1 + e)^2 with e = exp(-2|x|) <= 1: no cancellation, no overflow
    e = exp(-2.0 * abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def f(w0, w1, b, x0, x1):
    t0 = w0*x0 + w1*x1 + b
    t1 = tanh(t0)
    g_b = 2.0*t1*_sech2(t0)
    g_w1 = g_b*x1
    g_w0 = g_b*x0
    t2 = t1*t1
    return [t2, [g_w0, g_w1, g_b]]
'''


def test_golden_source_of_the_design_example():
    """The example of docs/design.md: straight-line, the pre-activation and tanh computed once,
    tanh's derivative as sech^2 (exact in the tails), nothing computed twice."""
    w0, w1, b, x0, x1 = sg.symbols("w0 w1 b x0 x1")
    f = sg.tanh(w0 * x0 + w1 * x1 + b) ** 2
    fn = sg.compile([w0, w1, b, x0, x1], [f, sg.gradient(f, [w0, w1, b])])
    assert fn.source == GOLDEN.replace("0.1.0", sg.__version__)
    design = (pathlib.Path(__file__).parent.parent / "docs" / "design.md").read_text()
    assert fn.source.strip() in design


def test_freed_functions_release_their_linecache_entries():
    """10,000 compiles must not leave 10,000 linecache entries (issue 10, item 11)."""
    import gc
    import linecache

    x = sg.Symbol("x")
    gc.collect()
    before = sum(1 for k in linecache.cache if str(k).startswith("<symgrad-"))
    fns = [sg.compile([x], sg.exp(x) * (k + 0.5)) for k in range(300)]
    during = sum(1 for k in linecache.cache if str(k).startswith("<symgrad-"))
    assert during >= before + 300
    twin = sg.compile([x], sg.exp(x) * 0.5)  # the same source as fns[0]: one shared entry
    del fns
    gc.collect()
    after = [k for k in linecache.cache if str(k).startswith("<symgrad-")]
    assert len(after) <= before + 1
    assert "exp(x)*0.5" in "".join(linecache.getlines(twin._fn.__code__.co_filename))
    del twin
    gc.collect()
    assert sum(1 for k in linecache.cache if str(k).startswith("<symgrad-")) <= before
