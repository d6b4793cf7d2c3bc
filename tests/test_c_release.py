"""Compiled C functions give their library back when they are freed: many compiles do not
leave many libraries mapped (issue 10 item 11)."""

from __future__ import annotations

import gc
import sys

import pytest
from helpers import needs_cc

import symgrad as sg

pytestmark = [
    needs_cc,
    pytest.mark.usefixtures("c_cache"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps"),
]


def mapped(cache_dir) -> set[str]:
    """The generated functions' libraries mapped into this process."""
    root = str(cache_dir)
    with open("/proc/self/maps") as fh:
        return {line.split()[-1] for line in fh if root in line and "/c1/sg_" in line}


def test_freed_functions_unmap_their_libraries(c_cache):
    x = sg.Symbol("x")
    gc.collect()
    base = mapped(c_cache)
    fns = [sg.compile([x], [x * (1.0 + k / 64) + 0.5], backend="c") for k in range(24)]
    assert [f(2.0)[0] for f in fns[:3]] == [2.0 * (1.0 + k / 64) + 0.5 for k in range(3)]
    assert len(mapped(c_cache) - base) == 24
    del fns
    gc.collect()
    assert mapped(c_cache) - base == set()


def test_a_library_shared_by_two_functions_stays_while_one_lives(c_cache):
    x, y = sg.symbols("x y")
    f = sg.compile([x, y], [x * y - 0.375], backend="c")
    g = sg.compile([x, y], [x * y - 0.375], backend="c")  # the same library
    del f
    gc.collect()
    assert g(2.0, 3.0)[0] == 6.0 - 0.375  # still mapped: it would crash otherwise
    import numpy as np

    assert g(np.array([1.0, 2.0]), 4.0)[0].tolist() == [3.625, 7.625]


def test_tape_workspace_kept_between_calls_and_safe_across_threads(monkeypatch):
    """The tape interpreter's workspace is allocated once per function and reused; a call
    that finds it busy (another thread) gets its own, so results never mix."""
    import threading

    import numpy as np

    from symgrad.backends.c import abi

    monkeypatch.setattr(abi, "VM_MIN_OPS", 1)
    x, y = sg.symbols("x y")
    f = sg.compile([x, y], [sg.tanh(x) * y + x, x * y], backend="c")
    assert "tape interpreter" in f.source.splitlines()[0]
    xs = np.linspace(-2, 2, 300)
    want = [np.tanh(xs) * k + xs for k in range(4)]
    bad = []

    def work(k: int) -> None:
        for _ in range(30):
            got = f(xs, float(k))[0]
            if not np.allclose(got, want[k], rtol=1e-14, atol=0):
                bad.append(k)
            if f(0.5, float(k))[1] != 0.5 * k:  # one sample: the scalar path, same workspace
                bad.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []
