"""SymPy's proof that a derivative is right, with a real time bound.

``simplify`` has no time limit of its own (an op-count budget does not bound time: some
50-character formulas run for minutes), and deep expressions make SymPy recurse past Python's
limit. So the proof runs in a forked child process that streams one verdict per variable and
is killed at the deadline; whatever it has not proved by then is left to the oracle. Where
``fork`` does not exist (Windows), or past ``MAX_NODES`` graph nodes, no proof is attempted.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from ..ir import Expr, topo_order

MAX_NODES = 2_000
"""Past this many nodes (f and its gradient) SymPy's tree form is too large to be worth it."""


def _child(conn: Any, f: Expr, syms: list[Expr], grads: list[Expr], budget: int) -> None:
    """In the child: for each variable, send (index, proved) as soon as it is decided."""
    import sympy as sp

    from .bridge import to_sympy

    try:
        f_sp = to_sympy(f)
    except Exception:  # a condition used as a number, a recursion limit ...
        conn.close()
        return
    for i, (s, g) in enumerate(zip(syms, grads)):
        try:
            diff = sp.diff(f_sp, to_sympy(s)) - to_sympy(g)
            ok = diff == 0 or (sp.count_ops(diff) <= budget and sp.simplify(diff) == 0)
        except Exception:  # SymPy gives up in many ways; the oracle decides then
            ok = False
        conn.send((i, bool(ok)))
    conn.close()


def prove(f: Expr, syms: list[Expr], grads: list[Expr], budget: int, seconds: float) -> set[int]:
    """The indices of the variables whose derivative SymPy proves right within ``seconds``."""
    if seconds <= 0 or len(topo_order([f, *grads])) > MAX_NODES:
        return set()
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:  # no fork on this platform
        return set()
    import sympy  # noqa: F401  (imported before the fork, so the child need not)

    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, f, syms, grads, budget), daemon=True)
    child.start()
    send.close()
    proved: set[int] = set()
    deadline = time.monotonic() + seconds
    heard = 0
    try:
        while heard < len(syms):
            left = deadline - time.monotonic()
            if left <= 0 or not recv.poll(left):
                break
            try:
                i, ok = recv.recv()
            except EOFError:  # the child finished (or gave up)
                break
            heard += 1
            if ok:
                proved.add(i)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        recv.close()
    return proved
