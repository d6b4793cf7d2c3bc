"""``sg.grad``, ``sg.jacobian``, ``sg.hessian``, ``sg.jvp``, ``sg.vjp``, ``sg.linearize``:
each takes a Python function (and then behaves as ``jax.<name>``, tracing it) or expressions
(the symbolic forms of ``symgrad.autodiff``). The first argument decides: a callable is a
function, anything else expressions.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import autodiff
from .ir import const

if TYPE_CHECKING:
    from .tracing.function import TracedFunction

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tracing() -> tuple[Any, Any]:
    """The tracing package (it needs NumPy; the symbolic forms here do not)."""
    from .tracing import builders
    from .tracing.function import TracedFunction

    return TracedFunction, builders


def value_and_grad(
    fn: Callable,
    argnums: int | tuple[int, ...] = 0,
    *,
    has_aux: bool = False,
    static_argnums: int | tuple[int, ...] = (),
    batch_argnums: Any = None,
    reduce: str = "sum",
    backend: str | None = None,
    check_trace: bool = True,
) -> TracedFunction:
    """``fn`` compiled to return ``(value, grads)`` (``((value, aux), grads)`` with has_aux).

    ``fn`` takes numbers, (nested) lists, tuples, dicts and NumPy arrays and returns a scalar;
    it is traced once per argument structure and Python path (branches on traced values are
    guarded). ``grads`` mirrors argument ``argnums`` (a tuple in the order given when it is a
    tuple). ``batch_argnums`` names data arguments with a leading batch axis: ``fn`` is
    written for one sample, traced once, and value and gradients are folded with ``reduce``.
    Each new trace is checked against ``fn`` run in plain NumPy at the same call
    (``TraceMismatchError`` if they disagree; ``check_trace=False`` skips it).
    """
    return _function_form(
        "value_and_grad",
        fn,
        argnums,
        has_aux,
        static_argnums,
        batch_argnums,
        reduce,
        backend,
        check_trace,
    )


def grad(
    fn: Any,
    argnums: Any = 0,
    *,
    has_aux: bool = False,
    static_argnums: Any = (),
    batch_argnums: Any = None,
    reduce: str = "sum",
    backend: str | None = None,
    check_trace: bool = True,
    **symbolic: Any,
) -> Any:
    """``fn``'s gradient as a function (as ``jax.grad``); ``sg.grad(f, wrt)`` with an
    expression ``f`` is ``sg.gradient(f, wrt)``."""
    options = {"has_aux": has_aux, "static_argnums": static_argnums}
    options.update(batch_argnums=batch_argnums, backend=backend)
    if not callable(fn):
        wrt, _ = _expression_args("grad", argnums, symbolic, (), options)
        return autodiff.gradient(fn, wrt)
    _no_symbolic("grad", symbolic)
    return _function_form(
        "grad", fn, argnums, has_aux, static_argnums, batch_argnums, reduce, backend, check_trace
    )


def jacobian(
    fn: Any,
    argnums: Any = 0,
    *,
    has_aux: bool = False,
    static_argnums: Any = (),
    backend: str | None = None,
    check_trace: bool = True,
    **symbolic: Any,
) -> Any:
    """A function returning ``fn``'s Jacobian in the structure of the output and the argument
    (each block a NumPy array of shape output.shape + argument.shape); ``sg.jacobian(fs, wrt)``
    with expressions is the symbolic Jacobian."""
    options = {"has_aux": has_aux, "static_argnums": static_argnums, "backend": backend}
    if not callable(fn):
        wrt, kw = _expression_args("jacobian", argnums, symbolic, ("sparse",), options)
        return autodiff.jacobian(fn, wrt, **kw)
    _no_symbolic("jacobian", symbolic)
    return _function_form(
        "jacobian", fn, argnums, has_aux, static_argnums, None, "sum", backend, check_trace
    )


_DEFAULTS = {"has_aux": False, "static_argnums": (), "batch_argnums": None, "backend": None}


def _expression_args(
    name: str, argnums: Any, symbolic: dict, allowed: tuple[str, ...], options: dict
) -> tuple[Any, dict]:
    """(wrt, keywords) of the expression form ``sg.<name>(f, wrt)``, ``wrt`` given by position
    or by name; a function-form option or an unknown keyword is an error, not ignored."""
    symbolic = dict(symbolic)
    wrt = argnums
    if "wrt" in symbolic:
        if not (type(argnums) is int and argnums == 0):  # argnums holds wrt by position
            raise TypeError(f"sg.{name}: wrt given twice (by position and as wrt=)")
        wrt = symbolic.pop("wrt")
    unknown = sorted(k for k in symbolic if k not in allowed)
    if unknown:
        raise TypeError(
            f"sg.{name}(f, wrt) with expressions got unknown keyword(s) {unknown}; "
            f"it takes wrt{''.join(', ' + a for a in allowed)}"
        )
    given = sorted(k for k, v in options.items() if v != _DEFAULTS[k])
    if given:
        raise TypeError(
            f"sg.{name}: {given} apply to the function form (a Python function first); "
            "with expressions the first argument is f and the second wrt"
        )
    return wrt, symbolic


def _no_symbolic(name: str, symbolic: dict) -> None:
    if symbolic:
        raise TypeError(
            f"sg.{name}(fn) of a function got unknown keyword(s) {sorted(symbolic)}; "
            + (
                f"sparse=True is for expressions: sg.{name}(fs, wrt, sparse=True)"
                if "sparse" in symbolic
                else f"see help(sg.{name})"
            )
        )


def _function_form(
    kind: str,
    fn: Callable,
    argnums: Any,
    has_aux: bool,
    static_argnums: Any,
    batch_argnums: Any,
    reduce: str,
    backend: str | None,
    check_trace: bool = True,
) -> TracedFunction:
    """The traced function of one transform (its builder is the one named ``kind``)."""
    TracedFunction, builders = _tracing()
    return TracedFunction(
        fn,
        argnums,
        getattr(builders, kind),
        kind=kind,
        has_aux=has_aux,
        static_argnums=static_argnums,
        batch_argnums=batch_argnums,
        reduce=reduce,
        backend=backend,
        check_trace=check_trace,
    )


def hessian(
    fn: Any,
    argnums: Any = 0,
    *,
    has_aux: bool = False,
    static_argnums: Any = (),
    backend: str | None = None,
    check_trace: bool = True,
    **symbolic: Any,
) -> Any:
    """The Jacobian of the gradient: ``jacobian(jacobian(fn))`` as JAX defines it; with an
    expression, ``sg.hessian(f, wrt)`` is the symbolic Hessian."""
    options = {"has_aux": has_aux, "static_argnums": static_argnums, "backend": backend}
    if not callable(fn):
        wrt, kw = _expression_args("hessian", argnums, symbolic, ("sparse",), options)
        return autodiff.hessian(fn, wrt, **kw)
    _no_symbolic("hessian", symbolic)
    kw = dict(has_aux=has_aux, static_argnums=static_argnums, backend=backend)
    inner = jacobian(fn, argnums, check_trace=check_trace, **kw)
    return jacobian(inner, argnums, check_trace=check_trace, **kw)


def _transform(
    fn: Callable, kind: Any, n: int, make: Callable[[], TracedFunction]
) -> TracedFunction:
    """One cached transform per (fn, kind, arity), so repeated calls reuse compiled code."""
    try:
        per_fn = _cache.setdefault(fn, {})
    except TypeError:  # not weak-referenceable: no cache
        return make()
    key = (kind, n)
    if key not in per_fn:
        per_fn[key] = make()
    return per_fn[key]


def jvp(fn: Any, primals: Any, tangents: Any, *, check_trace: bool = True) -> Any:
    """``(fn(*primals), J·tangents)`` (as ``jax.jvp``); with expressions ``sg.jvp(fs, wrt,
    tangents)`` is each output's derivative along ``tangents``. ``check_trace`` as in
    ``value_and_grad``."""
    TracedFunction, builders = _tracing()
    if not callable(fn):
        return builders.jvp_exprs(
            _list(fn, "fs"), _list(primals, "wrt"), _list(tangents, "tangents")
        )
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp needs one tangent per primal: {len(primals)} primal(s), "
            f"{len(tangents)} tangent(s)"
        )
    n = len(primals)
    tf = _transform(
        fn,
        ("jvp", check_trace),
        n,
        lambda: TracedFunction(
            lambda *a: fn(*a[:n]),
            tuple(range(n)),
            builders.jvp(n),
            kind="jvp",
            check_trace=check_trace,
        ),
    )
    tf.__name__ = getattr(fn, "__name__", "fn")
    return tf(*primals, *tangents)


def vjp(fn: Any, *primals: Any, check_trace: bool = True) -> Any:
    """``(fn(*primals), pullback)``; ``pullback(cotangent)`` is a tuple, one entry per primal
    (as ``jax.vjp``). With expressions ``sg.vjp(fs, wrt, cotangents)`` is ``cotangents · J``."""
    TracedFunction, builders = _tracing()
    if not callable(fn):
        if len(primals) != 2:
            raise TypeError("the symbolic form is sg.vjp(fs, wrt, cotangents)")
        fs, cts = _list(fn, "fs"), _list(primals[1], "cotangents")
        if len(fs) != len(cts):
            raise ValueError(f"vjp needs one cotangent per output: {len(fs)} vs {len(cts)}")
        forward = getattr(autodiff, "vjp", None)
        if forward is not None:
            return list(forward(fs, primals[0], cts))
        total = const(0.0)
        for c, f in zip(cts, fs):
            total = total + c * f
        return list(autodiff.gradient(total, primals[0]))
    n = len(primals)
    value = _value(fn, n, check_trace)
    back = _transform(
        fn,
        ("vjp", check_trace),
        n,
        lambda: TracedFunction(
            lambda *a: fn(*a[:n]),
            tuple(range(n)),
            builders.vjp(n),
            kind="vjp",
            check_trace=check_trace,
        ),
    )
    out = value(*primals)

    def pullback(cotangent: Any) -> tuple:
        return back(*primals, cotangent)

    return out, pullback


def linearize(fn: Callable, *primals: Any, check_trace: bool = True) -> tuple[Any, Callable]:
    """``(fn(*primals), f_jvp)`` with ``f_jvp(*tangents)`` the directional derivative at the
    primals (as ``jax.linearize``); one compiled program serves every tangent."""
    value = _value(fn, len(primals), check_trace)

    def f_jvp(*tangents: Any) -> Any:
        return jvp(fn, primals, tangents, check_trace=check_trace)[1]

    return value(*primals), f_jvp


def _value(fn: Callable, n: int, check_trace: bool) -> TracedFunction:
    """``fn``'s plain compiled value (vjp and linearize return it), cached as a transform."""
    TracedFunction, builders = _tracing()
    return _transform(
        fn,
        ("value", check_trace),
        n,
        lambda: TracedFunction(fn, (), builders.value, kind="value", check_trace=check_trace),
    )


def _list(x: Any, what: str = "argument") -> list:
    """Expressions (or numbers) as a flat list of ``Expr``."""
    from .ir import as_expr

    if isinstance(x, list | tuple):
        items = list(x)
    elif hasattr(x, "ravel") and hasattr(x, "shape"):
        items = list(x.ravel())
    else:
        items = [x]
    return [as_expr(getattr(v, "_expr", v), what) for v in items]


__all__ = ["grad", "value_and_grad", "jacobian", "hessian", "jvp", "vjp", "linearize"]
