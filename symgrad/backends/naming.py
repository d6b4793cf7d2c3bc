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
import string
from collections.abc import Callable
from operator import itemgetter

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
    plain = label.isascii() and label.isidentifier() and len(label) <= _MAX_LEN
    if plain and label.strip("_") == label:  # most labels: no regex
        return label
    s = _BAD.sub("_", label).strip("_")[:_MAX_LEN].rstrip("_")
    if not s:
        return "v"
    if s[0].isdigit():
        s = "v" + s
    return s


_ID_CHARS = (string.ascii_letters + string.digits + "_").encode()
_BAD_FIRST = frozenset({"_", *string.digits})
_first_char = itemgetter(0)


def _all_plain(labels: list) -> bool:
    """Whether ``sanitize`` keeps every label as it is and none starts with ``_`` (what
    ``fresh`` needs to hand a label out unchanged): ASCII letters, digits and underscores
    only, 1 to 32 of them, no digit first, no underscore first or last. One joined text, so
    the check runs at C speed; the per-label test in ``fresh_all`` says the same."""
    if not labels:
        return False
    try:
        text = "\n" + "\n".join(labels) + "\n"
    except TypeError:  # not all strings: the per-label path says what is wrong
        return False
    if not text.isascii() or max(map(len, labels)) > _MAX_LEN:
        return False
    raw = text.encode("ascii")
    if raw.translate(None, _ID_CHARS) != b"\n" * (len(labels) + 1):  # no other character
        return False
    if b"\n\n" in raw or b"_\n" in raw:  # a label empty, or ending in _
        return False
    return _BAD_FIRST.isdisjoint(set(map(_first_char, labels)))


class LazyHints:
    """Node serial -> label (``g_w0``), made by ``make`` at the first lookup and kept: a
    backend that names no line after an output (the C backend's phased form of a large
    model) never pays for its 100,000 labels. Read-only, so the copies of a scope share it."""

    __slots__ = ("_make", "_table")

    def __init__(self, make: Callable[[], dict[int, str]]) -> None:
        self._make: Callable[[], dict[int, str]] | None = make
        self._table: dict[int, str] | None = None

    def get(self, serial: int, default: str | None = None) -> str | None:
        table = self._table
        if table is None:
            assert self._make is not None
            table = self._table = self._make()
            self._make = None
        return table.get(serial, default)


class NameScope:
    """Hands out fresh names: each is an identifier never handed out before in this scope."""

    def __init__(
        self,
        reserved: frozenset[str] | set[str] = RESERVED,
        hints: dict[int, str] | LazyHints | None = None,
    ) -> None:
        self._taken: set[str] = set(reserved)
        self._counters: dict[str, int] = {}
        # node serial -> label (``g_w0``); a LazyHints is shared, a dict copied
        self.hints: dict[int, str] | LazyHints = (
            hints if isinstance(hints, LazyHints) else dict(hints or {})
        )

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

    def fresh_all(self, labels: list[str]) -> list[str]:
        """``[self.fresh(lb) for lb in labels]``, with the common case (a plain label not
        taken yet: ``w0``) in one loop, and a whole list of them (``p0 ... p101769``) checked
        at once on its joined text."""
        taken = self._taken
        if _all_plain(labels) and taken.isdisjoint(labels):
            size = len(taken)
            taken.update(labels)
            if len(taken) - size == len(labels):  # no label repeated: each is its own name
                return list(labels)
            taken.difference_update(labels)  # none was taken before (isdisjoint)
        out: list[str] = []
        add, keep = taken.add, out.append
        for lb in labels:
            if (
                lb.isascii()
                and lb.isidentifier()
                and len(lb) <= _MAX_LEN
                and lb[0] != "_"
                and lb[-1] != "_"
                and lb not in taken
            ):
                add(lb)
                keep(lb)
            else:
                keep(self.fresh(lb))
        return out

    def temp(self, prefix: str = "t") -> str:
        """``t0``, ``t1`` ... skipping any name already taken (a user's symbol ``t0``)."""
        n = self._counters.get("#" + prefix, 0)
        while f"{prefix}{n}" in self._taken:
            n += 1
        self._counters["#" + prefix] = n + 1
        name = f"{prefix}{n}"
        self._taken.add(name)
        return name

    def name_for(self, serial: int) -> str:
        """The name of the line that computes node ``serial``: a fresh name from its hint
        (``g_w0``) if it has one, else a temporary."""
        hint = self.hints.get(serial)
        return self.temp() if hint is None else self.fresh(hint)

    def copy(self) -> NameScope:
        other = NameScope(self._taken, self.hints)
        other._counters = dict(self._counters)
        return other


