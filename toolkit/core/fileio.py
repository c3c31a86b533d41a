"""Safe file names and atomic writes: a crash never leaves half a file, a name never escapes its folder.

Several files that belong together (a merge's outputs) are written as one set by output_set: into a
staging folder first, moved into place only when all are complete, under a lock that keeps a second
writer out of the folder.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import shutil
import signal
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from toolkit.core.errors import UserError

if os.name == "nt":
    import msvcrt
else:
    import fcntl

_RESERVED = {
    *("CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"),
    *(f"{port}{n}" for port in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")),
}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}  # controls, bidi overrides, zero-width and line separators
MAX_NAME_BYTES = 160  # UTF-8 bytes of the stem: room for a suffix and " (n)" within any file system's 255


def _cut(text: str, max_len: int) -> str:
    """At most `max_len` characters and MAX_NAME_BYTES bytes of UTF-8, never half a character."""
    return text[:max_len].encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore")


def safe_filename(name: str, suffix: str = "", max_len: int = 80) -> str:
    """A file name made from user text (an agency name) that stays inside its folder on any OS."""
    text = unicodedata.normalize("NFC", name)
    text = "".join("_" if unicodedata.category(ch) in _INVISIBLE else ch for ch in text)
    text = _UNSAFE.sub("_", text).strip().strip(".").strip()
    text = _cut(re.sub(r"_+", "_", text), max_len).rstrip(". ")
    if not text or set(text) <= {"_", "."}:
        text = "未命名"
    if text.split(".")[0].strip().upper() in _RESERVED:
        text = "_" + text
    return text + suffix


def unique_path(folder: Path, filename: str, taken: set[str]) -> Path:
    """`folder/filename`, with ` (2)`, ` (3)`… added when the name (case-insensitively) is taken."""
    stem, dot, ext = filename.rpartition(".") if "." in filename else (filename, "", "")
    candidate, n = filename, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    taken.add(candidate.casefold())
    return folder / candidate


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------- a full disk


DISK_FULL = {errno.ENOSPC, *([errno.EDQUOT] if hasattr(errno, "EDQUOT") else [])}


class DiskFullError(UserError, OSError):
    """No space left on the disk (or the quota is used up) while writing: one Chinese line naming the
    folder, like any UserError; still an OSError with the original errno for code that checks that."""

    def __init__(self, folder: str | Path, name: str, reason: str, code: int = errno.ENOSPC):
        super().__init__(f"{folder}：磁盘空间不足，无法写入 {name or '输出文件'}（{reason}）；请清理磁盘后重试")
        self.errno, self.folder, self.name, self.reason = code, Path(folder), name, reason

    def __reduce__(self):  # raised in a worker process, it travels back to the parent
        return type(self), (self.folder, self.name, self.reason, self.errno)


@contextmanager
def disk_full_named(folder: str | Path, name: str = "") -> Iterator[None]:
    """A full disk (ENOSPC, EDQUOT) in the block becomes DiskFullError naming `folder` and `name`
    (the name of an inner DiskFullError when none is given)."""
    try:
        yield
    except OSError as e:
        if e.errno not in DISK_FULL:
            raise
        inner = e if isinstance(e, DiskFullError) else None
        reason = inner.reason if inner else e.strerror or os.strerror(e.errno)
        raise DiskFullError(folder, name or (inner.name if inner else ""), reason, e.errno) from e


# ---------------------------------------------------------------- one file


@contextmanager
def atomic_output(path: str | Path, durable: bool = True) -> Iterator[BinaryIO]:
    """A file to write `path` through: a temporary file in the same folder, flushed to disk and
    renamed over the target only when the block ends without error. A failed or interrupted
    write leaves the target as it was and no temporary file behind; a full disk is a DiskFullError.
    `durable=False` skips the fsync, for files that may be lost in a power cut but never half-read
    (a cache entry that checks itself)."""
    path = Path(path)
    with disk_full_named(path.parent, path.name):
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                if durable:
                    os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private (0600); give it a normal file's mode
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def atomic_write_bytes(path: str | Path, data: bytes, durable: bool = True) -> None:
    with atomic_output(path, durable) as f:
        f.write(data)


# ---------------------------------------------------------------- one writer per folder

LOCK_NAME = ".toolkit-merge.lock"
_held: set[tuple[str, int]] = set()  # (folder, thread) holding a folder_lock: a nested one is a no-op


if os.name == "nt":

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


_BUSY = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, *([errno.EDEADLOCK] if hasattr(errno, "EDEADLOCK") else [])}


def _acquire(path: Path) -> int:
    """The lock file `path`, opened and locked. A holder removes the file before it unlocks, so a lock
    taken on a file no longer at `path` is a stale one: try again with the new file."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            _lock(fd)
        except OSError as e:
            os.close(fd)
            if e.errno in _BUSY:
                raise UserError(f"{path.parent}：另一个 toolkit merge 正在写入此文件夹，请等它完成后再运行") from None
            raise
        if _is_at(fd, path):
            return fd
        os.close(fd)


