"""collection.xlsx: 状态, 汇总, 明细, 文字 and 图表 of a merge, and reading one back.

Every piece of user text (agency names, paths, texts, problem messages) is written with
write_string, so a text starting with `=` stays text. The file describes itself in custom
document properties, which is how `toolkit check` and `merge --previous` recognise it.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from toolkit.collection.charts import write_charts
from toolkit.collection.model import Collection
from toolkit.core.fileio import atomic_write_bytes
from toolkit.core.version import __version__
from toolkit.forms.formulas import check_cell_text
from toolkit.forms.layout import META_PREFIX, layout_of
from toolkit.forms.spec import Form
from toolkit.reading.interpret import COLLECTION
from toolkit.workbook.writer import STYLES, as_number

KIND = COLLECTION  # what metadata says this file is (the reader's kind_of)
STATUS, SUMMARY, DETAIL, TEXTS, CHARTS = "状态", "汇总", "明细", "文字", "图表"
DETAIL_HEADER_ROWS = 4  # 表格 / 行 / 列 / 单元格标识
DETAIL_LEAD = ("机关名称", "年度", "状态", "文件")
STATUS_HEADER = ("序号", "文件", "机关名称", "年度", "表式", "表式版本", "结果", "错误数", "警告数", "第一个问题", "跨年度核对")
_EXTRA_STYLES = {
    "head": {"bold": True, "border": 1, "bg_color": "#EDEDED", "text_wrap": True, "valign": "vcenter"},
    "text": {"border": 1, "text_wrap": True, "valign": "top"},
    "cell": {"border": 1, "valign": "top"},
    "int": {"border": 1, "num_format": "0"},
    "dec": {"border": 1, "num_format": "0.00####"},
    "sum_int": {"border": 1, "bold": True, "bg_color": "#DDEBF7", "num_format": "0"},
    "sum_dec": {"border": 1, "bold": True, "bg_color": "#DDEBF7", "num_format": "0.00####"},
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


class _Writer:
    def __init__(self, c: Collection):
        self.c, self.form, self.layout = c, c.form, layout_of(c.form)
        self.buffer = io.BytesIO()
        self.wb = xlsxwriter.Workbook(
            self.buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        )
        styles = {**STYLES, **_EXTRA_STYLES}
        self.fmt = {k: self.wb.add_format({"font_name": "宋体", **v}) for k, v in styles.items()}

    def value_format(self, cell_id: str, total: bool = False) -> object:
        decimal = self.form.cells[cell_id].kind.type == "decimal"
        return self.fmt[("sum_" if total else "") + ("dec" if decimal else "int")]

    # 状态 ---------------------------------------------------------------
    def status(self) -> None:
        ws = self.wb.add_worksheet(STATUS)
        for col, text in enumerate(STATUS_HEADER):
            ws.write_string(0, col, text, self.fmt["head"])
        for i, e in enumerate(self.c.entries, start=1):
            first = next((p.message for p in [*e.notes, *e.ret.errors, *e.ret.warnings]), "")
            cells = (
                e.path,
                e.ret.agency,
                str(e.ret.year or ""),
                e.ret.form_id,
                e.ret.form_version,
                e.fate_label,
                str(e.errors),
                str(e.warnings),
                first,
                "；".join(p.message for p in e.cross_year),
            )
            ws.write_number(i, 0, i, self.fmt["int"])
            for col, text in enumerate(cells, start=1):
                if col in (7, 8):
                    ws.write_number(i, col, int(text), self.fmt["int"])
                else:
                    ws.write_string(i, col, text, self.fmt["cell"])
        ws.set_column(0, 0, 6)
        ws.set_column(1, 1, 40)
        ws.set_column(2, 2, 24)
        ws.set_column(3, 8, 10)
        ws.set_column(9, 10, 80)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(1, len(self.c.entries)), len(STATUS_HEADER) - 1)

    # 汇总 ---------------------------------------------------------------
    def summary(self) -> None:
        ws = self.wb.add_worksheet(SUMMARY)
        ws.merge_range(0, 0, 0, 9, self.c.title("汇总") + f"（{len(self.c.returns)} 个机关）", self.fmt["title"])
        widths: dict[int, float] = {}
        for section, offset in summary_offsets(self.form).items():
            sheet = self.layout.sheet(section)
            self.statics(ws, sheet, offset)
            for col, width in sheet.widths.items():
                widths[col] = max(widths.get(col, 0), width)
            for row, height in sheet.heights.items():
                ws.set_row(row + offset, height)
        for col, width in widths.items():
            ws.set_column(col, col, width)
        offsets = summary_offsets(self.form)
        for cell_id, pos in self.layout.cells.items():
            total = self.form.cells[cell_id].computed
            ws.write_number(
                pos.row + offsets[pos.sheet], pos.col, as_number(self.c.totals[cell_id]), self.value_format(cell_id, total)
            )
        for rule in self.form.rules:
            pos = self.layout.rules[rule.id]
            last = self.layout.sheet(pos.sheet).width - 1
            row = pos.row + offsets[pos.sheet]
            text = check_cell_text(rule, self.c.totals)
            if last > pos.col:
                ws.merge_range(row, pos.col, row, last, text, self.fmt["check"])
            else:
                ws.write_string(row, pos.col, text, self.fmt["check"])
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)

    def statics(self, ws, sheet, offset: int) -> None:
        for s in sheet.statics:
            fmt = self.fmt[s.style]
            if (s.row, s.col) != (s.last_row, s.last_col):
                ws.merge_range(s.row + offset, s.col, s.last_row + offset, s.last_col, s.text, fmt)
            else:
                ws.write_string(s.row + offset, s.col, s.text, fmt)

    # 明细 ---------------------------------------------------------------
    def detail(self) -> None:
        ws = self.wb.add_worksheet(DETAIL)
        ids = list(self.form.cells)
        lead = len(DETAIL_LEAD)
        for row, texts in enumerate(detail_header(self.form)):
            for col, text in enumerate(texts):
                ws.write_string(row, lead + col, text, self.fmt["head"])
        for col, text in enumerate(DETAIL_LEAD):
            ws.merge_range(0, col, DETAIL_HEADER_ROWS - 1, col, text, self.fmt["head"])
        accepted = {id(e.ret): e.fate_label for e in self.c.entries}
        top = DETAIL_HEADER_ROWS
        for i, r in enumerate(self.c.returns):
            row = top + i
            for col, text in enumerate((r.agency, str(r.year or ""), accepted.get(id(r), ""), r.path)):
                ws.write_string(row, col, text, self.fmt["cell"])
            for j, cid in enumerate(ids):
                ws.write_number(row, lead + j, as_number(r.values.get(cid, 0)), self.value_format(cid))
        self.detail_totals(ws, ids, top)
        ws.set_column(0, 0, 24)
        ws.set_column(1, 2, 8)
        ws.set_column(3, 3, 30)
        ws.set_column(lead, lead + len(ids) - 1, 12)
        ws.set_row(1, 60)
        ws.freeze_panes(top, 1)
        ws.autofilter(top - 1, 0, top - 1 + max(1, len(self.c.returns)), lead + len(ids) - 1)

    def detail_totals(self, ws, ids: list[str], top: int) -> None:
        """A 合计 row of SUM formulas (with the true cached values) below the agencies."""
        row, lead, n = top + len(self.c.returns), len(DETAIL_LEAD), len(self.c.returns)
        ws.write_string(row, 0, "合计", self.fmt["sum_int"])
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
        ws = self.wb.add_worksheet(TEXTS)
        fields = [f for f in self.form.fields if not f.prefilled]
        sections = self.form.text_sections
        header = ["机关名称", *(f.label for f in fields), *(s.title for s in sections)]
        for col, text in enumerate(header):
            ws.write_string(0, col, text, self.fmt["head"])
        for i, r in enumerate(self.c.returns, start=1):
            cells = [r.agency, *(r.fields.get(f.id, "") for f in fields), *(r.texts.get(s.id, "") for s in sections)]
            for col, text in enumerate(cells):
                ws.write_string(i, col, fit_cell(text), self.fmt["text"])
        ws.set_column(0, 0, 24)
        ws.set_column(1, len(fields), 16)
        ws.set_column(len(fields) + 1, len(header) - 1, 60)
        ws.freeze_panes(1, 1)

    def build(self) -> bytes:
        self.status()
        self.summary()
        self.detail()
        self.texts()
        write_charts(self.wb, self.c, self.fmt)
        self.wb.set_properties(
            {"title": self.c.title("汇总"), "subject": self.form.name, "author": "toolkit", "company": self.c.name}
        )
        for key, value in metadata(self.c).items():
            self.wb.set_custom_property(META_PREFIX + key, value)
        self.wb.close()
        return self.buffer.getvalue()


CELL_LIMIT = 32_767  # characters a spreadsheet cell holds (Excel, WPS and LibreOffice alike)


def fit_cell(text: str) -> str:
    """Text for one cell: a longer one (only `--include-invalid` lets one in) is cut and says so, never silently."""
    if len(text) <= CELL_LIMIT:
        return text
    note = f"……（全文共 {len(text)} 字，超出单元格上限，此处只列出前面部分；全文见该机关的报表）"
    return text[: CELL_LIMIT - len(note)] + note


def summary_offsets(form: Form) -> dict[str, int]:
    """Row offset of each table section's block in 汇总: blocks stacked below a title row."""
    out, row = {}, 2
    for section in form.sections:
        if section.tables:
            sheet = layout_of(form).sheet(section.sheet)
            out[section.sheet] = row
            row += 1 + max(s.last_row for s in sheet.statics) + 1
    return out


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


def collection_bytes(c: Collection) -> bytes:
    return _Writer(c).build()


def write_collection(c: Collection, path: str | Path) -> Path:
    """Write collection.xlsx atomically."""
    path = Path(path)
    atomic_write_bytes(path, collection_bytes(c))
    return path
