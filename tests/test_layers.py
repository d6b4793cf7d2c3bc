"""The architecture holds: each module imports only from layers below it (DESIGN.md), the three
layer-3 packages never import each other, and the core needs neither NumPy nor SymPy."""

import ast
import pathlib
import subprocess
import sys

PKG = pathlib.Path(__file__).resolve().parent.parent / "symgrad"

LAYERS = {
    "errors": 0,
    "scalar": 0,
    "ops": 0,
    "spelling": 0,
    "ir": 1,
    "printing": 1,
    "display": 2,
    "expr": 2,
    "autodiff": 3,
    "passes": 3,
    "backends": 3,
    "api": 4,
    "tracing": 5,
    "transforms": 6,
    "dask": 4,
    "verification": 5,
    "nn": 6,
    "parse": 6,
    "demo": 6,
    "__init__": 7,
    "cli": 7,
    "__main__": 7,
}
SIBLINGS_APART = {"autodiff", "passes", "backends"}


def _unit(path: pathlib.Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: pathlib.Path) -> set[str]:
    """The symgrad units that ``path`` imports (relative or absolute)."""
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PKG)
    depth = len(rel.parts) - 1
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                up = node.level - 1
                base = list(rel.parts[:depth])[: max(0, depth - up)] if up <= depth else []
                parts = base + (node.module.split(".") if node.module else [])
                if not parts:  # from . import x  /  from .. import x
                    parts = [a.name for a in node.names]
                    found.update(p for p in parts if p in LAYERS)
                    continue
                found.add(parts[0])
            elif node.module and node.module.startswith("symgrad"):
                parts = node.module.split(".")
                found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("symgrad."):
                    found.add(a.name.split(".")[1])
    return found


def test_every_module_has_a_layer():
    for path in PKG.rglob("*.py"):
        assert _unit(path) in LAYERS, f"{path} has no layer in the table; add it"


def test_imports_go_downward_only():
    bad = []
    for path in PKG.rglob("*.py"):
        me = _unit(path)
        for dep in _imports(path):
            if dep == me or dep not in LAYERS:
                continue
            if LAYERS[dep] > LAYERS[me] or (
                LAYERS[dep] == LAYERS[me] and {me, dep} <= SIBLINGS_APART
            ):
                bad.append(f"{path.relative_to(PKG)} imports {dep}")
    assert not bad, bad


def test_core_needs_neither_numpy_nor_sympy():
    code = (
        "import sys\n"
        "sys.modules['numpy'] = None\n"
        "sys.modules['sympy'] = None\n"
        "import symgrad as sg\n"
        "x, y = sg.symbols('x y')\n"
        "f = sg.tanh(x * y) + sg.exp(x) / y\n"
        "fn = sg.compile([x, y], [f, sg.gradient(f, [x, y]), sg.hessian(f, [x, y])])\n"
        "print(fn(0.5, 2.0)[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) > 0
