"""Quickstart: a loss, its compiled gradient, the generated code, and a SymPy check."""

import symgrad as sg

w0, w1, b, x0, x1 = sg.symbols("w0 w1 b x0 x1")
loss = sg.tanh(w0 * x0 + w1 * x1 + b) ** 2

grad = sg.gradient(loss, [w0, w1, b])
fn = sg.compile([w0, w1, b, x0, x1], [loss, grad])

value, (g_w0, g_w1, g_b) = fn(0.5, -1.0, 0.1, 2.0, 3.0)
print(f"loss = {value:.6f}")
print(f"dloss/dw0 = {g_w0:.6f}   dloss/dw1 = {g_w1:.6f}   dloss/db = {g_b:.6f}")
print("\nThe generated code:\n")
print(fn.source)

report = sg.verify(loss, [w0, w1, b])
print(report)
