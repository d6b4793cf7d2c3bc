"""The C backend: the same values as the Python backend and ``sg.evaluate`` on every op (inf and
NaN included), the NumPy backend's batching and reduce rules, the library cache, and failures
that explain themselves. Skipped, with the reason shown, only where no C compiler exists."""

from __future__ import annotations

import ast
import contextlib
import itertools
import math
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import count_compiles, needs_cc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symgrad as sg
from symgrad.backends import c as c_backend
from symgrad.backends.c import abi, cache, tape_vm
from symgrad.ir import make
from symgrad.ops import INFO, Op

pytestmark = [needs_cc, pytest.mark.usefixtures("c_cache")]

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, -1e300, 710.0, -745.5]
SPECIAL += [math.inf, -math.inf, math.nan]


def same(a: float, b: float) -> bool:
    a, b = float(a), float(b)
    if math.isnan(b) or math.isnan(a):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(b) or math.isinf(a):
        return a == b
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def op_outputs(x, y, z) -> list:
    """One output per op of the table (conditions through ``where`` and as values)."""
    outs = []
    for op, info in INFO.items():
        args = (x, y, z)[: info.arity]
        if op is Op.WHERE:
            args = (x < y, y, z)
        outs.append(make(op, args))
    return outs


@pytest.fixture(scope="module")
def all_ops():
    x, y, z = sg.symbols("x y z")
    outs = op_outputs(x, y, z)
    fc = sg.compile([x, y, z], outs, backend="c")
    fp = sg.compile([x, y, z], outs, backend="python")
    return x, y, z, outs, fc, fp


def test_every_op_has_a_c_template():
    for op in INFO:
        assert "c" in INFO[op].templates, op


def test_every_op_batched_with_inf_and_nan(all_ops):
    x, y, z, outs, fc, _ = all_ops
    pts = np.array(list(itertools.product(SPECIAL, SPECIAL)))
    xs, ys = pts[:, 0], pts[:, 1]
    zs = np.full_like(xs, 0.25)
    got = fc(xs, ys, zs)
    assert isinstance(got, list) and len(got) == len(outs)
    for k, (expr, col) in enumerate(zip(outs, got)):
        assert col.shape == xs.shape
        for i in range(len(xs)):
            want = sg.evaluate(expr, {x: xs[i], y: ys[i], z: zs[i]})
            assert same(col[i], want), (expr.op, xs[i], ys[i], col[i], want, k)


def test_every_op_scalar_equals_python_backend(all_ops):
    *_, fc, fp = all_ops
    for a, b in [(0.3, -1.7), (-0.0, 2.0), (math.inf, 0.5), (math.nan, 1.0), (800.0, -800.0)]:
        got, want = fc(a, b, 0.75), fp(a, b, 0.75)
        assert all(np.shape(v) == () for v in got)
        assert all(same(g, w) for g, w in zip(got, want)), (a, b)


def test_sigmoid_softplus_stable():
    x = sg.Symbol("x")
    fn = sg.compile([x], [sg.sigmoid(x), sg.softplus(x)], backend="c")
    s, p = fn(np.array([-1e308, -800.0, 800.0, 1e308]))
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(p))
    assert s[0] == 0.0 and s[-1] == 1.0 and p[0] == 0.0 and p[-1] == 1e308


OPS1 = [op for op, i in INFO.items() if i.arity == 1]
OPS2 = [op for op, i in INFO.items() if i.arity == 2]


@st.composite
def programs(draw):
    """Random DAGs over x, y: each step applies a random op to earlier nodes (no recursion)."""
    x, y = sg.symbols("x y")
    nodes = [x, y, sg.ir.const(draw(st.sampled_from([0.5, -2.0, 3.0])))]
    for _ in range(draw(st.integers(3, 12))):
        kind = draw(st.integers(0, 2))
        pick = lambda: nodes[draw(st.integers(0, len(nodes) - 1))]
        if kind == 0:
            nodes.append(make(draw(st.sampled_from(OPS1)), (pick(),)))
        elif kind == 1:
            nodes.append(make(draw(st.sampled_from(OPS2)), (pick(), pick())))
        else:
            nodes.append(sg.where(pick() < pick(), pick(), pick()))
    return x, y, nodes[-4:]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.lists(st.sampled_from(SPECIAL + [0.7, -1.3, 2.2]), min_size=3, max_size=3))
