"""The C backend's package layout: no import cycle inside ``backends/c/``, modules of a
readable size, runtime files shipped as package data, and one spelling of the ABI."""

from __future__ import annotations

import ast
import fnmatch
import pathlib

import pytest

import symgrad.backends.c as c_backend

PKG = pathlib.Path(c_backend.__file__).parent
ROOT = PKG.parents[2]


def _local_imports(path: pathlib.Path) -> set[str]:
    """Modules of this subpackage that ``path`` imports (any form, any depth of the file)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
    return out


def test_no_import_cycle_inside_the_c_backend():
    graph = {p.stem: _local_imports(p) for p in PKG.glob("*.py")}
    state: dict[str, int] = {}
    for start in graph:  # iterative depth-first search for a back edge
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                continue
            assert state.get(nxt) != 1, f"import cycle through {node} -> {nxt}"
            if nxt in graph and not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))


def test_modules_stay_small():
    for p in PKG.glob("*.py"):
        n = p.read_text().count("\n")
        assert n <= 400, f"{p.name} has {n} lines"


def test_runtime_files_are_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = cfg["tool"]["setuptools"]["package-data"]["symgrad.backends.c"]
    files = [p.relative_to(PKG).as_posix() for p in (PKG / "runtime").iterdir()]
    assert files
    for f in files:
        assert any(fnmatch.fnmatch(f, g) for g in globs), f"runtime/{f} is not shipped"


def test_one_spelling_of_the_signature():
    """``sg_f``'s parameter list is written by abi.py only."""
    for p in PKG.glob("*.py"):
        if p.name != "abi.py":
            text = p.read_text()
            assert "long long sg_s{i}" not in text and "c_longlong] * " not in text, p.name
