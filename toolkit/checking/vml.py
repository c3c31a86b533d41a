"""Comments that sit next to their cells: openpyxl writes each comment's legacy VML shape without an
`<x:Anchor>` and at one fixed margin (59.25pt, 1.5pt), so Excel and LibreOffice show every comment of a
sheet piled up at its top left. Here each shape gets the anchor Excel itself writes (from the column right
of the cell, a little above it) and a matching absolute position."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from openpyxl.worksheet.worksheet import Worksheet

from toolkit.core.zipparts import part_target

_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_V, _X = "urn:schemas-microsoft-com:vml", "urn:schemas-microsoft-com:office:excel"
_DEFAULT_COL_PX, _DEFAULT_ROW_PX = 64, 20
for _prefix, _uri in (("v", _V), ("o", "urn:schemas-microsoft-com:office:office"), ("x", _X)):
    ET.register_namespace(_prefix, _uri)  # written back with VML's own prefixes (ElementTree would say ns0:, ns1:)
_GAP_PX = 15  # from the cell's right edge, as Excel places a new note


@dataclass(frozen=True)
class Box:
    """A comment's place in pixels: the anchor's eight numbers and the absolute position they stand for."""

    anchor: str
    left_pt: float
    top_pt: float


def _col_widths(ws: Worksheet) -> dict[int, int]:
    """0-based column -> pixels; one <col> element may set a range of columns (min..max)."""
    out = {}
    for dim in ws.column_dimensions.values():
        if dim.width and dim.min:
            for col in range(dim.min - 1, (dim.max or dim.min)):
                out[col] = round(dim.width * 7 + 5)
    return out


def _row_px(ws: Worksheet, row: int) -> int:
    dim = ws.row_dimensions.get(row + 1)
    return round(dim.height * 96 / 72) if dim is not None and dim.height else _DEFAULT_ROW_PX


def _walk(size_of, start: int, offset: int, length: int) -> tuple[int, int]:
    """The (index, offset) `length` pixels after (start, offset), stepping over cells of varying size."""
    index, left = start, offset + length
    while left > size_of(index):
        left -= size_of(index)
        index += 1
    return index, left


def box_of(ws: Worksheet, row: int, col: int, width_px: int, height_px: int) -> Box:
    """Where the comment of the 0-based (row, col) goes: right of the cell, its top a little above the cell's."""
    widths = _col_widths(ws)

    def col_px(c: int) -> int:
        return widths.get(c, _DEFAULT_COL_PX)

    top_row, top_off = max(row - 1, 0), 10 if row else 2
    right_col, right_off = _walk(col_px, col + 1, _GAP_PX, width_px)
    bottom_row, bottom_off = _walk(lambda r: _row_px(ws, r), top_row, top_off, height_px)
    anchor = f"{col + 1}, {_GAP_PX}, {top_row}, {top_off}, {right_col}, {right_off}, {bottom_row}, {bottom_off}"
    left_px = sum(col_px(c) for c in range(col + 1)) + _GAP_PX
    top_px = sum(_row_px(ws, r) for r in range(top_row)) + top_off
    return Box(anchor, left_px * 0.75, top_px * 0.75)


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Id -> (type, package path) of a part's relationships."""
    path = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if path not in zf.namelist():
        return {}
    root = ET.fromstring(zf.read(path))  # noqa: S314 - our own freshly written package
    return {
        r.get("Id", ""): (r.get("Type", ""), part_target(part, r.get("Target", ""))) for r in root.iter(f"{{{_PKG}}}Relationship")
    }


def _vml_of_sheets(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its comments' VML part."""
    book = ET.fromstring(zf.read("xl/workbook.xml"))  # noqa: S314 - our own freshly written package
    book_rels, out = _rels(zf, "xl/workbook.xml"), {}
    for sheet in book.iter(f"{{{_MAIN}}}sheet"):
        _, part = book_rels.get(sheet.get(f"{{{_R}}}id", ""), ("", ""))
        for kind, target in _rels(zf, part).values():
            if kind.endswith("/vmlDrawing"):
                out[sheet.get("name", "")] = target
    return out


def _place(vml: bytes, boxes: dict[tuple[int, int], Box]) -> bytes:
    root = ET.fromstring(vml)  # noqa: S314 - our own freshly written package
    for shape in root.iter(f"{{{_V}}}shape"):
        data = shape.find(f"{{{_X}}}ClientData")
        row, col = (data.findtext(f"{{{_X}}}{tag}") if data is not None else None for tag in ("Row", "Column"))
        box = boxes.get((int(row), int(col))) if row and col else None
        if data is None or box is None:
            continue
        for old in data.findall(f"{{{_X}}}Anchor"):
            data.remove(old)
        anchor = ET.Element(f"{{{_X}}}Anchor")
        anchor.text = box.anchor
        data.insert(2, anchor)  # the schema's order: MoveWithCells, SizeWithCells, Anchor, AutoFill, …, Row, Column
        style = shape.get("style", "")
        style = re.sub(r"margin-left:[^;]*", f"margin-left:{box.left_pt:.2f}pt", style)
        shape.set("style", re.sub(r"margin-top:[^;]*", f"margin-top:{box.top_pt:.2f}pt", style))
    return ET.tostring(root)


def anchor_comments(data: bytes, boxes: dict[str, dict[tuple[int, int], Box]]) -> bytes:
    """The saved package `data` with every comment shape of the named sheets placed at its Box."""
    src = zipfile.ZipFile(io.BytesIO(data))
    vml = {part: boxes[name] for name, part in _vml_of_sheets(src).items() if name in boxes}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            dst.writestr(info, _place(content, vml[info.filename]) if info.filename in vml else content)
    return out.getvalue()
