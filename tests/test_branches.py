"""Python control flow on traced values: each decision follows the call being traced and is
guarded. Values are checked against the function run in plain NumPy, gradients against
central differences, at points on both sides of every branch; a call counter shows that no
retrace happens while the path stays the same."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import HAVE_CC, counted

import symgrad as sg

H = 1e-6


def fd(f, x: float) -> float:
    return (f(x + H) - f(x - H)) / (2 * H)


def piecewise(x):
    if x > 1.0:
        return x**3
    elif x > -1.0:
        return np.sin(x)
    return -2.0 * x


def loop(x):
    y, k = x, 0
    while y < 10.0:  # iterations depend on the value
        y = y * 2.0 + 1.0
        k += 1
    return y + k


def with_int(x):
    n = int(x)  # piecewise constant: derivative 0, guarded by the interval
    return x * n + n


def with_min(x, y):
    return min(x, y) ** 2 + max(x * y, 1.0)


def with_and_or(x):
    if x > 0 and x < 2 or x < -5:
        return x**2
    return 3.0 * x


BACKENDS = ["python", "numpy", "c"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "fn, points",
    [
        (piecewise, [2.0, 1.5, 0.3, -0.5, -2.0, -3.0]),
        (loop, [0.5, 0.7, 3.0, 4.0, 20.0]),
        (with_int, [0.5, 0.7, 2.3, 2.9, -1.5, -1.2]),
        (with_and_or, [1.0, 1.5, 3.0, -6.0, -1.0]),
    ],
)
def test_values_and_gradients_on_every_side(fn, points, backend, request):
    if backend == "c":
        if not HAVE_CC:
            pytest.skip("no C compiler")
        request.getfixturevalue("c_cache")
    f = counted(fn)
    vg = sg.value_and_grad(f, backend=backend)
    paths = set()
    for x in points:
        value, g = vg(x)
        assert value == pytest.approx(fn(x), rel=1e-12), x
        assert g == pytest.approx(fd(fn, x), rel=1e-6, abs=1e-8), x
        paths.add(vg.compiled)
    # each path: one trace and one plain-NumPy check (check.py), never more
    assert len(f.calls) == 2 * vg.traces == 2 * len(paths)
    for x in points:  # every path is cached: calling again traces and checks nothing
        assert vg(x)[0] == pytest.approx(fn(x), rel=1e-12)
    assert len(f.calls) == 2 * len(paths)


def test_no_retrace_while_the_path_stays_the_same():
    f = counted(piecewise)
    vg = sg.value_and_grad(f)
    for x in np.linspace(1.1, 5.0, 20):
        vg(x)
    assert len(f.calls) == 2 and vg.calls == 20  # one trace and its check


def test_min_and_max_of_scalars_follow_the_values():
    vg = sg.value_and_grad(with_min, argnums=(0, 1))
    for x, y in [(1.0, 2.0), (3.0, 2.0), (0.1, 0.2), (-2.0, 0.3)]:
        value, (gx, gy) = vg(x, y)
        assert value == pytest.approx(with_min(x, y))
        assert gx == pytest.approx(fd(lambda t, y=y: with_min(t, y), x), rel=1e-6, abs=1e-8)
        assert gy == pytest.approx(fd(lambda t, x=x: with_min(x, t), y), rel=1e-6, abs=1e-8)


def test_branch_on_an_array_element_and_on_a_reduction():
    def f(v):
        if np.sum(v**2) > 1.0:
            return np.sum(np.log(v**2))
        if v[0] > v[1]:
            return v[0] * np.sum(v)
        return np.prod(v)

    vg = sg.value_and_grad(f)
    for v in ([0.9, 0.8], [0.2, 0.1], [0.1, 0.3]):
        v = np.array(v)
        value, g = vg(v)
        assert value == pytest.approx(f(v), rel=1e-12)
        num = [fd(lambda t, i=i, v=v: f(np.where(np.arange(2) == i, t, v)), v[i]) for i in range(2)]
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)
    assert vg.traces == 3


def test_source_shows_the_guards():
    vg = sg.value_and_grad(piecewise)
    vg(0.5)
    assert "# Guards:" in vg.source and "x > 1" in vg.source and "False" in vg.source
    assert vg.source.count("\n# ") >= 3


def test_float_of_a_differentiated_value_raises_and_of_data_is_guarded():
    def cut(x):
        return float(x) * x

    with pytest.raises(TypeError, match="cut its derivative"):
        sg.grad(cut)(2.0)

    def scaled(x, s):
        return x * float(s)  # s is data: its value is baked in and guarded

    g = sg.value_and_grad(scaled)
    assert g(2.0, 3.0) == (6.0, 3.0) and g(5.0, 3.0) == (15.0, 3.0) and g.traces == 1
    assert g(2.0, 4.0) == (8.0, 4.0) and g.traces == 2


def test_a_function_that_retraces_on_most_calls_warns():
    def f(x, s):
        return x * float(s)

    vg = sg.value_and_grad(f)
    with pytest.warns(sg.RetraceWarning, match="traced .* times"):
        for i in range(10):
            vg(1.0, float(i))


def test_the_cache_is_bounded():
    vg = sg.value_and_grad(lambda x, s: x * float(s))
    vg.max_paths = 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sg.RetraceWarning)
        for i in range(10):
            assert vg(2.0, float(i)) == (2.0 * i, float(i))
    assert sum(len(p) for p in vg._paths.values()) == 4
    assert vg(2.0, 9.0) == (18.0, 9.0) and vg.traces == 10  # still cached
    assert vg(2.0, 0.0) == (0.0, 0.0) and vg.traces == 11  # evicted, traced again


def test_index_from_a_traced_value():
    def f(x, k):
        return x[int(k)] ** 2

    vg = sg.value_and_grad(f)
    x = np.array([1.0, 2.0, 3.0])
    assert vg(x, 1.0)[0] == 4.0 and list(vg(x, 2.0)[1]) == [0.0, 0.0, 6.0]
    assert vg(x, 2.5)[0] == 9.0 and vg.traces == 2  # int(2.5) == int(2.0): same path


def test_outside_a_trace_bool_raises_as_before():
    x = sg.Symbol("x")
    with pytest.raises(TypeError, match=r"sg\.where"):
        if x > 0:
            pass
