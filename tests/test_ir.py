"""The IR: symbols, interning, canonical forms, folding, IEEE-safe identities, printing."""

import math
import re
import sys
from operator import neg

import pytest

import symgrad as sg
from symgrad.ir import const, count_ops, topo_order


def test_symbols_parsing_follows_sympy():
    assert isinstance(sg.symbols("x"), sg.Expr)
    a, b, c = sg.symbols("a, b  c")
    assert [s.name for s in (a, b, c)] == ["a", "b", "c"]
    assert [s.name for s in sg.symbols("w0:3")] == ["w0", "w1", "w2"]
    assert [s.name for s in sg.symbols("x:2 y")] == ["x0", "x1", "y"]
    assert [s.name for s in sg.symbols("a:d")] == ["a", "b", "c", "d"]
    assert isinstance(sg.symbols("w0:1"), tuple)
    with pytest.raises(ValueError, match="empty"):
        sg.symbols("  ")
    with pytest.raises(TypeError, match="names"):
        sg.symbols(3)


def test_symbol_name_verbatim_and_every_symbol_distinct():
    s = sg.Symbol("a b ) λ")
    assert s.name == "a b ) λ"
    x1, x2 = sg.Symbol("x"), sg.Symbol("x")
    assert x1 != x2 and hash(x1) != hash(x2)
    assert sg.gradient(x1 * x2, x1) == x2
    with pytest.raises(TypeError):
        sg.Symbol(5)


def test_structural_equality_by_interning():
    x, y = sg.symbols("x y")
    assert sg.exp(x * y + 1) == sg.exp(x * y + 1)
    assert x + y == y + x and x * y == y * x
    assert x - y != y - x
    assert hash(sg.tanh(x)) == hash(sg.tanh(x))
    assert (x == 2) is False
    assert len({x + y, y + x, x * y}) == 2


def test_constants_keyed_by_bit_pattern():
    assert const(0.0) is not const(-0.0)
    assert const(1) is const(1.0)
    assert const(math.nan) is const(math.nan)
    assert math.copysign(1, float(const(-0.0))) == -1


def test_numbers_mix_everywhere():
    import numpy as np

    x = sg.Symbol("x")
    for n in (2, 2.0, np.float64(2.0), np.int64(2), np.float32(2.0)):
        for e in (x + n, n + x, x * n, n * x, x - n, n - x, x / n, n / x, x**n, n**x):
            assert isinstance(e, sg.Expr)
        assert sg.evaluate(sg.maximum(x, n), {x: 1.0}) == 2.0
    assert isinstance(+x, sg.Expr) and isinstance(abs(x), sg.Expr) and isinstance(-x, sg.Expr)
    with pytest.raises(TypeError, match="real number"):
        sg.exp("x")
    with pytest.raises(TypeError):
        x + "1"


def test_constant_folding_and_safe_identities():
    x = sg.Symbol("x")
    assert float(sg.exp(const(0.0)) * 3 + 1) == 4.0
    assert x + 0 is x and 0 + x is x and x * 1 is x and x / 1 is x and x**1 is x
    assert x - 0 is x
    assert float(x**0) == 1.0
    minus_x = -x
    assert -minus_x is x
    assert x * -1 == -x
    assert sg.where(const(1.0), x, 2.0) is x


def test_unsafe_identities_are_not_applied():
    """x*0, x-x and x/x are not 0, 0, 1 when x is inf or nan."""
    x = sg.Symbol("x")
    for e in (x * 0, x - x, x / x):
        assert not e.is_const
    assert math.isnan(sg.evaluate(x * 0, {x: math.inf}))
    assert math.isnan(sg.evaluate(x - x, {x: math.inf}))
    assert math.isnan(sg.evaluate(x / x, {x: 0.0}))
    fn = sg.compile([x], [x * 0, x - x, x / x])
    assert all(math.isnan(v) for v in fn(math.inf))


