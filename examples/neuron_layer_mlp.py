"""A neuron, a layer and the tutorial's MLP, called on numbers and then on symbols.

On numbers they compute eagerly with ``sg.Value``; on symbols they build one symgrad
expression, which is the same network as straight-line code.
"""

import random

import symgrad as sg
from symgrad.nn import MLP, Layer, Neuron

rng = random.Random(0)
x = [2.0, 3.0, 4.0]

n = Neuron(3, rng=rng)
print("neuron:", n, "->", n(x), f"({len(n.parameters())} parameters)")

layer = Layer(3, 3, rng=rng)
print("layer: ->", layer(x), f"({len(layer.parameters())} parameters)")

net = MLP(3, [6, 6, 1], seed=1)
out = net(x)
print("MLP(3, [6, 6, 1]) ->", out, f"({len(net.parameters())} parameters)")
assert len(net.parameters()) == 4 * 6 + 7 * 6 + 7

# The activation is selectable; the last layer stays linear unless asked otherwise.
for act in ("tanh", "relu", "sigmoid", "linear"):
    m = MLP(3, [6, 6, 1], activation=act, seed=1)
    print(f"  with {act:>7} hidden layers: {m(x)}")

# Called on symbols, the same network becomes an expression of its inputs and parameters.
xs = list(sg.symbols("x0:3"))
expr = net(xs)
print(
    f"\nsymbolic: {sg.ir.count_ops(expr)} operations, free symbols: "
    f"{len(sg.ir.free_symbols(expr))} (3 inputs + {len(net.parameters())} parameters)"
)
env = dict(zip(net.symbols(), net.values())) | dict(zip(xs, x))
assert abs(sg.evaluate(expr, env) - out.data) < 1e-12

# Compile the network once; run it at new inputs without rebuilding anything.
fn = sg.compile([net.symbols(), xs], expr)
print("compiled, at the same point:", fn(net.values(), x))
print("compiled, at a new point:   ", fn(net.values(), [-1.0, 0.5, 0.25]))
assert abs(fn(net.values(), x) - out.data) < 1e-12
assert abs(fn(net.values(), [-1.0, 0.5, 0.25]) - net([-1.0, 0.5, 0.25]).data) < 1e-12
