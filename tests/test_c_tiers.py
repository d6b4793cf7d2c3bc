"""The C backend's two builds of a small function (``native.py``'s module doc): plain first,
vectorized on the first call of ``abi.SIMD_MIN_SAMPLES`` samples or more. Every call gives the
NumPy backend's values (inf and NaN included) whichever build serves it, a call's values depend
on its batch size only (never on which builds exist yet), and the vectorized build is compiled
once per cache, only when a large batch asks for it."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from helpers import close, count_compiles, needs_cc

import symgrad as sg
from symgrad.backends.c import abi, cache
from symgrad.backends.c import call as ccall

pytestmark = needs_cc

BIG = abi.SIMD_MIN_SAMPLES
VALUES = [0.0, -0.0, 0.5, -1.25, 3.0, 1e-310, 1e300, -1e300, math.inf, -math.inf, math.nan]
needs_simd = pytest.mark.skipif(
    not cache.simd_possible(), reason="no vectorizing compiler here (GCC, x86-64, glibc 2.35)"
)


@pytest.fixture
def compiles(monkeypatch, tmp_path):
    """A fresh cache (so each test compiles what it needs) and the compiler runs it makes."""
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))
    return count_compiles(monkeypatch)


def _program():
    x, y = sg.symbols("x y")
    outs = [
        sg.sin(x) * y + sg.exp(-x * x),
        sg.tanh(x / y) - sg.log(x * x + 1.0),
        sg.sqrt(abs(y)) * x**3 + sg.cos(y) / (x - 0.5),
        x * y - 2.0 * y,
    ]
    return [x, y], outs


def _points(count: int) -> tuple[np.ndarray, np.ndarray]:
    grid = [(a, b) for a in VALUES for b in VALUES]
    rng = np.random.default_rng(7)
    extra = rng.uniform(-4.0, 4.0, (max(0, count - len(grid)), 2)).tolist()
    pts = np.array((grid + extra)[:count])
    return pts[:, 0].copy(), pts[:, 1].copy()


def _agree(got, want) -> None:
    """Within libm's few ulps of NumPy's values; infinities and NaN exactly where NumPy's are."""
    for g, w in zip(got, want):
        g, w = np.broadcast_to(g, np.shape(w)).ravel(), np.asarray(w).ravel()
        with np.errstate(all="ignore"):
            for a, b in zip(g.tolist(), w.tolist()):
                assert close(a, b, rtol=1e-13, atol=1e-300), (a, b)


def _bits(outs) -> list:
    return [np.asarray(o).tobytes() for o in outs]


@pytest.mark.parametrize("path", ["entry", "ctypes"])
def test_unbatched_then_batched_gives_numpys_values(compiles, monkeypatch, path):
    if path == "ctypes":
        monkeypatch.setattr(ccall, "_module", False)  # as where the call entry cannot be built
    syms, outs = _program()
    fn = sg.compile(syms, outs, backend="c")
    ref = sg.compile(syms, outs, backend="numpy")
    assert len(compiles) == 1 and not fn._fn._simd_fns
    xs, ys = _points(3 * BIG)
    with np.errstate(all="ignore"):
        singles = [fn(float(a), float(b)) for a, b in zip(xs, ys)]
        for (a, b), got in zip(zip(xs, ys), singles):
            _agree(got, ref(float(a), float(b)))
        small = fn(xs[: BIG - 1], ys[: BIG - 1])  # below the threshold: still the plain build
        assert len(compiles) == 1 and not fn._fn._simd_fns
        _agree(small, ref(xs[: BIG - 1], ys[: BIG - 1]))
        batch = fn(xs, ys)  # the first large batch
        vector = cache.simd_possible()
        assert len(compiles) == 1 + vector and bool(fn._fn._simd_fns) == vector
        _agree(batch, ref(xs, ys))
        # the same calls again: the same bits (which build serves depends on the size only)
        assert _bits(fn(xs, ys)) == _bits(batch)
        assert _bits(fn(xs[: BIG - 1], ys[: BIG - 1])) == _bits(small)
        for (a, b), got in zip(zip(xs, ys), singles):
            assert _bits(fn(float(a), float(b))) == _bits(got)
        assert _bits(fn(xs.reshape(3, BIG), ys.reshape(3, BIG))) == _bits(
            [o.reshape(3, BIG) for o in batch]
        )
    assert len(compiles) == 1 + vector


@needs_simd
def test_a_warm_cache_serves_both_builds_at_once(compiles):
    syms, outs = _program()
    xs, ys = _points(4 * BIG)
    first = sg.compile(syms, outs, backend="c")
    with np.errstate(all="ignore"):
        want = first(xs, ys)
        assert len(compiles) == 2
        again = sg.compile(syms, outs, backend="c")  # another function of the same source
        assert _bits(again(xs, ys)) == _bits(want)
        assert again._fn._simd_fns and len(compiles) == 2  # no compiler ran
        assert _bits(again(1.5, -2.0)) == _bits(first(1.5, -2.0))


