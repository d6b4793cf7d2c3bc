"""The phased form's library is built beside the rest of ``sg.compile`` (``cache.start``): one
compiler run per compile, off the main thread, at ``abi.MIXED_OPT``; its failures still reach
the caller as ``CCompileError``; concurrent compiles of one program share or repeat the build
safely."""

from __future__ import annotations

import subprocess
import threading

import numpy as np
import pytest

import symgrad as sg
from benchmarks.workloads import dense_forward
from symgrad.backends.c import abi, cache
from tests.helpers import count_compiles

pytestmark = pytest.mark.skipif(
    __import__("shutil").which("cc") is None and __import__("shutil").which("gcc") is None,
    reason="needs a C compiler",
)

SIZES = (8, 24, 24, 4)


def _program():
    n = sum((a + 1) * b for a, b in zip(SIZES, SIZES[1:]))
    p, x = list(sg.symbols(f"p0:{n}")), list(sg.symbols(f"x0:{SIZES[0]}"))
    z = dense_forward(p, x, sg.tanh, SIZES)
    f = sum(v * v for v in z)
    return [p, x], [f, np.array(sg.gradient(f, p), dtype=object)], n


def _data(n_params: int, n: int = 19):
    rng = np.random.default_rng(3)
    return rng.uniform(-0.5, 0.5, n_params), rng.uniform(-1, 1, (n, SIZES[0]))


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))
    runs = count_compiles(monkeypatch)
    threads: list[str] = []
    counted = cache._run_compiler

    def where(argv, cwd):
        threads.append(threading.current_thread().name)
        return counted(argv, cwd)

    monkeypatch.setattr(cache, "_run_compiler", where)
    return runs, threads


def test_the_phased_build_runs_once_beside_the_compile(fresh):
    runs, threads = fresh
    inputs, outputs, n = _program()
    fn = sg.compile(inputs, outputs, backend="c", reduce="sum")
    assert "symgrad-plan" in fn.source
    assert len(runs) == 1 and abi.MIXED_OPT in runs[0]
    assert threads == ["sg-cc"]  # not the caller's thread
    assert not cache._jobs  # finished and forgotten
    P, X = _data(n)
    ref = sg.compile(inputs, outputs, backend="numpy", reduce="sum")
    got, want = fn(P, X), ref(P, X)
    assert np.isclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-11, atol=1e-13)
    again = sg.compile(inputs, outputs, backend="c", reduce="sum")  # warm: no compiler
    assert len(runs) == 1 and again(P, X)[0] == got[0]


def test_a_failed_background_build_raises_in_the_caller(fresh, monkeypatch):
    calls = []

    def failing(argv, cwd):
        calls.append(threading.current_thread().name)
        return subprocess.CompletedProcess(argv, 1, "", "f.c:1: error: no compiler today")

    monkeypatch.setattr(cache, "_run_compiler", failing)
    inputs, outputs, _ = _program()
    with pytest.raises(cache.CCompileError, match="no compiler today"):
        sg.compile(inputs, outputs, backend="c", reduce="sum")
    assert "MainThread" in calls  # the error comes from the caller's own build
    assert not cache._jobs


def test_concurrent_compiles_of_one_program_agree(fresh):
    runs, _ = fresh
    inputs, outputs, n = _program()
    P, X = _data(n)
    results: list = [None] * 4
    errors: list = []

    def work(i: int) -> None:
        try:
            fn = sg.compile(inputs, outputs, backend="c", reduce="sum")
            results[i] = fn._fn.flat(P, X)
        except Exception as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors
    for r in results[1:]:
        assert np.array_equal(r, results[0])
    assert 1 <= len(runs) <= 4 and not cache._jobs
