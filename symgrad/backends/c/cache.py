"""Build generated C into a shared library with the system's compiler, through a disk cache.

A library is named by a content hash of the source, the flags and the compiler's identity, so a
second compile of the same function (in this process or any other) loads the cached library and
never runs the compiler. Builds happen in a private temporary directory inside the cache and the
finished library is moved into place with ``os.replace``: two processes compiling the same
function at once each produce a complete file, and one atomically wins; a failed or interrupted
build leaves nothing under the final name. What is on disk is checked before it is used
(``store``: private directories, a SHA-256 record per library, lookup without a compiler).
"""

from __future__ import annotations

import _ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from . import store
from .abi import CACHE_FORMAT, flags_for, libs
from .store import CacheNotWritableError, UnsafeCacheError  # noqa: F401 (raised here)

_CANDIDATES = ("cc", "gcc", "clang")
_STDERR_LINES = 20


class CompilerNotFoundError(FileNotFoundError):
    """No C compiler could be found (``CC`` is unset or names no program, and no ``cc``,
    ``gcc`` or ``clang`` is on the PATH)."""


class CCompileError(RuntimeError):
    """The C compiler rejected the generated source or could not link it."""


_HINT = (
    "install a C compiler (e.g. `apt install gcc`, `xcode-select --install`), "
    "set CC to one, or use backend='python' or backend='numpy'"
)


def find_compiler() -> list[str]:
    """The compiler command: ``CC`` (it may carry flags, e.g. ``"gcc -m64"``), else the first
    of ``cc``, ``gcc``, ``clang`` on the PATH."""
    cc = os.environ.get("CC", "").strip()
    if cc:
        argv = shlex.split(cc)
        exe = shutil.which(argv[0])
        if exe is None:
            raise CompilerNotFoundError(
                f"CC={cc!r} names no program on this system; set CC to an installed C compiler, "
                f"or unset it to use cc/gcc/clang from the PATH; or {_HINT.split(', ', 2)[-1]}"
            )
        return [exe, *argv[1:]]
    for name in _CANDIDATES:
        exe = shutil.which(name)
        if exe:
            return [exe]
    raise CompilerNotFoundError(f"backend='c' needs a C compiler and none was found: {_HINT}")


def cache_dir() -> Path:
    """``SYMGRAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/symgrad``, else ``~/.cache/symgrad``."""
    env = os.environ.get("SYMGRAD_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "symgrad"


_ids: dict[tuple[str, ...], tuple[str, bool]] = {}


def compiler_id(cc: list[str]) -> tuple[str, bool]:
    """(identity text for the cache key, whether it is GCC); one ``--version`` per process."""
    key = tuple(cc)
    if key not in _ids:
        try:
            proc = subprocess.run(
                [*cc, "--version"], capture_output=True, text=True, timeout=60, check=False
            )
            full = (proc.stdout or proc.stderr).strip()
        except OSError as exc:
            msg = f"cannot run the C compiler {cc[0]!r} ({exc}): {_HINT}"
            raise CompilerNotFoundError(msg) from exc
        text = full.splitlines()[0] if full else ""
        low = full.lower()
        is_gcc = ("gcc" in low or "free software foundation" in low) and "clang" not in low
        real = os.path.realpath(cc[0])
        _ids[key] = (f"{' '.join(cc)}|{real}|{text}", is_gcc)
    return _ids[key]


def _cpu_id() -> str:
    """The CPU's feature flags (``-march=native`` code must not run on another CPU)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return hashlib.sha256(line.encode()).hexdigest()[:16]
    except OSError:
        pass
    return f"{platform.machine()}-{platform.processor()}"


def simd_supported(is_gcc: bool) -> bool:
    """Vectorize batch loops over glibc's libmvec: GCC on x86-64 Linux with glibc >= 2.35."""
    if not is_gcc or sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return False
    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()  # type: ignore[union-attr]
        major, minor = (int(x) for x in version.split(".")[:2])
    except (AttributeError, ValueError, OSError):
        return False
    return name == "glibc" and (major, minor) >= (2, 35)


def simd_possible() -> bool:
    """Whether ``build(..., simd=True)`` can make a vectorized library here (never raises)."""
    try:
        return simd_supported(compiler_id(find_compiler())[1])
    except (OSError, CompilerNotFoundError):
        return False


def _run_compiler(argv: list[str], cwd: str) -> subprocess.CompletedProcess:
    """Run the compiler (the one place symgrad does; tests count calls here)."""
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)


class _Job:
    """A build running in a background thread (``start``): its library's path once done, or
    None if it raised (the caller's own ``build`` then raises the error where it is seen)."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.path: str | None = None

    def run(self, key: tuple, source: str, n_lines: int, options: dict) -> None:
        try:
            self.path = _build(source, n_lines, **options)
        except Exception:  # build() repeats it in the caller's thread
            self.path = None
        finally:
            with _jobs_lock:
                _jobs.pop(key, None)
            self.done.set()


_jobs: dict[tuple, _Job] = {}
_jobs_lock = threading.Lock()


def _forget_jobs() -> None:
    global _jobs_lock
    _jobs.clear()  # a forked child has none of the parent's threads
    _jobs_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_jobs)


def _job_key(source: str, n_lines: int, options: dict) -> tuple:
    """What decides a build's result: the arguments, and the environment ``_build`` reads."""
    opts = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))
    env = (str(cache_dir()), os.environ.get("CC", ""), os.environ.get("PATH", ""))
    return (hashlib.sha256(source.encode()).digest(), n_lines, opts, env)


