"""sg.verify where a derivative is exactly 0 after its chain-rule terms cancel.

A float program cannot give an exact 0 there: ``d/dx x/(2.5x) = 1/(2.5x) - 2.5x/(2.5x)^2``
rounds to about 1e-17. The verdict compares such an error with the size of the terms that
cancelled (the oracle's forward mode on magnitudes), so a correct program verifies and a wrong
one still fails, by many orders of magnitude.
"""

import pytest

import symgrad as sg
from symgrad.cli import main as cli_main
from tests.helpers import needs_cc

BACKENDS = ["python", "numpy", pytest.param("c", marks=needs_cc)]


@pytest.fixture(autouse=True)
def _cache(c_cache):
    return c_cache


def _rebuild(fn, source):
    cls, args = fn.__reduce__()
    new = cls(source, *args[1:])
    new.inputs, new.output_exprs = fn.inputs, fn.output_exprs
    new.output_claims = fn.output_claims
    return new


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "build",
    [lambda x, y: x / (x * 2.5), lambda x, y: sg.exp(sg.log(x) * 2) / x**2 + y * x / (2.5 * x)],
)
def test_a_cancelling_zero_derivative_verifies_within_an_ulp_of_its_terms(backend, build):
    x, y = sg.symbols("x y")
    f = build(x, y)
    fn = sg.compile([x, y], [f, sg.gradient(f, [x, y])], backend=backend)
    report = sg.verify(fn, points=5)
    assert report.complete and report.points_done == 5
    # in ulps of the terms' size (or the gradient's largest entry): an exact 0's own ulps are
    # those of the smallest subnormal
    assert all(c.max_scaled_ulps <= 4 for c in report)


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_a_wrong_derivative_that_should_cancel_is_still_caught(backend):
    x = sg.symbols("x")
    f = x / (x * 2.5)
    fn = sg.compile([x], [f, sg.gradient(f, [x])], backend=backend)
    assert "*-2.5" in fn.source
    bad = _rebuild(fn, fn.source.replace("*-2.5", "*-2.5000001"))
    with pytest.raises(sg.VerificationError, match=r"out\[1\] = dout\[0\]/dx"):
        sg.verify(bad)


def test_the_command_line_verifies_a_cancelling_derivative(capsys):
    status = cli_main(["verify", "--symbolic-time", "0", "--points", "3", "--", "x/(x*2.5)"])
    out = capsys.readouterr()
    assert status == 0, out.err
    assert out.out.startswith("verified") and "(0.5 norm-wise)" in out.out


def test_magnitudes_are_the_chain_rules_terms_without_their_signs():
    from symgrad.verification.oracle import context, evaluate_jets, magnitudes

    x = sg.symbols("x")
    f = x / (x * 2.5)  # t0 = 2.5x; df = dx/t0 - (x/t0^2) dt0, dt0 = 2.5 dx
    M = context(30)
    env, dirs = {x.serial: 2.0}, {x.serial: {0: 1}}
    assert evaluate_jets([f], env, dirs, M).d1[f.serial].get(0, 0) == 0
    size = magnitudes([f], env, dirs, M)[f.serial][0]
    assert abs(size - M.mpf("0.4")) < M.mpf(10) ** -28  # 1/5 + (2/25) * 2.5
    neg = magnitudes([f], env, {x.serial: {0: -1}}, M)[f.serial][0]
    assert neg == size  # a direction's sign does not change a magnitude
