"""The C backend's call entry (``backends/c/call.py``): the fast path gives exactly what the
general (ctypes) path gives, for every kind of argument it takes or hands back, and arguments
it does not take still meet the general path's checks and clear errors."""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from helpers import needs_cc

import symgrad as sg
from symgrad.backends.c import call as ccall

pytestmark = [needs_cc, pytest.mark.usefixtures("c_cache")]


@pytest.fixture
def entry():
    mod = ccall.module()
    if mod is None:
        pytest.skip(f"no call entry here ({ccall._error}); the ctypes path is tested elsewhere")
    return mod


def both(inputs, outputs, **kw):
    """(fn with the call entry, the same function on the ctypes path only)."""
    fast = sg.compile(inputs, outputs, backend="c", **kw)
    saved = ccall._module
    ccall._module = False  # as where the entry cannot be built
    try:
        slow = sg.compile(inputs, outputs, backend="c", **kw)
    finally:
        ccall._module = saved
    assert slow._c_fast is None and slow._fn._ext is None
    return fast, slow


def same(a, b) -> None:
    """Same structure, same types, same values (bit for bit: the same C code ran)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b or (math.isnan(a) and math.isnan(b))


def _fns(**kw):
    x, y = sg.symbols("x y")
    w = list(sg.symbols("w0:3"))
    m = [list(sg.symbols("m0:2")), list(sg.symbols("n0:2"))]
    f = sg.tanh(w[0] * x + w[1] * y + w[2]) + m[0][1] * x - m[1][0] * y
    grad = sg.gradient(f, w)
    outputs = (f, [grad[0], grad[1]], np.array(grad, dtype=object), x * y)
    return both([x, y, w, m], outputs, **kw)


ARGS = {
    "floats": (0.5, -1.25, np.array([0.1, 0.2, 0.3]), np.ones((2, 2))),
    "ints and np.float64": (2, np.float64(-1.5), np.array([0.1, 0.2, 0.3]), np.eye(2)),
    "0-d arrays": (np.array(0.5), np.array(2.0), np.array([1.0, -2.0, 0.5]), np.eye(2)),
    "read-only": (
        np.arange(4.0).reshape(4),
        np.linspace(0, 1, 4),
        np.array([0.1, 0.2, 0.3]),
        np.eye(2),
    ),
    "batched": (
        np.arange(6.0).reshape(2, 3),
        np.ones((2, 3)),
        np.array([1.0, 2.0, 3.0]),
        np.eye(2),
    ),
    "batched list argument": (0.5, 0.25, np.arange(12.0).reshape(4, 3), np.eye(2)),
    "non-contiguous": (np.arange(8.0)[::2], np.arange(4.0), np.arange(6.0)[::2], np.eye(2)),
    "broadcast view": (np.broadcast_to(0.5, (3,)), np.arange(3.0), np.ones(3), np.eye(2)),
    "partial broadcast": (np.ones((3, 1)), np.arange(4.0).reshape(1, 4), np.ones(3), np.eye(2)),
    "size-1 batch against a batch": (np.ones(1), np.arange(4.0), np.ones(3), np.eye(2)),
    "float32": (np.float32(0.5), np.arange(3, dtype=np.float32), np.ones(3), np.eye(2)),
    "big-endian": (0.5, np.arange(3.0).astype(">f8"), np.ones(3), np.eye(2)),
    "lists": (0.5, 1.5, [0.1, 0.2, 0.3], [[1.0, 2.0], [3.0, 4.0]]),
    "bool": (True, 1.5, np.ones(3), np.eye(2)),
    "empty batch": (np.ones(0), np.ones(0), np.ones(3), np.eye(2)),
    "nan and inf": (math.nan, math.inf, np.array([1.0, -math.inf, 0.0]), np.eye(2)),
}
ARGS["read-only"][0].flags.writeable = False
ARGS["read-only"][2].flags.writeable = False


@pytest.mark.parametrize("reduce", [None, "sum"])
@pytest.mark.parametrize("case", sorted(ARGS))
def test_fast_and_general_paths_agree(entry, case, reduce):
    fast, slow = _fns(reduce=reduce)
    args = ARGS[case]
    same(fast(*args), slow(*args))
    arrays = [np.asarray(a, dtype=np.float64) for a in args]  # flat() takes float64 only
    same(fast._fn.flat(*arrays), slow._fn.flat(*arrays))


def test_the_fast_path_takes_the_common_calls_and_declines_the_rest(entry):
    fast, _ = _fns()
    call = fast._c_fast
    for case in ("floats", "ints and np.float64", "0-d arrays", "read-only", "batched"):
        assert call(ARGS[case]) is not None, case
    for case in ("non-contiguous", "broadcast view", "partial broadcast", "float32", "lists"):
        assert call(ARGS[case]) is None, case
    assert call(ARGS["floats"][:3]) is None  # wrong count: the general path's TypeError
    assert call((0.5, 1.0, np.ones(4), np.eye(2))) is None  # wrong length
    assert call((0.5, 1.0, np.ones(3), np.ones(4))) is None  # right size, wrong shape
    assert call((10**400, 1.0, np.ones(3), np.eye(2))) is None  # no double holds it


def test_outputs_keep_their_structure_and_types(entry):
    fast, _ = _fns()
    f, pair, grad, xy = fast(*ARGS["floats"])
    assert type(f) is float and type(pair) is list and type(pair[0]) is float
    assert isinstance(grad, np.ndarray) and grad.shape == (3,) and type(xy) is float
    f, pair, grad, xy = fast(*ARGS["batched"])
    assert f.shape == (2, 3) and pair[0].shape == (2, 3) and grad.shape == (2, 3, 3)
    x, y = sg.symbols("x y")
    fast, slow = both([x, y], [x * y, (x + y, x - y)])  # no arrays: floats straight from C
    same(fast(2.0, 3.0), [6.0, (5.0, -1.0)])
    same(fast(np.ones(2), np.arange(2.0)), slow(np.ones(2), np.arange(2.0)))
    fast, slow = both([x, y], x / y)  # a bare expression
    same(fast(1.0, 4.0), 0.25)
    same(fast(np.ones(3), np.arange(1.0, 4.0)), slow(np.ones(3), np.arange(1.0, 4.0)))


def test_errors_stay_clear(entry):
    fast, _ = _fns()
    with pytest.raises(TypeError, match="takes 4 argument"):
        fast(0.5, 1.0, np.ones(3))
    with pytest.raises(ValueError, match=r"argument 'w' \(position 3\).*shape \(3,\)"):
        fast(0.5, 1.0, np.ones(4), np.eye(2))
    with pytest.raises(ValueError, match=r"position 4.*\(2, 2\)"):
        fast(0.5, 1.0, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"position 3"):
        fast(0.5, 1.0, np.array(1.0), np.eye(2))  # a 0-d array for a list argument
    with pytest.raises(TypeError, match=r"argument 'x' \(position 1\)"):
        fast("a", 1.0, np.ones(3), np.eye(2))
    with pytest.raises(ValueError):
        fast(np.ones(2), np.ones(3), np.ones(3), np.eye(2))  # batches that do not broadcast


def test_a_large_batch_releases_the_gil_and_agrees(entry):
    x, w = sg.Symbol("x"), list(sg.symbols("w0:2"))
    fast, slow = both([x, w], [sg.tanh(w[0] * x + w[1]), sg.exp(-x * x)], reduce="sum")
    xs = np.linspace(-1, 1, 50_000)
    assert 50_000 * fast._fn._lines >= ccall.GIL_WORK
    same(fast(xs, np.array([0.3, -0.1])), slow(xs, np.array([0.3, -0.1])))


def test_many_arguments_use_ctypes_and_pickling_keeps_the_entry(entry):
    xs = list(sg.symbols(f"a0:{ccall.MAX_ARGS + 1}"))
    many = sg.compile(xs, [sum(xs[1:], xs[0])], backend="c")
    assert many._c_fast is None
    assert many(*[1.5] * len(xs)) == [1.5 * len(xs)]
    fast, _ = _fns()
    back = pickle.loads(pickle.dumps(fast))
    assert back._c_fast is not None
    same(back(*ARGS["batched"]), fast(*ARGS["batched"]))


def test_no_entry_means_ctypes(monkeypatch):
    monkeypatch.setattr(ccall, "_module", None)
    monkeypatch.setenv("SYMGRAD_C_CALL", "ctypes")
    assert ccall.module() is None and "SYMGRAD_C_CALL" in ccall._error
    x = sg.Symbol("x")
    fn = sg.compile([x], [x * 2.5], backend="c")
    assert fn._c_fast is None and fn(2.0) == [5.0]


_COLD = """
import threading
import numpy as np
import symgrad as sg
from symgrad.backends.c import cache, call

