"""Turn generated source into a function, debuggable: the source is registered in
``linecache`` under a unique filename, so tracebacks and ``inspect.getsource`` show it, for as
long as a function compiled from it is alive (the entry goes with the last such function)."""

from __future__ import annotations

import hashlib
import linecache
import threading
import weakref
from collections.abc import Callable

_users: dict[str, int] = {}  # linecache filename -> live functions compiled from it
_lock = threading.Lock()


def register(source: str, tag: str) -> tuple[str, dict]:
    """(filename, fresh module namespace) for ``source``, its text put in ``linecache``."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    filename = f"<symgrad-{tag}-{digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return filename, {"__name__": f"symgrad_generated_{digest}", "__file__": filename}


def keep_while_alive(fn: Callable, filename: str) -> Callable:
    """Hold ``filename``'s ``linecache`` entry while ``fn`` lives; drop it with the last user
    (10,000 compiles do not leave 10,000 entries behind)."""
    with _lock:
        _users[filename] = _users.get(filename, 0) + 1
    weakref.finalize(fn, _release, filename)
    return fn


def _release(filename: str) -> None:
    with _lock:
        n = _users.get(filename, 0) - 1
        if n > 0:
            _users[filename] = n
            return
        _users.pop(filename, None)
        linecache.cache.pop(filename, None)


def load(source: str, name: str, tag: str = "fn") -> Callable:
    """Execute ``source`` (a generated module) and return its top-level ``name``."""
    filename, namespace = register(source, tag)
    code = compile(source, filename, "exec")
    exec(code, namespace)  # symgrad's own printer wrote this source
    return keep_while_alive(namespace[name], filename)
