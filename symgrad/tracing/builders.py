"""What each function transform computes from the traced output: the symbolic half of
``grad``, ``value_and_grad``, ``jacobian``, ``jvp``, ``vjp`` and a plain compiled value.

Each builder gets the function's traced output and the call's argument groups (per
position: its tokens and leaves, each leaf's symbols flat in C order) and returns the answer
as a structure of ``Traced`` leaves (``results.py`` compiles it or hands it on). Derivatives
come from ``symgrad.autodiff``: one reverse sweep for a gradient, one per output element for
a Jacobian, forward mode (``autodiff.jvp``) for ``jvp`` when it exists, else the transpose of
a reverse sweep (two sweeps, whatever the number of outputs).
"""

from __future__ import annotations

from typing import Any

from .. import autodiff
from ..ir import Expr, as_expr, const, make, symbol
from ..ops import Op
from . import kernels, results
from .args import unflatten
from .array import Traced


class Group:
    """One argument position: its tokens and leaves (``.syms`` flat, ``.shape``)."""

    __slots__ = ("tokens", "leaves")

    def __init__(self, tokens: list, leaves: list) -> None:
        self.tokens, self.leaves = tokens, leaves

    def syms(self) -> list[Expr]:
        return [s for leaf in self.leaves for s in leaf.syms]

    def rebuild(self, flat: list[Expr]) -> Any:
        """This argument's structure holding ``flat`` (one expression per symbol)."""
        out, it = [], 0
        for leaf in self.leaves:
            n = len(leaf.syms)
            out.append(results.traced_leaf(flat[it : it + n], leaf.shape or ()))
            it += n
        return unflatten(self.tokens, out)


NONE_HINT = (
    "a NumPy function that does not take part in NumPy's dispatch gives None for a traced "
    "array: np.bmat does (np.bmat(x) of an array is np.asmatrix(x): use x itself; for "
    "blocks write np.vstack([np.hstack([a, b]), np.hstack([c, d])])); otherwise a return "
    "statement is missing"
)


def scalar_output(out: Any, name: str) -> Expr:
    if out is None:
        raise TypeError(f"{name} returned None on traced arguments: {NONE_HINT}")
    if isinstance(out, Traced):
        if out.ndim:
            raise TypeError(
                f"{name} must return a scalar, but returned an array of shape {out.shape}; "
                "reduce it (for example with .sum()) or pick one element"
            )
        return out.a
    shape = getattr(out, "shape", None)
    if shape is not None and shape != ():
        raise TypeError(
            f"{name} must return a scalar, but returned an array of shape {shape}; "
            "reduce it (for example with .sum()) or pick one element"
        )
    if shape == () and hasattr(out, "item"):
        out = out.item()
    return as_expr(getattr(out, "_expr", out), f"the result of {name}")


def gradients(f: Expr, groups: list[Group], diff: tuple[int, ...], single: bool) -> Any:
    """df/d(argument) for each position of ``diff`` (in that order), in its structure."""
    syms = [s for p in diff for s in groups[p].syms()]
    flat = autodiff.gradient(f, syms) if syms else []
    per, it = [], 0
    for p in diff:
        n = len(groups[p].syms())
        per.append(groups[p].rebuild(flat[it : it + n]))
        it += n
    return per[0] if single else tuple(per)


def grad(out: Any, groups: list[Group], diff: tuple, single: bool, name: str) -> Any:
    return gradients(scalar_output(out, name), groups, diff, single)


def value_and_grad(out: Any, groups: list[Group], diff: tuple, single: bool, name: str) -> Any:
    f = scalar_output(out, name)
    return Traced(f), gradients(f, groups, diff, single)


def value(out: Any, groups: list[Group], diff: tuple, single: bool, name: str) -> Any:
    return out


def jacobian(out: Any, groups: list[Group], diff: tuple, single: bool, name: str) -> Any:
    """d(out leaf)/d(argument leaf) with shape out.shape + arg.shape, in the structure of the
    output with each leaf holding the structure of the argument(s); one sweep per output."""
    skeleton, exprs = results.split(out)
    syms = [s for p in diff for s in groups[p].syms()]
    rows = [autodiff.gradient(e, syms) if syms else [] for e in exprs]

    def leaf(out_rows: list, out_shape: tuple) -> Any:
        per, off = [], 0
        for p in diff:
            blocks = []
            for lf in groups[p].leaves:
                m = len(lf.syms)
                flat = [x for row in out_rows for x in row[off : off + m]]
                blocks.append(results.traced_leaf(flat, out_shape + (lf.shape or ())))
                off += m
            per.append(unflatten(groups[p].tokens, blocks))
        return per[0] if single else tuple(per)

    return results.build(skeleton, rows, leaf)


def jvp_exprs(outs: list[Expr], wrt: list[Expr], tangents: list[Expr]) -> list[Expr]:
    """J·t: forward mode if ``autodiff.jvp`` exists, else the transpose of a reverse sweep
    (u -> uᵀJ is linear in u, so d/du (uᵀJ t) = J t: two sweeps for any number of outputs)."""
    forward = getattr(autodiff, "jvp", None)
    if forward is not None:
        return list(forward(outs, wrt, tangents))
    if not outs:
        return []
    u = [symbol("u") for _ in outs]
    s = kernels.chain(Op.ADD, [make(Op.MUL, (a, b)) for a, b in zip(u, outs)])
    g = autodiff.gradient(s, wrt) if wrt else []
    t_dot = kernels.chain(Op.ADD, [make(Op.MUL, (a, b)) for a, b in zip(g, tangents)])
    return list(autodiff.gradient(t_dot, u))


def jvp(n: int):
    """Positions 0..n-1 are primals (differentiated), n..2n-1 their tangents."""

    def build(out: Any, groups: list[Group], diff: tuple, single: bool, name: str) -> Any:
        skeleton, exprs = results.split(out)
        wrt, tans = [], []
        for p in range(n):
            if groups[p].tokens != groups[n + p].tokens:
                raise ValueError(
                    f"tangents[{p}] must have the structure and shapes of primals[{p}]"
                )
            wrt += groups[p].syms()
            tans += groups[n + p].syms()
        t_out = jvp_exprs(exprs, wrt, tans)
        return out, results.build(skeleton, t_out, results.traced_leaf)

    return build


def vjp(n: int):
    """Positions 0..n-1 are primals (differentiated), n the cotangent of the output."""

    def build(out: Any, groups: list[Group], diff: tuple, single: bool, name: str) -> Any:
        _, exprs = results.split(out)
        cts = groups[n].syms()
        if len(cts) != len(exprs):
            raise ValueError(
                f"the cotangent has {len(cts)} number(s), the output of {name} {len(exprs)}; "
                "give one of the output's structure and shapes"
            )
        s = kernels.chain(Op.ADD, [make(Op.MUL, (c, e)) for c, e in zip(cts, exprs)])
        if not exprs:
            s = const(0.0)
        return gradients(s, groups, tuple(range(n)), False)

    return build
