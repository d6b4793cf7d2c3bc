"""Turn generated source into a function, debuggable: the source is registered in
``linecache`` under a unique filename, so tracebacks and ``inspect.getsource`` show it."""

from __future__ import annotations

import hashlib
import linecache
from collections.abc import Callable


def load(source: str, name: str, tag: str = "fn") -> Callable:
    """Execute ``source`` (a generated module) and return its top-level ``name``."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    filename = f"<symgrad-{tag}-{digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    namespace: dict = {"__name__": f"symgrad_generated_{digest}", "__file__": filename}
    exec(code, namespace)  # generated code only
    return namespace[name]
