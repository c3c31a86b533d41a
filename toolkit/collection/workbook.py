"""collection.xlsx: 状态, 催报, 汇总, 明细, 文字 and 图表 of a merge, each sheet ready to print.

Every piece of user text (agency names, paths, texts, problem messages) is written with
write_string, so a text starting with `=` stays text. The file describes itself in custom
document properties, which is how `toolkit check` and `merge --previous` recognise it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.utility import xl_rowcol_to_cell

from toolkit.collection.charts import write_charts
from toolkit.collection.model import Collection
from toolkit.collection.sheetrows import RowWriter, splice_rows
from toolkit.collection.status import STATUS, STATUS_HEADER, chase_sheet, status_sheet
from toolkit.collection.summary_grid import UNIT, summary_cells, summary_grid, summary_offsets, title_columns
from toolkit.core.fileio import atomic_write_bytes
from toolkit.core.page import Page, apply_xlsxwriter
from toolkit.core.sizing import ROW_POINTS, column_width, row_height
from toolkit.core.version import __version__
from toolkit.forms.formulas import check_cell_text
from toolkit.forms.layout import META_PREFIX
from toolkit.forms.spec import Form
from toolkit.reading.interpret import COLLECTION
from toolkit.workbook.writer import STYLES, as_number, merge_or_write

__all__ = [  # sheet names and positions, re-exported for the reader and the tests
    "CHARTS",
    "DETAIL",
    "DETAIL_HEADER_ROWS",
    "DETAIL_LEAD",
    "STATUS",
    "STATUS_HEADER",
    "SUMMARY",
    "TEXTS",
    "collection_bytes",
    "detail_header",
    "fit_cell",
    "metadata",
    "summary_cells",
    "summary_offsets",
    "write_collection",
]
KIND = COLLECTION  # what metadata says this file is (the reader's kind_of)
SUMMARY, DETAIL, TEXTS, CHARTS = "汇总", "明细", "文字", "图表"
TOTAL_LABEL = "合计"  # 明细's last row; the reader finds the end of the agencies by it
DETAIL_HEADER_ROWS = 4  # 表格 / 行 / 列 / 单元格标识
DETAIL_LEAD = ("机关名称", "年度", "状态", "文件")
DETAIL_LEAD_WIDTHS = (24, 6, 8, 30)
DETAIL_WIDTH = 14  # each cell column of 明细
DETAIL_PAGE = 12  # cell columns on one printed page of 明细
_EXTRA_STYLES = {
    "head": STYLES["header"],  # one header style for every sheet, the template's
    "head_left": {**STYLES["header"], "align": "left"},  # a title merged over many columns starts where they do
    "cid": {**STYLES["header"], "bold": False, "font_size": 8, "font_color": "#595959"},
    "text": {"border": 1, "text_wrap": True, "valign": "top"},
    "cell": {"border": 1, "text_wrap": True, "valign": "top"},
    "count": {"border": 1, "num_format": "0", "valign": "top"},
    "int": {"border": 1, "num_format": "0", "valign": "vcenter"},
    "dec": {"border": 1, "num_format": "0.00####", "valign": "vcenter"},
    "sum_int": {"border": 1, "bold": True, "bg_color": "#DDEBF7", "num_format": "0", "valign": "vcenter"},
    "sum_dec": {"border": 1, "bold": True, "bg_color": "#DDEBF7", "num_format": "0.00####", "valign": "vcenter"},
}


def metadata(c: Collection) -> dict[str, str]:
    return {
        "kind": KIND,
        "form_id": c.form.id,
        "form_version": c.form.version,
        "fingerprint": c.form.fingerprint,
        "name": c.name,
        "year": str(c.year or ""),
        "agencies": str(len(c.returns)),
        "inputs": str(len(c.entries)),
        "toolkit_version": __version__,
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


class Splice(NamedTuple):
    """Rows to insert into a part of the package, before a row xlsxwriter wrote (collection.sheetrows)."""

    part: str
    before_row: int
    rows: Iterator[str]


class _Writer:
    """Writes its parts through temporary files in `tmpdir` (not in memory) into `target`, a path or a binary file."""

    def __init__(self, c: Collection, target, tmpdir: str | None = None):
        self.c, self.form = c, c.form
        options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        self.wb = xlsxwriter.Workbook(target, {**options, "in_memory": False, "tmpdir": tmpdir})
        self.styles = {**STYLES, **_EXTRA_STYLES}
        self.formats: dict[tuple[str, str | None], object] = {}
        self.fmt = _Formats(self)

    def style(self, name: str, fill: str | None = None) -> object:
        """The named style (STYLES and this file's own), with a background fill when given; made once."""
        key = (name, fill)
        if key not in self.formats:
            extra = {"bg_color": fill} if fill else {}
            self.formats[key] = self.wb.add_format({"font_name": "宋体", **self.styles[name], **extra})
        return self.formats[key]

    def streamed_sheet(self, name: str):
        """A sheet xlsxwriter writes row by row to a temporary file (its constant_memory mode, for this sheet
        alone): 明细 of 10,000 returns is 2.5M cells, which its in-memory table would hold at ~100 bytes each.
        Cells must come in row order; other sheets (charts read their data back) stay in memory."""
        self.wb.constant_memory = True
        try:
            return self.wb.add_worksheet(name)
        finally:
            self.wb.constant_memory = False

    def value_format(self, cell_id: str, total: bool = False) -> object:
        decimal = self.form.cells[cell_id].kind.type == "decimal"
        return self.style(("sum_" if total else "") + ("dec" if decimal else "int"))

    # 汇总 ---------------------------------------------------------------
    def summary(self) -> None:
        ws, grid = self.wb.add_worksheet(SUMMARY), summary_grid(self.form)
        title, size = self.c.title("汇总") + f"（{len(self.c.returns)} 个机关）", STYLES["title"]["font_size"]
        last = title_columns(grid, title, size) - 1
        ws.set_column(0, last, UNIT)
        merge_or_write(ws, (0, 0, 0, last), title, self.style("title"))
        ws.set_row(0, row_height([(title, grid.width_of(0, last))], size=size))
        for s in grid.statics:
            merge_or_write(ws, (s.row, s.col, s.last_row, s.last_col), s.text, self.style(s.style))
        for cell_id, (row, col, last) in grid.cells.items():
            fmt = self.value_format(cell_id, self.form.cells[cell_id].computed)
            merge_or_write(ws, (row, col, row, last), as_number(self.c.totals[cell_id]), fmt)
        heights = dict(grid.heights)
        for rule in self.form.rules:
            row, col, last = grid.rules[rule.id]
            text = check_cell_text(rule, self.c.totals)
            merge_or_write(ws, (row, col, row, last), text, self.style("check"))
            heights[row] = max(heights.get(row, ROW_POINTS), row_height([(text, grid.width_of(col, last))]))
        for row, height in heights.items():
            ws.set_row(row, height)
        ws.set_h_pagebreaks(grid.blocks[1:])  # each table sheet's block starts a page
        apply_xlsxwriter(ws, Page(True, title=self.c.title("汇总")))

    # 明细 ---------------------------------------------------------------
    def detail(self) -> Splice:
        """The header and 合计 rows; the agency rows, written when the package is made, are returned (sheetrows)."""
        ws = self.streamed_sheet(DETAIL)
        # the sheet just added is the last worksheet: xlsxwriter numbers worksheet parts in the order they were added
        part = f"xl/worksheets/sheet{sum(not w.is_chartsheet for w in self.wb.worksheets())}.xml"
        ids = list(self.form.cells)
        lead, top = len(DETAIL_LEAD), DETAIL_HEADER_ROWS
        self.detail_head(ws, lead)
        self.detail_totals(ws, ids, top)
        # the style ids xlsxwriter gives a format when a cell first uses it: the rows here are written without it
        styles = [self.style("cell")._get_xf_index()] * lead, [self.value_format(cid)._get_xf_index() for cid in ids]
        for col, width in enumerate(DETAIL_LEAD_WIDTHS):
            ws.set_column(col, col, width)
        ws.set_column(lead, lead + len(ids) - 1, DETAIL_WIDTH)
        ws.freeze_panes(top, 1)
        ws.autofilter(top - 1, 0, top - 1 + max(1, len(self.c.returns)), lead + len(ids) - 1)
        pages = max(1, -(-len(ids) // DETAIL_PAGE))
        apply_xlsxwriter(ws, Page(True, (0, DETAIL_HEADER_ROWS - 1), True, pages, self.c.title("汇总") + " · 明细"))
        return Splice(part, top + len(self.c.returns), _detail_rows(self.c, RowWriter(*styles), ids))

    def detail_head(self, ws, lead: int) -> None:
        """The four header rows: a table's title and a row's label merged over their columns, each row as tall as it needs."""
        rows = detail_header(self.form)
        for col in range(lead):  # the lead titles are merged down the header rows, whose cells come row by row below
            ws.merge.append([0, col, DETAIL_HEADER_ROWS - 1, col])  # (merge_range would write all four rows at once)
        for r, texts in enumerate(rows):
            for col, text in enumerate(DETAIL_LEAD):
                ws.write(r, col, text if r == 0 else None, self.style("head"))
            lines: list[tuple[str, float]] = []
            style = self.style(("head_left", "head_left", "head", "cid")[r])
            for first, last in _runs(rows, r):
                text = texts[first]
                if last > first:
                    ws.merge_range(r, lead + first, r, lead + last, text, style)
                else:
                    ws.write_string(r, lead + first, text, style)
                lines.append((text, DETAIL_WIDTH * (last - first + 1)))
            ws.set_row(r, row_height(lines, 20))

    def detail_totals(self, ws, ids: list[str], top: int) -> None:
        """A 合计 row of SUM formulas (with the true cached values) below the agencies."""
        row, lead, n = top + len(self.c.returns), len(DETAIL_LEAD), len(self.c.returns)
        ws.write_string(row, 0, TOTAL_LABEL, self.style("sum_int"))
        for j, cid in enumerate(ids):
            col = lead + j
            value = as_number(self.c.totals[cid])
            if n:
                rng = f"{xl_rowcol_to_cell(top, col)}:{xl_rowcol_to_cell(top + n - 1, col)}"
                ws.write_formula(row, col, f"=SUM({rng})", self.value_format(cid, True), value)
            else:
                ws.write_number(row, col, value, self.value_format(cid, True))

    # 文字 ---------------------------------------------------------------
    def texts(self) -> None:
        ws = self.streamed_sheet(TEXTS)  # 10,000 agencies' texts: written row by row
        fields = [f for f in self.form.fields if not f.prefilled]
        sections = self.form.text_sections
        header = ["机关名称", *(f.label for f in fields), *(s.title for s in sections)]
        rows = [
            [r.agency, *(r.fields.get(f.id, "") for f in fields), *(fit_cell(r.texts.get(s.id, "")) for s in sections)]
            for r in self.c.returns
        ]
        widths = [
            column_width([header[0], *(row[0] for row in rows)], 12, 24),
            *(column_width([f.label, *(row[1 + k] for row in rows)], 8, 16) for k, f in enumerate(fields)),
            *(50 for _ in sections),
        ]
        for col, text in enumerate(header):
            ws.write_string(0, col, text, self.style("head"))
        ws.set_row(0, row_height(zip(header, widths, strict=True), 20))
        for i, cells in enumerate(rows, start=1):
            for col, text in enumerate(cells):
                ws.write_string(i, col, text, self.style("text"))
            ws.set_row(i, row_height(zip(cells, widths, strict=True)))
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.freeze_panes(1, 1)
        apply_xlsxwriter(ws, Page(True, (0, 0), True, title=self.c.title("汇总") + " · 文字部分"))

    def build(self) -> Splice:
        status_sheet(self)
        chase_sheet(self)
        self.summary()
        splice = self.detail()
        self.texts()
        write_charts(self.wb, self.c, self.fmt)
        self.wb.set_properties(
            {"title": self.c.title("汇总"), "subject": self.form.name, "author": "toolkit", "company": self.c.name}
        )
        for key, value in metadata(self.c).items():
            self.wb.set_custom_property(META_PREFIX + key, value)
        self.wb.close()
        return splice


def _detail_rows(c: Collection, writer: RowWriter, ids: list[str]) -> Iterator[str]:
    """One 明细 row per return: 机关名称, 年度, 状态 (its fate in this merge), 文件, then every cell's figure."""
    accepted = {id(e.ret): e.fate_label for e in c.entries}
    for i, r in enumerate(c.returns):
        texts = (r.agency, str(r.year or ""), accepted.get(id(r), ""), r.path)
        values = r.values
        numbers = [as_number(values.get(cid, 0)) for cid in ids]
        yield writer.row(DETAIL_HEADER_ROWS + i, row_height(zip(texts, DETAIL_LEAD_WIDTHS, strict=True)), texts, numbers)


class _Formats:
    """`fmt["head"]` for the chart sheet: the writer's styles by name."""

    def __init__(self, writer: _Writer):
        self.writer = writer

    def __getitem__(self, name: str) -> object:
        return self.writer.style(name)


def _runs(rows: list[list[str]], r: int) -> list[tuple[int, int]]:
    """(first, last) columns of row r to merge: equal neighbours, in the table-title and row-label rows only,
    and in the row-label row only under one table."""
    texts, out, first = rows[r], [], 0
    for j in range(1, len(texts) + 1):
        same = j < len(texts) and r < 2 and all(rows[k][j] == rows[k][j - 1] for k in range(r + 1))
        if not same:
            out.append((first, j - 1))
            first = j
    return out


CELL_LIMIT = 32_767  # characters a spreadsheet cell holds (Excel, WPS and LibreOffice alike)


def fit_cell(text: str) -> str:
    """Text for one cell: a longer one (only `--include-invalid` lets one in) is cut and says so, never silently."""
    if len(text) <= CELL_LIMIT:
        return text
    note = f"……（全文共 {len(text)} 字，超出单元格上限，此处只列出前面部分；全文见该机关的报表）"
    return text[: CELL_LIMIT - len(note)] + note


def detail_header(form: Form) -> list[list[str]]:
    """The four header rows of 明细 over the cell columns: table, row, column, cell id."""
    rows: list[list[str]] = [[], [], [], []]
    titles = {t.id: s.title for s in form.sections for t in s.tables}
    for cid, cell in form.cells.items():
        rows[0].append(" ".join(x for x in (titles[cell.table.id], cell.table.caption) if x))
        rows[1].append(" / ".join(p for p in (*cell.row.path, cell.row.label) if p))
        rows[2].append(" / ".join(p for p in (*cell.column.path, cell.column.label) if p))
        rows[3].append(cid)
    return rows


def collection_bytes(c: Collection, tmpdir: str | None = None) -> bytes:
    """collection.xlsx as bytes; its parts go through temporary files in `tmpdir` (default: the system's)."""
    buffer = io.BytesIO()
    try:
        part, before, rows = _Writer(c, buffer, tmpdir).build()
    except FileCreateError as e:  # xlsxwriter's wrapper hides a full disk from the callers that name it
        raise (e.args[0] if e.args and isinstance(e.args[0], OSError) else e) from None
    return splice_rows(buffer.getvalue(), part, before, rows) if c.returns else buffer.getvalue()


def write_collection(c: Collection, path: str | Path) -> Path:
    """Write collection.xlsx atomically (its temporary files beside it)."""
    path = Path(path)
    atomic_write_bytes(path, collection_bytes(c, str(path.parent)))
    return path