def test_random_expressions(prog, xs):
    x, y, outs = prog
    fc = sg.compile([x, y], outs, backend="c")
    fp = sg.compile([x, y], outs, backend="python")
    xa = np.array(xs)
    ya = np.array(xs[::-1])
    batched = fc(xa, ya)
    for i in range(len(xa)):
        want = sg.evaluate(outs, {x: xa[i], y: ya[i]})
        scalar = fc(xa[i], ya[i])
        py = fp(float(xa[i]), float(ya[i]))
        for k in range(len(outs)):
            assert same(batched[k][i], want[k]), (k, xa[i], ya[i])
            assert same(scalar[k], want[k]) and same(py[k], want[k])


def test_batching_and_reduce_match_numpy():
    w = list(sg.symbols("w0:3"))
    x, y = sg.symbols("x y")
    loss = (sg.tanh(w[0] * x + w[1]) * w[2] - y) ** 2
    outs = [loss, sg.gradient(loss, w)]
    rng = np.random.default_rng(0)
    W, X, Y = rng.normal(size=3), rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    for reduce in (None, "sum", "mean"):
        fc = sg.compile([w, x, y], outs, backend="c", reduce=reduce)
        fn = sg.compile([w, x, y], outs, backend="numpy", reduce=reduce)
        got, want = fc(W, X, Y), fn(W, X, Y)
        assert np.shape(got[0]) == np.shape(want[0]) and isinstance(got[1], list)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(np.array(got[1]), np.array(want[1]), rtol=1e-12)
    fc = sg.compile([w, x, y], outs, backend="c")
    fn = sg.compile([w, x, y], outs, backend="numpy")
    # partial broadcast, batched parameters, strided and read-only inputs
    Wb = rng.normal(size=(4, 1, 3))
    Xs = rng.normal(size=(5, 4)).T
    Yr = rng.normal(size=(1, 5))
    Yr.setflags(write=False)
    got, want = fc(Wb, Xs, Yr), fn(Wb, Xs, Yr)
    assert got[0].shape == (4, 5)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(np.array(got[1]), np.array(want[1]), rtol=1e-12)
    with pytest.raises(ValueError, match="w"):
        fc(np.ones(4), 1.0, 1.0)
    with pytest.raises(TypeError):
        fc(W, 1.0)


def test_large_function_chunked_path(monkeypatch):
    """Functions past the size tier run from a workspace in chunk functions: same values."""
    monkeypatch.setattr(abi, "SMALL_MAX_LINES", 3)
    monkeypatch.setattr(abi, "CHUNK_LINES", 4)
    x, y = sg.symbols("x y")
    f = x
    for _ in range(12):
        f = sg.sin(f) * y + x
    outs = [f, sg.gradient(f, [x, y]), 2.0, x]
    fc = sg.compile([x, y], outs, backend="c", reduce="sum")
    assert "sg_w[" in fc.source and "static void sg_c2(" in fc.source
    fn = sg.compile([x, y], outs, backend="numpy", reduce="sum")
    X, Y = np.linspace(-2, 2, 7), np.array([[0.5], [-1.5]])
    got, want = fc(X, Y), fn(X, Y)
    for g, w in zip([got[0], *got[1], got[2], got[3]], [want[0], *want[1], want[2], want[3]]):
        assert same(g, w)


def test_names_never_reach_the_source():
    evil = "*/ int main(void) { return 1; } /* x) __import__ λ"
    a = sg.Symbol(evil)
    b = sg.Symbol("NAN")  # a libm macro name must not clash
    fc = sg.compile([a, b], [a * b + 1], backend="c")
    assert evil not in fc.source and "λ" not in fc.source and "main(" not in fc.source
    assert "int sg_f(" in fc.source
    assert same(fc(2.0, 3.0)[0], 7.0)


def test_cache_hit_runs_no_compiler(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))
    calls = count_compiles(monkeypatch)
    x = sg.Symbol("x")
    f1 = sg.compile([x], [sg.exp(x) * 3.25], backend="c")
    assert len(calls) == 1
    f2 = sg.compile([x], [sg.exp(x) * 3.25], backend="c")
    f3 = pickle.loads(pickle.dumps(f1))
    assert len(calls) == 1  # both came from the cache
    assert same(f2(1.0)[0], 3.25 * math.e) and same(f3(1.0)[0], 3.25 * math.e)
    files = sorted(os.listdir(tmp_path / "cache" / abi.CACHE_FORMAT))
    # the library, its record (SHA-256, size) and the source's alias for compiler-less loads
    assert [f.rsplit(".", 1)[1] for f in files] == ["sha256", "so", "json"]
    assert files[0][:-7] == files[1][:-3]


