"""What a notebook shows: an expression's DAG in SVG, a compiled function as HTML, and DOT text
that renders itself to a file with Graphviz (the LaTeX view, which needs the SymPy bridge, is
``verification/latex.py``; ``symgrad/__init__.py`` hands both views to ``ir.VIEWS``).

Every view is bounded: past a size where the picture stops being readable, a view returns
``None`` and the notebook falls back to the plain text. A view never raises; ``Dot.render``,
asked for explicitly, does, with a clear error when Graphviz is missing.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .errors import GraphvizNotFoundError
from .ir import Expr, topo_order
from .printing import dot_text

SVG_NODES = 300  # DAG nodes drawn inline
SVG_TIMEOUT = 10.0  # seconds for `dot` on an inline view
HTML_LINES = 300  # source lines shown inline; fn.source has them all
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
INSTALL_GRAPHVIZ = (
    "install Graphviz, which provides `dot` (Debian/Ubuntu: apt-get install graphviz; "
    "macOS: brew install graphviz; conda: conda install graphviz), or render the DOT text "
    "(str(dot)) elsewhere"
)


class Dot(str):
    """Graphviz DOT text of a DAG (a ``str``), which can also write itself as a picture."""

    __slots__ = ()

    def render(self, path: str | os.PathLike, timeout: float | None = 120.0) -> Path:
        """Write the picture to ``path``, its format from the suffix (.svg, .png or .pdf), with
        Graphviz's ``dot``; returns the path. ``GraphvizNotFoundError`` (a FileNotFoundError)
        if ``dot`` is not on PATH, RuntimeError if it fails."""
        return render_dot(self, path, timeout)


def to_dot(outputs: Any) -> Dot:
    """Graphviz DOT text of the DAG under ``outputs`` (labels quoted, never code); call
    ``.render("graph.svg")`` on it to draw it."""
    return Dot(dot_text(outputs))


def render_dot(dot: str, path: str | os.PathLike, timeout: float | None = 120.0) -> Path:
    """``dot -T<format> -o path`` on the DOT text ``dot``; see ``Dot.render``."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"path {str(path)!r}: give a file name ending in one of {', '.join(FORMATS)} "
            "(the suffix picks the picture's format)"
        )
    if shutil.which("dot") is None:
        raise GraphvizNotFoundError(
            f"cannot draw {path.name}: Graphviz's `dot` is not on PATH; " + INSTALL_GRAPHVIZ
        )
    proc = _dot([f"-T{fmt}", "-o", str(path)], dot, timeout)
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip()[-500:]
        raise RuntimeError(
            f"Graphviz's dot failed drawing {path.name} (status {proc.returncode}): {msg}"
        )
    return path


def _dot(args: list[str], text: str, timeout: float | None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["dot", *args], input=str(text).encode(), capture_output=True, timeout=timeout, check=False
    )


def expr_svg(e: Expr) -> str | None:
    """The DAG drawn by Graphviz as SVG text; None without ``dot``, past the bound or on any
    failure of ``dot``."""
    if shutil.which("dot") is None or len(topo_order([e])) > SVG_NODES:
        return None
    try:
        proc = _dot(["-Tsvg"], dot_text(e), SVG_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.decode() if proc.returncode == 0 and proc.stdout else None


def compiled_html(source: str, backend: str, stats: dict, signature: str) -> str:
    """A compiled function as HTML: its signature and op counts, the function itself, then the
    rest of the module (imports, runtime helpers) folded away; every text escaped.

    The entry function comes first because it is what the user's expressions became: in a
    program that may raise, the Python backend's runtime (the IEEE rerun) runs to a hundred
    lines, which a notebook would otherwise show before it. Both parts together are at most
    ``HTML_LINES`` lines; ``fn.source`` has them all."""
    ops, first = stats.get("ops"), stats.get("forward_ops")
    counts = f"{ops} ops"
    if first is not None and ops is not None:
        counts += (
            f", {first} for the first output (the forward value) and {ops - first} for the rest"
            " (the backward pass, for outputs [f, gradient])"
        )
    lines = source.splitlines()
    start = _entry_line(lines)
    entry, budget = _bounded(lines[start:], HTML_LINES)
    out = [
        '<div class="symgrad-compiled">',
        f"<p><b>symgrad.CompiledFunction</b> <code>f({html.escape(signature)})</code>, "
        f"backend <code>{html.escape(backend)}</code>: {html.escape(counts)}; "
        f"{len(lines)} lines of generated code.</p>",
        f'<pre style="max-height:40em;overflow:auto"><code>{html.escape(entry)}</code></pre>',
    ]
    if start:
        rest, _ = _bounded(lines[:start], budget)
        out.append(
            f"<details><summary>the rest of the module: {start} lines (header, imports, "
            f"runtime helpers)</summary><pre><code>{html.escape(rest)}</code></pre></details>"
        )
    out.append("</div>")
    return "".join(out)


_ENTRY = re.compile(r"(?:def f|int sg_f)\(")  # each backend's entry point (api's FUNC names)


def _entry_line(lines: list[str]) -> int:
    """The index of the entry function's first line (the last top-level match), else 0."""
    for i in range(len(lines) - 1, -1, -1):
        if _ENTRY.match(lines[i]):
            return i
    return 0


def _bounded(lines: list[str], budget: int) -> tuple[str, int]:
    """(text of at most ``budget`` of ``lines``, with a note of how many are left out; the
    budget left over)."""
    budget = max(budget, 0)
    shown = lines[:budget]
    if len(lines) > budget:
        shown.append(f"… {len(lines) - budget} more lines (fn.source has them all)")
    return "\n".join(shown), max(budget - len(lines), 0)