def test_bool_of_condition_raises_pointing_to_where():
    x, y = sg.symbols("x y")
    for e in (x < y, x, x + 1):
        with pytest.raises(TypeError, match="sg.where"):
            bool(e)
    with pytest.raises(TypeError, match="control flow"):
        if x > 0:
            pass
    assert bool(const(2.0)) is True


def test_float_of_constant_only():
    x = sg.Symbol("x")
    assert float(const(2.5) * 2) == 5.0
    with pytest.raises(TypeError, match="constant"):
        float(x + 1)


def test_str_reads_like_the_maths():
    w0, x0, b = sg.symbols("w0 x0 b")
    assert str(sg.tanh(w0 * x0 + b) ** 2) == "tanh(w0*x0 + b)**2"
    assert str((w0 + b) * x0) == "(w0 + b)*x0"
    assert str(w0 - (b - x0)) == "w0 - (b - x0)"
    assert str(-(w0**2)) == "-w0**2"
    assert str((-w0) ** 2) == "(-w0)**2"
    assert str(sg.where(w0 < b, 1, x0)) == "where(w0 < b, 1, x0)"


def test_str_of_exponential_dag_is_bounded():
    x = sg.Symbol("x")
    e = x
    for _ in range(60):
        e = e * e + 1
    s = str(e)
    assert len(s) < 200 and "nodes" in s


def test_evaluate_structure_and_errors():
    x, y = sg.symbols("x y")
    out = sg.evaluate([x + y, (x * y, [2.0])], {x: 2, y: 3})
    assert out == [5.0, (6.0, [2.0])]
    assert sg.evaluate(x * 2, {x: 1.5}) == 3.0
    with pytest.raises(ValueError, match="'y'"):
        sg.evaluate(x + y, {x: 1.0})
    with pytest.raises(TypeError):
        sg.evaluate(x, {x: "a"})
    for text in ("2", b"2", " 1e3 "):  # text that float() would parse is still not a number
        with pytest.raises(TypeError, match="must be a real number"):
            sg.evaluate(x * 2, {x: text})


def test_to_dot_quotes_labels():
    x = sg.Symbol('evil" -> n0 [label="pwn')
    dot = sg.to_dot(sg.exp(x) + 1)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert '\\"' in dot and "exp" in dot
    edges = re.findall(r"^  n\d+ -> ", dot, re.M)
    assert len(edges) == 4  # x->exp, exp->add, 1->add, add->out; the label made none


@pytest.mark.slow
def test_deep_chain_never_recurses():
    depth = 100_000
    x = sg.Symbol("x")
    e = x
    for i in range(depth):
        e = sg.sin(e) * 0.5 + 0.25 if i % 2 else e * 0.999 + 0.001
    assert len(topo_order([e])) > depth
    limit = sys.getrecursionlimit()
    g = sg.gradient(e, x)
    fn = sg.compile([x], [e, g])
    v, d = fn(0.3)
    # reference: iterate the same map in plain Python, derivative by the chain rule
    val, der = 0.3, 1.0
    for i in range(depth):
        if i % 2:
            der *= 0.5 * math.cos(val)
            val = math.sin(val) * 0.5 + 0.25
        else:
            der *= 0.999
            val = val * 0.999 + 0.001
    assert math.isclose(v, val, rel_tol=1e-12) and math.isclose(d, der, rel_tol=1e-9)
    assert sg.evaluate(e, {x: 0.3}) == pytest.approx(val, rel=1e-12)
    assert str(e).startswith("<expression of")
    assert sys.getrecursionlimit() == limit
    assert count_ops(e) == len(topo_order([e])) - len([n for n in topo_order([e]) if not n.args])


