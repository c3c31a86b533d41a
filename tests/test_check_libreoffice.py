"""A return typed into LibreOffice (the real client) and saved there reads back exactly."""

from __future__ import annotations

import random

import pytest
from office import fill_workbook, office_available, office_unavailable_reason
from test_check_rules import balanced_inputs

from toolkit.forms.layout import layout_of
from toolkit.forms.spec import get_form
from toolkit.pipeline import check_file
from toolkit.workbook.writer import build_workbook

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(not office_available(), reason=office_unavailable_reason() or ""),
]


@pytest.mark.parametrize("form_id", ["gov-info-2021", "gov-info-2019"])
def test_return_saved_by_libreoffice_round_trips(tmp_path, form_id):
    form, rng = get_form(form_id), random.Random(7)
    layout = layout_of(form)
    values = balanced_inputs(form, lambda: rng.randint(0, 40))
    for cell in form.input_cells:
        if cell.kind.type == "decimal":
            values[cell.id] = 12.5
        elif cell.kind.min < 0:
            values[cell.id] = -3
    texts = {s.id: f"{s.title}：R&D <测试> “引号”\n第二段。" for s in form.text_sections}
    cells = {(layout.cells[k].sheet, layout.cells[k].a1): v for k, v in values.items()}
    cells |= {(layout.texts[k].sheet, layout.texts[k].a1): v for k, v in texts.items()}
    cells |= {
        (layout.fields[k].sheet, layout.fields[k].a1): v
        for k, v in {"contact": "李四", "phone": "123", "date": "2025年1月1日"}.items()
    }
    src, dst = tmp_path / "template.xlsx", tmp_path / "filled.xlsx"
    src.write_bytes(build_workbook(form, "原州区测试局", 2020 if form_id.endswith("2019") else 2024))
    fill_workbook(src, dst, cells)
    ret = check_file(dst)
    assert ret.accepted, [p.message for p in ret.problems]
    assert [p.code for p in ret.problems] == []  # LibreOffice recalculated: no stale totals, no text numbers
    for cell_id, value in values.items():
        assert ret.values[cell_id] == (value if isinstance(value, int) else pytest.approx(value)), cell_id
    assert ret.values == form.compute({c.id: ret.values[c.id] for c in form.input_cells})
    assert ret.texts == {k: v for k, v in texts.items()}
    assert ret.fields["contact"] == "李四" and ret.agency == "原州区测试局"
