"""Test helper: hostile returns built from a valid sample by editing its parts or its zip headers.

Every builder takes the bytes of a valid return (samples/returns-2024/*.xlsx, saved by LibreOffice)
and gives back the bytes of a hostile one; benchmarks/hostile.py writes the same files to a folder.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "returns-2024"
SAMPLE = SAMPLES / "固原市原州区司法局_2024年_gov-info-2021.xlsx"
STRINGS = "xl/sharedStrings.xml"
BOOK = "xl/workbook.xml"
BOOK_RELS = "xl/_rels/workbook.xml.rels"
TYPES = "[Content_Types].xml"
INFO = "xl/worksheets/sheet2.xml"  # 基本信息
APPLICATIONS = "xl/worksheets/sheet5.xml"  # 三、依申请公开
UTF8_NAME = 0x800  # general purpose flag: the member name is UTF-8

_SI = re.compile(rb"<si>.*?</si>", re.S)
_NUMBER_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"( s="[0-9]+")? t="n"><v>[^<]*</v></c>')


def sample_bytes(path: Path = SAMPLE) -> bytes:
    return path.read_bytes()


def parts_of(xlsx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def zip_parts(parts: dict[str, bytes], duplicates: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    """The parts deflated into a zip, plus members whose names repeat earlier ones."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
        with warnings.catch_warnings():  # "Duplicate name": that is the point
            warnings.simplefilter("ignore", UserWarning)
            for name, data in duplicates:
                zf.writestr(zipfile.ZipInfo(name), data)
    return out.getvalue()


def _edit_parts(xlsx: bytes, changes: dict[str, object]) -> bytes:
    parts = parts_of(xlsx)
    for name, change in changes.items():
        parts[name] = change(parts[name]) if callable(change) else change
    return zip_parts(parts)


# ---------------------------------------------------------------- the zip structure


@dataclass(frozen=True)
class ZipRegions:
    """Where a zip's headers are: each local header (with its name), the central directory, the EOCD."""

    local: tuple[tuple[int, int], ...]  # (start, end) of each local header and name
    central: tuple[int, int]
    end: tuple[int, int]


def regions(data: bytes) -> ZipRegions:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        local = []
        for info in zf.infolist():
            n, e = struct.unpack("<2H", data[info.header_offset + 26 : info.header_offset + 30])
            local.append((info.header_offset, info.header_offset + 30 + n + e))
        start = zf.start_dir
    eocd = data.rindex(b"PK\x05\x06")
    return ZipRegions(tuple(local), (start, eocd), (eocd, len(data)))


def bad_local_name(xlsx: bytes, member: str = APPLICATIONS) -> bytes:
    """The member's local header name is not valid UTF-8 while both headers say it is (flag 0x800)."""
    data = bytearray(xlsx)
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        info = zf.getinfo(member)
        at, start = info.header_offset, zf.start_dir
    flags = struct.unpack_from("<H", data, at + 6)[0]
    struct.pack_into("<H", data, at + 6, flags | UTF8_NAME)
    data[at + 30] = 0xFF  # no UTF-8 sequence starts with 0xFF
    entry = data.index(b"PK\x01\x02", start)
    while entry < len(data):
        n = struct.unpack_from("<H", data, entry + 28)[0]
        if bytes(data[entry + 46 : entry + 46 + n]) == member.encode():
            flags = struct.unpack_from("<H", data, entry + 8)[0]
            struct.pack_into("<H", data, entry + 8, flags | UTF8_NAME)
            return bytes(data)
        entry = data.index(b"PK\x01\x02", entry + 4)
    raise AssertionError(f"{member} not in the central directory")


def duplicate_member(xlsx: bytes, member: str = APPLICATIONS) -> bytes:
    """A second member with the same name (zipfile would silently use the later one)."""
    parts = parts_of(xlsx)
    return zip_parts(parts, ((member, parts[member].replace(b"<v>", b"<v>9", 1)),))