def test_zero_adjoints_build_nothing():
    x, y, z = sg.symbols("x y z")
    f = sg.exp(x) * 3.0
    assert sg.gradient(f, y) == const(0.0)
    assert sg.gradient(f, [x, y, z])[1:] == [const(0.0), const(0.0)]
    # the gradient of f w.r.t. x is 3*exp(x): one multiply on top of the forward exp
    g = sg.gradient(f, x)
    assert count_ops([f, g]) == count_ops(f) + 0 or count_ops([f, g]) <= count_ops(f) + 1


def test_gradient_requires_symbols():
    x = sg.Symbol("x")
    with pytest.raises(TypeError, match="symbol"):
        sg.gradient(x * x, x + 1)
    with pytest.raises(TypeError, match="symbol"):
        sg.gradient(x * x, [x, 2.0])
    assert isinstance(sg.gradient(x * x, x), sg.Expr)
    assert isinstance(sg.gradient(x * x, [x]), list)


def test_derivative_rules_reuse_forward_nodes():
    x = sg.Symbol("x")
    for f in (sg.exp(x), sg.sigmoid(x), sg.sqrt(x), sg.tan(x)):
        g = sg.gradient(f, x)
        assert f in topo_order([g]), f"{f}: derivative does not reuse the forward node"
    # tanh' is sech2 of the same argument (1 - tanh^2 would reuse tanh but cancels in the tails)
    z = x * 3.0 + 1.0
    nodes = topo_order([sg.gradient(sg.tanh(z), x)])
    assert sg.sech2(z) in nodes and sg.tanh(z) not in nodes


def test_kinks_follow_the_contract():
    x, y = sg.symbols("x y")
    assert sg.evaluate(sg.gradient(sg.relu(x), x), {x: 0.0}) == 0.0
    assert sg.evaluate(sg.gradient(abs(x), x), {x: 0.0}) == 0.0
    assert sg.evaluate(sg.gradient(sg.maximum(x, y), [x, y]), {x: 1.0, y: 1.0}) == [0.5, 0.5]
    assert sg.evaluate(sg.gradient(sg.minimum(x, y), [x, y]), {x: 1.0, y: 1.0}) == [0.5, 0.5]
    assert sg.evaluate(sg.gradient(sg.maximum(x, y), [x, y]), {x: 2.0, y: 1.0}) == [1.0, 0.0]
    f = sg.where(x < y, x * x, 3 * y)
    assert sg.evaluate(sg.gradient(f, [x, y]), {x: 1.0, y: 2.0}) == [2.0, 0.0]
    assert sg.evaluate(sg.gradient(f, [x, y]), {x: 3.0, y: 2.0}) == [0.0, 3.0]


def test_jacobian_and_hessian_shapes_and_values():
    x, y = sg.symbols("x y")
    jac = sg.jacobian([x * y, x + y, sg.exp(x)], [x, y])
    assert len(jac) == 3 and all(len(r) == 2 for r in jac)
    assert sg.evaluate(jac, {x: 2.0, y: 3.0}) == [[3.0, 2.0], [1.0, 1.0], [math.exp(2.0), 0.0]]
    h = sg.hessian(x**3 * y, [x, y])
    assert sg.evaluate(h, {x: 2.0, y: 3.0}) == [[36.0, 12.0], [12.0, 0.0]]


def test_intern_table_frees_unused_nodes_and_keeps_live_ones():
    import symgrad.ir as ir

    x = sg.Symbol("x")
    keep = sg.exp(x) + 1
    before = len(ir._interned)
    junk = x
    for i in range(5000):
        junk = sg.sin(junk) * (i + 0.5)
    assert len(ir._interned) > before + 5000
    del junk
    ir._sweep()
    assert len(ir._interned) <= before + 2
    assert sg.exp(x) + 1 is keep  # live nodes are still shared


