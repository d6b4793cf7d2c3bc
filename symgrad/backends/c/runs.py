"""The phased form's long index lists as arithmetic runs, computed with NumPy.

The plan (``mixed``) writes a layer's weight index and the outputs' positions as runs (start,
count, step), as ``numpy_steps.runs`` and ``flat_picks`` define them; those loop over every
element in Python (~0.1 s of the MNIST-size MLP's compile for 2 x 100,000 elements). Here the
loop is over the runs, not the elements, and gives the same runs.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from ..lowered import OuterSum
from ..numpy_steps import item_size


def runs(values) -> list[tuple[int, int, int]]:
    """``numpy_steps.runs(values)``: greedy runs, each taking its second element whatever it
    is (that sets the step) and then every element that continues the step."""
    if isinstance(values, np.ndarray):
        v = values.astype(np.int64).ravel()
    else:
        v = np.fromiter(values, np.int64)
    n = v.size
    if n == 0:
        return []
    d = np.diff(v)
    # where the difference changes: a run from i always ends at the first such b > i
    breaks = (np.flatnonzero(d[1:] != d[:-1]) + 1).tolist()
    starts, ends = [], []
    i, p, nb = 0, 0, len(breaks)
    while i < n - 1:
        while p < nb and breaks[p] <= i:
            p += 1
        end = breaks[p] if p < nb else n - 1  # the run's last element
        starts.append(i)
        ends.append(end)
        i = end + 1
    steps = d[starts].tolist() if starts else []
    out = [(v0, e - s + 1, st) for v0, s, e, st in zip(v[starts].tolist(), starts, ends, steps)]
    if i == n - 1:  # a last element alone
        out.append((int(v[i]), 1, 1))
    return out


def flat_picks(items: list, picks: list[tuple[int, ...]]) -> np.ndarray:
    """``numpy_steps.flat_picks(items, picks)`` as an array: each output's position in the
    reduced items' values laid end to end (an outer sum's pick is (item, row, column))."""
    starts, widths, at = [], [], 0
    for it in items:
        starts.append(at)
        widths.append(len(it.cols.nodes) + it.ones if isinstance(it, OuterSum) else 0)
        at += item_size(it)
    n = len(picks)
    lens = np.fromiter(map(len, picks), np.int64, n)
    flat = np.fromiter(chain.from_iterable(picks), np.int64, int(lens.sum()))
    first = np.cumsum(lens) - lens
    item = flat[first]
    pos = np.asarray(starts, dtype=np.int64)[item] if n else np.zeros(0, np.int64)
    three = np.flatnonzero(lens != 1)
    if three.size:
        row, col = flat[first[three] + 1], flat[first[three] + 2]
        pos[three] += row * np.asarray(widths, dtype=np.int64)[item[three]] + col
    return pos
