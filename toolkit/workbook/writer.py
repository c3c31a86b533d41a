"""The official, locked .xlsx an agency fills in, written with xlsxwriter from a form spec."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from xml.sax.saxutils import escape

import xlsxwriter

from toolkit.core.version import __version__
from toolkit.forms.formulas import check_cell_text, formulas_of, initial_values
from toolkit.forms.layout import (
    BODY_SIZE,
    GUIDE_SHEET,
    META_PREFIX,
    META_SHEET,
    STYLE_SIZES,
    TEXT_AREA_COLS,
    TEXT_AREA_ROWS,
    Pos,
    SheetLayout,
    layout_of,
    row_points,
    wrapped_lines,
)
from toolkit.forms.spec import Cell, Form, Kind, Rule
from toolkit.returns.model import Return

INPUT_FILL, TOTAL_FILL, FIXED_FILL = "#FFF2CC", "#DDEBF7", "#EDEDED"
OK_FILL, BAD_FILL, WARN_FILL = "#C6EFCE", "#FFC7CE", "#FFEB9C"
# 填报说明's one column must fit A4 portrait as it is: LibreOffice does not shrink a one-column sheet to the
# page width, and where Calibri is missing its column unit is DejaVu Sans' wider digit (7 pt, not 5.25).
GUIDE_WIDTH = 68
NEXT_YEAR = "{next_year}"  # in a field's hint: the year after the template's (when it is filled in)

_HEADER = {"bold": True, "border": 1, "align": "center", "valign": "vcenter", "text_wrap": True, "bg_color": FIXED_FILL}

STYLES = {
    "title": {"bold": True, "font_size": 14, "align": "center", "valign": "vcenter", "text_wrap": True},
    "caption": {"bold": True, "border": 1, "valign": "vcenter", "text_wrap": True},
    "header": _HEADER,
    "corner": _HEADER,  # the top-left header (信息内容) looks like every other header
    "rowlabel": {"border": 1, "valign": "vcenter", "text_wrap": True},
    "checklabel": {"border": 1, "valign": "vcenter", "text_wrap": True, "font_size": 10},
    "note": {"italic": True, "font_color": "#595959", "text_wrap": True, "valign": "top"},
    "guide": {"text_wrap": True, "valign": "top"},
    "input_integer": {"border": 1, "locked": False, "bg_color": INPUT_FILL, "num_format": "0"},
    "input_decimal": {"border": 1, "locked": False, "bg_color": INPUT_FILL, "num_format": "0.00####"},
    "input_text": {"border": 1, "locked": False, "bg_color": INPUT_FILL, "text_wrap": True, "valign": "top", "num_format": "@"},
    "prefilled": {"border": 1, "bg_color": FIXED_FILL},
    "total": {"border": 1, "bold": True, "bg_color": TOTAL_FILL, "num_format": "0"},
    "check": {"border": 1, "text_wrap": True, "valign": "vcenter"},
}


def _structure_protection(xlsx: bytes, password: str) -> bytes:
    """Add <workbookProtection lockStructure>: xlsxwriter cannot, and without it sheets can be renamed."""
    digest = xlsxwriter.worksheet.Worksheet._encode_password(None, password) if password else ""
    attrs = f' workbookPassword="{digest}"' if digest else ""
    element = f'<workbookProtection{attrs} lockStructure="1"/>'
    src, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                text = data.decode("utf-8")
                text = re.sub(r"(<workbookPr\b[^>]*/>)", lambda m: m.group(1) + element, text, count=1)
                data = text.encode("utf-8")
            dst.writestr(item, data)
    return out.getvalue()


def _validation(kind: Kind, title: str) -> dict:
    unit = f"，单位：{kind.unit}" if kind.unit else ""
    if kind.type == "integer":
        rule = "整数" if kind.min < 0 else "非负整数（0 或正整数）"
        message = f"请填写{rule}{unit}；没有请填 0。不要填写文字或单位。"
    else:
        message = f"请填写不小于 {kind.min} 的数字{unit}，最多 {kind.decimals} 位小数；没有请填 0。"
    return {
        "validate": "integer" if kind.type == "integer" else "decimal",
        "criteria": "between",
        "minimum": int(kind.min) if kind.type == "integer" else float(kind.min),
        "maximum": int(kind.max) if kind.type == "integer" else float(kind.max),
        "input_title": title[:32],
        "input_message": message[:255],
        "error_title": "输入有误",
        "error_message": f"此处只能填写{kind.label}（{int(kind.min)} 至 {int(kind.max)}{unit}）。"[:255],
    }


class _Writer:
    def __init__(
        self,
        form: Form,
        agency: str,
        year: int,
        password: str,
        generated_at: str,
        filled: Return | None = None,
        next_year: str = "",
    ):
        self.form, self.layout, self.filled = form, layout_of(form), filled
        self.agency, self.year, self.password, self.generated_at = agency, year, password, generated_at
        self.next_year = next_year or str(year + 1)
        self.buffer = io.BytesIO()
        self.wb = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "strings_to_formulas": False})
        self.fmt = {k: self.wb.add_format({"font_name": "宋体", **v}) for k, v in STYLES.items()}
        inputs = {c.id: filled.values.get(c.id, 0) for c in form.input_cells} if filled else None
        self.values = form.compute(inputs) if inputs else initial_values(form)

    def metadata(self) -> dict[str, str]:
        f = self.form
        return {
            "form_id": f.id,
            "form_version": f.version,
            "fingerprint": f.fingerprint,
            "agency": self.agency,
            "year": str(self.year),
            "toolkit_version": __version__,
            "generated_at": self.generated_at,
        }

    def protect(self, ws) -> None:
        ws.protect(self.password, {"select_locked_cells": True, "select_unlocked_cells": True})

    def statics(self, ws, sheet: SheetLayout) -> None:
        for s in sheet.statics:
            if (s.row, s.col) != (s.last_row, s.last_col):
                ws.merge_range(s.row, s.col, s.last_row, s.last_col, s.text, self.fmt[s.style])
            else:
                ws.write_string(s.row, s.col, s.text, self.fmt[s.style])
        for col, width in sheet.widths.items():
            ws.set_column(col, col, width)
        for row, height in sheet.heights.items():
            ws.set_row(row, height)
        print_setup(ws, sheet.repeat, sheet.landscape)
        if sheet.freeze:
            ws.freeze_panes(*sheet.freeze)

    def guide(self) -> None:
        ws = self.wb.add_worksheet(GUIDE_SHEET)
        f = self.form
        lines = [
            (f"{f.name}　填报说明", "title"),
            (f"填报单位：{self.agency}　　年度：{self.year}年　　表式：{f.basis}（版本 {f.version}）", "guide"),
            ("一、浅黄色单元格是填写项，其余单元格已锁定（工作表受保护），无需也无法修改。", "guide"),
            (f"二、数字单元格只能填数字：{_kinds_rule(f)}。没有数据请填 0，不要填“/”“无”或留空，不要带单位。", "guide"),
            ("三、浅蓝色单元格是合计，由公式自动计算。", "guide"),
            (
                "四、各表下方的“校验结果”实时显示勾稽关系：绿色 ✓ 表示通过，红色 ✗ 表示不平衡或写明的单元格不是数字，黄色 ⚠ 请核对。请在报送前全部核对通过。",
                "guide",
            ),
            (
                f"五、文字部分（{_text_titles(f)}）直接填在对应工作表的大单元格内；单元格内换行：Excel/WPS 按 Alt+Enter，LibreOffice 按 Ctrl+Enter。",
                "guide",
            ),
            ("六、请勿插入或删除行列、重命名或删除工作表；粘贴数字请用“选择性粘贴—数值”，粘贴会绕过输入检查。", "guide"),
            ("七、用 Excel 打开后关闭时可能提示保存，这是公式重新计算所致，可以保存。", "guide"),
            ("勾稽关系：", "caption"),
        ]
        lines += [(f"{i}. {r.title}：{r.message}", "guide") for i, r in enumerate(f.rules, start=1)]
        ws.set_column(0, 0, GUIDE_WIDTH)
        for row, (text, style) in enumerate(lines):
            ws.write_string(row, 0, text, self.fmt[style])
            size = STYLE_SIZES.get(style, BODY_SIZE)
            lines_needed = wrapped_lines(text, GUIDE_WIDTH, size)
            if lines_needed > 1:
                ws.set_row(row, row_points(lines_needed, size))
        legend = len(lines) + 1
        # The legend shows the input colour but, like everything on this sheet, stays locked.
        sample_input = self.wb.add_format({"font_name": "宋体", **STYLES["input_text"], "locked": True})
        for i, (text, fmt) in enumerate(
            (("填写项", sample_input), ("合计（自动计算）", self.fmt["total"]), ("已锁定", self.fmt["prefilled"]))
        ):
            ws.write_string(legend + i, 0, text, fmt)
        print_setup(ws, (0, 0), landscape=False)
        self.protect(ws)

    def info(self, sheet: SheetLayout, ws) -> None:
        prefilled = {"agency": self.agency, "year": str(self.year)}
        for f in self.form.fields:
            pos = self.layout.fields[f.id]
            if f.prefilled:
                ws.write_string(pos.row, pos.col, prefilled.get(f.id, ""), self.fmt["prefilled"])
                continue
            text = self.filled.fields.get(f.id, "") if self.filled else ""
            if text:
                ws.write_string(pos.row, pos.col, text, self.fmt["input_text"])
            else:
                ws.write_blank(pos.row, pos.col, None, self.fmt["input_text"])
            ws.data_validation(pos.row, pos.col, pos.row, pos.col, _text_validation(f.label, 200))
            if f.hint:  # not a label the reader compares: it names a year that differs per template
                ws.write_string(pos.row, pos.col + 1, f.hint.replace(NEXT_YEAR, self.next_year), self.fmt["note"])

    def text_area(self, pos: Pos, section, ws) -> None:
        last_row, last_col = pos.row + TEXT_AREA_ROWS - 1, pos.col + TEXT_AREA_COLS - 1
        text = self.filled.texts.get(section.id, "") if self.filled else ""
        ws.merge_range(pos.row, pos.col, last_row, last_col, text, self.fmt["input_text"])
        ws.data_validation(pos.row, pos.col, pos.row, pos.col, _text_validation(section.title, section.text.max_length))

    def number_cell(self, cell: Cell, pos: Pos, ws) -> None:
        formula = self.formulas.totals.get(cell.id)
        if formula is not None:
            ws.write_formula(pos.row, pos.col, "=" + formula, self.fmt["total"], as_number(self.values[cell.id]))
            return
        style = "input_integer" if cell.kind.type == "integer" else "input_decimal"
        if self.filled:
            ws.write_number(pos.row, pos.col, as_number(self.values[cell.id]), self.fmt[style])
        else:  # a fresh template's inputs are blank (its formulas count blank as 0): an untouched return shows as such
            ws.write_blank(pos.row, pos.col, None, self.fmt[style])
        ws.data_validation(pos.row, pos.col, pos.row, pos.col, _validation(cell.kind, cell.label))

    def check_cell(self, rule: Rule, ws) -> None:
        pos, last_col = self.layout.rules[rule.id], self.layout.sheet(self.layout.rules[rule.id].sheet).width - 1
        formula = "=" + self.formulas.checks[rule.id]
        ws.merge_range(pos.row, pos.col, pos.row, last_col, "", self.fmt["check"])
        ws.write_formula(pos.row, pos.col, formula, self.fmt["check"], check_cell_text(rule, self.values))
        for prefix, fill in (("✓", OK_FILL), ("✗", BAD_FILL), ("⚠", WARN_FILL)):
            fmt = self.wb.add_format({"bg_color": fill})
            ws.conditional_format(
                pos.row, pos.col, pos.row, last_col, {"type": "text", "criteria": "begins with", "value": prefix, "format": fmt}
            )

    def meta_sheet(self) -> None:
        ws = self.wb.add_worksheet(META_SHEET)
        for row, (key, value) in enumerate(self.metadata().items()):
            ws.write_string(row, 0, key)
            ws.write_string(row, 1, value)
        ws.hide()
        self.protect(ws)

    def build(self) -> bytes:
        layout, form = self.layout, self.form
        self.formulas = formulas_of(form)
        self.guide()
        sheets = {}
        for sheet in layout.sheets:
            ws = sheets[sheet.name] = self.wb.add_worksheet(sheet.name)
            self.statics(ws, sheet)
        self.info(layout.sheets[0], sheets[layout.sheets[0].name])
        for section in form.text_sections:
            self.text_area(layout.texts[section.id], section, sheets[section.sheet])
        for cell_id, pos in layout.cells.items():
            self.number_cell(form.cells[cell_id], pos, sheets[pos.sheet])
        for rule in form.rules:
            self.check_cell(rule, sheets[layout.rules[rule.id].sheet])
        for ws in sheets.values():
            self.protect(ws)
        self.meta_sheet()
        props = {
            "title": form.report_title(self.agency, self.year),
            "subject": form.name,
            "author": "toolkit",
            "company": self.agency,
        }
        self.wb.set_properties(props)
        for key, value in self.metadata().items():
            self.wb.set_custom_property(META_PREFIX + key, value)
        self.wb.close()
        return _structure_protection(self.buffer.getvalue(), self.password)


def print_setup(ws, repeat: tuple[int, int], landscape: bool) -> None:
    """A4, fitted to the page width (as many pages down as needed), `repeat` rows on every page."""
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.repeat_rows(*repeat)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()


def _kinds_rule(form: Form) -> str:
    """How each kind of number in this form is filled in, for the 填报说明 (from the spec's kinds)."""
    used: dict[str, list[str]] = {}
    for cell in form.input_cells:
        labels = used.setdefault(cell.kind.id, [])
        if cell.column.label not in labels:
            labels.append(cell.column.label)
    rules = []
    for kind in dict.fromkeys(c.kind for c in form.input_cells):
        where = "、".join(f"“{label}”" for label in used[kind.id][:3])
        if kind.type == "decimal":
            rules.append(f"{where}按{kind.unit or '表头所示单位'}填写，最多 {kind.decimals} 位小数")
        elif kind.min < 0:
            rules.append(f"{where}可填负数")
        else:
            rules.append("其余数字填 0 或正整数" if len(used[kind.id]) > 3 else f"{where}填 0 或正整数")
    return "；".join(rules)


def _text_titles(form: Form) -> str:
    return "、".join(s.title.split("、")[0] for s in form.text_sections) or "无"


def _text_validation(title: str, max_length: int) -> dict:
    return {
        "validate": "length",
        "criteria": "<=",
        "value": max_length,
        "input_title": title[:32],
        "input_message": f"请填写文字，不超过 {max_length} 字。"[:255],
        "error_title": "文字过长",
        "error_message": f"不能超过 {max_length} 字。",
    }


def as_number(value: int | Decimal) -> int | float:
    """What a spreadsheet cell can hold (xlsxwriter writes floats, not Decimals)."""
    return float(value) if isinstance(value, Decimal) else value


# Placeholders (private-use characters) stamped per copy: the workbook is built once per form.
_AGENCY, _YEAR, _STAMP, _NEXT_YEAR = "\ue000机关\ue000", "\ue0019999\ue001", "\ue002时间\ue002", "\ue0039999\ue003"


@lru_cache(maxsize=8)
def _base_package(form: Form, password: str) -> tuple[tuple[zipfile.ZipInfo, bytes], ...]:
    """The form's workbook with placeholders, as zip members: xlsxwriter runs once per form."""
    xlsx = _Writer(form, _AGENCY, _YEAR, password, _STAMP, next_year=_NEXT_YEAR).build()  # type: ignore[arg-type]
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        return tuple((info, zf.read(info)) for info in zf.infolist())


def _stamp(data: bytes, substitutions: dict[bytes, bytes]) -> bytes:
    if b"\xee\x80" not in data:  # no private-use character at all: nothing to stamp
        return data
    for mark, value in substitutions.items():
        data = data.replace(mark, value)
    return data


def build_workbook(form: Form, agency: str, year: int, password: str | None = None, generated_at: str | None = None) -> bytes:
    """The bytes of a fresh, protected template for one agency and year (stamped from the form's base)."""
    stamp = generated_at or datetime.now().astimezone().isoformat(timespec="seconds")
    pw = form.password if password is None else password
    substitutions = {
        _AGENCY.encode(): escape(agency).encode(),
        _YEAR.encode(): str(year).encode(),
        _NEXT_YEAR.encode(): str(year + 1).encode(),
        _STAMP.encode(): escape(stamp).encode(),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for info, data in _base_package(form, pw):
            zf.writestr(info, _stamp(data, substitutions))
    return out.getvalue()


def build_workbook_directly(
    form: Form, agency: str, year: int, password: str | None = None, generated_at: str | None = None
) -> bytes:
    """The same workbook written by xlsxwriter from scratch: the reference the stamped copy must equal."""
    stamp = generated_at or datetime.now().astimezone().isoformat(timespec="seconds")
    return _Writer(form, agency, year, form.password if password is None else password, stamp).build()


def build_filled_workbook(ret: Return, generated_at: str | None = None) -> bytes:
    """A workbook holding a return's values, texts and fields, every cached total right, as a
    spreadsheet client would save it: for samples, benchmarks and prefilling from known data."""
    stamp = generated_at or datetime.now().astimezone().isoformat(timespec="seconds")
    return _Writer(ret.form, ret.agency, ret.year, ret.form.password, stamp, ret).build()
