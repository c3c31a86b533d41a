"""Zip packages (.docx, .xlsx) assembled from members deflated once.

A package written many times over (a report per return, a template per agency) is mostly parts that
never change: those are deflated once and copied as bytes, and only the parts that differ are
deflated per copy. Entries carry a fixed timestamp, so equal parts give equal files.
"""

from __future__ import annotations

import posixpath
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

_DOS_DATE, _DOS_TIME = (0 << 9) | (1 << 5) | 1, 0  # 1980-01-01 00:00:00, the zip epoch
_UTF8 = 0x800
_ATTRIBUTES = 0o600 << 16  # rw------- as zipfile gives a member written from bytes
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")


@dataclass(frozen=True)
class Member:
    """One deflated zip member, its local header included: copied as it is into every package."""

    name: bytes
    flags: int
    crc: int
    size: int
    compressed_size: int
    local: bytes  # local file header + raw deflate stream


def part_target(base: str, target: str) -> str:
    """A relationship's target as a package path: absolute (`/word/media/a.png`, as openpyxl writes) or relative
    to the folder of the part `base` whose relationships name it (`media/a.png`, `../media/a.png`, as Excel writes)."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def member(name: str, data: bytes, level: int = zlib.Z_DEFAULT_COMPRESSION) -> Member:
    """`data` deflated once under `name`."""
    return streamed_member(name, (data,), level)


def streamed_member(name: str, chunks: Iterable[bytes], level: int = zlib.Z_DEFAULT_COMPRESSION) -> Member:
    """A member deflated piece by piece as `chunks` come: a large part is never held whole uncompressed."""
    raw = name.encode("utf-8")
    flags = 0 if raw.isascii() else _UTF8
    packer, crc, size, pieces = zlib.compressobj(level, zlib.DEFLATED, -15), 0, 0, []
    for chunk in chunks:
        crc, size = zlib.crc32(chunk, crc), size + len(chunk)
        pieces.append(packer.compress(chunk))
    pieces.append(packer.flush())
    body = b"".join(pieces)
    header = _LOCAL.pack(0x04034B50, 20, flags, 8, _DOS_TIME, _DOS_DATE, crc, len(body), size, len(raw), 0)
    return Member(raw, flags, crc, size, len(body), header + raw + body)


def copied_member(package_bytes: bytes, info: zipfile.ZipInfo) -> Member:
    """A member of an existing package carried over as its deflated bytes (not inflated and deflated again)."""
    raw = info.filename.encode("utf-8")
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        raise ValueError(f"{info.filename}: not a plain deflated member")
    name_length, extra_length = struct.unpack_from("<HH", package_bytes, info.header_offset + 26)
    start = info.header_offset + _LOCAL.size + name_length + extra_length
    body = package_bytes[start : start + info.compress_size]
    flags = 0 if raw.isascii() else _UTF8
    header = _LOCAL.pack(
        0x04034B50, 20, flags, 8, _DOS_TIME, _DOS_DATE, info.CRC, info.compress_size, info.file_size, len(raw), 0
    )
    return Member(raw, flags, info.CRC, info.file_size, info.compress_size, header + raw + body)


def package(members: Iterable[Member]) -> bytes:
    """The zip file of `members`, in order (a central directory after their local entries)."""
    chunks: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for m in members:
        chunks.append(m.local)
        central.append(
            _CENTRAL.pack(
                0x02014B50,
                (3 << 8) | 20,
                20,
                m.flags,
                8,
                _DOS_TIME,
                _DOS_DATE,
                m.crc,
                m.compressed_size,
                m.size,
                len(m.name),
                0,
                0,
                0,
                0,
                _ATTRIBUTES,
                offset,
            )
            + m.name
        )
        offset += len(m.local)
    directory = b"".join(central)
    end = _END.pack(0x06054B50, 0, 0, len(central), len(central), len(directory), offset, 0)
    return b"".join(chunks) + directory + end
