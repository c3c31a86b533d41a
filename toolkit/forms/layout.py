"""Where everything of a form sits in its workbook.

Computed once from the spec and used by the writer (to place) and the reader (to find and to
detect moved labels), so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from xlsxwriter.utility import xl_rowcol_to_cell

from toolkit.forms.spec import Column, Form, HeaderNode, Row, Section, Table

GUIDE_SHEET = "填报说明"
INFO_SHEET = "基本信息"
META_SHEET = "_meta"
META_PREFIX = "toolkit."  # custom document properties the tool writes and reads back
TEXT_AREA_ROWS = 30
TEXT_AREA_COLS = 10
TEXT_AREA_WIDTH = 9  # per column: ten of them fit an A4 portrait page unscaled

# Print geometry in column-width units (one "0" of the 11 pt body font) and points.
PORTRAIT_UNITS = 92  # what fits across A4 portrait between the default margins
BODY_SIZE = 11  # pt, the body font; titles are larger (STYLE_SIZES)
LINE_POINTS = 16  # one wrapped line of 11 pt CJK text (LibreOffice's fallback CJK fonts are tall)
ROW_POINTS = 15  # a row's default height
STYLE_SIZES = {"title": 14, "checklabel": 10}  # font sizes of the styles that are not BODY_SIZE
WRAPPED = ("title", "header", "corner", "rowlabel", "checklabel", "note", "guide", "caption")
NUMBER_WIDTH = 11  # the narrowest number column
MAX_HEADER_WIDTH = 32  # a longer column label wraps


@dataclass(frozen=True)
class Pos:
    sheet: str
    row: int  # 0-based
    col: int

    @property
    def a1(self) -> str:
        return xl_rowcol_to_cell(self.row, self.col)

    @property
    def ref(self) -> str:
        """`三、依申请公开!D12`: how problems name a cell."""
        return f"{self.sheet}!{self.a1}"


@dataclass(frozen=True)
class Static:
    """A fixed piece of text (label, header, title), possibly merged over a range."""

    row: int
    col: int
    last_row: int
    last_col: int
    text: str
    style: str
    column: Column | None = None  # the column a leaf header heads


@dataclass
class SheetLayout:
    name: str
    title: str
    statics: list[Static] = field(default_factory=list)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    freeze: tuple[int, int] | None = None
    landscape: bool = False
    width: int = 1
    repeat: tuple[int, int] = (0, 0)  # the rows printed on top of every page (title, table header)


@dataclass
class Layout:
    sheets: list[SheetLayout]
    cells: dict[str, Pos]  # cell id -> position
    rules: dict[str, Pos]  # rule id -> its check cell
    texts: dict[str, Pos]  # section id -> top-left of its text area
    fields: dict[str, Pos]  # field id -> value cell

    def sheet(self, name: str) -> SheetLayout:
        return next(s for s in self.sheets if s.name == name)


def text_units(text: str, size: float = BODY_SIZE) -> float:
    """How wide a text prints, in column-width units: a CJK (wide) character counts 2, others 1."""
    units = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return units * size / BODY_SIZE


def label_width(text: str, size: float = BODY_SIZE) -> float:
    """The column width that shows `text` on one line (cell padding and bold glyphs included)."""
    return math.ceil(text_units(text, size) * 1.1 + 2)


def wrapped_lines(text: str, width: float, size: float = BODY_SIZE) -> int:
    """How many lines `text` takes in a wrapping cell `width` units wide (each hard line break counted)."""
    usable = max(1.0, width / 1.1 - 2)
    return sum(max(1, math.ceil(text_units(line, size) / usable)) for line in text.split("\n"))


def row_points(lines: int, size: float = BODY_SIZE) -> float:
    """The row height (pt) that shows `lines` wrapped lines of a `size` pt font."""
    if lines <= 1 and size <= BODY_SIZE:
        return ROW_POINTS
    return max(ROW_POINTS, round(lines * LINE_POINTS * size / BODY_SIZE + 3))


def _info_sheet(form: Form, layout: Layout) -> None:
    """Label, value and (for some fields) a hint the writer fills in; the title spans all three columns."""
    sheet = SheetLayout(INFO_SHEET, "基本信息", widths={0: 14, 1: 48, 2: 30}, width=3)
    sheet.statics.append(Static(0, 0, 0, 2, f"{form.name} · 基本信息", "title"))
    for i, f in enumerate(form.fields, start=2):
        sheet.statics.append(Static(i, 0, i, 0, f.label, "rowlabel"))
        layout.fields[f.id] = Pos(INFO_SHEET, i, 1)
    _fit_heights(sheet)
    layout.sheets.append(sheet)


def _text_sheet(section: Section, layout: Layout) -> None:
    sheet = SheetLayout(section.sheet, section.title, width=TEXT_AREA_COLS)
    last = TEXT_AREA_COLS - 1
    sheet.statics.append(Static(0, 0, 0, last, section.title, "title"))
    sheet.statics.append(Static(1, 0, 1, last, section.text.hint if section.text else "", "note"))
    sheet.widths = {c: TEXT_AREA_WIDTH for c in range(TEXT_AREA_COLS)}
    sheet.repeat = (0, 1)
    _fit_heights(sheet)
    layout.texts[section.id] = Pos(section.sheet, 2, 0)
    layout.sheets.append(sheet)


@dataclass(frozen=True)
class TableGrid:
    """One table drawn from its own top-left corner: the same grid in the workbook and in the Word report."""

    statics: tuple[Static, ...]  # caption, corner, column headers, row labels, in that order
    cells: dict[str, tuple[int, int]]  # cell id -> (row, col)
    height: int
    width: int


def _header(nodes: tuple[HeaderNode, ...], row: int, col: int, last_row: int) -> Iterator[Static]:
    """A group spans its leaves; a leaf reaches down to the last header row (and knows its column)."""
    for n in nodes:
        yield Static(row, col, row if n.children else last_row, col + n.width - 1, n.label, "header", n.column)
        yield from _header(n.children, row + 1, col, last_row)
        col += n.width


def _row_labels(rows: tuple[Row, ...], top: int, label_depth: int) -> Iterator[Static]:
    """A group label spans its descendants' rows in its own column; a leaf spans the remaining label columns."""
    row = top
    for r in rows:
        n = len(r.leaves())
        if r.children:
            yield Static(row, r.depth, row + n - 1, r.depth, r.label, "rowlabel")
            yield from _row_labels(r.children, row, label_depth)
        else:
            yield Static(row, r.depth, row, label_depth - 1, r.label, "rowlabel")
        row += n


