"""A clerk types "12件" into a number cell in LibreOffice: no cell shows an error, the check cell names the cell.

The template is opened in LibreOffice over UNO (tests/office.py), "12件" is written into 表三's first input
(一、本年新收 / 自然人) the way a paste does (setDataArray: past data validation, as text), the document is
recalculated and every cell of every sheet is read back from LibreOffice itself and from the file it saved.
"""

from __future__ import annotations

import openpyxl
import pytest
from office import OfficeJob, office_available, office_unavailable_reason, run_office_jobs
from xlsxwriter.utility import xl_rowcol_to_cell

from toolkit.forms.layout import layout_of
from toolkit.forms.spec import get_form
from toolkit.workbook.writer import build_workbook

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not office_available(), reason=office_unavailable_reason() or ""),
]

FORMS = {"gov-info-2021": 2025, "gov-info-2019": 2020}
TYPED = "12件"
CELL = "t3.new.natural"  # 三、收到和处理政府信息公开申请情况 / 一、本年新收政府信息公开申请数量 / 自然人
ERRORS = ("#VALUE!", "#REF!", "#NAME?", "#DIV/0!", "#N/A", "#NUM!", "#NULL!", "Err:")


def every_cell(form) -> list[tuple[str, str]]:
    """Every cell of every sheet the layout uses (its whole rectangle), for LibreOffice to read back."""
    layout = layout_of(form)
    used: dict[str, tuple[int, int]] = {}
    points = [(p.sheet, p.row, p.col) for p in (*layout.cells.values(), *layout.rules.values())]
    points += [(sl.name, s.last_row, s.last_col) for sl in layout.sheets for s in sl.statics]
    for sheet, row, col in points:
        rows, cols = used.get(sheet, (0, 0))
        used[sheet] = (max(rows, row + 1), max(cols, col + 1))
    return [(sheet, xl_rowcol_to_cell(r, c)) for sheet, (rows, cols) in used.items() for r in range(rows) for c in range(cols)]


@pytest.fixture(scope="module")
def typed(tmp_path_factory):
    """(form, LibreOffice's reading of every cell, the saved file) for each form, from one soffice."""
    tmp = tmp_path_factory.mktemp("nonnumeric")
    jobs, forms = [], []
    for form_id, year in FORMS.items():
        form = get_form(form_id)
        pos = layout_of(form).cells[CELL]
        src, dst = tmp / f"{form_id}.xlsx", tmp / f"{form_id}-typed.xlsx"
        src.write_bytes(build_workbook(form, "原州区测试局", year))
        jobs.append(OfficeJob(src, dst, {(pos.sheet, pos.a1): TYPED}, read=every_cell(form)))
        forms.append((form, dst))
    results = run_office_jobs(jobs, timeout=240)
    return {form.id: (form, result, dst) for (form, dst), result in zip(forms, results, strict=True)}


@pytest.mark.parametrize("form_id", FORMS)
def test_typed_text_is_kept_as_typed(typed, form_id):
    form, result, _ = typed[form_id]
    pos = layout_of(form).cells[CELL]
    assert not result["refused"], result["refused"]
    assert result["values"][(pos.sheet, pos.a1)] == TYPED


@pytest.mark.parametrize("form_id", FORMS)
def test_no_cell_holds_an_error_after_recalculation(typed, form_id):
    _, result, saved = typed[form_id]
    errors = {ref: r for ref, r in result["cells"].items() if r["type"] == "error" or str(r.get("text", "")).startswith(ERRORS)}
    assert not errors, errors
    wb = openpyxl.load_workbook(saved, data_only=True)  # the values LibreOffice calculated and saved
    bad = [f"{ws.title}!{c.coordinate}={c.value!r}" for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "e"]
    bad += [
        f"{ws.title}!{c.coordinate}={c.value!r}"
        for ws in wb
        for row in ws.iter_rows()
        for c in row
        if str(c.value).startswith(ERRORS)
    ]
    assert not bad, bad


@pytest.mark.parametrize("form_id", FORMS)
def test_totals_count_the_text_as_zero(typed, form_id):
    """The blank template's other inputs are blank: every total is 0, none is #VALUE!."""
    form, result, _ = typed[form_id]
    layout = layout_of(form)
    totals = {cid: result["values"][(p.sheet, p.a1)] for cid, p in layout.cells.items() if form.cells[cid].computed}
    assert totals and set(totals.values()) == {0}, totals


@pytest.mark.parametrize("form_id", FORMS)
def test_check_cell_names_the_cell_that_is_not_a_number(typed, form_id):
    form, result, _ = typed[form_id]
    layout = layout_of(form)
    check = layout.rules["t3_balance"]
    assert layout.cells[CELL].a1 == "D6"  # 表三's first input, as the clerk sees it
    assert result["values"][(check.sheet, check.a1)] == "✗ D6 不是数字"
    for rule in form.rules:  # the rules that do not read D6 still say ✓ for the blank (zero) inputs
        if rule.id != "t3_balance":
            pos = layout.rules[rule.id]
            assert str(result["values"][(pos.sheet, pos.a1)]).startswith("✓"), rule.id


def test_a_number_typed_as_text_is_read_but_totals_are_not_called_stale(tmp_path):
    """"12" pasted as text: the workbook's totals count it as 0 (N()), check reads it as 12 with a warning;
    the totals LibreOffice saved agree with the workbook's own arithmetic, so none is reported as stale."""
    from toolkit.pipeline import check_file

    form = get_form("gov-info-2021")
    pos = layout_of(form).cells[CELL]
    src, dst = tmp_path / "src.xlsx", tmp_path / "typed.xlsx"
    src.write_bytes(build_workbook(form, "原州区测试局", 2025))
    (result,) = run_office_jobs([OfficeJob(src, dst, {(pos.sheet, pos.a1): "12"}, read=[(pos.sheet, pos.a1)])], timeout=240)
    assert result["values"][(pos.sheet, pos.a1)] == "12"  # kept as text by LibreOffice
    codes = {(p.code, p.cell) for p in check_file(dst).problems}
    assert ("text_number", "D6") in codes
    assert not [c for c in codes if c[0] == "stale_total"], codes
