"""Names are labels, never code: a symbol named after any identifier a backend generates
(``f_ieee``, ``_log``, ``math``, ``np``, ``t1``, ``sg_f`` ...) cannot shadow it (issue 10,
item 6). The identifiers are collected from generated sources, so a new one is covered."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from helpers import HAVE_CC

import symgrad as sg

BACKENDS = ["python", "numpy"] + (["c"] if HAVE_CC else [])
IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def _programs(syms):
    """A few programs touching every kind of generated name: helpers, the IEEE path, lists,
    a reduction's driver and matrix products, array outputs."""
    x, y = syms[:2]
    w = list(syms[2:8])
    f = sg.log(x) / y + sg.sqrt(x) ** 1.5 + sg.sigmoid(w[0] * x + w[1] * y + w[2])
    g = sg.tanh(w[3] * x + w[4] * y + w[5]) * sg.where(x > y, sg.exp(y), sg.sin(x))
    return [x, y, w], [f + g, sg.gradient(f + g, [x, y, *w])]


def _identifiers(backend: str) -> set[str]:
    syms = sg.symbols("x y w0:6")
    inputs, outputs = _programs(list(syms))
    found: set[str] = set()
    for reduce in (None, "sum") if backend != "python" else (None,):
        src = sg.compile(inputs, outputs, backend=backend, reduce=reduce).source
        body = re.sub(r'"""(.|\n)*?"""', "", src)  # the docstring is prose
        found |= set(IDENT.findall(body))
    return found - {"x", "y"} - {f"w{i}" for i in range(6)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_symbols_named_like_generated_identifiers(backend, c_cache):
    names = sorted(_identifiers(backend) | {"f_ieee", "_log", "math", "np", "sg_f", "t1", "f"})
    assert len(names) > 10
    # Every name as the label of x, of y and of the list's elements (in turns of 8).
    for k in range(0, len(names), 8):
        labels = (names[k : k + 8] * 8)[:8]
        syms = [sg.Symbol(lbl) for lbl in labels]
        inputs, outputs = _programs(syms)
        fn = sg.compile(inputs, outputs, backend=backend)
        point = [0.0, 2.0, [0.1, -0.2, 0.3, 0.4, 0.5, -0.6]]
        env = dict(zip(syms, [point[0], point[1], *point[2]]))
        want = sg.evaluate(outputs, env)
        got = fn(*point)
        assert math.isinf(float(np.asarray(got[0]))), labels  # log(0) = -inf, not an error
        np.testing.assert_allclose(np.asarray(got[1], dtype=float), want[1], rtol=1e-12)
