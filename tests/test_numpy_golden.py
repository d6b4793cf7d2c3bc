"""The NumPy backend's sources for programs without matrix structure are fixed: the lowering
passes (backends/lower_matmul.py, lower_lanes.py) find nothing in them and must change
nothing. Digests of the sources (version string masked) as main printed them without the
passes (at 7d08675); a change here must be intended and stated. Changed since: lsq/sum and
lsq/mean name their reduced gradient matrix after its variable (``g_w = _gram(...)``)."""

from __future__ import annotations

import hashlib

import pytest

import symgrad as sg


def _cases():
    """Programs with no matrix structure: name -> (inputs, outputs, reduce)."""
    x, y, z = sg.symbols("x y z")
    w = list(sg.symbols("w0:4"))
    f = sg.tanh(x * y) + sg.exp(x) / y
    design = [f, sg.gradient(f, [x, y]), sg.hessian(f, [x, y])]
    h = (w[0] * x + w[1] * y - z) ** 2
    out = {}
    for red in (None, "sum", "mean"):
        out[f"design/{red}"] = ([x, y], design, red)
        out[f"lsq/{red}"] = ([w, x, y, z], [h, sg.gradient(h, w)], red)
        out[f"where/{red}"] = ([x, y], [sg.where(x > y, x * y, x - y), 1.0, x], red)
        out[f"ops/{red}"] = ([x, y], [sg.softplus(x * y), sg.sigmoid(x), sg.erf(x)], red)
    return out


DIGESTS = {
    "design/None": "5d3b2211caee8311",
    "lsq/None": "a9eb4b02564822e7",
    "where/None": "117cd3cc31ff2409",
    "ops/None": "4e7233721a8f8fd4",
    "design/sum": "e95cc9cef61c332a",
    "lsq/sum": "d09798aceab8bf17",
    "where/sum": "9c73c273fa3c7122",
    "ops/sum": "8b3428223561e6ee",
    "design/mean": "a89cc55763d85091",
    "lsq/mean": "26753631532238c2",
    "where/mean": "29c381d4f463e3d2",
    "ops/mean": "cf7f3ba571297786",
}


@pytest.mark.parametrize("name", sorted(DIGESTS))
def test_sources_without_matrix_structure_are_unchanged(name):
    inputs, outputs, reduce = _cases()[name]
    src = sg.compile(inputs, outputs, backend="numpy", reduce=reduce).source
    assert "_matmul(" not in src and "_outer(" not in src
    digest = hashlib.sha1(src.replace(sg.__version__, "VERSION").encode()).hexdigest()[:16]
    assert digest == DIGESTS[name], src
