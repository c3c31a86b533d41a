"""A lean, safe reader of the parts of an .xlsx that checking needs.

Cell values exactly as stored (numbers as their XML text, so nothing passes through a float
unless the file itself wrote one), formulas, lock flags, sheet and workbook protection, custom
document properties. Parts are read through toolkit.guards (hard caps on bytes and tags); a part
with a DTD, or in an encoding where one could hide, goes to defusedxml, which refuses any DTD.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree as FastElementTree

from defusedxml import DefusedXmlException, ElementTree

from toolkit.core.digits import count_of
from toolkit.reading.guards import DEFAULT_LIMITS, Limits, PackageBudget

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "cp": "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties",
    "vt": "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
}
_M = "{" + NS["m"] + "}"
_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")  # up to XFD1048576


_REBUILD = "请在 Excel/WPS 中打开后重新保存再提交"


class XlsxError(Exception):
    """The package is not a readable spreadsheet (missing or malformed parts)."""


@dataclass(frozen=True)
class RawCell:
    type: str  # "n" number, "s" text, "b" boolean, "e" error, "" blank
    value: str  # the stored value as text ("" when blank)
    formula: str | None  # without the leading "="
    locked: bool


@dataclass
class Sheet:
    name: str
    state: str  # visible | hidden | veryHidden
    protected: bool = False
    cells: dict[tuple[int, int], RawCell] = field(default_factory=dict)

    def get(self, row: int, col: int) -> RawCell:
        return self.cells.get((row, col)) or RawCell("", "", None, True)

    def text(self, row: int, col: int) -> str:
        return self.get(row, col).value


@dataclass
class Workbook:
    sheets: dict[str, Sheet]
    structure_locked: bool
    custom: dict[str, str]


def split_ref(ref: str) -> tuple[int, int]:
    """`D12` -> (11, 3), zero-based."""
    m = _REF.match(ref)
    if not m:
        raise XlsxError(f"单元格地址“{ref}”无效")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


_DECLARED_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _without_dtd(data: bytes) -> bool:
    """A UTF-8 part with no DTD: safe for the C parser (OOXML parts never have a DTD).

    In any other encoding a DTD could hide from a byte search, so such a part goes to defusedxml."""
    m = _DECLARED_ENCODING.match(data[:200])
    if m and m.group(1).lower() not in (b"utf-8", b"utf8"):
        return False
    head = data[:64]
    ascii_compatible = b"\x00" not in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))
    return ascii_compatible and b"<!DOCTYPE" not in data and b"<!ENTITY" not in data


def _parse(name: str, data: bytes):
    try:
        if _without_dtd(data):
            return FastElementTree.fromstring(data)  # noqa: S314 - UTF-8 and no DTD, so no entity to expand or fetch
        return ElementTree.fromstring(data, forbid_dtd=True)  # OOXML never has a DTD; refuse any
    except DefusedXmlException:
        raise XlsxError(f"{name} 含有 DTD 或实体声明（Excel 文件中不会出现，疑似恶意文件），已拒绝") from None
    except FastElementTree.ParseError as e:
        line, column = getattr(e, "position", (0, 0))
        where = f"，第 {line} 行第 {column} 列" if line else ""
        raise XlsxError(f"文件已损坏（{name} 不是有效的 XML{where}），{_REBUILD}") from None
    except (ValueError, LookupError):
        # an unknown or unsupported encoding declared in the part
        raise XlsxError(f"文件已损坏（{name} 的字符编码无法识别），{_REBUILD}") from None


def _xml(pkg: PackageBudget, name: str):
    """The parsed part, or None when the package has no such part."""
    data = pkg.read(name)
    return None if data is None else _parse(name, data)


def _text(el) -> str:
    """Text of a string item, rich runs joined, phonetic runs (rPh) left out."""
    if el is None:
        return ""
    t = el.find(f"{_M}t")
    if t is not None:
        return t.text or ""
    return "".join(r.findtext(f"{_M}t") or "" for r in el.findall(f"{_M}r"))


def _shared_strings(pkg: PackageBudget, target: str | None) -> list[str]:
    root = _xml(pkg, target) if target else None
    return [] if root is None else [_text(si) for si in root.findall(f"{_M}si")]


def _locked_styles(pkg: PackageBudget, target: str | None) -> list[bool]:
    root = _xml(pkg, target) if target else None
    if root is None:
        return []
    xfs = root.find(f"{_M}cellXfs")
    out = []
    for xf in [] if xfs is None else xfs.findall(f"{_M}xf"):
        prot = xf.find(f"{_M}protection")
        out.append(prot is None or prot.get("locked", "1") not in ("0", "false"))
    return out


def _custom_properties(pkg: PackageBudget) -> dict[str, str]:
    root = _xml(pkg, "docProps/custom.xml")
    if root is None:
        return {}
    return {p.get("name", ""): "".join(child.text or "" for child in p) for p in root.findall("cp:property", NS)}


def _relationships(pkg: PackageBudget, part: str) -> dict[str, tuple[str, str]]:
    folder, name = posixpath.split(part)
    root = _xml(pkg, posixpath.join(folder, "_rels", name + ".rels"))
    rels = {}
    for rel in [] if root is None else root.findall("rel:Relationship", NS):
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        rels[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], path)
    return rels


def _index(text: str | None) -> int | None:
    """A non-negative index stored as ASCII digits (a style or shared-string number), else None."""
    return count_of(text, 999_999_999)


def _cell(c, strings: list[str], locked: list[bool]) -> RawCell:
    kind, style = c.get("t", "n"), _index(c.get("s"))
    f = c.find(f"{_M}f")
    v = c.findtext(f"{_M}v")
    if kind == "inlineStr":
        kind, value = "s", _text(c.find(f"{_M}is"))
    elif kind == "s":
        index = _index(v)
        value = strings[index] if index is not None and index < len(strings) else ""
    elif kind in ("str", "d"):
        kind, value = "s", v or ""
    else:
        value = v or ""
    if value == "" and kind != "s":
        kind = ""
    is_locked = locked[style] if style is not None and style < len(locked) else True
    return RawCell(kind, value, (f.text or "") if f is not None else None, is_locked)


def _position(sheet: str, ref: str) -> tuple[int, int]:
    try:
        return split_ref(ref)
    except XlsxError:
        raise XlsxError(f"文件已损坏（工作表“{sheet}”中的单元格地址“{ref[:20]}”无效），{_REBUILD}") from None


def _sheet(pkg: PackageBudget, name: str, state: str, part: str, strings: list[str], locked: list[bool]) -> Sheet:
    root = _xml(pkg, part)
    if root is None:
        raise XlsxError(f"文件已损坏（缺少工作表“{name}”的内容），{_REBUILD}")
    sheet = Sheet(name, state)
    prot = root.find(f"{_M}sheetProtection")
    sheet.protected = prot is not None and prot.get("sheet", "0") in ("1", "true")
    data = root.find(f"{_M}sheetData")
    for row in [] if data is None else data.findall(f"{_M}row"):
        for c in row.findall(f"{_M}c"):
            ref = c.get("r")
            if ref and len(c):  # a cell without children is blank: nothing to read
                sheet.cells[_position(name, ref)] = _cell(c, strings, locked)
    return sheet


def read_xlsx(zf: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS) -> Workbook:
    """Everything checking needs from an opened (already size-guarded) .xlsx package."""
    pkg = PackageBudget(zf, limits)
    book = _xml(pkg, "xl/workbook.xml")
    if book is None:
        raise XlsxError(f"文件已损坏（缺少 xl/workbook.xml），{_REBUILD}")
    rels = _relationships(pkg, "xl/workbook.xml")
    by_type = {kind: path for kind, path in rels.values()}
    strings = _shared_strings(pkg, by_type.get("sharedStrings"))
    locked = _locked_styles(pkg, by_type.get("styles"))
    sheets = {}
    for s in book.iterfind("m:sheets/m:sheet", NS):
        rid = s.get(f"{{{NS['r']}}}id", "")
        if rid in rels:
            name = s.get("name", "")
            sheets[name] = _sheet(pkg, name, s.get("state", "visible"), rels[rid][1], strings, locked)
    protection = book.find(f"{_M}workbookProtection")
    structure = protection is not None and protection.get("lockStructure", "0") in ("1", "true")
    return Workbook(sheets, structure, _custom_properties(pkg))
