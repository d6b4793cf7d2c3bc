"""The claims table: what each derivative claims to be, held weakly and kept small."""

import gc

import symgrad as sg
from symgrad.autodiff import provenance


def test_claims_of_dead_gradients_are_forgotten_as_the_table_grows():
    xs = sg.symbols("x0:300")
    f = sum(x * x for x in xs)
    sg.gradient(f, list(xs))
    before = len(provenance._claims)
    for _ in range(3):  # each gradient is new nodes 2*x_i: 300 new entries a round
        del f
        f = sum(sg.sin(x) * x for x in xs) + len(provenance._claims)
        sg.gradient(f, list(xs))
    del f
    gc.collect()
    from symgrad.ir import _sweep

    _sweep()  # the intern table lets go of the nodes nothing else holds
    held = sum(1 for gref, _ in provenance._claims.values() if gref() is not None)
    assert held < len(provenance._claims)  # the earlier rounds' gradients died
    provenance._forget_dead()
    assert len(provenance._claims) == held  # only entries whose gradient lives remain
    assert len(provenance._claims) <= before + 300


def test_a_live_gradient_keeps_its_claim_through_a_sweep():
    x, y = sg.symbols("x y")
    f = sg.exp(x) * y
    g = sg.gradient(f, [x, y])
    provenance._forget_dead()
    assert provenance.claims(g[0]) == [(f, x)]
    assert provenance.claims(g[1]) == [(f, y)]
    assert provenance.claims(sg.sin(x)) == []  # never differentiated: no claim