def test_functions_apply_elementwise_to_arrays_of_expressions():
    import numpy as np

    xs = np.array(sg.symbols("x0:3"), dtype=object)
    out = sg.sigmoid(xs)
    assert out.shape == (3,) and all(o == sg.sigmoid(x) for o, x in zip(out, xs))
    both = sg.maximum(xs, np.array([[0.0], [1.0]]))
    assert both.shape == (2, 3) and both[1, 2] == sg.maximum(xs[2], 1.0)
    assert sg.where(xs, 1.0, 2.0)[0] == sg.where(xs[0], 1.0, 2.0)


def test_array_comparisons_explain_the_object_dtype_spelling():
    import numpy as np

    xs = np.array(sg.symbols("x0:3"), dtype=object)
    with pytest.raises(TypeError, match=r"np\.greater\(a, b, dtype=object\)"):
        xs > 0  # noqa: B015 - NumPy asks bool() of each element
    relu = sg.where(np.greater(xs, 0.0, dtype=object), xs, 0.0)  # the spelling it suggests
    fn = sg.compile([list(xs)], list(relu))
    assert fn([-1.0, 0.5, 2.0]) == [0.0, 0.5, 2.0]


def test_adjoints_only_along_paths_to_requested_variables():
    from symgrad.autodiff.reverse import adjoints

    w, x, b = sg.symbols("w x b")
    f = sg.tanh(w * x + b) * 3.0
    adj = adjoints(f, [w])
    assert w.serial in adj and x.serial not in adj and b.serial not in adj
    everything = adjoints(f)
    assert x.serial in everything and b.serial in everything
    # the gradient w.r.t. w alone is smaller than the full one, and still correct
    gw = sg.gradient(f, w)
    assert count_ops([f, gw]) < count_ops([f, *sg.gradient(f, [w, x, b])])
    env = {w: 0.3, x: -1.2, b: 0.5}
    t = math.tanh(0.3 * -1.2 + 0.5)
    assert sg.evaluate(gw, env) == pytest.approx(3.0 * (1 - t * t) * -1.2, rel=1e-14)


def test_negation_folds_into_constant_factors():
    x = sg.Symbol("x")
    assert -(2.0 * x) == x * -2.0 and 3.0 * -x == -3.0 * x and (-x) * 0.5 == x * -0.5
    for v in (math.inf, -math.inf, math.nan, -0.0, 1e308, 5e-324):
        for e, want in ((-(2.0 * x), -(2.0 * v)), (3.0 * -x, 3.0 * -v)):
            got = sg.evaluate(e, {x: v})
            assert (math.isnan(got) and math.isnan(want)) or (
                got == want and math.copysign(1, got) == math.copysign(1, want)
            )


_EDGES = (-0.0, 0.0, 1.5, -2.5, math.inf, -math.inf, math.nan, 5e-324, 1e308, -3e-310)


def _same_float(got: float, want: float) -> bool:
    """Equal to the bit, but any NaN for a NaN (IEEE leaves a NaN's sign unspecified)."""
    if math.isnan(want):
        return math.isnan(got)
    return got == want and math.copysign(1.0, got) == math.copysign(1.0, want)


def test_negations_move_out_and_are_absorbed():
    x, y = sg.symbols("x y")
    assert x - (-y) is x + y and x + (-y) is x - y and neg(neg(x)) is x and (-x) + y is y - x
    assert (-x) * y is -(x * y) and x * (-y) is -(x * y) and (-x) / y is -(x / y)
    assert x / (-y) is -(x / y) and -((-x) * y) is x * y and x - (-x) * y is x + x * y
    # a negative constant leading a product or quotient: the sum or difference takes its sign
    assert x - (-2.0) is x + 2.0 and x + (-2.0) is x - 2.0
    assert x - (-2.0 * y) is x + 2.0 * y and x + (-2.0 * y) / x is x - 2.0 * y / x
    assert -(-2.0 * y / x) is 2.0 * y / x and (-2.0 * y) + x is x - 2.0 * y