def start(source: str, n_lines: int, **options) -> None:
    """Begin ``build(source, n_lines, **options)`` in a background thread, so that the compiler
    runs beside the Python work left before the library is loaded; ``build`` with the same
    arguments then waits for it instead of compiling again. A generator calls this as soon as
    its source is known (the phased form: GCC ~0.3 s beside ~0.1 s of Python)."""
    key = _job_key(source, n_lines, options)
    with _jobs_lock:
        if key in _jobs:
            return
        job = _jobs[key] = _Job()
    threading.Thread(target=job.run, args=(key, source, n_lines, options), name="sg-cc").start()


def build(source: str, n_lines: int, **options) -> str | None:
    """``_build``'s library, taken from a background build of the same source (``start``)
    when one is running or just finished, after checking it again."""
    if _jobs:
        with _jobs_lock:
            job = _jobs.get(_job_key(source, n_lines, options))
        if job is not None:
            job.done.wait()
            if job.path is not None and store.verified(Path(job.path)):
                return job.path
    return _build(source, n_lines, **options)


def _build(
    source: str,
    n_lines: int,
    extra_flags: Sequence[str] = (),
    subdir: str = CACHE_FORMAT,
    compile_missing: bool = True,
    simd: bool | None = None,
    defines: Sequence[str] = (),
    opt: str | None = None,
) -> str | None:
    """The path of a shared library built from ``source``: from the cache, or compiled now.

    ``extra_flags`` follow the usual ones (and are hashed with them); ``subdir`` is the cache
    subdirectory (another one for libraries that are not generated functions, e.g. call.py's).
    ``defines``: ``-D`` flags (hashed too) that leave the vectorized build possible.
    ``opt``: the optimization level, where not the one ``abi.flags_for`` gives by size.
    ``simd``: None, vectorized over libmvec where ``simd_supported`` (else, or if that build
    fails, plain); False, plain only; True, vectorized only (None where that is not supported).
    A cached library is returned only when it matches its record (``store.verified``); with no
    compiler on this system, the library this source was last built into, if any. With
    ``compile_missing=False``, None instead of running the compiler (a cache lookup).
    """
    root = store.private_dir(cache_dir() / subdir)
    store.check_private(cache_dir())
    extra = " ".join([*extra_flags, *defines, *([opt] if opt else [])])
    plain = "\n".join([CACHE_FORMAT, _cpu_id(), str(n_lines), extra, source])
    source_key = hashlib.sha256(plain.encode()).hexdigest()[:32]
    try:
        cc = find_compiler()
    except CompilerNotFoundError:
        if simd:  # the alias names the last build, which may be the plain one
            return None
        found = store.recall(root, source_key)
        if found is None:
            raise
        return found
    ident, is_gcc = compiler_id(cc)
    vector = simd_supported(is_gcc) and not extra_flags
    if simd and not vector:
        return None
    failures = []
    for use_simd in [True] if simd else [True, False] if vector and simd is None else [False]:
        flags = flags_for(n_lines, use_simd, opt) + list(extra_flags) + list(defines)
        key = "\n".join([CACHE_FORMAT, ident, _cpu_id(), " ".join(flags), source])
        final = root / f"sg_{hashlib.sha256(key.encode()).hexdigest()[:32]}.so"
        for _ in range(3):  # a concurrent build may replace the file between install and check
            if store.verified(final):
                store.remember(root, source_key, final)
                return str(final)
            if not compile_missing:
                break
            failure = _compile(cc, flags, use_simd, source, root, final)
            if failure is not None:
                failures.append(failure)
                break
    if not compile_missing:
        return None
    raise _compile_error(cc, failures)


def _compile_error(cc: list[str], failures: list) -> CCompileError:
    argv, error = failures[-1] if failures else ([*cc], "the library kept failing its check")
    return CCompileError(
        f"the C compiler failed on symgrad's generated source:\n  $ {shlex.join(argv)}\n"
        f"{error}\n"
        f"Check that {cc[0]!r} works (or set CC to another compiler), or use backend='python'. "
        "A compiler error on valid input is a symgrad bug; please report it with fn.source."
    )


def _compile(cc, flags, use_simd, source, root: Path, final: Path):
    """Compile ``source`` in a private temporary directory and install it as ``final``; None,
    or (argv, the compiler's first lines of output) when it failed."""
    try:
        tmp = tempfile.mkdtemp(prefix=".build-", dir=root)
    except OSError as exc:
        raise CacheNotWritableError(
            f"the symgrad cache directory {str(root)!r} is not writable ({exc.strerror}); "
            "set SYMGRAD_CACHE_DIR to a writable directory (or fix its permissions)"
        ) from exc
    try:
        with open(os.path.join(tmp, "f.c"), "w", encoding="ascii") as fh:
            fh.write(source)
        out = os.path.join(tmp, "f.so")
        argv = [*cc, *flags, "f.c", "-o", "f.so", *libs(use_simd)]
        proc = _run_compiler(argv, tmp)
        if proc.returncode == 0 and os.path.exists(out):
            store.install(out, final)
            return None
        lines = (proc.stderr or proc.stdout or "").strip().splitlines()
        return argv, "\n".join(lines[:_STDERR_LINES])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def release(handle: int) -> None:
    """Unmap a library loaded by ``ctypes.CDLL`` (which never unloads)."""
    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if close is not None:
        close(handle)
