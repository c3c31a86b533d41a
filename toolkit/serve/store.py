"""The file store: every uploaded file kept unchanged under its sha256, written to a temporary file,
fsynced and renamed into place before anyone is told it was received. Files are never removed."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from toolkit.core.errors import UserError, os_reason
from toolkit.core.fileio import DISK_FULL, fsync_dir

_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}


class TooLarge(Exception):
    """The upload passed the size limit while it was streaming in."""


class StoreError(UserError):
    """The data folder cannot take the file; the message says so in Chinese, nothing was kept half-written."""

    def __init__(self, message: str, http_status: int):
        super().__init__(message)
        self.http_status = http_status


def store_error(e: OSError) -> StoreError:
    if e.errno in DISK_FULL:
        return StoreError("服务器磁盘空间不足，文件未能保存（已有的文件不受影响）；请稍后重试，或联系管理员清理磁盘", 507)
    if e.errno in _NOT_WRITABLE:
        return StoreError("服务器的数据文件夹不可写，文件未能保存（已有的文件不受影响）；请联系管理员", 503)
    return StoreError(f"服务器无法保存文件（{os_reason(e)}）；请稍后重试", 503)


class Incoming:
    """One file arriving in chunks: hashed and written to a temporary file in the store's tmp folder."""

    def __init__(self, store: FileStore, limit: int):
        self.store, self.limit = store, limit
        self.size = 0
        self._hash = hashlib.sha256()
        try:
            fd, name = tempfile.mkstemp(prefix=f"upload-{os.getpid()}-", suffix=".part", dir=store.tmp)
        except OSError as e:
            raise store_error(e) from None
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge
        self._hash.update(chunk)
        try:
            self._file.write(chunk)
        except OSError as e:
            self.discard()
            raise store_error(e) from None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def discard(self) -> None:
        with suppress(OSError):
            self._file.close()
        self.path.unlink(missing_ok=True)

    def commit(self) -> tuple[str, bool]:
        """(sha256, whether the store already had this file). The file is durable when this returns."""
        sha = self.sha256
        try:
            target = self.store.path(sha)
            if target.exists():  # an identical file is already durable: no fsync for this copy
                self._file.close()
                self.path.unlink()
                return sha, True
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            target.parent.mkdir(exist_ok=True)
            os.chmod(self.path, 0o444)  # kept unchanged: read-only from now on
            os.replace(self.path, target)
            fsync_dir(target.parent)
        except OSError as e:
            self.discard()
            raise store_error(e) from None
        return sha, False


class FileStore:
    """DATA/files/ab/abcdef….xlsx by content; DATA/files/.incoming for files still arriving (the same file
    system, so the rename is atomic even when files/ is a mount of its own); DATA/derived for copies we make."""

    def __init__(self, root: Path):
        self.files, self.derived = root / "files", root / "derived"
        self.tmp = self.files / ".incoming"
        for folder in (self.files, self.tmp, self.derived):
            folder.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        return self.files / sha[:2] / f"{sha}.xlsx"

    def incoming(self, limit: int) -> Incoming:
        return Incoming(self, limit)

    def remove_partial(self, stale_after: float = 3600) -> int:
        """Temporary files left by a process that died mid-upload (kill -9): never answered with 201, not kept.
        A file is left alone while the process that writes it (its pid is in the name) is alive on this machine;
        on a shared store another machine's file goes only when it is old."""
        n = 0
        limit = time.time() - stale_after
        for part in self.tmp.glob("upload-*.part"):
            with suppress(FileNotFoundError):
                if not _writer_alive(part) or part.stat().st_mtime <= limit:
                    part.unlink()
                    n += 1
        return n


def _writer_alive(part: Path) -> bool:
    pid = part.name.split("-")[1]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False  # this process has not started receiving anything yet
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
