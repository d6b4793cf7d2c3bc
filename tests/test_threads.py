"""Interning holds under threads: equal expressions built in several threads at once are one
object (a lookup that misses makes the node under a lock, after looking again)."""

from __future__ import annotations

import sys
import threading

import symgrad as sg
from symgrad import ir


def _build_in_threads(n: int, k: int, make) -> list[list]:
    out: list = [None] * k
    barrier = threading.Barrier(k)

    def work(j: int) -> None:
        barrier.wait()
        out[j] = [make(i) for i in range(n)]

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        threads = [threading.Thread(target=work, args=(j,)) for j in range(k)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    return out


def test_equal_expressions_built_in_threads_are_one_object():
    x, y = sg.symbols("x y")
    out = _build_in_threads(20_000, 4, lambda i: sg.exp(x * y + float(i)) * (x - i))
    differ = sum(1 for i in range(len(out[0])) if any(o[i] is not out[0][i] for o in out))
    assert differ == 0  # before the lock: ~40 of 20,000


def test_threads_and_the_sweep():
    """Building past the sweep threshold in threads (the table drops unheld nodes meanwhile)
    still shares every node that is held."""
    x = sg.Symbol("x")
    n = ir._SWEEP_MIN  # enough new nodes per thread to trigger sweeps while others look up
    out = _build_in_threads(n, 3, lambda i: sg.sin(x + float(i)))
    assert all(o[i] is out[0][i] for o in out for i in range(0, n, 7))
    assert sg.sin(x + 5.0) is out[1][5]