def table_grid(table: Table) -> TableGrid:
    """The grid of a spec table: caption row (when there is one), header rows, then one row per leaf row."""
    labels, depth = table.label_depth, table.header_depth
    width = labels + len(table.columns)
    statics: list[Static] = []
    top = 0
    if table.caption:
        statics.append(Static(0, 0, 0, width - 1, table.caption, "caption"))
        top = 1
    if labels:
        statics.append(Static(top, 0, top + depth - 1, labels - 1, table.corner, "corner"))
    statics += _header(table.header, top, labels, top + depth - 1)
    body = top + depth
    if labels:
        statics += _row_labels(table.row_tree, body, labels)
    cells = {
        f"{table.id}.{r.id}.{c.id}": (body + i, labels + j) for i, r in enumerate(table.rows) for j, c in enumerate(table.columns)
    }
    return TableGrid(tuple(statics), cells, body + len(table.rows), width)


def _table(table: Table, top: int, sheet: SheetLayout, layout: Layout) -> int:
    """Lay out one table from row `top`; returns the first row below it."""
    grid = table_grid(table)
    sheet.statics += [dataclasses.replace(s, row=s.row + top, last_row=s.last_row + top) for s in grid.statics]
    for cell_id, (row, col) in grid.cells.items():
        layout.cells[cell_id] = Pos(sheet.name, top + row, col)
    bottom = top + grid.height
    notes = "；".join(f"{c.label}（{c.note}）" for c in table.columns if c.note)
    if notes:  # column notes (e.g. the unit of 采购总金额) go in the free row below the table
        sheet.statics.append(Static(bottom, 0, bottom, grid.width - 1, f"注：{notes}", "note"))
    return bottom