def test_concurrent_compiles_from_two_processes(tmp_path):
    cache = tmp_path / "cache"
    script = textwrap.dedent(
        """
        import symgrad as sg
        x = sg.Symbol("x")
        f = sg.compile([x], [sg.sin(x) + 1.5 * x * x], backend="c")
        print(float(f(2.0)[0]))
        """
    )
    env = {**os.environ, "SYMGRAD_CACHE_DIR": str(cache)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    for out in outs:
        assert same(float(out), math.sin(2.0) + 6.0)
    left = sorted(os.listdir(cache / abi.CACHE_FORMAT))  # no temp dirs, no partial files
    assert [f.rsplit(".", 1)[1] for f in left] == ["sha256", "so", "json"]


def test_missing_compiler_is_explained(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "/nonexistent/bin/cc")
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))  # nothing cached to load
    x = sg.Symbol("x")
    with pytest.raises(FileNotFoundError) as info:
        sg.compile([x], [x + 1], backend="c")
    assert isinstance(info.value, cache.CompilerNotFoundError)
    msg = str(info.value)
    assert "CC" in msg and "backend='python'" in msg


def test_compiler_error_shows_stderr_and_leaves_nothing(monkeypatch, tmp_path):
    fake = tmp_path / "badcc"
    fake.write_text("#!/bin/sh\necho 'fatal: symgrad-test-failure' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))
    x = sg.Symbol("x")
    with pytest.raises(RuntimeError, match="symgrad-test-failure") as info:
        sg.compile([x], [x * 2.5], backend="c")
    assert "backend='python'" in str(info.value)
    assert os.listdir(tmp_path / "cache" / abi.CACHE_FORMAT) == []


def test_unwritable_cache_is_explained(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(blocker / "cache"))
    x = sg.Symbol("x")
    with pytest.raises(PermissionError, match="SYMGRAD_CACHE_DIR"):
        sg.compile([x], [x * 4.5], backend="c")


def test_cache_dir_respects_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SYMGRAD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "symgrad"


def run_saved(directory, script: str) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh interpreter with the saved loader imported as ``f``."""
    head = "import sys; sys.path.insert(0, sys.argv[1]); import f\n"
    return subprocess.run(
        [sys.executable, "-c", head + script, str(directory)],
        capture_output=True,
        text=True,
        check=True,
    )


def test_save_writes_c_and_a_loader_that_runs(tmp_path):
    x, y = sg.symbols("x y")
    fc = sg.compile([[x, y]], [x * y, sg.tanh(x) - y], backend="c")
    fc.save(str(tmp_path / "out"))
    assert (tmp_path / "out" / "f.c").read_text() == fc.source
    res = run_saved(tmp_path / "out", "print(*[repr(float(v[0])) for v in f.f([[1.5, 2.0]])])")
    want = [3.0, math.tanh(1.5) - 2.0]
    got = [float(v) for v in res.stdout.split()]
    assert all(same(g, w) for g, w in zip(got, want))


def test_saved_loader_returns_the_output_structure(tmp_path):
    x, y = sg.symbols("x y")
    outs = [x * y, (sg.tanh(x) - y, [2.0]), np.array([[x, y], [y, x + 1]], dtype=object)]
    fc = sg.compile([[x, y]], outs, backend="c")
    fc.save(str(tmp_path / "out"))
    script = (
        "a = f.f([1.5, 2.0])\n"
        "b = f.f([[1.5, 2.0], [0.5, -1.0], [0.0, 3.0]])\n"
        "print(repr((type(a[0]).__name__, type(a[1]).__name__, a[0], a[1][0], a[1][1],"
        " a[2].tolist(), b[0].shape, b[2].shape, b[2][1].tolist())))"
    )
    res = run_saved(tmp_path / "out", script)
    got = ast.literal_eval(res.stdout)  # the loader's output, printed by repr
    want = fc([1.5, 2.0])
    assert got[:2] == ("float", "tuple")
    assert same(got[2], want[0]) and same(got[3], want[1][0]) and got[4] == [2.0]
    assert got[5] == [[1.5, 2.0], [2.0, 2.5]]
    assert got[6] == (3,) and got[7] == (3, 2, 2) and got[8] == [[0.5, -1.0], [-1.0, 1.5]]


def test_meta_round_trip_and_structure():
    x = sg.Symbol("x")
    fc = sg.compile([x], [(x, [x * 2, 3.0]), [x + 1]], backend="c")
    meta = c_backend.read_meta(fc.source)
    assert meta["m"] == 4 and meta["args"] == [[1, 0]]
    r = fc(2.0)
    assert isinstance(r, list) and isinstance(r[0], tuple) and isinstance(r[0][1], list)
    assert [float(r[0][0]), float(r[0][1][0]), float(r[0][1][1]), float(r[1][0])] == [
        2.0,
        4.0,
        3.0,
        3.0,
    ]


# -- the tape interpreter (large programs): forced onto small programs with the threshold ------


@pytest.fixture
def on_vm(monkeypatch):
    """Every program runs on the tape interpreter."""
    monkeypatch.setattr(abi, "VM_MIN_OPS", 1)


@contextlib.contextmanager
def vm_threshold(n: int):
    old = abi.VM_MIN_OPS
    abi.VM_MIN_OPS = n
    try:
        yield
    finally:
        abi.VM_MIN_OPS = old


def test_vm_every_op_scalar_and_batched_with_inf_and_nan(on_vm):
    x, y, z = sg.symbols("x y z")
    outs = op_outputs(x, y, z)
    fc = sg.compile([x, y, z], outs, backend="c")
    fp = sg.compile([x, y, z], outs, backend="python")
    assert fc._fn.on_vm and "tape interpreter" in fc.source
    pts = np.array(list(itertools.product(SPECIAL, SPECIAL)))
    xs, ys = pts[:, 0], pts[:, 1]  # 196 samples: three full blocks of 64 and a tail
    zs = np.full_like(xs, 0.25)
    got = fc(xs, ys, zs)
    for k, (expr, col) in enumerate(zip(outs, got)):
        assert col.shape == xs.shape
        for i in range(len(xs)):
            want = sg.evaluate(expr, {x: xs[i], y: ys[i], z: zs[i]})
            assert same(col[i], want), (expr.op, xs[i], ys[i], col[i], want, k)
    for a, b in [(0.3, -1.7), (-0.0, 2.0), (math.inf, 0.5), (math.nan, 1.0), (800.0, -800.0)]:
        got, want = fc(a, b, 0.75), fp(a, b, 0.75)
        assert all(type(v) is float for v in got)
        assert all(same(g, w) for g, w in zip(got, want)), (a, b)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.lists(st.sampled_from(SPECIAL + [0.7, -1.3, 2.2]), min_size=3, max_size=3))
def test_vm_random_expressions(prog, xs):
    x, y, outs = prog
    with vm_threshold(1):
        fc = sg.compile([x, y], outs, backend="c")
    xa, ya = np.array(xs), np.array(xs[::-1])
    batched = fc(xa, ya)
    for i in range(len(xa)):
        want = sg.evaluate(outs, {x: xa[i], y: ya[i]})
        scalar = fc(xa[i], ya[i])
        for k in range(len(outs)):
            assert same(batched[k][i], want[k]) and same(scalar[k], want[k]), (k, xa[i], ya[i])


def test_vm_batching_and_reduce_match_numpy(on_vm):
    w = list(sg.symbols("w0:3"))
    x, y = sg.symbols("x y")
    loss = (sg.tanh(w[0] * x + w[1]) * w[2] - y) ** 2
    outs = [loss, sg.gradient(loss, w), 2.0, x]
    rng = np.random.default_rng(1)
    W, X, Y = rng.normal(size=3), rng.normal(size=(13, 11)), rng.normal(size=(13, 11))
    for reduce in (None, "sum", "mean"):
        fc = sg.compile([w, x, y], outs, backend="c", reduce=reduce)
        fn = sg.compile([w, x, y], outs, backend="numpy", reduce=reduce)
        got, want = fc(W, X, Y), fn(W, X, Y)
        for g, v in zip([got[0], *got[1], got[2], got[3]], [want[0], *want[1], want[2], want[3]]):
            assert np.shape(g) == np.shape(v)
            np.testing.assert_allclose(g, v, rtol=1e-12)
    fc = sg.compile([w, x, y], outs, backend="c")
    fn = sg.compile([w, x, y], outs, backend="numpy")
    Wb, Xs, Yr = rng.normal(size=(4, 1, 3)), rng.normal(size=(5, 4)).T, rng.normal(size=(1, 5))
    got, want = fc(Wb, Xs, Yr), fn(Wb, Xs, Yr)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(np.array(got[1]), np.array(want[1]), rtol=1e-12)
    empty = sg.compile([w, x, y], outs, backend="c", reduce="sum")(W, np.zeros(0), np.zeros(0))
    assert empty[0] == 0.0


def test_vm_source_pickle_and_save(on_vm, tmp_path):
    evil = "*/ int main(void) { return 1; } /* x) λ"
    a, b = sg.Symbol(evil), sg.Symbol("NAN")
    fc = sg.compile([[a, b]], [a * b + 1, sg.tanh(a) - b, math.inf], backend="c")
    assert evil not in fc.source and "λ" not in fc.source and "main(" not in fc.source
    assert c_backend.read_meta(fc.source)["vm"]["len"] > 0
    listing = fc._fn.listing()
    assert "tanh(" in listing and evil not in listing
    f2 = pickle.loads(pickle.dumps(fc))
    assert f2._fn.on_vm and [float(v) for v in f2([2.0, 3.0])] == [7.0, math.tanh(2) - 3, math.inf]
    fc.save(str(tmp_path / "out"))
    res = run_saved(tmp_path / "out", "print(*[repr(float(v[0])) for v in f.f([[1.5, 2.0]])])")
    got = [float(v) for v in res.stdout.split()]
    assert all(same(g, w) for g, w in zip(got, [4.0, math.tanh(1.5) - 2.0, math.inf]))


def test_vm_machine_is_built_once(on_vm, monkeypatch, tmp_path):
    """The interpreter is one cached library: a new large program runs no compiler."""
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(tape_vm, "_machine", None)
    calls = count_compiles(monkeypatch)
    x = sg.Symbol("x")
    sg.compile([x], [sg.exp(x) * 3.25], backend="c")
    n = len(calls)
    assert n >= 1
    monkeypatch.setattr(tape_vm, "_machine", None)  # as a new process would
    f = sg.compile([x], [sg.sin(x) * 1.25 + x], backend="c")
    assert len(calls) == n and same(f(2.0)[0], math.sin(2.0) * 1.25 + 2.0)


@pytest.mark.slow
@pytest.mark.parametrize("form", ["loops", "vm"])
def test_a_100000_deep_chain(form, monkeypatch):
    """Rerolled into two C loops by default; on the tape interpreter when rerolling is off."""
    if form == "vm":
        monkeypatch.setattr(abi, "LOOP_MIN_OPS", 10**9)
    depth = 100_000
    x = sg.Symbol("x")
    h = 1.0 / depth
    f = x
    for _ in range(depth):
        f = f - h * sg.tanh(f)
    fc = sg.compile([x], [f, sg.gradient(f, x)], backend="c")
    assert fc._fn.on_vm == (form == "vm")
    if form == "loops":
        assert fc.source.count("for (long long sg_r") == 2 and fc.stats["lines"] < 100
    y, d = 0.7, 1.0
    for _ in range(depth):  # the chain rule by hand
        t = math.tanh(y)
        d *= 1.0 - h * (1.0 - t * t)
        y = y - h * t
    v, g = fc(0.7)
    assert abs(v - y) <= 1e-12 and abs(g - d) <= 1e-10


def test_irregular_programs_past_the_threshold_run_on_the_tape():
    """A random DAG that rerolling cannot loop (irregular) and of more than VM_MIN_OPS
    operations is not handed to GCC (minutes of -O1 on such code) but run on the tape; its
    value and gradient equal the Python backend's and central differences."""
    import math as m

    from benchmarks.random_dag import N_INPUTS, random_dag

    xs = list(sg.symbols(f"x0:{N_INPUTS}"))
    f = random_dag(xs, 5_000, sg.tanh, sg.sin)
    outs = [f, sg.gradient(f, xs)]
    fc = sg.compile([xs], outs, backend="c")
    assert fc.stats["ops"] >= abi.VM_MIN_OPS
    assert fc._fn.on_vm and "tape interpreter" in fc.source.splitlines()[0]
    x0 = [0.013 * k - 0.6 for k in range(N_INPUTS)]
    v, g = fc(np.array(x0))
    pv, pg = sg.compile([xs], outs, backend="python")(x0)
    assert v == pytest.approx(pv, rel=1e-12) and np.allclose(g, pg, rtol=1e-10, atol=1e-12)
    for i in (3, 50):
        up, dn = list(x0), list(x0)
        up[i] += 1e-6
        dn[i] -= 1e-6
        fd = (random_dag(up, 5_000, m.tanh, m.sin) - random_dag(dn, 5_000, m.tanh, m.sin)) / 2e-6
        assert g[i] == pytest.approx(fd, rel=1e-5, abs=1e-7)
