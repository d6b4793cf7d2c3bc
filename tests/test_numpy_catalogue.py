"""The NumPy catalogue: one row per NumPy function (function, domain, tolerance).

Each supported row's value equals NumPy's and its gradient equals central differences, on every
backend (python, numpy, c); each unsupported row raises TypeError naming the function. A row's
function maps a float array x of 4 numbers drawn from its domain to an array or a number; the
checked objective is sum(f(x) * w) for fixed weights w.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
from helpers import HAVE_CC

import symgrad as sg


class Row(NamedTuple):
    name: str
    fn: object
    domain: tuple[float, float] = (-2.0, 2.0)
    rtol: float = 1e-6


M = np.array([[0.5, -1.0], [2.0, 0.25]])
SUPPORTED = [
    # ufuncs (one op of the op table, or a short composition of ops)
    Row("add", lambda x: np.add(x[:2], x[2:])),
    Row("subtract", lambda x: np.subtract(x, 0.5)),
    Row("multiply", lambda x: np.multiply(x[:2], x[2:])),
    Row("divide", lambda x: np.divide(x[:2], x[2:]), (0.5, 2.0)),
    Row("true_divide", lambda x: np.true_divide(1.0, x), (0.5, 2.0)),
    Row("power", lambda x: np.power(x[:2], x[2:]), (0.5, 2.0)),
    Row("float_power", lambda x: np.float_power(x, 2.5), (0.5, 2.0)),
    Row("negative", lambda x: np.negative(x)),
    Row("positive", lambda x: np.positive(x)),
    Row("absolute", lambda x: np.absolute(x), (0.2, 2.0)),
    Row("abs", lambda x: np.abs(-x), (0.2, 2.0)),
    Row("fabs", lambda x: np.fabs(x), (-2.0, -0.2)),
    Row("sign", lambda x: np.sign(x) * x, (0.2, 2.0)),
    Row("exp", lambda x: np.exp(x)),
    Row("expm1", lambda x: np.expm1(x)),
    Row("exp2", lambda x: np.exp2(x)),
    Row("log", lambda x: np.log(x), (0.2, 3.0)),
    Row("log1p", lambda x: np.log1p(x), (-0.5, 3.0)),
    Row("log2", lambda x: np.log2(x), (0.2, 3.0)),
    Row("log10", lambda x: np.log10(x), (0.2, 3.0)),
    Row("logaddexp", lambda x: np.logaddexp(x[:2], x[2:])),
    Row("sqrt", lambda x: np.sqrt(x), (0.2, 3.0)),
    Row("cbrt", lambda x: np.cbrt(x), (0.2, 3.0)),
    Row("square", lambda x: np.square(x)),
    Row("reciprocal", lambda x: np.reciprocal(x), (0.5, 2.0)),
    Row("sin", lambda x: np.sin(x)),
    Row("cos", lambda x: np.cos(x)),
    Row("tan", lambda x: np.tan(x), (-1.0, 1.0)),
    Row("arcsin", lambda x: np.arcsin(x), (-0.8, 0.8)),
    Row("arccos", lambda x: np.arccos(x), (-0.8, 0.8)),
    Row("arctan", lambda x: np.arctan(x)),
    Row("arctan2", lambda x: np.arctan2(x[:2], x[2:]), (0.3, 2.0)),
    Row("hypot", lambda x: np.hypot(x[:2], x[2:])),
    Row("sinh", lambda x: np.sinh(x)),
    Row("cosh", lambda x: np.cosh(x)),
    Row("tanh", lambda x: np.tanh(x)),
    Row("arcsinh", lambda x: np.arcsinh(x)),
    Row("arccosh", lambda x: np.arccosh(x), (1.2, 3.0)),
    Row("arctanh", lambda x: np.arctanh(x), (-0.8, 0.8)),
    Row("deg2rad", lambda x: np.deg2rad(x)),
    Row("rad2deg", lambda x: np.rad2deg(x)),
    Row("degrees", lambda x: np.degrees(x)),
    Row("radians", lambda x: np.radians(x)),
    Row("maximum", lambda x: np.maximum(x[:2], x[2:] + 0.05)),
    Row("minimum", lambda x: np.minimum(x[:2], x[2:] + 0.05)),
    Row("conjugate", lambda x: np.conjugate(x)),
    Row("greater", lambda x: np.where(np.greater(x, 0.0), x, -x), (0.1, 2.0)),
    Row("less_equal", lambda x: np.where(np.less_equal(x, 0.0), x**2, x), (-2.0, -0.1)),
    Row("equal", lambda x: np.where(np.equal(x, x), x**2, 0.0)),
    Row("not_equal", lambda x: np.where(np.not_equal(x, 1.0), x**3, 0.0)),
    Row("logical_and", lambda x: np.where(np.logical_and(x > -5, x < 5), x, 0.0)),
    Row("logical_or", lambda x: np.where(np.logical_or(x > 5, x < 5), x, 0.0)),
    Row("logical_not", lambda x: np.where(np.logical_not(x > 5), x, 0.0)),
    # the op table's piecewise-constant and nan-aware rows (derivative 0 where constant)
    Row("floor", lambda x: np.floor(3 * x) + x, (0.1, 0.3)),
    Row("ceil", lambda x: np.ceil(3 * x) * x, (0.1, 0.3)),
    Row("rint", lambda x: np.rint(3 * x) * x, (0.1, 0.15)),
    Row("round", lambda x: np.round(3 * x) * x, (0.1, 0.15)),
    Row("remainder", lambda x: np.remainder(x, 0.7), (0.1, 0.6)),
    Row("mod", lambda x: np.mod(-x, 0.7), (0.1, 0.6)),
    Row("floor_divide", lambda x: (x // 0.7) * x, (0.1, 0.6)),
    Row("trunc", lambda x: np.trunc(3 * x) + x, (0.1, 0.3)),
    Row("fmax", lambda x: np.fmax(x[:2], x[2:] + 0.05)),
    Row("fmin", lambda x: np.fmin(x[:2], x[2:] + 0.05)),
    Row("isnan", lambda x: np.where(np.isnan(x), 0.0, x**2)),
    Row("isfinite", lambda x: np.where(np.isfinite(x), x**2, 0.0)),
    Row("isinf", lambda x: np.where(np.isinf(x), 0.0, x**2)),
    Row("nan_to_num", lambda x: np.nan_to_num(x) ** 2),
    # reductions and products
    Row("sum", lambda x: np.sum(x**2)),
    Row("sum(axis)", lambda x: np.sum(x.reshape(2, 2) ** 2, axis=0)),
    Row("prod", lambda x: np.prod(x)),
    Row("mean", lambda x: np.mean(x**2)),
    Row("var", lambda x: np.var(x)),
    Row("var(ddof)", lambda x: np.var(x, ddof=1)),
    Row("std", lambda x: np.std(x)),
    Row("std(axis)", lambda x: np.std(x.reshape(2, 2), axis=1)),
    Row("max", lambda x: np.max(x * np.arange(1.0, 5.0))),
    Row("min", lambda x: np.min(x * np.arange(1.0, 5.0))),
    Row("amax", lambda x: np.amax(x.reshape(2, 2), axis=1)),
    Row("amin", lambda x: np.amin(x.reshape(2, 2), axis=0)),
    Row("cumsum", lambda x: np.cumsum(x)),
    Row("cumprod", lambda x: np.cumprod(x)),
    Row("all", lambda x: np.where(np.all(x > -5), x, 0.0)),
    Row("any", lambda x: np.where(np.any(x > 5), 0.0, x)),
    Row("average", lambda x: np.average(x, weights=np.arange(1.0, 5.0))),
    Row("dot", lambda x: np.dot(x[:2], x[2:])),
    Row("matmul", lambda x: M @ x[:2] + x[2:] @ M),
    Row("inner", lambda x: np.inner(x[:2], x[2:])),
    Row("vdot", lambda x: np.vdot(x[:2], x[2:])),
    Row("outer", lambda x: np.outer(x[:2], x[2:])),
    Row("einsum", lambda x: np.einsum("i,i->", x, x)),
    Row("tensordot", lambda x: np.tensordot(x.reshape(2, 2), M, axes=1)),
    Row("kron", lambda x: np.kron(x[:2], x[2:])),
    Row("trace", lambda x: np.trace(x.reshape(2, 2) @ M)),
    Row("linalg.norm", lambda x: np.linalg.norm(x)),
    Row("linalg.norm(1)", lambda x: np.linalg.norm(x, 1), (0.2, 2.0)),
    Row("polyval", lambda x: np.polyval(x, 0.7)),
    Row("diff", lambda x: np.diff(x**2)),
    Row("cross", lambda x: np.cross(x[:3], x[1:])),
    # ordering: the order of this call, guarded like a branch
    Row("sort", lambda x: np.sort(x) * np.arange(1.0, 5.0)),
    Row("argsort", lambda x: x[np.argsort(x)] * np.arange(1.0, 5.0)),
    Row("argmax", lambda x: x[np.argmax(x)] ** 2),
    Row("argmin", lambda x: x[np.argmin(x)] ** 3),
    Row("median", lambda x: np.median(x**2)),
    # selection
    Row("where", lambda x: np.where(x > 0, np.sqrt(np.abs(x)), x**2)),
    Row("clip", lambda x: np.clip(x, -1.5, 1.5) * x),
    # moving elements
    Row("reshape", lambda x: np.reshape(x, (2, 2)) @ M),
    Row("ravel", lambda x: np.ravel(np.outer(x, x))),
    Row("transpose", lambda x: np.transpose(x.reshape(2, 2)) * M),
    Row("concatenate", lambda x: np.concatenate([x, x**2])),
    Row("stack", lambda x: np.stack([x, np.sin(x)])),
    Row("hstack", lambda x: np.hstack([x, 1.0])),
    Row("vstack", lambda x: np.vstack([x, x])),
    Row("flip", lambda x: np.flip(x) * np.arange(4.0)),
    Row("roll", lambda x: np.roll(x, 1) * x),
    Row("tile", lambda x: np.tile(x, 2) ** 2),
    Row("repeat", lambda x: np.repeat(x, 2) ** 2),
    Row("take", lambda x: np.take(x, [3, 0, 0]) ** 2),
    Row("diag", lambda x: np.diag(x) @ x),
    Row("triu", lambda x: np.triu(np.outer(x, x))),
    Row("tril", lambda x: np.tril(np.outer(x, x))),
    Row("broadcast_to", lambda x: np.broadcast_to(x, (3, 4)) * np.arange(3.0)[:, None]),
    Row("expand_dims", lambda x: np.expand_dims(x, 0) * x[:, None]),
    Row("squeeze", lambda x: np.squeeze(x[None, :]) ** 2),
    Row("zeros_like", lambda x: x - np.zeros_like(x)),
    Row("ones_like", lambda x: x * np.ones_like(x)),
    Row("full_like", lambda x: x * np.full_like(x, 3.0)),
    # builtins over arrays
    Row("builtin sum", lambda x: sum(x**2)),
    Row("builtin max", lambda x: max(x * np.arange(1.0, 5.0))),
    Row("builtin min", lambda x: min(x * np.arange(1.0, 5.0))),
    # numeric helpers
    Row("convolve", lambda x: np.convolve(x, x)),
    Row("nansum", lambda x: np.nansum(x**2)),
    Row("nanmean", lambda x: np.nanmean(x**2)),
]

UNSUPPORTED = [
    ("percentile", lambda x: np.percentile(x, 50)),
    ("unique", lambda x: np.unique(x)),
    ("searchsorted", lambda x: np.searchsorted(x, 0.5)),
    ("interp", lambda x: np.interp(0.5, [0.0, 1.0], x[:2])),
    ("fft", lambda x: np.fft.fft(x)),
    ("inv", lambda x: np.linalg.inv(x.reshape(2, 2))),
    ("det", lambda x: np.linalg.det(x.reshape(2, 2))),
    ("solve", lambda x: np.linalg.solve(x.reshape(2, 2), x[:2])),
    ("histogram", lambda x: np.histogram(x)),
    ("heaviside", lambda x: np.heaviside(x, 0.5)),
    ("spacing", lambda x: np.spacing(x)),
    ("add.at", lambda x: np.add.at(x, [0], 1.0)),
    ("fmod", lambda x: np.fmod(x, 0.7)),
]

H = 1e-6


def _point(row: Row) -> np.ndarray:
    rng = np.random.default_rng(sum(map(ord, row.name)))
    return rng.uniform(*row.domain, size=4)


def _weights(row: Row, x: np.ndarray) -> np.ndarray:
    shape = np.shape(row.fn(x))
    return np.random.default_rng(7).uniform(0.5, 1.5, size=shape)


def _objective(row: Row, w: np.ndarray):
    return lambda x: np.sum(row.fn(x) * w)


def _central(f, x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = H * max(1.0, abs(x[i]))
        g[i] = (f(x + e) - f(x - e)) / (2 * e[i])
    return g


@pytest.mark.parametrize("row", SUPPORTED, ids=[r.name for r in SUPPORTED])
def test_supported_row_python_backend(row):
    x = _point(row)
    f = _objective(row, _weights(row, x))
    value, g = sg.value_and_grad(f)(x)
    assert value == pytest.approx(float(f(x)), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g, _central(f, x), rtol=row.rtol, atol=1e-7)


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_every_supported_row_on_the_batched_backends(backend, request):
    """All rows in one compiled program per backend (one compile, not a hundred): row k's
    objective of its own argument xs[k], its value an aux output."""
    if backend == "c":
        if not HAVE_CC:
            pytest.skip("no C compiler")
        request.getfixturevalue("c_cache")
    xs = [_point(r) for r in SUPPORTED]
    fs = [_objective(r, _weights(r, x)) for r, x in zip(SUPPORTED, xs)]

    def everything(args):
        values = [f(a) for f, a in zip(fs, args)]
        return sum(values), values

    (_, values), grads = sg.value_and_grad(everything, has_aux=True, backend=backend)(xs)
    for row, f, x, v, g in zip(SUPPORTED, fs, xs, values, grads):
        assert float(v) == pytest.approx(float(f(x)), rel=1e-12, abs=1e-12), row.name
        np.testing.assert_allclose(g, _central(f, x), rtol=row.rtol, atol=1e-7, err_msg=row.name)


@pytest.mark.parametrize("name, fn", UNSUPPORTED, ids=[n for n, _ in UNSUPPORTED])
def test_unsupported_row_raises_type_error_naming_it(name, fn):
    x = np.array([0.3, -0.2, 0.9, 0.5])
    fn(x)  # plain NumPy runs it
    with pytest.raises(TypeError, match=name.split(".")[-1]):
        sg.value_and_grad(lambda t: np.sum(fn(t)))(x)