gate = threading.Event()  # holds the call entry's build until the function has been called
real = cache._run_compiler

def gated(argv, cwd):
    if call.SUBDIR in cwd:
        gate.wait()
    return real(argv, cwd)

cache._run_compiler = gated
x, w = sg.Symbol("x"), list(sg.symbols("w0:2"))
fn = sg.compile([x, w], [sg.tanh(w[0] * x + w[1]), x * w[0]], backend="c", reduce=REDUCE)
assert fn._fn._ext is None and fn._fn._pending and not call.ready()  # not waited for
args = (np.linspace(-1.0, 1.0, 7), np.array([0.3, -0.1]))
before = [fn(*args), fn(0.5, [0.25, 2.0])]  # through ctypes
gate.set()
if JOIN:
    call._builder.join()
    after = [fn(*args), fn(0.5, [0.25, 2.0])]  # the first of these takes the entry up
    assert fn._fn._ext is not None and fn._c_fast(args) is not None
    for b, a in zip(before, after):
        assert repr(b) == repr(a), (b, a)
print("ok")
"""


@pytest.mark.parametrize("join", [True, False])
def test_a_cold_cache_never_waits_for_the_call_entry(tmp_path, join):
    """The first function on a cold cache is not held up by the call entry's compile: it calls
    through ctypes, takes the entry up once it is loaded (same values), and a process that
    exits meanwhile lets the build finish (a complete, recorded library; no debris)."""
    script = _COLD.replace("REDUCE", repr(None if join else "sum")).replace("JOIN", str(join))
    env = {**os.environ, "SYMGRAD_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    ext = tmp_path / "cache" / ccall.SUBDIR
    names = sorted(os.listdir(ext))
    assert [n.rsplit(".", 1)[1] for n in names] == ["sha256", "so", "json"], names