def _is_at(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _release(fd: int, path: Path) -> None:
    """Unlock and remove the lock file (POSIX: removed while still locked; Windows cannot remove an
    open file, and fails to when the next merge already has it open: then it is that merge's)."""
    if os.name != "nt":
        with suppress(OSError):
            path.unlink()
    with suppress(OSError):
        _unlock(fd)  # explicit: a forked worker may hold a copy of the descriptor
    os.close(fd)
    if os.name == "nt":
        with suppress(OSError):
            path.unlink()


@contextmanager
def folder_lock(folder: str | Path) -> Iterator[None]:
    """An exclusive, non-blocking lock on `folder` (flock, or msvcrt.locking on Windows, on the hidden
    file LOCK_NAME in it): a second holder, in this process or another, fails at once with a UserError.

    Nested use for the same folder in the same thread is a no-op, so a command can hold the lock for a
    whole run and the writer it calls takes it again. The lock goes with the process, even on kill -9
    (which leaves the lock file: harmless, the next run takes and removes it); a normal end removes it."""
    folder = Path(folder)
    key = (os.path.realpath(folder), threading.get_ident())
    if key in _held:
        yield
        return
    path = folder / LOCK_NAME
    fd = _acquire(path)
    _held.add(key)
    try:
        yield
    finally:
        _held.discard(key)
        _release(fd, path)


# ---------------------------------------------------------------- a set of files

STAGING_PREFIX = ".toolkit-staging-"


class OutputSet:
    """Files of one set, each written into a hidden staging folder inside the output folder (same file
    system) and moved into place together by commit()."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
        _hide(self.staging)
        self.names: list[str] = []
        self.written: list[Path] = []

    def stage(self, name: str) -> Path:
        """Where to write the set's file `name`. A name staged but left unwritten means the set has no
        such file: commit removes the output folder's (an earlier run's) one."""
        self.names.append(name)
        return self.staging / name

    def commit(self) -> list[Path]:
        """Move the staged files into place; the paths written, in the order staged.

        Not atomic as a set: one rename is atomic, several are not. The window is as small as it can be:
        every file is complete and flushed to disk before the first rename; the renames (and removals of
        files the set no longer has) follow one another with nothing in between; Ctrl-C or SIGTERM
        arriving meanwhile is acted on only after the last. A rename that fails (a file held open on
        Windows) undoes the ones before it, from hard links to the previous files made beforehand. Only
        a power cut or kill -9 inside those few system calls can leave new files beside old ones.
        """
        steps = [(self.staging / n if (self.staging / n).is_file() else None, self.folder / n) for n in self.names]
        kept = self._keep_previous([dst for _, dst in steps])
        done: list[Path] = []
        with _signals_deferred():
            try:
                for new, dst in steps:
                    _put(new, dst)
                    done.append(dst)
            except BaseException:
                _undo(done, kept)
                raise
        fsync_dir(self.folder)
        self.written = [dst for new, dst in steps if new is not None]
        return self.written

    def _keep_previous(self, targets: list[Path]) -> dict[Path, Path | None]:
        """A hard link in the staging folder to each file about to be replaced, to undo a commit that
        fails half-way (None: there is no such file, undoing removes the new one). A file that cannot
        be linked (FAT, a folder in the way) is missing from the answer: it cannot be undone."""
        kept: dict[Path, Path | None] = {}
        for i, target in enumerate(targets):
            link = self.staging / f".previous-{i}"
            try:
                os.link(target, link)
                kept[target] = link
            except FileNotFoundError:
                kept[target] = None
            except OSError:
                pass
        return kept


def _put(new: Path | None, target: Path) -> None:
    if new is None:
        target.unlink(missing_ok=True)
    else:
        os.replace(new, target)


def _undo(done: list[Path], kept: dict[Path, Path | None]) -> None:
    """Put back the previous files of the targets done so far (best effort: the commit is failing)."""
    for target in reversed(done):
        if target not in kept:
            continue
        with suppress(OSError):
            previous = kept[target]
            if previous is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(previous, target)


def _hide(path: Path) -> None:
    """Windows: mark `path` hidden (the leading dot hides it elsewhere)."""
    if os.name == "nt":
        import ctypes

        ctypes.windll.kernel32.SetFileAttributesW(str(path), 0x2)  # FILE_ATTRIBUTE_HIDDEN


def _remove_stale_staging(folder: Path) -> None:
    """Staging folders of runs that died unable to clean up (kill -9, power cut): whoever holds the
    folder's lock is its only writer, so any staging folder there is stale."""
    for path in folder.glob(STAGING_PREFIX + "*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def output_set(folder: str | Path) -> Iterator[OutputSet]:
    """Write files into `folder` as one set (see OutputSet): under folder_lock, staged, committed when the
    block ends without error. A failed or interrupted block leaves the folder's previous set whole and
    no staging folder or temporary file behind; a full disk is a DiskFullError naming `folder`."""
    folder = Path(folder)
    with disk_full_named(folder), folder_lock(folder):
        _remove_stale_staging(folder)
        outputs = OutputSet(folder)
        try:
            yield outputs
            outputs.commit()
        finally:
            shutil.rmtree(outputs.staging, ignore_errors=True)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM arriving in the block are handled (as they would have been) when it ends.
    Python runs signal handlers in the main thread only: elsewhere there is nothing to defer."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    signals = [getattr(signal, n) for n in ("SIGINT", "SIGTERM") if hasattr(signal, n)]
    previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum)) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if caught:
        _deliver(previous[caught[0]], caught[0])


