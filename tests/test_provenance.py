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


def test_a_snapshot_pins_a_shared_direction_once(monkeypatch):
    """An hvp's n entries all claim one direction of n symbols: the snapshot asks whether it
    lives and copies it once, not once per entry (that was O(n^2): out of memory at n = 10^5),
    and every entry's claim names that one pinned copy."""
    from symgrad.autodiff import provenance

    n = 200
    x, v = list(sg.symbols(f"x0:{n}")), list(sg.symbols(f"v0:{n}"))
    f = sum((x[i + 1] - x[i] ** 2) ** 2 for i in range(n - 1))
    hv = sg.hvp(f, x, v)
    calls = {"pinned": 0, "alive": 0}
    pinned, alive = provenance.Along.pinned, provenance.Along.__call__

    def count(name, fn):
        def wrapped(self):
            calls[name] += 1
            return fn(self)

        return wrapped

    monkeypatch.setattr(provenance.Along, "pinned", count("pinned", pinned))
    monkeypatch.setattr(provenance.Along, "__call__", count("alive", alive))
    shot = provenance.snapshot(hv)
    assert calls == {"pinned": 1, "alive": 1}
    directions = {id(s) for r in hv for _, s in shot[r.serial]}
    assert len(directions) == 1 and all(len(shot[r.serial]) == 1 for r in hv)
    (along,) = {s for r in hv for _, s in shot[r.serial]}
    assert [t for _, t in along.pairs] == v and along() is along
    fn = sg.compile([x, v], hv, backend="python")
    assert sg.verify(fn, points=1).complete
