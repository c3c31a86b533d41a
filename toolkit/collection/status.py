"""状态 and 催报 of collection.xlsx: every input's result, problems first and coloured; whom to call.

`w` is the workbook writer (collection.workbook): its `wb`, `c` (the Collection) and `style(name, fill)`.
"""

from __future__ import annotations

from toolkit.collection.model import Entry, result_of, status_rank
from toolkit.collection.sizing import column_width, print_setup, row_height

STATUS, CHASE = "状态", "催报"
STATUS_HEADER = ("序号", "机关名称", "结果", "错误数", "警告数", "第一个问题", "跨年度核对", "年度", "表式", "表式版本", "文件")
CHASE_HEADER = ("序号", "机关名称", "情况", "问题", "联系人", "联系电话", "文件")
FILLS = {  # by result_of: red for what cannot count, grey for nothing sent, yellow for warnings, green for passed
    "unreadable": "#F4B6B6",
    "wrong_form": "#F4B6B6",
    "wrong_year": "#F4B6B6",
    "rejected": "#F4B6B6",
    "missing": "#D9D9D9",
    "duplicate": "#DCD3EA",
    "warned": "#FFE699",
    "accepted": "#C6EFCE",
}
NO_AGENCY = "（未能读出机关名称）"
_NUMBERS = (0, 3, 4)  # 序号, 错误数, 警告数


def _status_cells(e: Entry) -> tuple:
    first = e.first_problem
    counted = e.fate != "missing"  # nothing was read, so there is nothing to count (not "错误数 1")
    return (
        e.ret.agency or ("" if e.fate == "missing" else NO_AGENCY),
        e.fate_label,
        e.errors if counted else None,
        e.warnings if counted else None,
        first.message if first else "",
        "；".join(p.message for p in e.cross_year),
        str(e.ret.year or ""),
        e.ret.form_id,
        e.ret.form_version,
        e.path,
    )


def _header(w, ws, texts: tuple[str, ...], widths: list[float]) -> None:
    for col, text in enumerate(texts):
        ws.write_string(0, col, text, w.style("head"))
    ws.set_row(0, row_height(zip(texts, widths, strict=True), 20))


def _widths(rows: list[tuple], header: tuple[str, ...], limits: dict[int, tuple[float, float]]) -> list[float]:
    """Each column from its header and its texts, within the column's limits."""
    return [
        column_width([header[c], *(str(r[c]) for r in rows if r[c] is not None)], *limits.get(c, (6, 12)))
        for c in range(len(header))
    ]


def _write_row(w, ws, row: int, cells: tuple, fill: str, widths: list[float], numbers=()) -> None:
    for col, value in enumerate(cells):
        if col in numbers:
            if value is None:
                ws.write_blank(row, col, None, w.style("count", fill))
            else:
                ws.write_number(row, col, value, w.style("count", fill))
        else:
            ws.write_string(row, col, str(value), w.style("cell", fill))
    ws.set_row(row, row_height((str(v), widths[c]) for c, v in enumerate(cells) if v is not None))


STATUS_LIMITS = {1: (12, 30), 2: (8, 10), 5: (20, 50), 6: (12, 30), 8: (10, 16), 9: (8, 10), 10: (20, 36)}


def status_sheet(w) -> None:
    """One row per input (and per listed agency that sent nothing), problems first, coloured by result."""
    ws = w.wb.add_worksheet(STATUS)
    entries = sorted(w.c.entries, key=status_rank)
    rows = [(i, *_status_cells(e)) for i, e in enumerate(entries, start=1)]
    widths = _widths(rows, STATUS_HEADER, STATUS_LIMITS)
    _header(w, ws, STATUS_HEADER, widths)
    for i, (e, cells) in enumerate(zip(entries, rows, strict=True), start=1):
        _write_row(w, ws, i, cells, FILLS[result_of(e)], widths, _NUMBERS)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 2)
    ws.autofilter(0, 0, max(1, len(rows)), len(STATUS_HEADER) - 1)
    print_setup(ws, w.c.title("汇总") + " · 报送情况", landscape=True, header_rows=1)


CHASE_LIMITS = {1: (12, 30), 2: (8, 14), 3: (24, 50), 4: (8, 12), 5: (12, 18), 6: (16, 36)}


def chase_sheet(w) -> None:
    """催报: every agency that has not returned or whose return did not pass, with whom to call."""
    ws = w.wb.add_worksheet(CHASE)
    chase = w.c.chase_list()
    rows = [(i, ch.agency or NO_AGENCY, ch.result, ch.problem, ch.contact, ch.phone, ch.path) for i, ch in enumerate(chase, 1)]
    widths = _widths(rows, CHASE_HEADER, CHASE_LIMITS)
    _header(w, ws, CHASE_HEADER, widths)
    for i, (ch, cells) in enumerate(zip(chase, rows, strict=True), start=1):
        _write_row(w, ws, i, cells, FILLS[ch.kind], widths, (0,))
    if not rows:
        ws.merge_range(1, 0, 1, len(CHASE_HEADER) - 1, "所有机关均已报送并通过检查，无需催报。", w.style("cell"))
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 2)
    print_setup(ws, w.c.title("汇总") + " · 催报名单", landscape=False, header_rows=1)
