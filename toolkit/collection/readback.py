"""A collection.xlsx read back: last year's per-agency values for `merge --previous`, and `check` of a collection.

A collection file comes from an earlier run, but it may have been edited, damaged or crafted since,
so nothing it says about itself is trusted: counts and years are parsed with the core parsers, the
明细 rows are read as far as the sheet really goes, and a number too large for any return is a
problem, not an int() that runs for minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from xlsxwriter.utility import xl_rowcol_to_cell

from toolkit.collection.model import Previous, sum_inputs
from toolkit.collection.workbook import DETAIL, DETAIL_HEADER_ROWS, DETAIL_LEAD, SUMMARY, TOTAL_LABEL, summary_cells
from toolkit.core.digits import count_of, year_of
from toolkit.core.errors import UserError
from toolkit.forms.spec import Form, builtin_forms
from toolkit.reading.guards import UnreadableFile
from toolkit.reading.interpret import COLLECTION, kind_of, read_metadata, read_workbook
from toolkit.reading.ooxml import Sheet, Workbook
from toolkit.reading.values import stored_number
from toolkit.returns.model import Problem, Return
from toolkit.returns.problems import format_number, limit_problems, problem

MAX_DIGITS = 15  # no figure of a return comes near 10^15; beyond, a number is damage (and int() of 1E+999999999 hangs)


class DamagedCollection(Exception):
    """A collection file whose 明细 cannot be read: the cell and the reason, in Chinese."""

    def __init__(self, where: str, reason: str):
        self.where, self.reason = where, reason
        super().__init__(f"{where}：{reason}" if where else reason)


def _value(text: str, form: Form | None, cid: str, where: str) -> int | Decimal:
    """A stored figure as the cell's kind; DamagedCollection when it is no number a return can hold."""
    value = stored_number(text) if text else Decimal(0)
    if value is None or value.adjusted() >= MAX_DIGITS:
        raise DamagedCollection(where, f"“{text[:30]}”不是有效的数字")
    cell = form.cells.get(cid) if form else None
    if cell is None or cell.kind.type == "integer":
        return int(value) if value == value.to_integral_value() else value
    return value


def damaged_claims(meta: Mapping[str, str]) -> list[str]:
    """What a collection file says about itself that cannot be true: a year that is no year, a count that is no count."""
    out = []
    if year_of(meta.get("year")) is None:
        out.append(f"文件声明的年度“{meta.get('year', '')[:20]}”不是有效的年份")
    if count_of(meta.get("agencies")) is None:
        out.append(f"文件声明的机关数“{meta.get('agencies', '')[:20]}”不是有效的数目")
    return out


def _detail_ids(sheet: Sheet) -> list[str]:
    ids, col = [], len(DETAIL_LEAD)
    while sheet.text(DETAIL_HEADER_ROWS - 1, col):
        ids.append(sheet.text(DETAIL_HEADER_ROWS - 1, col))
        col += 1
    return ids


def _agency_rows(sheet: Sheet) -> list[int]:
    """The 明细 rows holding agencies: from below the header to the 合计 row, as far as the sheet really goes."""
    rows = sorted({r for r, _ in sheet.cells if r >= DETAIL_HEADER_ROWS})
    out = []
    for r in rows:
        if sheet.text(r, 0).strip() == TOTAL_LABEL:
            return out
        out.append(r)
    raise DamagedCollection(DETAIL, f"找不到“{TOTAL_LABEL}”行（文件不完整或被改动）")


