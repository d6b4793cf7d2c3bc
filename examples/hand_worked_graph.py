"""The tutorial's hand-worked graph L = (a·b + c)·f, with every gradient printed and checked.

First the micrograd way (eager ``sg.Value`` and ``backward()``), then the same graph compiled
by symgrad: leaf Values are the inputs of the generated function.
"""

import symgrad as sg
from symgrad import Value

a = Value(2.0, label="a")
b = Value(-3.0, label="b")
c = Value(10.0, label="c")
f = Value(-2.0, label="f")
e = a * b
e.label = "e"
d = e + c
d.label = "d"
L = d * f
L.label = "L"
print(L)  # Value(data=-8.0)

L.backward()
expected = {"L": 1.0, "f": 4.0, "d": -2.0, "c": -2.0, "e": -2.0, "b": -4.0, "a": 6.0}
print(f"L data: {L.data}")
print("-" * 20)
for node in (L, f, d, c, e, b, a):
    print(f"Grad of {node.label}: {node.grad}")
    assert node.grad == expected[node.label], (node.label, node.grad)
assert L.data == -8.0

# The tutorial's numerical check of dL/da: nudge a by h and watch L move.
h = 0.0001
L2 = ((2 + h) * -3.0 + 10) * -2
slope = (L2 - L.data) / h
print(f"\nfinite difference for a: {slope:.6f} (backward gave {a.grad})")
assert abs(slope - a.grad) < 1e-6

# The same graph is symgrad's IR: compile L and its gradient into one function.
leaves = [a, b, c, f]
fn = sg.compile(leaves, [L, sg.gradient(L, leaves)])
print("\nThe compiled graph:\n")
print(fn.source)
value, grads = fn(2.0, -3.0, 10.0, -2.0)
assert value == -8.0 and grads == [6.0, -4.0, -2.0, 4.0]
value, grads = fn(1.0, 1.0, 1.0, 1.0)  # new values, no re-tracing
print(f"at a = b = c = f = 1: L = {value}, grads (a, b, c, f) = {grads}")
assert value == 2.0 and grads == [1.0, 1.0, 1.0, 2.0]
