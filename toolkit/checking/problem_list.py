"""The 问题清单 sheet an annotated return opens on: one row per problem, its cell a link to the cell,
ready to print (A4 landscape, fitted to the page width, the header row on every page)."""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook import Workbook
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from toolkit.forms.layout import text_units
from toolkit.returns.model import ERROR, Problem, Return

LIST_SHEET = "问题清单"
COLUMNS = (("序号", 6), ("严重程度", 10), ("工作表", 18), ("单元格", 10), ("项目", 44), ("说明", 76))
HEADER_ROW = 3  # 1-based: title, legend, header
FONT = "宋体"  # the template's font
LINE_PT = 15.0  # a line of 11-point text
SEVERITY = {ERROR: "错误", "warning": "警告"}
LEGEND = (
    "点击“单元格”一列的地址可跳到该单元格，单元格的批注说明问题。表中颜色：粉红为错误，黄色为警告，"
    "浅橙为未通过的勾稽关系所涉及的一列（错误可能在其中任一格）。改正后请保存并重新报送，本页可以删除。"
)

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
_SEVERITY_FILL = {ERROR: PatternFill("solid", fgColor="FFC7CE"), "warning": PatternFill("solid", fgColor="FFEB9C")}
_BODY = Font(name=FONT)
_WRAP = Alignment(wrap_text=True, vertical="top")


def _lines(text: str, width: float) -> int:
    room = max(1.0, width - 1)
    return sum(max(1, -int(-text_units(line) // room)) for line in text.split("\n"))


def _height(texts: list[tuple[str, float]]) -> float:
    """A row tall enough for every wrapped text of it: spreadsheets do not grow the rows of a written file."""
    return min(409.0, LINE_PT * max((_lines(t, w) for t, w in texts), default=1) + 3)


def _title(ws: Worksheet, ret: Return, width: float) -> None:
    year = f"{ret.year}年度" if ret.year is not None else ""
    counts = f"{len(ret.errors)} 个错误，{len(ret.warnings)} 个警告"
    last = len(COLUMNS)
    for row, text, font in (
        (1, f"问题清单：{ret.agency}{year}报表（{counts}）", Font(name=FONT, bold=True, size=14)),
        (2, LEGEND, Font(name=FONT, size=10)),
    ):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last)
        cell = ws.cell(row, 1, text)
        cell.font, cell.alignment = font, _WRAP
    ws.row_dimensions[1].height = 24
    ws.row_dimensions[2].height = _height([(LEGEND, width * 11 / 10)])


def _link(cell, p: Problem, sheets: list[str]) -> None:
    """The problem's cell as a link inside the workbook; a problem of a whole sheet links to its A1."""
    if p.sheet not in sheets:
        return
    cell.value = p.cell or "（整张表）"
    sheet = p.sheet.replace("'", "''")  # quoted as a formula quotes a sheet name
    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{sheet}'!{p.cell or 'A1'}", display=cell.value)
    cell.font = Font(name=FONT, color="0563C1", underline="single")


def _text(p: Problem) -> str:
    """The message without the location it starts with: the row says where."""
    prefix = p.location + (f"「{p.labels}」" if p.labels else "")
    return p.message.removeprefix(prefix).removeprefix("：") if prefix else p.message


def _row(ws: Worksheet, row: int, number: int, p: Problem, sheets: list[str]) -> None:
    values = (number, SEVERITY.get(p.severity, p.severity), p.sheet, "", p.labels, _text(p))
    for col, value in enumerate(values, 1):
        cell = ws.cell(row, col, value)
        cell.alignment, cell.border, cell.font = _WRAP, _BORDER, _BODY
    ws.cell(row, 2).fill = _SEVERITY_FILL.get(p.severity, PatternFill())
    _link(ws.cell(row, 4), p, sheets)
    ws.row_dimensions[row].height = _height([(str(v), w) for v, (_, w) in zip(values, COLUMNS, strict=True)])


def _print_ready(ws: Worksheet, last_row: int) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0  # as many pages tall as it needs
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_area = f"A1:{ws.cell(last_row, len(COLUMNS)).coordinate}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)


def add_problem_list(wb: Workbook, ret: Return, problems: list[Problem]) -> Worksheet:
    """Insert the 问题清单 as the first sheet, make it the one the workbook opens on, and return it."""
    sheets = list(wb.sheetnames)
    ws = wb.create_sheet(LIST_SHEET, 0)
    for col, (name, width) in enumerate(COLUMNS, 1):
        ws.column_dimensions[ws.cell(1, col).column_letter].width = width
        head = ws.cell(HEADER_ROW, col, name)
        head.font, head.fill, head.border = Font(name=FONT, bold=True), _HEAD_FILL, _BORDER
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    _title(ws, ret, sum(w for _, w in COLUMNS))
    if not problems:
        ws.cell(HEADER_ROW + 1, 1, "未发现问题。")
    for number, p in enumerate(problems, 1):
        _row(ws, HEADER_ROW + number, number, p, sheets)
    _print_ready(ws, HEADER_ROW + max(1, len(problems)))
    for other in wb.worksheets:
        other.sheet_view.tabSelected = False  # one selected tab: several would group the sheets in Excel
    wb.active = 0
    ws.sheet_view.tabSelected = True
    ws.protection.sheet = True  # a list to read, not to edit; its links still work
    return ws
