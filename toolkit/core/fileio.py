"""Safe file names and atomic writes: a crash never leaves half a file, a name never escapes its folder."""

from __future__ import annotations

import functools
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

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


@contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """A file to write `path` through: a temporary file in the same folder, flushed to disk and
    renamed over the target only when the block ends without error. A failed or interrupted
    write leaves the target as it was and no temporary file behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private (0600); give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_output(path) as f:
        f.write(data)


def is_lock_file(path: Path) -> bool:
    """Office's owner files (~$x.xlsx) and LibreOffice's lock files (.~lock.x.xlsx#)."""
    return path.name.startswith(("~$", ".~lock"))


def _is_workbook(path: Path) -> bool:
    """An .xlsx in a folder, whatever the case of its suffix (Windows writes .XLSX too)."""
    return path.suffix.lower() == ".xlsx" and path.is_file() and not is_lock_file(path)


def find_workbooks(paths: list[str | Path]) -> list[Path]:
    """Files as given (any type: the reader says what a wrong one is), plus every .xlsx below a folder.
    A missing path raises FileNotFoundError; the order is stable (as given, folders sorted)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if _is_workbook(f))
        elif p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(2, "文件或文件夹不存在", str(p))
    return list(dict.fromkeys(found))
