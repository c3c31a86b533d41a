"""A lean, safe reader of the parts of an .xlsx that checking needs.

Cell values exactly as stored (numbers as their XML text, so nothing passes through a float
unless the file itself wrote one), formulas, lock flags, sheet and workbook protection, custom
document properties. Parts are read through toolkit.reading.guards (hard caps on bytes and tags); a part
with a DTD, or in an encoding where one could hide, goes to defusedxml, which refuses any DTD.

Text is made safe here, once, where it is parsed (toolkit.core.text): shared strings, inline strings,
formula results, sheet names and custom properties, so no later reader needs to clean it again (and a
shared string used by 6,000 cells is cleaned once). Sheets are the workbook's entries as a spreadsheet
program shows them: of two entries of one name (compared case-insensitively, as Excel does) the first
visible one is read and the name is recorded as duplicated.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field, replace
from xml.etree import ElementTree as FastElementTree

from defusedxml import DefusedXmlException, ElementTree

from toolkit.core.digits import count_of
from toolkit.core.text import clean_text, plain
from toolkit.core.zipparts import part_target
from toolkit.reading.guards import DEFAULT_LIMITS, Limits, PackageBudget
from toolkit.reading.memo import MEMO_FREE_TEXT, MEMO_TEXT, Memo, remembered

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "cp": "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties",
    "vt": "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
}
_M = "{" + NS["m"] + "}"
_ROW, _C, _V, _F, _IS = f"{_M}row", f"{_M}c", f"{_M}v", f"{_M}f", f"{_M}is"
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


_BLANK = RawCell("", "", None, True)
VISIBLE = "visible"
_HIDDEN_STATES = ("hidden", "veryHidden")
MAX_SHARED_FORMULA = 2000  # characters: a total of the built-in forms is under 100, a check formula under 400
MAX_DUPLICATES = 50  # duplicated sheet names recorded: a real workbook has none, the first few say it all


@dataclass
class Sheet:
    name: str
    state: str  # visible | hidden | veryHidden
    protected: bool = False
    cells: dict[tuple[int, int], RawCell] = field(default_factory=dict)
    # shared formulas as Excel saves them: the master cell holds the text, the others only its index;
    # a dependent is expanded when it is asked for (a file can hold 100,000 of them, the form asks for few)
    shared: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)  # si -> (master A1, text)
    dependents: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict, repr=False)  # -> (si, A1)
    translators: dict[str, object] = field(default_factory=dict, repr=False)  # si -> parsed master, None if unusable

    def get(self, row: int, col: int) -> RawCell:
        cell = self.cells.get((row, col))
        if cell is None:
            return _BLANK
        if (row, col) in self.dependents:
            cell = self._expand(row, col, cell)
        return cell

    def text(self, row: int, col: int) -> str:
        return self.get(row, col).value

    def _expand(self, row: int, col: int, cell: RawCell) -> RawCell:
        si, ref = self.dependents.pop((row, col))
        if si not in self.translators:  # each shared formula is parsed once, however many cells share it
            master = self.shared.get(si)
            self.translators[si] = shared_translator(*master) if master else None
        translator = self.translators[si]
        cell = replace(cell, formula=translate(translator, ref) if translator is not None else "")
        self.cells[(row, col)] = cell
        return cell


@dataclass
class Workbook:
    sheets: dict[str, Sheet]
    structure_locked: bool
    custom: dict[str, str]
    duplicate_sheets: list[str] = field(default_factory=list)  # names with more than one entry in the workbook
    date1904: bool = False  # date serials count from 1904-01-01 (old Mac workbooks), not 1899-12-30


def shared_translator(origin: str, text: str):
    """A shared formula's master, parsed to be moved to its dependents; None when it is no formula to move."""
    if len(text) > MAX_SHARED_FORMULA:
        return None
    from openpyxl.formula.tokenizer import TokenizerError
    from openpyxl.formula.translate import Translator

    try:
        return Translator("=" + text, origin=origin)
    except (TokenizerError, ValueError, IndexError):  # not a formula Excel would save
        return None


def translate(translator, dest: str) -> str:
    """The shared formula as it reads at `dest` (without "="); "" when it cannot be moved there."""
    from openpyxl.formula.translate import TranslatorError

    try:
        moved = translator.translate_formula(dest)
    except (TranslatorError, ValueError, IndexError, KeyError):  # e.g. a reference moved off the sheet
        return ""
    return moved[1:] if moved.startswith("=") else ""


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
    no_declaration = b"!" not in data or (b"<!DOCTYPE" not in data and b"<!ENTITY" not in data)  # one quick scan first
    return ascii_compatible and no_declaration


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


