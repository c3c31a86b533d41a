"""A report as a text PDF (Word or WPS exported): tables by their ruling lines, text by lines.

pdfplumber finds each table from the lines drawn around its cells, so merged cells, labels over
several lines and headers of three levels come out as a grid; `pdftotext -layout` keeps only
columns of characters, where a wrapped label and a merged header cannot be told apart. Text lines
outside the tables become paragraphs: a line indented like a first line starts a new one.
"""

from __future__ import annotations

import io
import re
from bisect import bisect_left
from dataclasses import dataclass

from toolkit.core.text import xml_safe
from toolkit.importing.document import Document, Grid, GridCell

SAME_LINE = 50  # points: characters of one line closer than this are one run of text
TITLE_LINES = 40  # lines of the first page where a title may be
INDENT = 1.5  # a line starting this many characters right of the text's left edge starts a paragraph
_SPACES = re.compile(r"  +")
_PAGE_NUMBER = re.compile(r"^[—\-－–]\s*\d+\s*[—\-－–]$")


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    top: float
    size: float


def _grid(table, number: int) -> Grid:
    """A pdfplumber table as a Grid: each cell's box covers the grid positions between the table's edges."""
    xs = sorted({round(c[0], 1) for c in table.cells} | {round(c[2], 1) for c in table.cells})
    ys = sorted({round(c[1], 1) for c in table.cells} | {round(c[3], 1) for c in table.cells})
    texts = {}
    for row, cells in zip(table.rows, table.extract(), strict=False):
        for box, text in zip(row.cells, cells, strict=False):
            if box is not None:
                texts[(round(box[0], 1), round(box[1], 1))] = text or ""
    grid = Grid(number, [[GridCell("", (r, c)) for c in range(len(xs) - 1)] for r in range(len(ys) - 1)])
    for x0, top, x1, bottom in table.cells:
        c0, c1 = bisect_left(xs, round(x0, 1)), bisect_left(xs, round(x1, 1))
        r0, r1 = bisect_left(ys, round(top, 1)), bisect_left(ys, round(bottom, 1))
        cell = GridCell(_clean(texts.get((round(x0, 1), round(top, 1)), "")), (r0, c0))
        for r in range(r0, max(r1, r0 + 1)):
            for c in range(c0, max(c1, c0 + 1)):
                grid.rows[r][c] = cell
    return grid


def _clean(text: str) -> str:
    """A cell's lines joined: a label wrapped in its cell is one label."""
    return xml_safe("".join(part.strip() for part in text.split("\n"))).strip()


def _lines(page, boxes) -> list[_Line]:
    def outside(obj) -> bool:
        return not any(b[0] - 1 <= obj["x0"] and obj["x1"] <= b[2] + 1 and b[1] - 1 <= obj["top"] <= b[3] + 1 for b in boxes)

    rest = page.filter(lambda obj: obj.get("object_type") != "char" or outside(obj))
    out = []
    # the spaces the file holds, none guessed from gaps (justified Chinese lines are full of gaps)
    for line in rest.extract_text_lines(
        layout=False, strip=False, return_chars=True, x_tolerance=SAME_LINE, keep_blank_chars=True
    ):
        chars = line.get("chars") or []
        size = max((ch.get("size", 0) for ch in chars), default=0)
        text = _SPACES.sub(" ", xml_safe(line["text"]))  # a space ending a line is kept; a run of them is one
        out.append(_Line(text, line["x0"], line["x1"], line["top"], size))
    return [x for x in out if x.text.strip() and not _PAGE_NUMBER.match(x.text.strip())]


class _Paragraphs:
    """Lines joined into paragraphs across pages."""

    def __init__(self):
        self.blocks: list[str | Grid] = []
        self.open = False  # the last block is a paragraph a next line may continue

    def line(self, line: _Line, left: float, right: float) -> None:
        width = line.size or 10
        starts = line.x0 > left + INDENT * width / 2 or not self.open
        if starts:
            self.blocks.append(line.text.lstrip())
        else:
            self.blocks[-1] = str(self.blocks[-1]) + line.text
        self.open = line.x1 >= right - 1.5 * width  # a line ending short ends its paragraph

    def table(self, grid: Grid) -> None:
        self.blocks.append(grid)
        self.open = False


def read_pdf(data: bytes, path: str) -> Document:
    import pdfplumber

    out, number, titles = _Paragraphs(), 0, []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            tables = page.find_tables()
            lines = _lines(page, [t.bbox for t in tables])
            left = min((x.x0 for x in lines), default=0)
            right = max((x.x1 for x in lines), default=0)
            items = [(x.top, 0, x) for x in lines] + [(t.bbox[1], 1, t) for t in tables]
            for _, kind, item in sorted(items, key=lambda i: (i[0], i[1])):
                if kind == 0:
                    out.line(item, left, right)
                else:
                    number += 1
                    out.table(_grid(item, number))
            if not titles:
                titles = _title(lines)
    return Document(path, "PDF", titles, [b.strip() if isinstance(b, str) else b for b in out.blocks])


def _title(lines: list[_Line]) -> list[str]:
    """The largest type on the first page, joined (a title broken over two lines is one title)."""
    if not lines:
        return []
    biggest = max(x.size for x in lines)
    title = "".join(x.text.strip() for x in lines if x.size >= biggest - 0.5)
    return [title, *(x.text.strip() for x in lines[:TITLE_LINES])]  # a page printed from a portal: the title is not the biggest
