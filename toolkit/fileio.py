"""Safe file names and atomic writes: a crash never leaves half a file, a name never escapes its folder."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_UMASK = os.umask(0o022)
os.umask(_UMASK)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_filename(name: str, suffix: str = "", max_len: int = 80) -> str:
    """A file name made from user text (an agency name) that stays inside its folder on any OS."""
    text = unicodedata.normalize("NFC", name)
    text = _UNSAFE.sub("_", text).strip().strip(".").strip()
    text = re.sub(r"_+", "_", text)[:max_len].rstrip(". ")
    if not text or set(text) <= {"_", "."}:
        text = "未命名"
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return text + suffix


def unique_path(folder: Path, filename: str, taken: set[str]) -> Path:
    """`folder/filename`, with ` (2)`, ` (3)`… added when the name (case-insensitively) is taken."""
    stem, dot, ext = filename.rpartition(".") if "." in filename else (filename, "", "")
    candidate, n = filename, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    taken.add(candidate.lower())
    return folder / candidate


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over the target."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; a template is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_lock_file(path: Path) -> bool:
    """Office's owner files (~$x.xlsx) and LibreOffice's lock files (.~lock.x.xlsx#)."""
    return path.name.startswith(("~$", ".~lock"))


def find_workbooks(paths: list[str | Path]) -> list[Path]:
    """Files as given (any type: the reader says what a wrong one is), plus every .xlsx below a folder.
    A missing path raises FileNotFoundError; the order is stable (as given, folders sorted)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*.xlsx") if f.is_file() and not is_lock_file(f))
        elif p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(2, "文件或文件夹不存在", str(p))
    return list(dict.fromkeys(found))
