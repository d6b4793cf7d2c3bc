"""One traced path: its compiled program, how to read its outputs, and its guards.

The guards (the decisions Python took on traced values while tracing) are compiled into a
second, small program over the arguments that are not batch data; a call runs it first and
uses this path only if every condition comes out as it did in the trace. A path without
decisions has no guard program and costs nothing extra.
"""

from __future__ import annotations

from typing import Any

from .. import api
from ..ir import Expr
from ..printing import short_str
from . import results


class Path:
    __slots__ = ("compiled", "skeleton", "guard_fn", "guards")

    def __init__(self, compiled, skeleton, guard_fn, guards) -> None:
        self.compiled = compiled
        self.skeleton = skeleton
        self.guard_fn = guard_fn  # None, or a program returning each guard's condition
        self.guards: list[tuple[Expr, bool]] = guards

    def holds(self, guard_inputs: list) -> bool:
        if self.guard_fn is None:
            return True
        got = self.guard_fn(*guard_inputs)
        return all(bool(v) == want for v, (_, want) in zip(got, self.guards))

    def run(self, inputs: list) -> Any:
        out = self.compiled(*inputs)
        return results.build(self.skeleton, _flat(out), results.number_leaf)

    def source(self) -> str:
        text = self.compiled.source
        if not self.guards:
            return text
        lines = [
            "",
            "# Guards: this program runs only while each decision the trace took holds; a call",
            "# where one comes out otherwise is traced again (one program per path).",
        ]
        lines += [f"#   {_printable(short_str(c))}  ->  {o}" for c, o in self.guards]
        lines += [
            "# The guard program:",
            *("#   " + ln for ln in self.guard_fn.source.splitlines()),
        ]
        return text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


def _printable(text: str) -> str:
    """Labels are any strings: in a comment line none may start a new line of code."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _flat(out: Any) -> list:
    if isinstance(out, list | tuple):
        return list(out)
    return [out]


def _unique(guards: list[tuple[Expr, bool]]) -> list[tuple[Expr, bool]]:
    seen: set[int] = set()
    out = []
    for c, o in guards:
        if c.serial not in seen:
            seen.add(c.serial)
            out.append((c, o))
    return out


def compile_path(tf: Any, result: Any, inputs: list, guard_inputs: list, guards: list) -> Path:
    """Compile ``result`` (a structure of traced leaves) and the guards into a ``Path``."""
    skeleton, exprs = results.split(result)
    reduce = tf.reduce if tf.batch is not None else None
    compiled = api.compile(inputs, list(exprs), backend=tf.backend, reduce=reduce)
    guards = _unique(guards)
    guard_fn = None
    if guards:
        backend = "python" if tf.backend == "python" else "numpy"
        guard_fn = api.compile(guard_inputs, [c for c, _ in guards], backend=backend)
    return Path(compiled, skeleton, guard_fn, guards)
