"""Every ``examples/*.py`` runs to completion (each example asserts its own results)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.py"))


def test_there_are_examples():
    names = {p.name for p in EXAMPLES}
    assert {"derivative.py", "hand_worked_graph.py", "neuron_layer_mlp.py", "training.py"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, tmp_path):
    # In a scratch directory, so that any plot an example writes lands there.
    # SYMGRAD_EXAMPLE_SMALL: examples that take a size (trust_region.py) run a smaller one.
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0", SYMGRAD_EXAMPLE_SMALL="1")
    proc = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"{path.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    assert proc.stdout.strip(), f"{path.name} printed nothing"


def test_tutorial_doc_snippets_run_and_print_what_they_claim(capsys):
    """docs/tutorial.md's ```python blocks, run in order in one namespace (our own text)."""
    doc = (pathlib.Path(__file__).parent.parent / "docs" / "tutorial.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert len(blocks) >= 7
    ns: dict = {}
    for block in blocks:
        exec(compile(block, "docs/tutorial.md", "exec"), ns)
    out = capsys.readouterr().out
    assert "Value(data=-8.0)" in out
    assert "a 6.0" in out and "b -4.0" in out and "f 4.0" in out
    assert "[25.0, -16.0]" in out
    eager = [float(m) for m in re.findall(r"Loss: Value\(data=([-\d.e]+)\)", out)]
    compiled = [float(m) for m in re.findall(r"Loss: ([-\d.e]+)\n", out)]
    assert len(eager) == len(compiled) == 5
    assert all(abs(a - b) <= 1e-9 * abs(a) for a, b in zip(eager, compiled))
    assert "g_b = _sech2(t0)" in ns["fn"].source  # the neuron's code shown in the doc
    assert "d/dw: ok" in out