def derivative_labels(
    roots: list, claims: dict[int, list[tuple]], names: dict[int, str]
) -> list[str | None]:
    """For each root, a label saying which derivative it is, or ``None``.

    ``claims`` maps a serial to the ``(f, s)`` pairs recorded for that node (``d f / d s``, see
    ``autodiff.provenance``); ``names`` maps an input symbol's serial to its parameter name.
    A gradient entry becomes ``g_w0``, an entry of a Jacobian of several outputs ``g1_w0``
    (the output's index among the outputs differentiated), a second derivative ``h_w0_w1``.
    A root whose claims disagree, or that is its own derivative (``exp(x)``), gets ``None``.
    Labels are built from parameter names (or sanitized labels), never from raw strings, and
    ``NameScope.fresh`` still deduplicates them against every other name.
    """

    def label(s) -> str:
        return names.get(s.serial) or sanitize(s.payload)

    seconds: dict[int, object] = {}  # f's serial -> second(f): a Hessian's row shares its f

    def second(f) -> object | None:  # f = d F / d s0 for one s0: the s0
        if f.serial in seconds:
            return seconds[f.serial]
        found = {id(s0): s0 for _, s0 in claims.get(f.serial, ())}
        seconds[f.serial] = out = next(iter(found.values())) if len(found) == 1 else None
        return out

    # Per root: for a gradient's entry the label of its s, a str (its f is the root's one
    # claim's); else the kind _texts reads (a tuple), or None.
    kinds: list[str | tuple | None] = []
    odd: list[int] = []  # the positions of the kinds that are not a str
    firsts: dict[int, int] = {}  # id of a differentiated f -> its index among them
    get, keep, name = claims.get, kinds.append, names.get
    last, fid, first_order = None, 0, False  # a gradient's entries share their f: test it once
    for r in roots:
        found = get(r.serial, ())
        if len(found) == 1:  # most roots: one first derivative (a gradient's entry)
            f, s = found[0]
            if f is not last:
                last, fid, first_order = f, id(f), second(f) is None
            if f is not r and first_order:
                keep(name(s.serial) or sanitize(s.payload))
                if fid not in firsts:
                    firsts[fid] = len(firsts)
                continue
        odd.append(len(kinds))
        keep(_kind(r, found, second, label, firsts))
    return _texts(kinds, odd, firsts, roots, claims)


def _kind(r, found: list[tuple], second, label, firsts: dict[int, int]) -> tuple | None:
    """The kind of a root with other claims than one first derivative: ``("h", ...)`` for a
    second derivative, ``("g", ...)`` for a first, None if its claims disagree or it is its
    own derivative. Each differentiated f is numbered (``firsts``) as it is met."""
    cands = set()
    for f, s in found:
        s0 = None if f is r else second(f)
        if f is r:
            cands.add(None)
        elif s0 is not None:
            pair = sorted((s0, s), key=lambda e: e.serial)
            cands.add(("h", id(pair[0]), id(pair[1]), label(pair[0]), label(pair[1])))
        else:
            cands.add(("g", id(f), id(s), label(s)))
            firsts.setdefault(id(f), len(firsts))
    return cands.pop() if len(cands) == 1 else None


def _texts(
    kinds: list, odd: list[int], firsts: dict[int, int], roots: list, claims: dict
) -> list[str | None]:
    """The labels of ``derivative_labels``' kinds: ``g_w0``, ``g1_w0``, ``h_w0_w1``. With one
    function differentiated (a gradient), every gradient entry's is ``"g_" + k``, made for
    all at once; then the few ``odd`` kinds (the loss itself: None) are put in."""
    if len(firsts) <= 1:
        bulk = list(kinds) if odd else kinds
        for i in odd:
            bulk[i] = ""
        out: list[str | None] = list(map("g_".__add__, bulk))
        for i in odd:
            k = kinds[i]
            out[i] = None if k is None else f"h_{k[3]}_{k[4]}" if k[0] == "h" else "g_" + k[3]
        return out
    out = []
    for r, k in zip(roots, kinds):
        if k is None:
            out.append(None)
        elif type(k) is str:  # a gradient's entry: its f is the root's one claim's
            out.append(f"g{firsts[id(claims[r.serial][0][0])]}_{k}")
        elif k[0] == "h":
            out.append(f"h_{k[3]}_{k[4]}")
        else:
            out.append(f"g{firsts[k[1]]}_{k[3]}")
    return out