def detail_rows(book: Workbook, meta: Mapping[str, str], form: Form | None) -> dict[str, dict[str, int | Decimal]]:
    """agency -> cell id -> value from 明细; DamagedCollection when the sheet is missing or does not add up."""
    sheet = book.sheets.get(DETAIL)
    if sheet is None:
        raise DamagedCollection("", f"缺少“{DETAIL}”工作表")
    ids, lead = _detail_ids(sheet), len(DETAIL_LEAD)
    rows = _agency_rows(sheet)
    claimed = count_of(meta.get("agencies"))
    if claimed != len(rows):
        said = meta.get("agencies", "")[:20]
        raise DamagedCollection(DETAIL, f"文件声明有“{said}”个机关，明细中有 {len(rows)} 行")
    out: dict[str, dict[str, int | Decimal]] = {}
    for row in rows:
        agency = sheet.text(row, 0).strip()
        values = {}
        for j, cid in enumerate(ids):
            where = f"{DETAIL}!{xl_rowcol_to_cell(row, lead + j)}"
            values[cid] = _value(sheet.text(row, lead + j), form, cid, where)
        out[agency] = values
    return out


def read_collection(path: str | Path) -> Previous:
    """Last year's per-agency values from a collection.xlsx; UserError (the command cannot run) when it is not one."""
    try:
        book = read_workbook(path)
    except UnreadableFile as e:
        raise UserError(f"上年汇总文件 {e}") from None
    meta = read_metadata(book)
    if kind_of(meta) != COLLECTION:
        raise UserError(f"{path}：不是 toolkit merge 生成的汇总文件（collection.xlsx），不能用作 --previous")
    form = builtin_forms().get(meta.get("form_id", ""))
    try:
        for claim in damaged_claims(meta):
            raise DamagedCollection("", claim)
        rows = detail_rows(book, meta, form)
    except DamagedCollection as e:
        raise UserError(f"{path}：上年汇总文件已损坏或被改动（{e}），请用 toolkit merge 重新生成") from None
    return Previous(str(path), meta.get("form_id", ""), year_of(meta.get("year")), rows)


def _summary_mismatches(book: Workbook, form: Form, totals: Mapping[str, int | Decimal]) -> list[Problem]:
    sheet = book.sheets.get(SUMMARY)
    if sheet is None:
        return [problem("collection_damaged", detail=f"缺少“{SUMMARY}”工作表")]
    out = []
    for cid, (row, col) in summary_cells(form).items():
        a1 = xl_rowcol_to_cell(row, col)
        try:
            found = _value(sheet.text(row, col), form, cid, f"{SUMMARY}!{a1}")
        except DamagedCollection as e:
            out.append(problem("collection_damaged", sheet=SUMMARY, cell=a1, cell_id=cid, detail=e.reason))
            continue
        if found != totals[cid]:
            where = {"sheet": SUMMARY, "cell": a1, "cell_id": cid, "labels": form.cells[cid].label}
            out.append(problem("collection_mismatch", value=format_number(found), expected=format_number(totals[cid]), **where))
    return out


def verify_collection(book: Workbook, path: str, meta: Mapping[str, str], forms: Mapping[str, Form] | None = None) -> Return:
    """`toolkit check` on a collection.xlsx: recognise it and verify that 汇总 still equals the sum of 明细."""
    forms = forms if forms is not None else builtin_forms()
    form = forms.get(meta.get("form_id", ""))
    ret = Return(path=path, form=None, agency=meta.get("name", ""), year=year_of(meta.get("year")), metadata=dict(meta))
    if form is None or meta.get("fingerprint") != form.fingerprint:
        known = "、".join(forms)
        ret.problems.append(
            problem("unknown_form", form_id=meta.get("form_id", ""), version=meta.get("form_version", "?"), known=known)
        )
        return ret
    ret.form = form
    ret.problems += [problem("duplicate_sheet", sheet=name) for name in book.duplicate_sheets]
    ret.problems += [problem("collection_damaged", detail=claim) for claim in damaged_claims(meta)]
    if ret.problems:
        return ret
    try:
        rows = detail_rows(book, meta, form)
    except DamagedCollection as e:
        ret.problems.append(problem("collection_damaged", detail=str(e)))
        return ret
    agencies = [Return(path="", form=form, values=v) for v in rows.values()]
    ret.problems = limit_problems(_summary_mismatches(book, form, sum_inputs(form, agencies)))  # the rest counted
    return ret
