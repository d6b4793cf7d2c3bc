"""Safe, deterministic identifiers for generated code.

A user's label is only ever a hint: it is reduced to ASCII letters, digits and underscores,
kept away from keywords, builtins and every name the generated module defines, and
deduplicated. Nothing in a label can reach the program's logic.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re

RESERVED = frozenset(
    set(keyword.kwlist)
    | set(keyword.softkwlist)
    | set(dir(builtins))
    | set(dir(math))
    | {"np", "numpy", "math", "f", "f_ieee", "inf", "nan"}
)

_BAD = re.compile(r"[^0-9A-Za-z_]+")
_MAX_LEN = 32


def sanitize(label: str) -> str:
    """A plain identifier shaped like ``label`` (``w0`` stays ``w0``; ``a b`` becomes ``a_b``)."""
    s = _BAD.sub("_", label).strip("_")[:_MAX_LEN].rstrip("_")
    if not s:
        return "v"
    if s[0].isdigit():
        s = "v" + s
    return s


class NameScope:
    """Hands out fresh names: each is an identifier never handed out before in this scope."""

    def __init__(self, reserved: frozenset[str] | set[str] = RESERVED) -> None:
        self._taken: set[str] = set(reserved)
        self._counters: dict[str, int] = {}

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def fresh(self, label: str) -> str:
        base = sanitize(label)
        if base not in self._taken and not base.startswith("_"):
            self._taken.add(base)
            return base
        n = self._counters.get(base, 1)
        while f"{base}_{n}" in self._taken:
            n += 1
        self._counters[base] = n + 1
        name = f"{base}_{n}"
        self._taken.add(name)
        return name

    def temp(self, prefix: str = "t") -> str:
        """``t0``, ``t1`` ... skipping any name already taken (a user's symbol ``t0``)."""
        n = self._counters.get("#" + prefix, 0)
        while f"{prefix}{n}" in self._taken:
            n += 1
        self._counters["#" + prefix] = n + 1
        name = f"{prefix}{n}"
        self._taken.add(name)
        return name

    def copy(self) -> NameScope:
        other = NameScope(self._taken)
        other._counters = dict(self._counters)
        return other
