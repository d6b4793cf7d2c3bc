"""Only real numbers get into a compiled function, on every backend: anything else is a
TypeError naming the argument, a ragged list or a number too large for a double a ValueError
naming it (issue 10, item 5). Bools count as 0.0/1.0 everywhere, as in Python and NumPy."""

from __future__ import annotations

import datetime
import fractions

import numpy as np
import pytest
from helpers import HAVE_CC

import symgrad as sg

BACKENDS = ["python", "numpy"] + (["c"] if HAVE_CC else [])


@pytest.fixture(params=BACKENDS)
def fn(request, c_cache):
    """f(x, w) = x * (w0*w1 + w2) with a scalar ``x`` and a list ``w`` of three."""
    x = sg.Symbol("x")
    w = list(sg.symbols("w0:3"))
    return sg.compile([x, w], x * (w[0] * w[1] + w[2]), backend=request.param)


def value(out) -> float:
    return float(np.asarray(out))


def test_plain_numbers_work(fn):
    assert value(fn(2.0, [3.0, 4.0, 5.0])) == 34.0
    assert value(fn(2, (3, 4, 5))) == 34.0  # ints and tuples are numbers and sequences
    assert value(fn(np.float32(2.0), np.array([3, 4, 5]))) == 34.0
    assert value(fn(fractions.Fraction(1, 2), [3.0, 4.0, 5.0])) == 8.5
    assert value(fn(np.array(2.0), [3.0, 4.0, 5.0])) == 34.0


def test_bools_are_zero_and_one(fn):
    assert value(fn(True, [3.0, 4.0, 5.0])) == 17.0
    assert value(fn(2.0, [True, False, 5.0])) == 10.0
    assert value(fn(np.bool_(True), np.array([True, True, False]))) == 1.0


SCALAR_BAD = [
    "1.5",
    b"1.5",
    None,
    1 + 0j,
    complex(2, 0),
    np.complex128(2.0),
    datetime.datetime(2020, 1, 1),
    np.datetime64("2020-01-01"),
    {"x": 2.0},
    {2.0},
    (v for v in [2.0]),
]


@pytest.mark.parametrize("bad", SCALAR_BAD, ids=lambda b: type(b).__name__)
def test_a_non_number_is_a_type_error_naming_the_argument(fn, bad):
    with pytest.raises(TypeError, match="'x'"):
        fn(bad, [3.0, 4.0, 5.0])


LIST_BAD = [
    ["2", 3.0, 4.0],  # the python backend used to compute "2"*3 ... = "222.0"
    [b"2", 3.0, 4.0],
    [None, 3.0, 4.0],
    [1 + 0j, 3.0, 4.0],
    [datetime.date(2020, 1, 1), 3.0, 4.0],
    {"a": 1.0, "b": 2.0, "c": 3.0},  # a dict's keys used to be its elements
    {1.0, 2.0, 3.0},
    (v for v in [1.0, 2.0, 3.0]),
    "abc",
    b"abc",
    np.array(["1", "2", "3"]),
    np.array([1 + 0j, 2, 3]),
    np.array([None, 2.0, 3.0], dtype=object),
    np.array(["2020-01-01"] * 3, dtype="datetime64[D]"),
    np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]),
]


@pytest.mark.parametrize("bad", LIST_BAD, ids=lambda b: type(b).__name__)
def test_a_list_of_non_numbers_is_a_type_error_naming_it(fn, bad):
    with pytest.raises(TypeError, match="'w'"):
        fn(2.0, bad)


def test_python_backend_takes_no_batches_and_no_ranges():
    x, w = sg.Symbol("x"), list(sg.symbols("w0:3"))
    f = sg.compile([x, w], x * (w[0] * w[1] + w[2]))
    with pytest.raises(TypeError, match="'w'"):
        f(2.0, range(3))
    with pytest.raises(TypeError, match="'x'"):
        f([2.0], [1.0, 2.0, 3.0])  # a batch of x is for the batched backends


@pytest.mark.parametrize("bad", [[[1.0, 2.0], [3.0]], [1.0, [2.0, 3.0], 4.0]], ids=str)
def test_ragged_nested_lists_are_a_value_error(bad):
    m = [list(sg.symbols("a0:2")), list(sg.symbols("b0:2"))]
    for backend in BACKENDS:
        f = sg.compile([m], m[0][0] * m[1][1], backend=backend)
        with pytest.raises(ValueError, match="'arg0'|ragged|shape"):
            f(bad)


def test_wrong_length_is_a_value_error(fn):
    with pytest.raises(ValueError, match="'w'"):
        fn(2.0, [3.0, 4.0])


@pytest.mark.parametrize("where", ["scalar", "list"])
def test_a_number_too_large_for_a_double_is_a_contract_error(fn, where):
    big = 10**400
    with pytest.raises((TypeError, ValueError), match="'x'" if where == "scalar" else "'w'"):
        if where == "scalar":
            fn(big, [3.0, 4.0, 5.0])
        else:
            fn(2.0, [big, 4.0, 5.0])
