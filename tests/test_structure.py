"""symgrad.structure: one iterative walker for nested lists, tuples, named tuples, dicts and
(on request) arrays."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

from symgrad import structure

Point = namedtuple("Point", "x y")


def test_flatten_and_unflatten_round_trip():
    tree = {"b": [1, (2, 3)], "a": Point(4, [5]), "c": (), "d": [[]]}
    leaves, td = structure.flatten(tree)
    assert leaves == [1, 2, 3, 4, 5]  # dicts in insertion order, like the caller wrote them
    back = structure.unflatten(td, leaves)
    assert back == tree and isinstance(back["a"], Point) and isinstance(back["b"][1], tuple)
    assert structure.num_leaves(td) == 5


def test_treedefs_ignore_leaf_values_and_hash():
    _, td1 = structure.flatten([1.0, {"k": (2.0,)}])
    _, td2 = structure.flatten([7.0, {"k": (8.0,)}])
    _, td3 = structure.flatten([7.0, {"k": [8.0]}])
    assert td1 == td2 and hash(td1) == hash(td2) and td1 != td3


def test_arrays_open_only_when_asked():
    a = np.arange(6.0).reshape(2, 3)
    got = structure.leaves([a, 1.0])
    assert len(got) == 2 and got[0] is a and got[1] == 1.0
    leaves, td = structure.flatten([a, 1.0], arrays=True)
    assert leaves == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0]
    back = structure.unflatten(td, [v * 2 for v in leaves])
    np.testing.assert_array_equal(back[0], 2 * a)
    assert back[1] == 2.0


def test_map_and_is_leaf():
    assert structure.map(lambda v: v + 1, [1, (2, {"z": 3})]) == [2, (3, {"z": 4})]
    got = structure.map(len, [{"a": 1}, ["xy", "z"]], is_leaf=structure.dict_leaf)
    assert got == [1, [2, 1]]


def test_deep_structures_do_not_recurse():
    deep: list = [1.0]
    for _ in range(100_000):
        deep = [deep]
    leaves, td = structure.flatten(deep)
    assert leaves == [1.0]
    rebuilt = structure.unflatten(td, [2.0])
    for _ in range(100_000):
        rebuilt = rebuilt[0]
    assert rebuilt == [2.0]


def test_shape():
    assert structure.shape(1.0) == ()
    assert structure.shape([[1, 2, 3], [4, 5, 6]]) == (2, 3)
    assert structure.shape([]) == (0,)
    for ragged in ([[1, 2], [3]], [[1], 2], [1, [2]]):
        with pytest.raises(ValueError, match="inputs\\[0\\].*ragged"):
            structure.shape(ragged, "inputs[0]")