def _deliver(handler, signum: int) -> None:
    """What the handler `handler` would have done with `signum`."""
    if callable(handler):
        handler(signum, None)
    elif handler != signal.SIG_IGN:  # SIG_DFL, or a handler installed outside Python
        signal.raise_signal(signum)


def fsync_dir(folder: Path) -> None:
    """Make the renames in `folder` durable (POSIX; Windows cannot open a folder for this)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        with suppress(OSError):  # some file systems refuse fsync on a folder
            os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- reading inputs


def is_lock_file(path: Path) -> bool:
    """Office's owner files (~$x.xlsx) and LibreOffice's lock files (.~lock.x.xlsx#)."""
    return path.name.startswith(("~$", ".~lock"))


def _is_workbook(path: Path) -> bool:
    """An .xlsx in a folder, whatever the case of its suffix (Windows writes .XLSX too)."""
    return path.suffix.lower() == ".xlsx" and path.is_file() and not is_lock_file(path)


def find_workbooks(paths: list[str | Path]) -> list[Path]:
    """Files as given (any type: the reader says what a wrong one is), plus every .xlsx below a folder.

    A missing path among others is kept as a file, so it gets its own fate (文件不存在) and the rest are
    still processed; only when nothing given exists is it FileNotFoundError. The order is stable (as
    given, folders sorted)."""
    given = list(map(Path, paths))
    missing = [p for p in given if not p.exists()]
    if missing and len(missing) == len(given):
        raise FileNotFoundError(2, "文件或文件夹不存在", str(missing[0]))
    found: list[Path] = []
    for p in given:
        found += sorted(f for f in p.rglob("*") if _is_workbook(f)) if p.is_dir() else [p]
    return list(dict.fromkeys(found))
