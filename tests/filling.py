"""Test helper: fill a generated template the way a script would (openpyxl, no recalculation)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from toolkit.forms.layout import layout_of
from toolkit.forms.spec import Form
from toolkit.workbook.writer import build_workbook


def fill_workbook(
    form: Form,
    path: Path,
    values: dict | None = None,
    texts: dict | None = None,
    fields: dict | None = None,
    agency: str = "测试局",
    year: int = 2024,
    raw: dict | None = None,
    zeros: bool = True,
) -> Path:
    """Write a template for `agency`/`year`, set cells by id (values), texts by section id,
    fields by field id and `raw` by (sheet, A1) -> anything; save with openpyxl (cached totals stay stale).
    With `zeros` every input not in `values` gets 0, as a clerk with no data fills it (the template's are blank)."""
    layout = layout_of(form)
    wb = openpyxl.load_workbook(io.BytesIO(build_workbook(form, agency, year)))
    filled = {c.id: 0 for c in form.input_cells} if zeros else {}
    for cell_id, value in {**filled, **(values or {})}.items():
        pos = layout.cells[cell_id]
        wb[pos.sheet].cell(pos.row + 1, pos.col + 1).value = value
    for section_id, text in (texts or {}).items():
        pos = layout.texts[section_id]
        wb[pos.sheet].cell(pos.row + 1, pos.col + 1).value = text
    for field_id, text in (fields or {}).items():
        pos = layout.fields[field_id]
        wb[pos.sheet].cell(pos.row + 1, pos.col + 1).value = text
    for (sheet, ref), value in (raw or {}).items():
        wb[sheet][ref].value = value
    wb.save(path)
    return path


def complete_texts(form: Form) -> dict[str, str]:
    return {s.id: f"{s.title}的内容。" for s in form.text_sections}


def complete_fields() -> dict[str, str]:
    return {"contact": "张三", "phone": "0954-1234567", "date": "2025年1月20日"}


def sample_workbook(path: Path) -> Path:
    """The 2020 sample report (tests/sample_2020.py) typed into its template."""
    import sample_2020 as sample

    from toolkit.forms.spec import get_form

    fields = {"date": sample.DATE}
    return fill_workbook(get_form(sample.FORM_ID), path, sample.VALUES, sample.TEXTS, fields, sample.AGENCY, sample.YEAR)
