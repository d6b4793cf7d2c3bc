"""The library cache on disk, trusted only as far as it can be checked.

Loading a shared library runs its constructors, and a damaged one can kill the process inside
``dlopen``; so, as pip, ssh and Python's own bytecode cache do, nothing here is trusted
blindly:

- **Private**: directories are created 0700 and files 0600 whatever the umask, and a cache
  directory that another user owns, or that group or others can write, is refused with
  ``UnsafeCacheError`` (not repaired: a library planted there could already be waiting).
- **Recorded**: once a library is in place, a record ``sg_<key>.sha256`` (its SHA-256 and
  size) is written beside it, atomically. A library is used only when it matches its record
  and is owned by this user; a truncated, zeroed or altered one (or one without a record) is
  rebuilt, never loaded.
- **Found without a compiler**: each build also records which library a source was last built
  into (``src_<key>.json``, keyed without the compiler's identity), so a warm cache loads with
  no compiler on ``PATH``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path


class CacheNotWritableError(PermissionError):
    """The library cache directory cannot be created or written."""


class UnsafeCacheError(CacheNotWritableError):
    """The cache directory is owned by another user or writable by group or others."""


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None  # None: not POSIX, no check


def private_dir(path: Path) -> Path:
    """``path`` as a directory private to this user: created 0700 (with its parents) when it
    is missing, refused when someone else owns it or could write into it."""
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
            os.chmod(d, 0o700)  # the umask may have taken bits away (or left them)
        except FileExistsError:
            pass
        except OSError as exc:
            raise CacheNotWritableError(
                f"the symgrad cache directory {str(d)!r} cannot be created ({exc.strerror}); "
                "set SYMGRAD_CACHE_DIR to a writable directory (or fix its permissions)"
            ) from exc
    check_private(path)
    return path


def check_private(d: Path) -> None:
    """Raise ``UnsafeCacheError`` unless ``d`` is a directory of this user's that nobody else
    can write."""
    uid = _uid()
    if uid is None:
        return
    st = os.stat(d)
    where = f"the symgrad cache directory {str(d)!r}"
    if not stat.S_ISDIR(st.st_mode):
        raise CacheNotWritableError(f"{where} is not a directory; set SYMGRAD_CACHE_DIR")
    if st.st_uid != uid:
        raise UnsafeCacheError(
            f"{where} belongs to user id {st.st_uid}, not to you (user id {uid}): libraries "
            "loaded from it could run another user's code. Set SYMGRAD_CACHE_DIR to a "
            "directory of your own."
        )
    if st.st_mode & 0o022:
        raise UnsafeCacheError(
            f"{where} is writable by group or others (mode {oct(st.st_mode & 0o777)}): a "
            "library planted there would run in this process. Make it private "
            f"(chmod 700 {str(d)!r}; delete it if you do not trust its contents) or set "
            "SYMGRAD_CACHE_DIR to a private directory."
        )


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600: a reader sees the old file or the
    whole new one."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _record_path(lib: Path) -> Path:
    return lib.with_suffix(".sha256")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def install(built: str, lib: Path) -> None:
    """Move the freshly built library ``built`` to ``lib`` (0600), then record it."""
    os.chmod(built, 0o600)
    size = os.stat(built).st_size
    digest = _digest(Path(built))
    os.replace(built, lib)  # atomic: readers see no file or a whole one
    record = {"sha256": digest, "size": size}
    write_private(_record_path(lib), json.dumps(record).encode())


def verified(lib: Path) -> bool:
    """Whether ``lib`` is this user's and matches the record written when it was built."""
    try:
        with open(_record_path(lib), "rb") as fh:
            record = json.loads(fh.read())
        st = os.stat(lib)
    except (OSError, ValueError):
        return False
    uid = _uid()
    if not isinstance(record, dict) or st.st_size != record.get("size"):
        return False
    if uid is not None and (st.st_uid != uid or st.st_mode & 0o022):
        return False
    try:
        return _digest(lib) == record.get("sha256")
    except OSError:
        return False


def remember(root: Path, source_key: str, lib: Path) -> None:
    """Note that the source ``source_key`` was last built into ``lib`` (for ``recall``)."""
    alias = root / f"src_{source_key}.json"
    try:
        with open(alias, "rb") as fh:
            if json.loads(fh.read()).get("lib") == lib.name:
                return
    except (OSError, ValueError, AttributeError):
        pass
    write_private(alias, json.dumps({"lib": lib.name}).encode())


def recall(root: Path, source_key: str) -> str | None:
    """The verified library ``source_key`` was last built into, or None."""
    try:
        with open(root / f"src_{source_key}.json", "rb") as fh:
            name = json.loads(fh.read())["lib"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or "/" in name or not name.startswith("sg_"):
        return None
    lib = root / name
    return str(lib) if verified(lib) else None
