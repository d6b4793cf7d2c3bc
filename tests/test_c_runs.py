"""The phased plan's runs (``backends/c/runs.py``, NumPy) equal ``numpy_steps``' element loops,
so the plan and the source are the same text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from symgrad.backends import numpy_steps
from symgrad.backends.c import runs

_pieces = st.lists(
    st.tuples(st.integers(-50, 50), st.integers(1, 6), st.integers(-3, 3)), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(_pieces, st.lists(st.integers(-5, 5), max_size=6))
def test_runs_equal_the_element_loop(pieces, noise):
    values = [s + k * d for s, n, d in pieces for k in range(n)] + noise
    assert runs.runs(iter(values)) == numpy_steps.runs(values)


def test_runs_edge_cases():
    for values in ([], [7], [7, 7], [1, 2], [1, 2, 4], [3, 2, 1, 1, 1, 5], list(range(100))):
        assert runs.runs(iter(values)) == numpy_steps.runs(values)


def test_flat_picks_equal_the_element_loop():
    """A reduced program's picks (a total, weight gradients from outer sums): the same
    positions as ``numpy_steps.flat_picks``, for outputs in order and shuffled."""
    import numpy as np

    import symgrad as sg
    from benchmarks.workloads import dense_forward
    from symgrad.backends.lower_matmul import lower

    sizes = (5, 12, 3)
    k = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    p, x = list(sg.symbols(f"p0:{k}")), list(sg.symbols("x0:5"))
    f = sum(v * v for v in dense_forward(p, x, sg.tanh, sizes))
    g = sg.gradient(f, p)
    order = np.random.default_rng(1).permutation(k).tolist()
    for outs in ([f, *g], [g[i] for i in order] + [f]):
        roots = [getattr(o, "_expr", o) for o in outs]
        low = lower(roots, {q.serial: (0, i) for i, q in enumerate(p)}, reduce=True)
        assert low.items, "no reduced items: the test would check nothing"
        want = numpy_steps.flat_picks(low.items, low.picks)
        assert runs.flat_picks(low.items, low.picks).tolist() == want
