"""Where a zip's central directory is, found the way Python's zipfile finds it, before zipfile is let near it.

zipfile builds an object for every central-directory entry before any of our checks can look at the
result. So the end record is parsed here first (the same search and the same arithmetic as CPython's
zipfile._EndRecData and ZipFile._RealGetContents: the directory ends where the end records begin, so
it never reaches past the file), and its entries are counted where zipfile will read them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

_END = b"PK\x05\x06"
_END_SIZE = 22
_END64_LOCATOR = b"PK\x06\x07"
_LOCATOR_SIZE = 20
_END64 = b"PK\x06\x06"
_END64_SIZE = 56
_MAX_COMMENT = 1 << 16
_CENTRAL_ENTRY = b"PK\x01\x02"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Directory:
    """The central directory's extent; `start` is negative when the end record claims more than the file holds,
    `size` negative when a zip64 record says so (zipfile then reads no entry)."""

    start: int
    size: int


def _end_record(f: BinaryIO, file_size: int) -> int | None:
    """Offset of the end-of-central-directory record zipfile will use, None when there is none."""
    tail_start = max(file_size - _MAX_COMMENT - _END_SIZE, 0)
    f.seek(tail_start)
    tail = f.read()
    if len(tail) >= _END_SIZE and tail[-_END_SIZE : -_END_SIZE + 4] == _END and tail[-2:] == b"\0\0":
        return file_size - _END_SIZE  # no comment: zipfile looks here first
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < _END_SIZE:
        return None
    return tail_start + at


def _zip64(f: BinaryIO, end: int) -> tuple[int, int] | None:
    """(directory size, zip64 records' length) from the zip64 end record before `end`, None when there is none."""
    if end < _LOCATOR_SIZE + _END64_SIZE:
        return None
    f.seek(end - _LOCATOR_SIZE)
    locator = f.read(_LOCATOR_SIZE)
    if len(locator) != _LOCATOR_SIZE or locator[:4] != _END64_LOCATOR:
        return None
    f.seek(end - _LOCATOR_SIZE - _END64_SIZE)
    record = f.read(_END64_SIZE)
    if len(record) != _END64_SIZE or record[:4] != _END64:
        return None
    size = struct.unpack_from("<q", record, 40)[0]  # signed, as zipfile reads it (a negative size reads nothing)
    return size, _LOCATOR_SIZE + _END64_SIZE


def find_directory(f: BinaryIO, file_size: int) -> Directory | None:
    """The central directory as zipfile will read it (the directory ends where the end records begin)."""
    end = _end_record(f, file_size)
    if end is None:
        return None
    f.seek(end)
    size = struct.unpack_from("<L", f.read(_END_SIZE), 12)[0]
    zip64 = _zip64(f, end)
    records = 0
    if zip64 is not None:
        size, records = zip64
    return Directory(end - records - size, size)


def count_entries(f: BinaryIO, directory: Directory) -> int:
    """Central-directory signatures inside the directory: no more entries than this can be read from it."""
    if directory.size <= 0:  # zipfile reads no entry from a directory of no size (and cannot seek to its start)
        return 0
    return count_signatures(f, directory.start, directory.size)


def count_signatures(f: BinaryIO, start: int, size: int) -> int:
    """Central-directory entry signatures in `size` bytes of f from `start`, read a chunk at a time."""
    f.seek(start)
    count, left, tail = 0, size, b""
    while left > 0 and (block := f.read(min(_CHUNK, left))):
        left -= len(block)
        data = tail + block
        count += data.count(_CENTRAL_ENTRY)
        tail = data[-(len(_CENTRAL_ENTRY) - 1) :]
    return count