def test_reduced_functions_are_tiered_and_loops_built_once(compiles):
    """A reduced small function is tiered as an unreduced one; rerolled loops carry no tier."""
    x, w = sg.Symbol("x"), list(sg.symbols("w0:2"))
    fn = sg.compile([x, w], [sg.tanh(w[0] * x + w[1])], backend="c", reduce="sum")
    assert len(compiles) == 1
    got = fn(np.linspace(-1.0, 1.0, 3 * BIG), np.array([0.5, 0.25]))
    want = sum(math.tanh(0.5 * v + 0.25) for v in np.linspace(-1.0, 1.0, 3 * BIG))
    vector = cache.simd_possible()
    assert close(got[0], want, rtol=1e-13) and len(compiles) == 1 + vector
    xs = list(sg.symbols("x0:1100"))  # past abi.LOOP_MIN_OPS
    looped = sg.compile([xs], [v * v + 1.0 for v in xs], backend="c")
    assert "for (long long sg_r" in looped.source and looped._fn._simd_min == 0
    assert len(compiles) == 2 + vector


def test_a_failed_vectorized_build_leaves_the_plain_one_serving(compiles, monkeypatch):
    real = cache.build

    def failing(source, n_lines, *args, simd=None, **kw):
        if simd and kw.get("compile_missing", True):  # the build, not the cache lookup
            raise cache.CCompileError("no vectorized build today")
        return real(source, n_lines, *args, simd=simd, **kw)

    monkeypatch.setattr(cache, "build", failing)
    syms, outs = _program()
    fn = sg.compile(syms, outs, backend="c")
    xs, ys = _points(2 * BIG)
    with np.errstate(all="ignore"):
        batch = fn(xs, ys)
        _agree(batch, sg.compile(syms, outs, backend="numpy")(xs, ys))
        assert fn._fn._simd_min == 0 and not fn._fn._simd_fns
        assert _bits(fn(xs, ys)) == _bits(batch)


@needs_simd
def test_concurrent_first_batches_build_once(compiles):
    syms, outs = _program()
    fn = sg.compile(syms, outs, backend="c")
    xs, ys = _points(5 * BIG)
    results: list = [None] * 4

    def work(i: int) -> None:
        with np.errstate(all="ignore"):
            results[i] = _bits(fn(xs, ys))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(compiles) == 2 and all(r == results[0] for r in results)


def _batched_program():
    w, x = list(sg.symbols("w0:3")), sg.Symbol("x")
    u = sg.tanh(w[0] * x + w[1])
    return [w, x], [u * w[2] - x, sg.sech2(w[0] * x + w[1]) + u * u]


@needs_simd
@pytest.mark.parametrize("path", ["entry", "ctypes"])
@pytest.mark.parametrize("reduce", [None, "sum"])
def test_each_set_of_batched_arguments_gets_its_build(compiles, monkeypatch, path, reduce):
    """Strides are constants in a vectorized build: one build per set of batched arguments,
    each giving NumPy's values, and the same bits again whichever other builds exist."""
    if path == "ctypes":
        monkeypatch.setattr(ccall, "_module", False)
    syms, outs = _batched_program()
    fn = sg.compile(syms, outs, backend="c", reduce=reduce)
    ref = sg.compile(syms, outs, backend="numpy", reduce=reduce)
    rng = np.random.default_rng(3)
    ws, xs = rng.uniform(-2.0, 2.0, (4 * BIG, 3)), rng.uniform(-3.0, 3.0, 4 * BIG)
    xs[:4] = [math.inf, -math.inf, math.nan, -0.0]
    calls = [(ws[0], xs), (ws, xs), (ws, 0.75), (ws[0], xs)]  # masks 0b10, 0b11, 0b01, 0b10
    with np.errstate(all="ignore"):
        got = [fn(*a) for a in calls]
        for g, a in zip(got, calls):
            _agree(g, ref(*a))
        assert sorted(fn._fn._simd_fns) == [1, 2, 3] and len(compiles) == 4
        assert _bits(fn(*calls[0])) == _bits(got[0]) and _bits(fn(*calls[1])) == _bits(got[1])
    assert len(compiles) == 4


@needs_simd
def test_a_build_for_other_strides_refuses_them(compiles):
    syms, outs = _batched_program()
    fn = sg.compile(syms, outs, backend="c")
    ws, xs = np.full((2 * BIG, 3), 0.5), np.linspace(-1.0, 1.0, 2 * BIG)
    fn(ws[0], xs)  # builds the vectorized build for mask 0b10
    lib = fn._fn._simd_fns[2]
    out = np.empty((2, 2 * BIG))
    wrong = [2 * BIG, ws.ctypes.data, 3, xs.ctypes.data, 1, out.ctypes.data]  # mask 0b11
    assert lib(*wrong) == 2
    right = [2 * BIG, ws.ctypes.data, 0, xs.ctypes.data, 1, out.ctypes.data]
    assert lib(*right) == 0 and np.array_equal(out, np.asarray(fn(ws[0], xs)))
