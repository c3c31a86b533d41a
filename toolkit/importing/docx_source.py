"""A report saved as a Word document (.docx) as paragraphs and table grids, in the body's order."""

from __future__ import annotations

import io

import docx
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from toolkit.core.text import xml_safe
from toolkit.importing.document import Document, Grid, GridCell

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _text(text: str) -> str:
    return xml_safe(text).replace("\u3000", " ").strip()


def _grid(table: DocxTable, number: int) -> Grid:
    """Merged cells (gridSpan, vMerge) repeated under their origin, as python-docx gives them."""
    grid, origins = Grid(number), {}
    for r, row in enumerate(table.rows):
        line = []
        for c, cell in enumerate(row.cells):
            origin = origins.setdefault(cell._tc, (r, c))  # the element itself: kept alive, so one key per cell
            line.append(GridCell(_text(cell.text), origin))
        grid.rows.append(line)
    return grid


def _body_elements(body):
    """The body's paragraphs and tables in order, those inside content controls (w:sdt) included."""
    for el in body.iterchildren():
        if el.tag == _W + "sdt":
            content = el.find(_W + "sdtContent")
            if content is not None:
                yield from _body_elements(content)
        else:
            yield el


def read_docx(data: bytes, path: str) -> Document:
    d = docx.Document(io.BytesIO(data))
    blocks: list[str | Grid] = []
    tables = 0
    for el in _body_elements(d.element.body):
        if el.tag == _W + "p":
            text = Paragraph(el, d).text
            blocks.extend(line for line in (_text(x) for x in text.split("\n")) if line)
        elif el.tag == _W + "tbl":
            tables += 1
            blocks.append(_grid(DocxTable(el, d), tables))
    titles = [_text(Paragraph(el, d).text.replace("\n", "")) for el in _body_elements(d.element.body) if el.tag == _W + "p"][:8]
    core = d.core_properties.title or ""
    return Document(path, "Word 文档", [t for t in (core, *titles) if t], blocks)