def test_negation_rewrites_are_exact_in_ieee_arithmetic():
    # The oracle is NumPy's float64 arithmetic on the formula as written (no rewriting): the
    # rewritten node must give the same bits, signed zeros and infinities included.
    np = pytest.importorskip("numpy")
    x, y = sg.symbols("x y")
    f64 = np.float64
    cases = [
        (x - (-y), lambda a, b: a - (-b)),
        (x + (-y), lambda a, b: a + (-b)),
        (neg(neg(x)), lambda a, b: neg(neg(a))),
        ((-x) * y, lambda a, b: (-a) * b),
        (x * (-y), lambda a, b: a * (-b)),
        ((-x) / y, lambda a, b: (-a) / b),
        (x / (-y), lambda a, b: a / (-b)),
        (-((-x) * y), lambda a, b: -((-a) * b)),
        (x - (-2.0 * y), lambda a, b: a - (f64(-2.0) * b)),
        (x + (-2.0 * y) / x, lambda a, b: a + (f64(-2.0) * b) / a),
        (-(-2.0 * y / x), lambda a, b: -(f64(-2.0) * b / a)),
        ((-3.0 * x) + y, lambda a, b: (f64(-3.0) * a) + b),
        (x - (-1.0), lambda a, b: a - f64(-1.0)),
    ]
    fn = sg.compile([x, y], [e for e, _ in cases])
    with np.errstate(all="ignore"):
        for a in _EDGES:
            for b in _EDGES:
                compiled = fn(a, b)
                for k, (e, ref) in enumerate(cases):
                    want = float(ref(f64(a), f64(b)))
                    assert _same_float(sg.evaluate(e, {x: a, y: b}), want), (e, a, b)
                    assert _same_float(compiled[k], want), (e, a, b)


def test_printed_gradients_have_no_double_minus():
    x, y, w = sg.symbols("x y w")
    fs = [
        x / y,
        sg.cos(sg.cos(x)),
        -sg.sin(-x * y),
        sg.sigmoid(x * y - w),
        sg.log(x) * sg.exp(-y),
        sg.atan2(y, x),
        -2 * x / y,
        sg.exp(-x * x / 2) / y,
        sum((1 - v) ** 2 + 100 * (u - v * v) ** 2 for u, v in ((x, y), (y, w))),
    ]
    for f in fs:
        for outs in (sg.gradient(f, [x, y, w]), sg.hessian(f, [x, y, w])):
            src = sg.compile([x, y, w], outs).source
            assert "- -" not in src and "-(-" not in src and "+ -" not in src, src


def test_count_ops_counts_each_shared_operation_once():
    from symgrad.ir.walk import count_ops

    x, y = sg.symbols("x y")
    a = sg.tanh(x * y)
    outs = [a + a * 2.0, [a - x, 3.0], a]
    assert count_ops(outs) == 5  # x*y, tanh, a*2, the sum, a-x: each once
    assert count_ops([x, 3.0]) == 0 and count_ops(a) == 2


def test_gc_pause_promotes_without_leaking_or_thawing():
    """Leaving a pause moves objects to the oldest generation (no scan of the new nodes), yet
    cyclic garbage made meanwhile is still collected, and a caller's frozen objects stay so."""
    import gc
    import weakref

    from symgrad.ir import gc_paused

    class Cell:
        pass

    was = gc.isenabled()
    gc.enable()
    try:
        with gc_paused():
            assert not gc.isenabled()
            a = Cell()
            a.me = a  # a cycle only the collector can free
            ref = weakref.ref(a)
            del a
            kept = [[i] for i in range(5000)]
        counts = gc.get_count()
        assert gc.isenabled() and gc.get_freeze_count() == 0
        assert counts[0] < 50 and len(kept) == 5000  # the block's objects left generation 0
        assert ref() is not None
        gc.collect()
        assert ref() is None
        gc.freeze()
        frozen = gc.get_freeze_count()
        with gc_paused():
            pass
        assert gc.get_freeze_count() == frozen  # not thawed
    finally:
        gc.unfreeze()
        if not was:
            gc.disable()
