"""Every fenced ```python block of README.md and docs/*.md runs as written.

The blocks of one file run in order in one namespace (a block may use what an earlier block of
the same file defined), in a scratch directory, with the C cache kept out of the user's. A block
that needs something optional is marked by an HTML comment on the line just before its fence:

    <!-- requires: c -->          a C compiler (backend="c")
    <!-- requires: scipy -->      SciPy (the ``examples`` extra); likewise dask, matplotlib
    <!-- requires: graphviz -->   Graphviz's ``dot`` on PATH

Such a block is skipped, with the reason, where that thing is missing; later blocks of the same
file must not depend on names only a marked block defines. Use the marker sparingly: most blocks
need nothing beyond numpy and SymPy, and then they carry none.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import shutil
from dataclasses import dataclass

import pytest
from helpers import HAVE_CC

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# ```python fences at the start of a line, with an optional requires-comment just above.
BLOCK = re.compile(
    r"(?:^<!--\s*requires:\s*(?P<req>[\w, -]+?)\s*-->\n)?^```python[ \t]*\n(?P<code>.*?)^```",
    re.M | re.S,
)


def _module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


AVAILABLE = {
    "c": (lambda: HAVE_CC, "no C compiler (install gcc or clang, or set CC)"),
    "scipy": (lambda: _module("scipy"), 'SciPy is not installed (pip install "symgrad[examples]")'),
    "dask": (lambda: _module("dask"), 'Dask is not installed (pip install "symgrad[dask]")'),
    "matplotlib": (
        lambda: _module("matplotlib"),
        'matplotlib is not installed (pip install "symgrad[plot]")',
    ),
    "graphviz": (lambda: shutil.which("dot") is not None, "Graphviz's dot is not on PATH"),
}


@dataclass
class Block:
    line: int
    code: str
    requires: tuple[str, ...]


def blocks(path: pathlib.Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        req = tuple(r.strip() for r in (m.group("req") or "").split(",") if r.strip())
        line = text.count("\n", 0, m.start("code"))  # the fence's line number (1-based)
        out.append(Block(line, m.group("code"), req))
    return out


def missing(block: Block) -> list[str]:
    return [AVAILABLE[r][1] for r in block.requires if not AVAILABLE[r][0]()]


def test_the_docs_have_python_blocks():
    counts = {p.name: len(blocks(p)) for p in DOCS}
    assert counts["README.md"] >= 1 and counts["api.md"] >= 5 and counts["tutorial.md"] >= 5
    fences = sum(len(re.findall(r"^```python", p.read_text(encoding="utf-8"), re.M)) for p in DOCS)
    assert fences == sum(counts.values()), "a ```python fence the pattern did not pick up"


def test_requires_markers_name_known_things():
    unknown = [
        (p.name, b.line, r)
        for p in DOCS
        for b in blocks(p)
        for r in b.requires
        if r not in AVAILABLE
    ]
    assert not unknown, f"unknown requires: markers (known: {sorted(AVAILABLE)}): {unknown}"
    for p in DOCS:  # a marker not right above a ```python fence would be silently ignored
        n = len(re.findall(r"<!--\s*requires:", p.read_text(encoding="utf-8")))
        assert n == sum(bool(b.requires) for b in blocks(p)), f"{p.name}: a stray requires: marker"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_doc_blocks_run(path, tmp_path, monkeypatch, c_cache, capsys):
    monkeypatch.chdir(tmp_path)  # whatever a block writes (a saved function, a plot) lands here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__"}
    skipped = []
    for block in blocks(path):
        reasons = missing(block)
        if reasons:
            skipped.append(f"line {block.line}: {'; '.join(reasons)}")
            continue
        # Line numbers in a traceback are the doc file's own.
        code = compile("\n" * block.line + block.code, str(path.relative_to(ROOT)), "exec")
        try:
            exec(code, namespace)  # the project's own docs, never user input
        except Exception as exc:
            out = capsys.readouterr().out[-1500:]
            raise AssertionError(
                f"{path.name}: the block at line {block.line} raised "
                f"{type(exc).__name__}: {exc}\n--- its output ---\n{out}"
            ) from exc
    if skipped:
        pytest.skip(f"{path.name}: ran the rest; skipped " + ", ".join(skipped))