# Worksheet blocks the reader never looks at: the input prompts alone are half of a return's bytes.
_UNREAD_BLOCKS = tuple((b"<" + tag, b"</" + tag + b">") for tag in (b"dataValidations", b"conditionalFormatting", b"extLst"))
_NAME_ENDS = (b" ", b"\t", b"\r", b"\n", b">")
# A styled blank cell as Excel and xlsxwriter write it (a bordered text area is hundreds of them): nothing to read
_BLANK_CELL = re.compile(rb'<c r="[A-Z]{1,3}[0-9]{1,7}"(?: s="[0-9]{1,5}")?/>')


def _cut_block(data: bytes, begin: int, start: bytes, end: bytes) -> bytes:
    """`data` without the first `start`…`end` element after `begin`, when the cut is certainly that
    one element (no second opening inside it); else unchanged. Linear searches, whatever the bytes."""
    s = data.find(start, begin)
    after = s + len(start)
    if s < 0 or data[after : after + 1] not in _NAME_ENDS:
        return data
    e = data.find(end, after)
    if e < 0 or data.find(start, after, e) >= 0:
        return data
    return data[:s] + data[e + len(end) :]


def _may_hide_markup(data: bytes) -> bool:
    """Whether the part may hold a comment, CDATA, DTD or processing instruction (after its declaration).

    Searched for by their rare second byte first: `<` is on every tag and a search for `<!` is slow."""
    declared = data.startswith((b"<?", b"\xef\xbb\xbf<?"))
    after = data.find(b"?>") + 2 if declared else 0
    if b"!" in data and b"<!" in data:
        return True
    return data.find(b"?", after) >= 0 and data.find(b"<?", after) >= 0


def _read_parts_only(data: bytes) -> bytes:
    """A worksheet without the blocks the reader never reads and without its blank cells, cut before parsing.

    Only a UTF-8 part with no comment, CDATA, DTD or processing instruction (where markup could be
    text) is cut; there every `<` opens a tag. Blocks are cut only after the last `</sheetData>`, so a
    cut block is one element outside every sheetData, and no child of the worksheet that is read
    (sheetData, sheetProtection) goes with it. A blank cell (`<c r="B5" s="7"/>`, no value, formula or
    type) is read as nothing anyway. The guards have already counted the whole part."""
    begin = data.rfind(b"</sheetData>")
    if begin < 0 or _may_hide_markup(data) or not _without_dtd(data):
        return data
    for start, end in _UNREAD_BLOCKS:
        data = _cut_block(data, begin, start, end)
    return _BLANK_CELL.sub(b"", data[:begin]) + data[begin:]


def _sheet_xml(pkg: PackageBudget, name: str):
    """The parsed worksheet, its unread blocks left out; a part the cut makes unparsable (it was
    broken already) is parsed whole, so the refusal names the place in the file as stored."""
    data = pkg.read(name)
    if data is None:
        return None
    lean = _read_parts_only(data)
    if lean is data:
        return _parse(name, data)
    try:
        return _parse(name, lean)
    except XlsxError:
        return _parse(name, data)


def _text(el) -> str:
    """Text of a string item, rich runs joined, phonetic runs (rPh) left out."""
    if el is None:
        return ""
    t = el.find(f"{_M}t")
    if t is not None:
        return t.text or ""
    return "".join(r.findtext(f"{_M}t") or "" for r in el.findall(f"{_M}r"))


def _shared_strings(pkg: PackageBudget, target: str | None) -> list[str]:
    """Every shared string, cleaned once here however many cells use it."""
    root = _xml(pkg, target) if target else None
    return [] if root is None else [_clean(_text(si)) for si in root.findall(f"{_M}si")]


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
    properties = root.findall("cp:property", NS)
    return {clean_text(p.get("name", "")): clean_text("".join(child.text or "" for child in p)) for p in properties}


def _relationships(pkg: PackageBudget, part: str) -> dict[str, tuple[str, str]]:
    folder, name = posixpath.split(part)
    root = _xml(pkg, posixpath.join(folder, "_rels", name + ".rels"))
    rels = {}
    for rel in [] if root is None else root.findall("rel:Relationship", NS):
        path = part_target(part, rel.get("Target", ""))
        rels[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], path)
    return rels


def _count_index(text: str) -> int | None:
    return count_of(text, 999_999_999)


_indexes, _plain = remembered(_count_index), remembered(plain)
_clean = remembered(clean_text, longest=MEMO_FREE_TEXT)  # labels recur in every return, typed texts never


def _index(text: str | None) -> int | None:
    """A non-negative index stored as ASCII digits (a style or shared-string number), else None."""
    return None if text is None else _indexes(text)