def _fit_heights(sheet: SheetLayout) -> None:
    """Rows tall enough for every wrapped label: spreadsheets do not grow the rows of a written file.

    One-row labels first; a label merged over several rows then grows the last of them if they are too low."""
    wrapped = [s for s in sheet.statics if s.style in WRAPPED and s.text]
    for s in sorted(wrapped, key=lambda s: s.last_row - s.row):
        size = STYLE_SIZES.get(s.style, BODY_SIZE)
        width = sum(sheet.widths.get(c, 9) for c in range(s.col, s.last_col + 1))
        need = row_points(wrapped_lines(s.text, width, size), size)
        rows = range(s.row, s.last_row + 1)
        have = sum(sheet.heights.get(r, ROW_POINTS) for r in rows)
        if need > have:
            sheet.heights[s.last_row] = sheet.heights.get(s.last_row, ROW_POINTS) + need - have


def _fit_widths(sheet: SheetLayout, label_depth: int) -> None:
    """Columns wide enough for their labels on one line (up to a cap): no header breaks mid-word.

    A label column takes its widest one-column row label (the last one at most 36, the others 16); a leaf
    header widens its own column, then a group header too wide for its columns widens them evenly."""
    for c in range(label_depth):
        labels = [label_width(s.text) for s in sheet.statics if s.style == "rowlabel" and s.col == s.last_col == c]
        cap = 36 if c == label_depth - 1 else 16
        sheet.widths[c] = min(cap, max([*labels, label_width(_corner_text(sheet)) if label_depth == 1 else 0, 10]))
    for c in range(label_depth, sheet.width):
        sheet.widths[c] = NUMBER_WIDTH
    headers = [s for s in sheet.statics if s.style == "header"]
    for s in sorted(headers, key=lambda s: s.last_col - s.col):
        cols = range(s.col, s.last_col + 1)
        short = min(label_width(s.text), MAX_HEADER_WIDTH * len(cols)) - sum(sheet.widths[c] for c in cols)
        for c in cols if short > 0 else ():
            sheet.widths[c] += math.ceil(short / len(cols))


def _corner_text(sheet: SheetLayout) -> str:
    """The longest one-column corner (信息内容): it heads the label column."""
    return max((s.text for s in sheet.statics if s.style == "corner" and s.col == s.last_col), key=len, default="")


def _table_sheet(form: Form, section: Section, layout: Layout) -> None:
    width = max(t.label_depth + len(t.columns) for t in section.tables)
    sheet = SheetLayout(section.sheet, section.title, width=width)
    sheet.statics.append(Static(0, 0, 0, width - 1, section.title, "title"))
    row = 2
    for table in section.tables:
        row = _table(table, row, sheet, layout) + 1
    label_depth = max(t.label_depth for t in section.tables)
    _fit_widths(sheet, label_depth)
    sheet.landscape = any(t.landscape for t in section.tables) or sum(sheet.widths.values()) > PORTRAIT_UNITS
    first = section.tables[0]
    if len(section.tables) == 1:
        header_end = 2 + bool(first.caption) + first.header_depth
        sheet.freeze = (header_end, first.label_depth)
        sheet.repeat = (0, header_end - 1)
    rules = [r for r in form.rules if any(t.id == r.table_id for t in section.tables)]
    if rules:
        sheet.statics.append(Static(row, 0, row, width - 1, "校验结果（自动计算，请勿修改；出现 ✗ 时请核对数据）", "caption"))
        row += 1
        split = max(1, min(label_depth, width - 1))
        for rule in rules:
            sheet.statics.append(Static(row, 0, row, split - 1, rule.title, "checklabel"))
            layout.rules[rule.id] = Pos(sheet.name, row, split)
            sheet.heights[row] = 30
            row += 1
    _fit_heights(sheet)
    layout.sheets.append(sheet)


@lru_cache(maxsize=16)
def layout_of(form: Form) -> Layout:
    """The positions of every label, input, total, check cell and text area of `form`."""
    layout = Layout([], {}, {}, {}, {})
    _info_sheet(form, layout)
    for section in form.sections:
        if section.text:
            _text_sheet(section, layout)
        else:
            _table_sheet(form, section, layout)
    return layout
