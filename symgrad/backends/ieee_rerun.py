"""The Python backend's IEEE-754 rerun, pasted into a generated module whose ops can raise.

Python's ``math`` (and ``/``) raise where IEEE-754 gives inf or nan. The generated function runs
plain ``math`` code; only if that raises does ``_rerun`` run the *same code object* again with
its values wrapped in ``_IEEE`` (whose ``/`` and ``**`` never raise) and every function it calls
lifted to the IEEE helpers, so the body is printed once and the fast path pays nothing. The
text below the marker is what is pasted; it needs only the standard library (and the
``symgrad.scalar`` helpers ``_div``, ``_mod`` and ``_pow``, pasted beside it).
"""

from ..scalar import _div, _mod, _pow  # read by the pasted text below

# --- pasted into generated modules ---


class _IEEE:
    # A float whose arithmetic follows IEEE-754 (inf and nan, never an exception).
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = float(v)

    def __float__(self):
        return self.v

    def __bool__(self):
        # a lifted predicate (isnan, isfinite) gives _IEEE(True/False): truth as a float's
        return bool(self.v)

    def __neg__(self):
        return _IEEE(-self.v)

    def __abs__(self):
        return _IEEE(abs(self.v))

    __hash__ = None


def _v(x):
    return x.v if type(x) is _IEEE else x


def _operators():
    from operator import add, eq, ge, gt, le, lt, mul, ne, sub

    arith = (("add", add), ("sub", sub), ("mul", mul), ("truediv", _div), ("pow", _pow))
    for name, op in (*arith, ("mod", _mod)):
        setattr(_IEEE, f"__{name}__", lambda a, b, op=op: _IEEE(op(a.v, _v(b))))
        setattr(_IEEE, f"__r{name}__", lambda a, b, op=op: _IEEE(op(_v(b), a.v)))
    for name, op in (("lt", lt), ("le", le), ("gt", gt), ("ge", ge), ("eq", eq), ("ne", ne)):
        setattr(_IEEE, f"__{name}__", lambda a, b, op=op: op(a.v, _v(b)))


_operators()


def _map(fn, tree):
    # tree (nested lists and tuples) rebuilt with fn(leaf) for each leaf; a loop, no recursion.
    root = [tree]
    stack = [(root, [tree], [], 0)]  # (parent slot holder, source, rebuilt items, next index)
    while stack:
        holder, src, dst, i = stack.pop()
        if i == len(src):
            done = list(dst) if type(src) is list else tuple(dst)
            (stack[-1][2] if stack else holder).append(done)
            continue
        stack.append((holder, src, dst, i + 1))
        x = src[i]
        if isinstance(x, list | tuple):
            stack.append((holder, x, [], 0))
        else:
            dst.append(fn(x))
    return root[1][0]


def _lift(fn):
    # fn on plain floats, its result an _IEEE (so a later / of it cannot raise either).
    return lambda *args: _IEEE(fn(*map(float, args)))


def _rerun(fn, args, ieee):
    # fn's own code again with IEEE semantics: values _IEEE, the functions it calls lifted
    # (those that raise swapped for their helpers in ieee), part functions on the same globals.
    from types import FunctionType

    names = fn.__globals__
    g = dict(names, float=_lift(float))
    for name, v in names.items():
        if name in ieee:
            g[name] = _lift(ieee[name])
        elif name.startswith("_part"):
            g[name] = FunctionType(_ieee_consts(v.__code__), g, name)
        elif getattr(v, "__module__", None) == "math" or (
            type(v) is FunctionType and v.__globals__ is names and v is not fn
        ):
            keep = ("_v", "_map", "_lift", "_rerun", "_operators", "_ieee_consts")
            g[name] = v if name in keep else _lift(v)
    out = FunctionType(_ieee_consts(fn.__code__), g)(*(_map(_IEEE, a) for a in args))
    return _map(float, out)


def _ieee_consts(code):
    # The code with its float literals as _IEEE too, so that arithmetic between two literals
    # (a where's constant branch divided by another) cannot raise either.
    consts = tuple(_IEEE(c) if type(c) is float else c for c in code.co_consts)
    return code.replace(co_consts=consts)