def _value(c, kind: str, strings: list[str]) -> tuple[str, str]:
    """(kind, value) of a cell: text cleaned (shared strings were cleaned once when read)."""
    v = c.findtext(_V)
    if kind == "inlineStr":
        return "s", _clean(_text(c.find(_IS)))
    if kind == "s":
        index = _index(v)
        return "s", strings[index] if index is not None and index < len(strings) else ""
    if kind in ("str", "d"):
        return "s", _clean(v or "")
    return kind, _plain(v or "")


def _raw_cell(fields: tuple[str, str, str | None, bool]) -> RawCell:
    return RawCell(*fields)


_RAW_CELLS = Memo(_raw_cell)  # RawCell is frozen: one instance serves every cell that stores the same


def _cell(c, strings: list[str], locked: list[bool], formula: str | None) -> RawCell:
    kind, value = _value(c, c.get("t", "n"), strings)
    if value == "" and kind != "s":
        kind = ""
    style = _index(c.get("s"))
    is_locked = locked[style] if style is not None and style < len(locked) else True
    fields = (kind, value, formula, is_locked)
    if len(value) <= MEMO_FREE_TEXT and len(formula or "") <= MEMO_TEXT:
        return _RAW_CELLS[fields]
    return RawCell(*fields)


def _formula(c, sheet: Sheet, pos: tuple[int, int], ref: str) -> str | None:
    """The cell's formula text; a shared formula's master is recorded, a dependent noted for expansion."""
    f = c.find(_F)
    if f is None:
        return None
    text = _plain(f.text or "")
    if f.get("t") == "shared":
        si = f.get("si", "")
        if text:
            sheet.shared.setdefault(si, (ref, text))
        else:
            sheet.dependents[pos] = (si, ref)
    return text


_positions = remembered(split_ref)


def _position(sheet: str, ref: str) -> tuple[int, int]:
    try:
        return _positions(ref)
    except XlsxError:
        raise XlsxError(f"文件已损坏（工作表“{sheet}”中的单元格地址“{plain(ref[:20])}”无效），{_REBUILD}") from None


def _sheet(pkg: PackageBudget, name: str, state: str, part: str, strings: list[str], locked: list[bool]) -> Sheet:
    root = _sheet_xml(pkg, part)
    if root is None:
        raise XlsxError(f"文件已损坏（缺少工作表“{name}”的内容），{_REBUILD}")
    sheet = Sheet(name, state)
    prot = root.find(f"{_M}sheetProtection")
    sheet.protected = prot is not None and prot.get("sheet", "0") in ("1", "true")
    data = root.find(f"{_M}sheetData")
    cells = sheet.cells
    for row in [] if data is None else data.findall(_ROW):
        for c in row.findall(_C):
            ref = c.get("r")
            if ref and len(c):  # a cell without children is blank: nothing to read
                pos = _position(name, ref)
                cells[pos] = _cell(c, strings, locked, _formula(c, sheet, pos, ref))
    return sheet


def _sheet_entries(book, rels: dict[str, tuple[str, str]]) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(name, state, part) of the sheets to read, and the names that have more than one entry.

    Of the entries of one name the first visible one is read, as a spreadsheet program shows it
    (failing that, the first one): a hidden namesake never stands in for the sheet a clerk sees."""
    chosen: dict[str, tuple[str, str, str | None]] = {}
    duplicates: dict[str, None] = {}
    for s in book.iterfind("m:sheets/m:sheet", NS):
        name = clean_text(s.get("name", ""))
        state = s.get("state", VISIBLE) if s.get("state") in _HIDDEN_STATES else VISIBLE
        rid = s.get(f"{{{NS['r']}}}id", "")
        entry = (name, state, rels[rid][1] if rid in rels else None)
        first = chosen.setdefault(name.casefold(), entry)
        if first is entry:
            continue
        if len(duplicates) < MAX_DUPLICATES:
            duplicates[first[0]] = None
        if (first[1] != VISIBLE or first[2] is None) and state == VISIBLE and entry[2] is not None:
            chosen[name.casefold()] = entry
    entries = [(name, state, part) for name, state, part in chosen.values() if part is not None]
    return entries, list(duplicates)


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
    entries, duplicates = _sheet_entries(book, rels)
    sheets = {name: _sheet(pkg, name, state, part, strings, locked) for name, state, part in entries}
    protection = book.find(f"{_M}workbookProtection")
    structure = protection is not None and protection.get("lockStructure", "0") in ("1", "true")
    properties = book.find(f"{_M}workbookPr")
    date1904 = properties is not None and properties.get("date1904", "0") in ("1", "true")
    return Workbook(sheets, structure, _custom_properties(pkg), duplicates, date1904)
