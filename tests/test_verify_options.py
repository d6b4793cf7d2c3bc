"""sg.verify's options are checked up front: a bad one raises TypeError/ValueError naming it,
never a VerificationError blaming a correct program, a raw error, or a silent pass."""

import math

import pytest

import symgrad as sg


@pytest.fixture(scope="module")
def fn():
    x, y = sg.symbols("x y")
    f = sg.tanh(x * y) + x**3 * sg.exp(y)
    return sg.compile([x, y], [f, sg.gradient(f, [x, y])], backend="python"), (x, y), f


@pytest.mark.parametrize("d", [16, 10, 5, 0, -3])
def test_digits_below_float64_precision_is_a_value_error(fn, d):
    compiled, (x, y), f = fn
    with pytest.raises(ValueError, match=r"digits must be at least 17"):
        sg.verify(compiled, points=2, digits=d)
    with pytest.raises(ValueError, match=r"digits must be at least 17"):
        sg.verify(f, [x, y], digits=d)


@pytest.mark.parametrize("d", [2.5, 50.0, "50", None, True])
def test_digits_not_an_int_is_a_type_error(fn, d):
    compiled, (x, y), f = fn
    with pytest.raises(TypeError, match=r"digits must be an int.*at least 17"):
        sg.verify(compiled, points=2, digits=d)
    with pytest.raises(TypeError, match=r"digits must be an int"):
        sg.verify(f, [x, y], digits=d)


def test_digits_at_the_minimum_and_above_verify_a_correct_program(fn):
    compiled, (x, y), f = fn
    assert sg.verify(compiled, points=2, digits=17).complete
    assert sg.verify(compiled, points=2, digits=80).complete
    report = sg.verify(f, [x, y], digits=30, budget=0, symbolic_time=0.0)
    assert report.ok and "30 digits" in str(report)


@pytest.mark.parametrize("tb", ["x", [1], complex(1, 0)])
def test_time_budget_not_a_number_is_a_type_error(fn, tb):
    compiled, (x, y), f = fn
    with pytest.raises(TypeError, match="time_budget must be a number of seconds"):
        sg.verify(compiled, time_budget=tb)
    with pytest.raises(TypeError, match="time_budget must be a number of seconds"):
        sg.verify(f, [x, y], time_budget=tb)


@pytest.mark.parametrize("tb", [-1, -0.5, math.nan])
def test_time_budget_negative_or_nan_is_a_value_error(fn, tb):
    compiled, (x, y), f = fn
    with pytest.raises(ValueError, match=r"time_budget must be a number of seconds >= 0"):
        sg.verify(compiled, time_budget=tb)
    with pytest.raises(ValueError, match=r"time_budget must be a number of seconds >= 0"):
        sg.verify(f, [x, y], time_budget=tb)


def test_time_budget_none_and_zero_keep_their_meaning(fn):
    compiled, (x, y), f = fn
    assert sg.verify(compiled, time_budget=None, points=1).complete
    assert not sg.verify(compiled, time_budget=0, points=1).complete


@pytest.mark.parametrize("pts", [1.5, "3", {1: 2}, True])
def test_points_of_the_wrong_type_is_a_type_error(fn, pts):
    compiled, (x, y), f = fn
    with pytest.raises(TypeError, match="points must be an int"):
        sg.verify(compiled, points=pts)


@pytest.mark.parametrize("pts", [0, -2])
def test_points_count_below_one_is_a_value_error(fn, pts):
    compiled, (x, y), f = fn
    with pytest.raises(ValueError, match="points must be at least 1"):
        sg.verify(compiled, points=pts)
    with pytest.raises(ValueError, match="points must be at least 1"):
        sg.verify(f, [x, y], points=pts, budget=0, symbolic_time=0.0)


def test_verify_f_wrt_takes_a_count_of_points(fn):
    compiled, (x, y), f = fn
    with pytest.raises(TypeError, match=r"points must be an int.*sg.verify\(fn\)"):
        sg.verify(f, [x, y], points=[{x: 1.0, y: 2.0}])
    with pytest.raises(TypeError, match="points must be an int"):
        sg.verify(f, [x, y], points=1.5)


def test_an_empty_list_of_points_is_a_value_error(fn):
    with pytest.raises(ValueError, match="points is an empty list"):
        sg.verify(fn[0], points=[])


@pytest.mark.parametrize("bad", ["a", None, "1.5", complex(1, 1)])
def test_a_point_value_that_is_not_a_real_number_names_the_point(fn, bad):
    compiled, (x, y), _ = fn
    with pytest.raises(TypeError, match=r"points\[1\]\[x\] must be a real number"):
        sg.verify(compiled, points=[{x: 1.0, y: 1.0}, {x: bad, y: 1.0}])


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_a_point_value_that_is_not_finite_names_the_point(fn, bad):
    compiled, (x, y), _ = fn
    with pytest.raises(ValueError, match=r"points\[0\]\[y\] must be finite"):
        sg.verify(compiled, points=[{x: 1.0, y: bad}])


def test_a_point_keyed_by_a_symbol_that_is_not_an_input_is_a_value_error(fn):
    compiled, (x, y), _ = fn
    q = sg.Symbol("q")
    with pytest.raises(ValueError, match=r"points\[0\]: q is not an input symbol.*x, y"):
        sg.verify(compiled, points=[{x: 1.0, y: 1.0, q: 2.0}])
    with pytest.raises(ValueError, match=r"points\[0\]: 'q' names no single input symbol"):
        sg.verify(compiled, points=[{x: 1.0, y: 1.0, "q": 2.0}])
    with pytest.raises(ValueError, match=r"points\[0\]: 3 is not an input symbol"):
        sg.verify(compiled, points=[{x: 1.0, y: 1.0, 3: 2.0}])


def test_a_point_giving_one_input_twice_is_a_value_error(fn):
    compiled, (x, y), _ = fn
    with pytest.raises(ValueError, match=r"points\[0\] gives x twice"):
        sg.verify(compiled, points=[{x: 1.0, "x": 2.0, y: 1.0}])


def test_good_points_still_verify(fn):
    import numpy as np

    compiled, (x, y), _ = fn
    report = sg.verify(compiled, points=[{x: 0.5, "y": np.float64(1.5)}, {x: 2, y: -1}])
    assert report.complete and report.points_done == 2


def test_a_small_time_budget_leaves_the_oracle_its_half(monkeypatch):
    """SymPy is given at most half of time_budget, so what it does not prove is still checked
    by the oracle (before, a budget under symbolic_time went to SymPy whole)."""
    from symgrad.verification import check

    given = []

    def unproved(f, syms, grads, budget, seconds):  # SymPy using all it is given, proving nothing
        given.append(seconds)
        return set()

    monkeypatch.setattr(check, "prove", unproved)
    x, y = sg.symbols("x y")
    report = sg.verify(sg.sin(x * y) + x**3, [x, y], time_budget=2.0)
    assert given and given[0] <= 1.0
    assert report.ok and set(report.methods.values()) == {"numeric"}
