"""The merge cache: each return's check result and rendered report, kept between runs of a merge.

A re-run after one agency sent a corrected file redoes that file only. An entry is found by a key
that covers everything its result depends on (the file's bytes and path, the forms' full text, the
toolkit's version and code, the Word template's bytes), so a stale entry is never found, only missed.
Each entry carries the sha256 of its content: a truncated or garbled entry is a miss, never an error
and never a wrong result. Entries are written atomically; the folder is safe to delete at any time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zlib
from collections.abc import Iterable
from contextlib import suppress
from functools import cache
from pathlib import Path

from toolkit.core.fileio import atomic_write_bytes
from toolkit.core.version import __version__
from toolkit.forms.spec import Form

CACHE_DIR = ".toolkit-cache"  # inside the output folder, unless `merge --cache` names another
RETURNS, REPORTS, PACKAGES = "returns", "reports", "packages"  # a checked return, a prepared report, a whole .docx
FORMAT = b"toolkit-cache 1"
MIN_FREE = 512 * 1024 * 1024  # below this much free space the cache stores nothing: the outputs need it more
MAX_HASHED = 200 * 1024 * 1024  # bytes: a return is ~50 KB
_HASHED = (".py", ".yaml", ".yml", ".json", ".txt")


def sha256_file(path: str | Path) -> str | None:
    """The file's sha256, or None when it cannot be read (the checker will say why) or is too big to be a
    return (the reader refuses it anyway; hashing it would only cost time)."""
    digest = hashlib.sha256()
    try:
        if os.stat(path).st_size > MAX_HASHED:
            return None
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


@cache
def code_stamp() -> str:
    """The toolkit's version and a hash of its own source and data files: a changed checker or renderer
    (even at the same version, as in development) never meets an entry made by the old one."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(p for p in root.rglob("*") if p.suffix in _HASHED and p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def forms_stamp(forms: Iterable[Form]) -> list[list[str]]:
    """Each known form's id, fingerprint and full text (rules and messages are not in the fingerprint)."""
    return sorted([f.id, f.fingerprint, hashlib.sha256(f.text.encode()).hexdigest()] for f in forms)


def key_of(*parts: object) -> str:
    """A cache key: the sha256 of the parts as canonical JSON, with the code stamp always among them."""
    text = json.dumps([FORMAT.decode(), code_stamp(), *parts], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Cache:
    """Entries under `folder`: `<kind>/<key[:2]>/<key>`, each `FORMAT sha256\\n` then its deflated bytes."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.used: set[tuple[str, str]] = set()  # the entries this run looked for (and workers store): what prune keeps
        self.room: bool | None = None  # whether the disk has room for entries (looked at on the first put)

    def _path(self, kind: str, key: str) -> Path:
        self.used.add((kind, key))
        return self.folder / kind / key[:2] / key

    def prune(self) -> int:
        """Remove the entries this run did not look for (files since changed or gone, older code): the
        cache of one merge holds that merge's files only. Best effort; how many were removed."""
        removed = 0
        for kind in (RETURNS, REPORTS, PACKAGES):
            for path in self.folder.glob(f"{kind}/??/*"):
                if (kind, path.name) not in self.used and path.is_file():
                    with suppress(OSError):
                        path.unlink()
                        removed += 1
        return removed

    def has(self, kind: str, key: str) -> bool:
        return self._path(kind, key).is_file()

    def get(self, kind: str, key: str) -> bytes | None:
        """The bytes stored under key, or None: absent, unreadable, truncated or altered."""
        try:
            raw = self._path(kind, key).read_bytes()
            head, _, body = raw.partition(b"\n")
            data = zlib.decompress(body)
        except (OSError, zlib.error):
            return None
        if head != FORMAT + b" " + hashlib.sha256(data).hexdigest().encode():
            return None
        return data

    def put(self, kind: str, key: str, data: bytes) -> None:
        """Store data under key; best effort (a full disk or a read-only folder only costs the next run time)."""
        path = self._path(kind, key)
        head = FORMAT + b" " + hashlib.sha256(data).hexdigest().encode() + b"\n"
        if self.room is None:
            self.room = _free_space(self.folder) >= MIN_FREE
        if not self.room:
            return
        try:
            os.makedirs(path.parent, exist_ok=True)
            atomic_write_bytes(path, head + zlib.compress(data, 1), durable=False)
        except OSError:
            pass

    def get_json(self, kind: str, key: str) -> object | None:
        data = self.get(kind, key)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None

    def put_json(self, kind: str, key: str, value: object) -> None:
        self.put(kind, key, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _free_space(folder: Path) -> int:
    """Free bytes on the disk `folder` is (or would be) on."""
    for where in (folder, *folder.parents):
        with suppress(OSError):
            return shutil.disk_usage(where).free
    return 0


def cache_for(out_dir: str | Path, folder: str | Path | None = None) -> Cache:
    """The cache a merge into out_dir uses: `folder` when given, else `<out_dir>/.toolkit-cache`."""
    return Cache(Path(folder) if folder else Path(out_dir) / CACHE_DIR)
