"""sg.verify(fn) judges jvp, hvp and linearize outputs as the derivatives they claim to be:
the oracle differentiates ``f`` along the tangents itself, so a wrong forward rule is caught
(before, such an output was judged by its own value, which a wrong rule leaves consistent)."""

from __future__ import annotations

import pytest
from helpers import needs_cc

import symgrad as sg
from symgrad.autodiff import rules
from symgrad.ops import Op

X = list(sg.symbols("x0:3"))
V = list(sg.symbols("v0:3"))


def _f():
    return sg.exp(X[0] * X[1]) + sg.sin(X[2]) * X[0] ** 2


@pytest.fixture
def wrong_sin(monkeypatch):
    """sin's derivative rule doubled: every derivative built while it is in place is wrong."""
    right = rules.RULES[Op.SIN]

    def doubled(out, g, need):
        return tuple(None if d is None else d * 2.0 for d in right(out, g, need))

    monkeypatch.setitem(rules.RULES, Op.SIN, doubled)


@pytest.mark.parametrize("backend", ["python", "numpy", pytest.param("c", marks=needs_cc)])
def test_jvp_and_hvp_outputs_are_judged_as_derivatives(backend, request):
    if backend == "c":
        request.getfixturevalue("c_cache")
    f = _f()
    fn = sg.compile([X, V], [f, sg.jvp([f, X[0] * X[2]], X, V), sg.hvp(f, X, V)], backend=backend)
    report = sg.verify(fn)
    labels = [c.label for c in report.checks]
    assert labels[1:3] == ["out[1] = dout[0]/dt", "out[2] = df/dt"]
    assert all("d^2out[0]/dx" in lab and lab.endswith("/dt") for lab in labels[3:])
    assert [c.method.split(" at ")[0] for c in report.checks[1:3]] == [
        "forward mode (dual numbers)"
    ] * 2
    assert all("hyper-dual" in c.method for c in report.checks[3:])


@pytest.mark.parametrize("directions", ["coordinate", "random"])
def test_a_wrong_forward_rule_in_a_jvp_is_caught(wrong_sin, directions):
    f = sg.sin(X[0]) * X[1]
    jv = sg.jvp(f, X[:2], V[:2])  # built with the doubled rule
    fn = sg.compile([X[:2], V[:2]], [f, jv])
    with pytest.raises(sg.VerificationError, match=r"dout\[0\]/dt"):
        sg.verify(fn, directions=directions)


def test_a_wrong_rule_in_an_hvp_is_caught(monkeypatch):
    f = sg.sin(X[0] * X[1])
    grads = sg.gradient(f, X[:2])  # right
    right = rules.RULES[Op.COS]  # the forward sweep over the gradient meets cos: make it wrong
    monkeypatch.setitem(
        rules.RULES,
        Op.COS,
        lambda o, g, n: tuple(None if d is None else -d for d in right(o, g, n)),
    )
    hv = sg.jvp(grads, X[:2], V[:2])
    monkeypatch.setitem(rules.RULES, Op.COS, right)
    fn = sg.compile([X[:2], V[:2]], [f, hv])
    with pytest.raises(sg.VerificationError, match=r"d\^2out\[0\]/dx0/dt"):
        sg.verify(fn)
