"""Reading returns back: every kind of typed value, and every kind of tampering, located to its cell."""

from __future__ import annotations

import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from filling import complete_fields, complete_texts, fill_workbook

from toolkit.forms.layout import layout_of
from toolkit.forms.spec import get_form
from toolkit.pipeline import check_file, read_return

FORM = get_form("gov-info-2021")
LAYOUT = layout_of(FORM)
CELL = "t3.open.natural"  # 三、依申请公开 / （一）予以公开 / 自然人
POS = LAYOUT.cells[CELL]


def _filled(tmp_path: Path, **kwargs) -> Path:
    kwargs = {"texts": complete_texts(FORM), "fields": complete_fields(), **kwargs}
    return fill_workbook(FORM, tmp_path / "r.xlsx", **kwargs)


def _only(problems, code):
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, [p.message for p in problems]
    return found[0]


def test_a_complete_zero_return_is_accepted(tmp_path):
    ret = check_file(_filled(tmp_path))
    assert ret.accepted, [p.message for p in ret.problems]
    assert ret.agency == "测试局" and ret.year == 2024 and ret.form is FORM
    assert ret.fields["contact"] == "张三"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("12", 12), ("１２", 12), ("1,234", 1234), (" 12 ", 12), ("\u300012", 12), ("１，２３４", 1234)],
)
def test_numbers_stored_as_text_are_errors_as_in_the_workbook_that_counts_them_as_0(tmp_path, typed, expected):
    ret = read_return(_filled(tmp_path, values={CELL: typed}))
    assert ret.values[CELL] == expected
    p = _only(ret.problems, "text_number")
    assert (p.severity, p.sheet, p.cell, p.cell_id) == ("error", "三、依申请公开", POS.a1, CELL)
    assert p.message.startswith(f"三、依申请公开!{POS.a1}「") and f"请改为数值 {expected}" in p.message


@pytest.mark.parametrize(
    ("typed", "code", "words"),
    [
        ("12件", "not_a_number", "不是数字"),
        ("约10", "not_a_number", "不是数字"),
        ("/", "not_a_number", "不是数字"),
        (-3, "negative", "不能为负数"),
        ("-3", "negative", "不能为负数"),
        (3.5, "not_integer", "应为整数"),
        (10**12, "too_large", "过大"),
        (None, "blank", "未填写，无数据请填 0"),
        ("  ", "blank", "未填写，无数据请填 0"),
        (True, "not_a_number", "不是数字"),
    ],
)
def test_bad_inputs_are_errors_naming_the_cell(tmp_path, typed, code, words):
    ret = check_file(_filled(tmp_path, values={CELL: typed}))
    p = _only(ret.problems, code)
    assert (p.severity, p.sheet, p.cell, p.cell_id) == ("error", "三、依申请公开", POS.a1, CELL)
    assert words in p.message and "自然人" in p.message
    assert not ret.accepted


def test_amount_with_more_than_six_decimals_is_a_warning(tmp_path):
    cell = "t2_8.fees.amount"
    ret = check_file(_filled(tmp_path, values={cell: 12.1234567}))
    p = _only(ret.problems, "too_many_decimals")
    assert (p.severity, p.cell_id, p.cell) == ("warning", cell, LAYOUT.cells[cell].a1)
    assert ret.accepted


def test_amount_keeps_its_decimals_exactly(tmp_path):
    ret = read_return(_filled(tmp_path, values={"t2_8.fees.amount": 4166.241619}))
    assert ret.values["t2_8.fees.amount"] == Decimal("4166.241619")


def test_changed_total_formula_is_an_error(tmp_path):
    total = LAYOUT.cells["t3.total.natural"]
    ret = check_file(_filled(tmp_path, raw={(total.sheet, total.a1): "=D8+1"}))
    p = _only(ret.problems, "formula_changed")
    assert (p.severity, p.sheet, p.cell, p.cell_id) == ("error", total.sheet, total.a1, "t3.total.natural")
    assert "D8+1" in p.message


def test_total_typed_over_is_an_error(tmp_path):
    total = LAYOUT.cells["t3.new.total"]
    ret = check_file(_filled(tmp_path, raw={(total.sheet, total.a1): 99}))
    p = _only(ret.problems, "total_overwritten")
    assert (p.cell, p.value) == (total.a1, "99")


def test_stale_cached_total_is_reported_and_recomputed(tmp_path):
    """A total whose stored value disagrees with its inputs (file not recalculated)."""
    path = _filled(tmp_path, values={CELL: 3})
    total = LAYOUT.cells["t3.open.total"]
    _set_cached_value(path, total.sheet, total.a1, "7")
    ret = read_return(path)
    p = _only(ret.problems, "stale_total")
    assert (p.severity, p.cell, p.value) == ("warning", total.a1, "7")
    assert ret.values["t3.open.total"] == 3


def test_changed_row_label_is_reported_at_the_label(tmp_path):
    label = next(s for s in LAYOUT.sheet("三、依申请公开").statics if s.text == "（一）予以公开")
    ref = openpyxl.utils.get_column_letter(label.col + 1) + str(label.row + 1)
    ret = check_file(_filled(tmp_path, raw={("三、依申请公开", ref): "（一）全部公开"}))
    p = _only(ret.problems, "label_changed")
    assert (p.sheet, p.cell) == ("三、依申请公开", ref)
    assert "（一）予以公开" in p.message and "（一）全部公开" in p.message


