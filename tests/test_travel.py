"""Compiled functions that travel: pickling by source, process pools, and saved modules that
run in a fresh interpreter without symgrad."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgrad as sg


def _model(backend: str, reduce: str | None = None):
    w, b, x, y = sg.symbols("w b x y")
    loss = (sg.tanh(w * x + b) - y) ** 2
    kw = {"reduce": reduce} if reduce else {}
    return sg.compile([[w, b], x, y], [loss, sg.gradient(loss, [w, b])], backend=backend, **kw)


def _call(fn, args):  # module level, so process pools can pickle it
    return fn(*args)


ARGS = [([0.3, -0.1], 0.5, 1.0), ([1.2, 0.4], -2.0, 0.25), ([-0.7, 0.0], 3.0, -1.0)]


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_pickle_is_by_source_and_round_trips(backend):
    fn = _model(backend, "sum" if backend == "numpy" else None)
    blob = pickle.dumps(fn)
    assert b"def f(" in blob  # the generated module travels, not a code object
    back = pickle.loads(blob)
    assert back.source == fn.source and back.backend == fn.backend and back.reduce == fn.reduce
    for args in ARGS:
        assert repr(back(*args)) == repr(fn(*args))


def test_process_pool_executor_gives_the_parents_results():
    fn = _model("python")
    expected = [fn(*a) for a in ARGS]
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(_call, [fn] * len(ARGS), ARGS))
    assert got == expected


def test_spawned_worker_rebuilds_from_source():
    """A spawned process shares no memory with the parent: only the pickled source crosses."""
    fn = _model("numpy", "sum")
    X, Y = np.linspace(-1, 1, 11), np.linspace(0, 2, 11)
    expected = fn([0.3, -0.1], X, Y)
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        got = pool.submit(_call, fn, ([0.3, -0.1], X, Y)).result()
    assert repr(got) == repr(expected)


def test_multiprocessing_pool():
    fn = _model("python")
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.starmap(_call, [(fn, a) for a in ARGS])
    assert got == [fn(*a) for a in ARGS]


def _run_isolated(code: str, cwd, isolated_site: bool) -> str:
    """Run ``code`` in a fresh interpreter where ``import symgrad`` cannot succeed."""
    flags = ["-I", "-S"] if isolated_site else ["-I"]
    guard = "import sys\nsys.modules['symgrad'] = None  # any import of symgrad now fails\n"
    out = subprocess.run(
        [sys.executable, *flags, "-c", guard + textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_saved_python_module_runs_with_the_standard_library_alone(tmp_path):
    fn = _model("python")
    path = tmp_path / "loss_grad.py"
    fn.save(str(path))
    code = f"""
        import importlib.util
        spec = importlib.util.spec_from_file_location("loss_grad", {str(path)!r})
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(repr(mod.f([0.3, -0.1], 0.5, 1.0)))
        print(sorted(m for m, v in sys.modules.items() if v and m.startswith(("symgrad", "numpy"))))
    """
    # -S: no site-packages at all, so neither symgrad nor NumPy could be found.
    lines = _run_isolated(code, tmp_path, isolated_site=True).splitlines()
    assert lines[0] == repr(fn(*ARGS[0]))
    assert lines[1] == "[]"


def test_saved_numpy_module_runs_without_symgrad(tmp_path):
    fn = _model("numpy", "sum")
    path = tmp_path / "batched.py"
    fn.save(str(path))
    X, Y = np.linspace(-1, 1, 7), np.linspace(0, 2, 7)
    code = f"""
        import importlib.util
        import numpy as np
        spec = importlib.util.spec_from_file_location("batched", {str(path)!r})
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        value, grad = mod.f([0.3, -0.1], np.linspace(-1, 1, 7), np.linspace(0, 2, 7))
        print(repr([float(value), [float(g) for g in grad]]))
        print([m for m, v in sys.modules.items() if v and m.startswith("symgrad")])
    """
    lines = _run_isolated(code, tmp_path, isolated_site=False).splitlines()
    value, grad = fn([0.3, -0.1], X, Y)
    assert lines[0] == repr([float(value), [float(g) for g in grad]])
    assert lines[1] == "[]"


def test_a_label_never_reaches_the_saved_module(tmp_path):
    hostile = sg.Symbol('x"""\nopen("pwned", "w")\n"""')
    fn = sg.compile([hostile], hostile * 2.0)
    path = tmp_path / "m.py"
    fn.save(str(path))
    code = f"""
        import runpy
        print(runpy.run_path({str(path)!r})["f"](4.0))
    """
    assert _run_isolated(code, tmp_path, isolated_site=True).strip() == "8.0"
    assert not (tmp_path / "pwned").exists()
