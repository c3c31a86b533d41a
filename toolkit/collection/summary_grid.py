"""Where everything sits in 汇总: the form's table sheets stacked in one sheet, each table with its own widths.

The tables of a form differ in shape (表二 has one wide label column, 表三 three label columns,
表四 fifteen figure columns and none), so shared sheet columns would make some huge and cut
others. 汇总 therefore uses a grid of narrow columns and each table column spans as many of them
as its own labels need. Rows are the template's rows, blocks stacked below a title row
(summary_offsets). The writer places by this grid and the reader (`check` of a collection) reads by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from toolkit.collection.sizing import LINE, column_width, lines_in, text_width
from toolkit.forms.layout import Static, TableGrid, layout_of, table_grid
from toolkit.forms.spec import Form, Section, Table

UNIT = 2  # width of one grid column
_UNIT_PX, _PAD_PX, _CHAR_PX = 19, 5, 7  # a column of width w is 7w + 5 pixels wide
LABEL_WIDTH, FIGURE_WIDTH, GROUP_WIDTH = (16, 36), (10, 16), 12  # (narrowest, widest) of each kind of column
_WRAPPED = ("header", "rowlabel", "checklabel", "corner", "caption", "note")
Span = tuple[int, int, int]  # row, first grid column, last grid column


@dataclass
class SummaryGrid:
    statics: list[Static] = field(default_factory=list)
    cells: dict[str, Span] = field(default_factory=dict)  # cell id -> where its figure is
    rules: dict[str, Span] = field(default_factory=dict)  # rule id -> where its check text is
    heights: dict[int, float] = field(default_factory=dict)
    blocks: list[int] = field(default_factory=list)  # first row of each table sheet's block
    columns: int = 1

    def width_of(self, first: int, last: int) -> float:
        """Character units a range of grid columns shows."""
        return span_width(last - first + 1)


def span_width(units: int) -> float:
    return (units * _UNIT_PX - _PAD_PX) / _CHAR_PX


def _units(width: float) -> int:
    """Grid columns that show at least `width` characters."""
    return max(1, int(-(-(width * _CHAR_PX + _PAD_PX) // _UNIT_PX)))  # rounded up: a label never loses its last character


def summary_offsets(form: Form) -> dict[str, int]:
    """Row offset of each table section's block in 汇总: blocks stacked below a title row."""
    out, row = {}, 2
    for section in form.sections:
        if section.tables:
            sheet = layout_of(form).sheet(section.sheet)
            out[section.sheet] = row
            row += 1 + max(s.last_row for s in sheet.statics) + 1
    return out


def summary_cells(form: Form) -> dict[str, tuple[int, int]]:
    """cell id -> (row, column), 0-based, of its figure in 汇总."""
    return {cid: (row, col) for cid, (row, col, _) in summary_grid(form).cells.items()}


def split_header(text: str, width: float) -> str:
    """A header too wide for its cell breaks before its bracket (本年收费金额 / （单位：万元）), never mid-word."""
    cut = text.find("（", 1)
    if text_width(text) + 1 <= width or cut < 0 or "\n" in text:
        return text
    return text[:cut] + "\n" + text[cut:]


def _table_widths(table: Table, grid: TableGrid) -> list[float]:
    """Each column of one table as wide as its own labels: row labels, or the leaf header above the figures."""
    out = []
    for c in range(grid.width):
        own = [s.text for s in grid.statics if s.col == s.last_col == c and s.style in ("rowlabel", "header")]
        if c < table.label_depth - 1:
            out.append(GROUP_WIDTH)
        elif c == table.label_depth - 1:
            out.append(column_width(own, *LABEL_WIDTH))
        else:
            parts = [part for text in own for part in split_header(text, FIGURE_WIDTH[1]).split("\n")]
            out.append(column_width(parts, *FIGURE_WIDTH))
    return out


@dataclass(frozen=True)
class _Placed:
    top: int
    bottom: int
    starts: list[int]  # table column -> first grid column
    ends: list[int]  # table column -> last grid column


def _place(table: Table, layout_cells: dict) -> _Placed:
    grid = table_grid(table)
    first = next(iter(grid.cells))
    top = layout_cells[first].row - grid.cells[first][0]
    starts, ends, col = [], [], 0
    for width in _table_widths(table, grid):
        starts.append(col)
        col += _units(width)
        ends.append(col - 1)
    return _Placed(top, top + grid.height, starts, ends)


def _section(form: Form, section: Section, offset: int, out: SummaryGrid) -> None:
    layout = layout_of(form)
    placed = [_place(t, layout.cells) for t in section.tables]
    units = max(p.ends[-1] + 1 for p in placed)
    label = min(units // 2, _units(LABEL_WIDTH[1]))
    for s in layout.sheet(section.sheet).statics:
        where = next((p for p in placed if p.top <= s.row < p.bottom), None)
        if where is not None:
            col, last = where.starts[s.col], where.ends[s.last_col]
        else:
            col, last = 0, (label - 1 if s.style == "checklabel" else units - 1)
        text = split_header(s.text, span_width(last - col + 1)) if s.style == "header" else s.text
        out.statics.append(Static(s.row + offset, col, s.last_row + offset, last, text, s.style, s.column))
    for table, where in zip(section.tables, placed, strict=True):
        for cid in (f"{table.id}.{r.id}.{c.id}" for r in table.rows for c in table.columns):
            pos = layout.cells[cid]
            out.cells[cid] = (pos.row + offset, where.starts[pos.col], where.ends[pos.col])
    for rid, pos in layout.rules.items():
        if pos.sheet == section.sheet:
            out.rules[rid] = (pos.row + offset, label, units - 1)
    out.columns = max(out.columns, units)


@lru_cache(maxsize=16)
def summary_grid(form: Form) -> SummaryGrid:
    """汇总's statics, figure and check positions, and the row heights its labels need."""
    out = SummaryGrid()
    for sheet, offset in summary_offsets(form).items():
        section = next(s for s in form.sections if s.sheet == sheet)
        out.blocks.append(offset)
        _section(form, section, offset, out)
    for s in out.statics:
        if s.row == s.last_row and s.style in _WRAPPED:
            lines = lines_in(s.text, out.width_of(s.col, s.last_col))
            if lines > 1:
                out.heights[s.row] = max(out.heights.get(s.row, LINE), LINE * lines + 3)
    return out