def media_with_signatures(xlsx: bytes, runs: int = 3000) -> bytes:
    """A stored image whose bytes happen to hold many `PK\\x01\\x02` runs (more than the member limit)."""
    image = b"\x89PNG\r\n\x1a\n" + b"PK\x01\x02\x00\x00" * runs
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
        zout.writestr("xl/media/image1.png", image, compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


# ---------------------------------------------------------------- text


def _set_string(strings: bytes, index: int, text: str) -> bytes:
    """Shared string `index` replaced by `text`, written as is (escapes like _x001B_ stay literal)."""
    items = list(_SI.finditer(strings))
    m = items[index]
    item = b'<si><t xml:space="preserve">' + text.encode() + b"</t></si>"
    return strings[: m.start()] + item + strings[m.end() :]


def _strings(xlsx: bytes) -> list[str]:
    data = parts_of(xlsx)[STRINGS].decode()
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(r"<si>.*?</si>", data, re.S)]


def string_index(xlsx: bytes, text: str) -> int:
    return _strings(xlsx).index(text)


HOSTILE = "_xD800__x001B_[2K_x009B_\u202e\u0085"  # lone surrogate, ESC [2K (erase line), C1 CSI, RLO, NEL


def with_text(xlsx: bytes, replacements: dict[str, str]) -> bytes:
    """Shared strings replaced: {current text: new text} (a label, a 基本信息 value or a text section)."""
    indexes = {string_index(xlsx, old): new for old, new in replacements.items()}

    def change(strings: bytes) -> bytes:
        for index, new in indexes.items():
            strings = _set_string(strings, index, new)
        return strings

    return _edit_parts(xlsx, {STRINGS: change})


def escapes_everywhere(xlsx: bytes, label: bool = True) -> bytes:
    """Hostile escapes in a label (optional), in 基本信息 (联系人) and in a text section (s6)."""
    texts = _strings(xlsx)
    contact = texts[texts.index("联系人") + 1]
    s6 = texts[texts.index("六、其他需要报告的事项") + 2]
    replacements = {contact: contact + HOSTILE, s6: HOSTILE + s6}
    if label:
        replacements["自然人"] = "自然人" + HOSTILE
    return with_text(xlsx, replacements)


def hostile_agency(xlsx: bytes, agency: str) -> bytes:
    """The agency name changed in the custom properties and in 基本信息 alike."""
    old = _strings(xlsx)[_strings(xlsx).index("机关名称") + 1]
    custom = "docProps/custom.xml"
    swapped = with_text(xlsx, {old: agency})
    return _edit_parts(swapped, {custom: lambda data: data.replace(old.encode(), agency.encode())})


def huge_shared_string(xlsx: bytes, size: int) -> bytes:
    """Every number cell of every sheet points at one shared string of `size` characters."""
    parts = parts_of(xlsx)
    strings = parts[STRINGS]
    count = len(_SI.findall(strings))
    big = b"<si><t>" + b"x" * size + b"</t></si>"
    strings = strings.replace(b"</sst>", big + b"</sst>")
    parts[STRINGS] = re.sub(rb'count="[0-9]+"', f'count="{count + 1}"'.encode(), strings, count=1)
    parts[STRINGS] = re.sub(rb'uniqueCount="[0-9]+"', f'uniqueCount="{count + 1}"'.encode(), parts[STRINGS], count=1)
    for name in [n for n in parts if n.startswith("xl/worksheets/")]:
        parts[name] = _NUMBER_CELL.sub(
            lambda m: b'<c r="' + m.group(1) + b'"' + (m.group(2) or b"") + b' t="s"><v>%d</v></c>' % count, parts[name]
        )
    return zip_parts(parts)


# ---------------------------------------------------------------- cells


def set_cell(sheet: bytes, ref: str, xml: str) -> bytes:
    """The cell `ref` of a sheet part replaced by `xml` (a whole <c> element)."""
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.S)
    assert pattern.search(sheet), ref
    return pattern.sub(lambda _: xml.encode(), sheet, count=1)


