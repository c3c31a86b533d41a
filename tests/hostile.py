"""Test helper: hostile and broken files built on the fly (OLE compound files, hand-made zips, bombs)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

MB = 1024 * 1024
_FREE, _END, _FATSECT, _NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _ole_entry(name: str, kind: int, child: int = _NONE, right: int = _NONE, start: int = _END, size: int = 0) -> bytes:
    raw = (name + "\0").encode("utf-16-le") if name else b""
    head = raw.ljust(64, b"\0") + struct.pack("<HBB3I", len(raw), kind, 1, _NONE, right, child)
    return head + b"\0" * 36 + struct.pack("<IQ", start, size)


def ole_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (version 3) holding up to three streams.

    Every stream is padded to 4,096 bytes so it lives in regular sectors and no mini stream is needed."""
    datas = [d.ljust(4096, b"\0") for d in streams.values()]
    entries, fat, sector = [_ole_entry("Root Entry", 5, child=1 if streams else _NONE)], [_FATSECT, _END], 2
    for i, (name, data) in enumerate(zip(streams, datas, strict=True)):
        count = (len(data) + 511) // 512
        right = i + 2 if i + 1 < len(datas) else _NONE
        entries.append(_ole_entry(name, 2, right=right, start=sector, size=len(data)))
        fat += [sector + k + 1 for k in range(count - 1)] + [_END]
        sector += count
    entries += [_ole_entry("", 0)] * (4 - len(entries))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<5H", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<9I", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", _FREE) * 108
    )
    fat_sector = b"".join(struct.pack("<I", x) for x in fat + [_FREE] * (128 - len(fat)))
    body = b"".join(d.ljust((len(d) + 511) // 512 * 512, b"\0") for d in datas)
    return header + fat_sector + b"".join(entries) + body


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def deflated_zeros(size_mb: int) -> tuple[bytes, int]:
    """`size_mb` MB of zero bytes as raw deflate data (≈ 1 KB per MB) and their CRC-32.

    A full flush after each MB resets the compressor, so one compressed MB repeated is a valid stream."""
    mb, c = bytes(MB), zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(mb) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size_mb):
        crc = zlib.crc32(mb, crc)
    return piece * size_mb + c.flush(), crc


def hand_zip(members: list[tuple[str, bytes, int, int]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of (name, compressed data, CRC-32, declared size) members: the sizes are whatever we say."""
    out, central = io.BytesIO(), []
    for name, data, crc, size in members:
        offset, raw = out.tell(), name.encode()
        sizes = (crc, len(data), size, len(raw), 0)
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0, *sizes) + raw + data)
        central.append(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, method, 0, 0, *sizes, 0, 0, 0, 0, offset) + raw)
    directory, start = b"".join(central), out.tell()
    out.write(directory + struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), start, 0))
    return out.getvalue()


def members_of(xlsx: bytes, replace: dict[str, bytes] | None = None) -> list[tuple[str, bytes, int, int]]:
    """The members of a real xlsx, deflated again for hand_zip, some replaced by other content."""
    replace = replace or {}
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        parts = {name: replace.get(name, zf.read(name)) for name in zf.namelist()}
    return [(name, deflate(data), zlib.crc32(data), len(data)) for name, data in parts.items()]


def rezip(xlsx: bytes, replace: dict[str, bytes | None] | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """The same package with some parts replaced (None drops a part) and some added."""
    replace, out = replace or {}, io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = replace.get(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return out.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets>&lol9;</sheets></workbook>
"""
