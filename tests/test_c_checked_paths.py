"""Every way into compiled C checks what ``sg_f`` relies on: the argument count, each
buffer's size, float64 data. A missing argument, a short buffer, float32/int64 memory give a
TypeError/ValueError (or, where ``fn(...)`` converts, the converted values), never a crash
or a read past the end. Run in fresh interpreters, so a crash fails the test instead of
killing the run (issue 10 item 9)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from helpers import needs_cc

import symgrad as sg

pytestmark = [needs_cc, pytest.mark.usefixtures("c_cache")]

EXPECT = textwrap.dedent(
    """
    import numpy as np

    def expect(kind, call):
        try:
            call()
        except kind as exc:
            return str(exc)
        raise AssertionError(f"no {kind.__name__}")
    """
)


def run(script: str, *argv: str, env: dict | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", EXPECT + textwrap.dedent(script), *argv],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_saved_loader_checks_its_arguments(tmp_path):
    p, x = list(sg.symbols("p0:3")), sg.Symbol("x")
    fc = sg.compile([p, x], [p[0] * x + p[1] * p[2]], backend="c")
    fc.save(str(tmp_path / "out"))
    out = run(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import f
        good = f.f(np.array([1.0, 2.0, 3.0]), 2.0)[0]
        assert good == 8.0, good
        print(expect(TypeError, lambda: f.f(np.array([1.0, 2.0, 3.0]))))
        print(expect(ValueError, lambda: f.f(np.array([1.0, 2.0]), 2.0)))
        print(expect(ValueError, lambda: f.f(np.zeros((5, 2)), np.zeros(5))))
        print(expect(TypeError, lambda: f.f(["1", "2", "3"], 2.0)))
        print(expect(TypeError, lambda: f.f(np.array([1.0, 2.0, 3.0]), None)))
        # float32 and int64 memory is converted, never read as doubles
        assert f.f(np.array([1.0, 2.0, 3.0], dtype=np.float32), np.float32(2.0))[0] == 8.0
        assert f.f(np.array([1, 2, 3], dtype=np.int64), np.int64(2))[0] == 8.0
        print("ok")
        """,
        str(tmp_path / "out"),
    )
    lines = out.splitlines()
    assert lines[-1] == "ok"
    assert "takes 2 argument(s), got 1" in lines[0]
    assert "holding 3 value(s)" in lines[1] and "(2,)" in lines[1]


LOADED = """
    import symgrad as sg
    from symgrad.backends.c import abi, load
    if sys.argv[1] == "vm":
        abi.VM_MIN_OPS = 1
    p, x = list(sg.symbols("p0:3")), sg.Symbol("x")
    fc = sg.compile([p, x], [p[0] * x + p[1] * p[2]], backend="c")
    nf = load(fc.source)  # the loaded function underneath fn(...)
    assert nf.on_vm == (sys.argv[1] == "vm")
    P = np.array([1.0, 2.0, 3.0])
    assert nf.flat(P, np.array(2.0)).tolist() == [8.0]
    assert nf(P, np.array([2.0, 0.0]))[0].tolist() == [8.0, 6.0]
    print(expect(TypeError, lambda: nf.flat(P)))
    print(expect(ValueError, lambda: nf.flat(P[:2], np.array(2.0))))
    print(expect(ValueError, lambda: nf(np.zeros((4, 2)), np.zeros(4))))
    print(expect(TypeError, lambda: nf.flat(P.astype(np.float32), np.array(2.0))))
    print(expect(TypeError, lambda: nf.flat(P.astype(np.int64), np.array(2.0))))
    print(expect(TypeError, lambda: nf.flat(P, 2.0 + 0j)))
    # shapes seen before (the cached call plan) are checked as well
    for _ in range(2):
        nf.flat(P, np.array(2.0))
        expect(TypeError, lambda: nf.flat(P.astype(np.float32), np.array(2.0, np.float32)))
    print("ok")
"""


@pytest.mark.parametrize("form", ["entry", "ctypes", "vm"])
def test_loaded_function_checks_its_arguments(form):
    env = {"SYMGRAD_C_CALL": "ctypes"} if form == "ctypes" else {}
    out = run("import sys\n" + textwrap.dedent(LOADED), form, env=env)
    lines = out.splitlines()
    assert lines[-1] == "ok"
    assert "takes 2 argument(s), got 1" in lines[0]
    assert "float64" in lines[3] and "float32" in lines[3] and "int64" in lines[4]