def cell_xml(sheet: bytes, ref: str) -> str:
    m = re.search(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', sheet, re.S)
    assert m, ref
    return m.group(0).decode()


def style_of(sheet: bytes, ref: str) -> str:
    m = re.search(r' s="([0-9]+)"', cell_xml(sheet, ref))
    return m.group(1) if m else "0"


def with_cells(xlsx: bytes, part: str, cells: dict[str, str]) -> bytes:
    """Cells of one sheet part replaced: {A1: whole <c> element}."""

    def change(sheet: bytes) -> bytes:
        for ref, xml in cells.items():
            sheet = set_cell(sheet, ref, xml)
        return sheet

    return _edit_parts(xlsx, {part: change})


def hidden_duplicate(xlsx: bytes, hidden_first: bool = False) -> bytes:
    """三、依申请公开 twice: the visible sheet has 自然人 新收 = “12件”, a hidden one of the same name the valid values."""
    parts = parts_of(xlsx)
    visible = parts[APPLICATIONS]
    style = style_of(visible, "D6")
    parts[APPLICATIONS] = set_cell(visible, "D6", f'<c r="D6" s="{style}" t="inlineStr"><is><t>12件</t></is></c>')
    parts["xl/worksheets/sheet99.xml"] = visible
    rel = '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet99.xml"/>'
    parts[BOOK_RELS] = parts[BOOK_RELS].replace(b"</Relationships>", rel.encode() + b"</Relationships>")
    override = '<Override PartName="/xl/worksheets/sheet99.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    parts[TYPES] = parts[TYPES].replace(b"</Types>", override.encode() + b"</Types>")
    book = parts[BOOK].decode()
    entry = re.search(r'<sheet name="三、依申请公开"[^>]*/>', book).group(0)
    hidden = '<sheet name="三、依申请公开" sheetId="99" state="hidden" r:id="rId99"/>'
    parts[BOOK] = book.replace(entry, hidden + entry if hidden_first else entry + hidden).encode()
    return zip_parts(parts)


def shared_formulas(xlsx: bytes, first: int = 6, last: int = 17, master: str | None = None) -> bytes:
    """The totals J6:J17 of 三、依申请公开 saved as Excel saves them: one shared formula and its dependents."""
    sheet = parts_of(xlsx)[APPLICATIONS]
    cells = {}
    for row in range(first, last + 1):
        old = cell_xml(sheet, f"J{row}")
        head = re.match(r"<c [^>]*>", old).group(0)
        value = re.search(r"<v>[^<]*</v>", old)
        v = value.group(0) if value else ""
        if row == first:
            text = master or re.search(r"<f[^>]*>([^<]*)</f>", old).group(1)
            f = f'<f t="shared" ref="J{first}:J{last}" si="0">{text}</f>'
        else:
            f = '<f t="shared" si="0"/>'
        cells[f"J{row}"] = head + f + v + "</c>"
    return with_cells(xlsx, APPLICATIONS, cells)


def many_attributes(xlsx: bytes, count: int) -> bytes:
    """One element of a sheet with `count` attributes (the tag budget counts them too)."""
    attributes = b"".join(b' a%d="1"' % i for i in range(count))
    return _edit_parts(
        xlsx, {APPLICATIONS: lambda data: data.replace(b"<sheetData>", b'<sheetData><row r="1000"' + attributes + b"/>", 1)}
    )


def as_zip64(xlsx: bytes) -> bytes:
    """The same zip with zip64 end records (as a zip64 writer leaves them) before a classic end record that defers to them."""
    zones = regions(xlsx)
    start, end = zones.central
    entries = struct.unpack_from("<H", xlsx, end + 10)[0]
    record = struct.pack("<4sqhhLLqqqq", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, end - start, start)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    classic = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return xlsx[:end] + record + locator + classic