def test_inserted_row_is_detected(tmp_path):
    path = _filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb["三、依申请公开"].insert_rows(6)
    wb.save(path)
    ret = check_file(path)
    p = _only(ret.problems, "label_changed")
    assert p.sheet == "三、依申请公开" and not ret.accepted


def test_removed_protection_is_reported(tmp_path):
    path = _filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb["四、复议诉讼"].protection.sheet = False
    wb.save(path)
    p = _only(read_return(path).problems, "sheet_unprotected")
    assert (p.sheet, p.severity) == ("四、复议诉讼", "warning")


def test_unknown_fingerprint_names_both_versions(tmp_path):
    path = _filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb.custom_doc_props["toolkit.fingerprint"].value = "0123456789abcdef"
    wb.custom_doc_props["toolkit.form_version"].value = "2020.9"
    wb.save(path)
    ret = check_file(path)
    p = _only(ret.problems, "version_mismatch")
    assert "2020.9" in p.message and FORM.version in p.message and "0123456789abcdef" in p.message
    assert ret.form is None and not ret.accepted


def test_unknown_form_id_is_an_error(tmp_path):
    path = _filled(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb.custom_doc_props["toolkit.form_id"].value = "gov-info-1999"
    wb.save(path)
    p = _only(check_file(path).problems, "unknown_form")
    assert "gov-info-1999" in p.message and "gov-info-2021" in p.message


def test_contents_copied_to_a_new_workbook_are_recognised_with_a_warning(tmp_path):
    """No metadata at all: recognised from sheet names and labels, and said so."""
    src = openpyxl.load_workbook(_filled(tmp_path, values={CELL: 4, "t3.new.natural": 4}))
    dst = openpyxl.Workbook()
    dst.remove(dst.active)
    for ws in src.worksheets:
        if ws.title == "_meta":
            continue
        copy = dst.create_sheet(ws.title)
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    copy.cell(c.row, c.column).value = c.value
    dst.save(tmp_path / "copied.xlsx")
    ret = check_file(tmp_path / "copied.xlsx")
    p = _only(ret.problems, "no_metadata")
    assert p.severity == "warning" and "gov-info-2021" in p.message
    assert ret.form is FORM and ret.agency == "测试局" and ret.values[CELL] == 4


def test_a_foreign_workbook_is_unrecognised(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "别的表格"
    wb.save(tmp_path / "other.xlsx")
    ret = check_file(tmp_path / "other.xlsx")
    assert [p.code for p in ret.problems] == ["unrecognised"] and ret.form is None


def test_wrong_year_in_header_is_an_error(tmp_path):
    ret = check_file(_filled(tmp_path, fields={**complete_fields(), "year": "2023"}))
    p = _only(ret.problems, "year_mismatch")
    assert p.cell == LAYOUT.fields["year"].a1 and "2023" in p.message and "2024" in p.message


def test_missing_and_overlong_texts(tmp_path):
    texts = complete_texts(FORM)
    texts["s1"] = ""
    texts["s5"] = "很" * (FORM.sections[4].text.max_length + 1)
    ret = check_file(fill_workbook(FORM, tmp_path / "t.xlsx", texts=texts, fields=complete_fields()))
    assert _only(ret.problems, "text_missing").sheet == "一、总体情况"
    assert _only(ret.problems, "text_too_long").sheet == "五、问题及改进"


def test_multi_paragraph_text_is_read_back_with_its_line_breaks(tmp_path):
    texts = {**complete_texts(FORM), "s1": "第一段。\r\n第二段 R&D <x>。"}
    ret = read_return(fill_workbook(FORM, tmp_path / "t.xlsx", texts=texts, fields=complete_fields()))
    assert ret.texts["s1"] == "第一段。\n第二段 R&D <x>。"


def _set_cached_value(path: Path, sheet_name: str, ref: str, value: str) -> None:
    """Give a formula cell a cached <v> the way Excel stores one (openpyxl writes none)."""
    wb = openpyxl.load_workbook(path)
    index = wb.sheetnames.index(sheet_name) + 1
    part = f"xl/worksheets/sheet{index}.xml"
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == part:
                text = data.decode()
                start = text.index(f'<c r="{ref}"')
                end = text.index("</c>", start)
                cell = text[start:end]
                assert "<f>" in cell, cell
                text = text[:start] + cell.replace("<v></v>", "").replace("<v />", "") + f"<v>{value}</v>" + text[end:]
                data = text.encode()
            dst.writestr(item, data)
    shutil.move(tmp, path)


def test_text_that_became_a_formula_is_reported(tmp_path):
    pos = LAYOUT.texts["s1"]
    ret = check_file(_filled(tmp_path, raw={(pos.sheet, pos.a1): '=HYPERLINK("http://x","说明")'}))
    p = _only(ret.problems, "text_is_formula")
    assert (p.severity, p.sheet, p.cell) == ("error", "一、总体情况", pos.a1)
    assert "以“=”开头" in p.message and ret.texts["s1"] == ""
    assert not any(q.code == "text_missing" for q in ret.problems)
