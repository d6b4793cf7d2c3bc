"""The C library cache is not trusted blindly: a damaged or planted library is rebuilt, never
loaded; the cache is private whatever the umask; folders others own or can write are refused;
a warm cache loads with no compiler on PATH. Each scenario runs in fresh interpreters (a bad
library would kill the process that loads it)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest
from helpers import needs_cc

import symgrad as sg
from symgrad.backends.c import cache, store

pytestmark = [needs_cc, pytest.mark.usefixtures("c_cache")]

# Three forms through the cache: a generated library, the tape interpreter's library, and the
# call entry extension.
SCRIPT = textwrap.dedent(
    """
    import math, os, sys
    os.umask(int(sys.argv[1], 8))
    import symgrad as sg
    from symgrad.backends.c import abi
    x, y = sg.symbols("x y")
    f = sg.compile([x, y], [x * y + sg.sin(x)], backend="c")
    abi.VM_MIN_OPS = 1
    g = sg.compile([x, y], [x - 2.5 * y], backend="c")
    a, b = f(2.0, 3.0)[0], g(2.0, 3.0)[0]
    assert abs(a - (6 + math.sin(2.0))) < 1e-12 and abs(b + 5.5) < 1e-12, (a, b)
    print("ok")
    """
)


def run(cache_dir, umask: str = "022", path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYMGRAD_CACHE_DIR": str(cache_dir)}
    if path is not None:
        env["PATH"] = path
        env.pop("CC", None)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, umask],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def libraries(cache_dir) -> list:
    return sorted(p for p in cache_dir.rglob("sg_*.so"))


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A cache filled by a process running under umask 000."""
    d = tmp_path_factory.mktemp("trust") / "cache"
    proc = run(d, umask="000")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    return d


def test_cache_is_private_whatever_the_umask(warm):
    libs = libraries(warm)
    assert len(libs) >= 3  # the function, the interpreter, the call entry
    for p in [warm, *warm.rglob("*")]:
        mode = stat.S_IMODE(os.stat(p).st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))


def test_warm_cache_loads_without_a_compiler(warm):
    proc = run(warm, path="")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@pytest.mark.parametrize("damage", ["truncate", "zero"])
def test_damaged_libraries_are_rebuilt_not_loaded(warm, tmp_path, damage):
    d = tmp_path / "cache"
    subprocess.run(["cp", "-a", str(warm), str(d)], check=True)
    libs = libraries(d)
    before = {p: p.read_bytes() for p in libs}
    for p in libs:  # every library at once: the function's, the interpreter's, the entry's
        n = len(before[p])
        p.write_bytes(before[p][: n // 3] if damage == "truncate" else bytes(n))
    proc = run(d)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    for p in libs:
        assert store.verified(p) and len(p.read_bytes()) == len(before[p])  # rebuilt whole


def test_planted_library_is_never_loaded(warm, tmp_path):
    """A library put in place of a cached one (with a forged record, or none) is rebuilt; its
    constructor never runs."""
    d = tmp_path / "cache"
    subprocess.run(["cp", "-a", str(warm), str(d)], check=True)
    marker = tmp_path / "constructor-ran"
    evil = tmp_path / "evil.c"
    evil.write_text(
        "#include <stdio.h>\n"
        "__attribute__((constructor)) static void planted(void)\n"
        f'{{ FILE *f = fopen("{marker}", "w"); if (f) fclose(f); }}\n'
        "int sg_f(void) { return 0; }\n"
    )
    built = tmp_path / "evil.so"
    subprocess.run([*cache.find_compiler(), "-shared", "-fPIC", str(evil), "-o", str(built)])
    for i, p in enumerate(libraries(d)):
        p.write_bytes(built.read_bytes())
        record = p.with_suffix(".sha256")
        if i % 2:
            record.unlink()
        else:  # a record that does not match what is there
            record.write_text('{"sha256": "00", "size": %d}' % built.stat().st_size)
    run(d, path="")  # with no compiler to rebuild them: an error, but nothing planted runs
    assert not marker.exists()
    proc = run(d)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    assert not marker.exists()


def test_cache_writable_by_others_is_refused(monkeypatch, tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    d.chmod(0o777)
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(d))
    x = sg.Symbol("x")
    with pytest.raises(PermissionError, match="chmod 700") as info:
        sg.compile([x], [x * 7.25], backend="c")
    assert isinstance(info.value, store.UnsafeCacheError)
    assert "SYMGRAD_CACHE_DIR" in str(info.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_cache_owned_by_another_user_is_refused(monkeypatch, tmp_path):
    d = tmp_path / "theirs"
    d.mkdir(mode=0o700)
    os.chown(d, 65534, 65534)
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(d))
    x = sg.Symbol("x")
    with pytest.raises(store.UnsafeCacheError, match="belongs to user id 65534"):
        sg.compile([x], [x * 7.5], backend="c")
