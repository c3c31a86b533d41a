"""The generated template in a real client: LibreOffice fills, recalculates, refuses locked cells and saves.

Two soffice start-ups for the fill scenarios (≈ 2–4 s each) and one for the PDF conversion.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import office
import openpyxl
import pytest
from office import OfficeJob, convert_to_pdf, fill_workbook, office_available, office_unavailable_reason, run_office_jobs
from openpyxl.utils.cell import range_boundaries

from toolkit.core.errors import UserError
from toolkit.forms.formulas import check_cell_text
from toolkit.forms.layout import GUIDE_SHEET, META_SHEET, TEXT_AREA_COLS, TEXT_AREA_ROWS, Pos, layout_of
from toolkit.forms.spec import get_form
from toolkit.reports import pdf
from toolkit.workbook.writer import build_workbook

AGENCY, YEAR = "测试局", 2024
needs_office = pytest.mark.skipif(not office_available(), reason=office_unavailable_reason() or "")
FLOW_ROWS = ("new", "carried", "total", "carry_over")


@pytest.fixture(scope="module")
def form():
    return get_form("gov-info-2021")


@pytest.fixture(scope="module")
def layout(form):
    return layout_of(form)


@pytest.fixture(scope="module")
def template(form, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lo") / "测试局.xlsx"
    path.write_bytes(build_workbook(form, AGENCY, YEAR))
    return path


def ref(pos: Pos) -> tuple[str, str]:
    return (pos.sheet, pos.a1)


def balanced_inputs(form) -> dict[str, int]:
    """All input cells 0 except table 三, filled so that 一+二 = （七）总计+四 in every column."""
    rng = random.Random(YEAR)
    inputs = {c.id: 0 for c in form.input_cells}
    t3 = next(t for t in form.tables if t.id == "t3")
    handling = [r.id for r in t3.rows if r.id not in FLOW_ROWS]
    for col in t3.columns:
        if form.cells[f"t3.new.{col.id}"].computed:
            continue  # the 总计 column is a sum of the others
        done = 0
        for row in handling:
            inputs[f"t3.{row}.{col.id}"] = value = rng.randint(0, 6)
            done += value
        carry_over = rng.randint(1, 9)
        carried = rng.randint(0, min(20, done + carry_over))
        inputs[f"t3.carry_over.{col.id}"] = carry_over
        inputs[f"t3.carried.{col.id}"] = carried
        inputs[f"t3.new.{col.id}"] = done + carry_over - carried
    return inputs


def unbalanced_inputs(form) -> dict[str, int]:
    """Balanced, then 四 changed in two columns so that the 总计 column still balances."""
    inputs = balanced_inputs(form)
    inputs["t3.carry_over.natural"] += 1
    inputs["t3.carry_over.business"] -= 1
    return inputs


def as_cells(layout, inputs: dict[str, int]) -> dict[tuple[str, str], int]:
    return {ref(layout.cells[cid]): v for cid, v in inputs.items() if cid.startswith("t3.")}


def computed_refs(form, layout) -> dict[str, tuple[str, str]]:
    return {cid: ref(layout.cells[cid]) for cid, c in form.cells.items() if c.computed}


@pytest.fixture(scope="module")
def balanced(form, layout, template):
    """(a) filled through fill_workbook (one soffice), saved by LibreOffice as xlsx."""
    saved = template.with_name("balanced-saved.xlsx")
    check = ref(layout.rules["t3_balance"])
    read = [*computed_refs(form, layout).values(), check]
    result = fill_workbook(template, saved, as_cells(layout, balanced_inputs(form)), read)
    return result, saved


@pytest.fixture(scope="module")
def scenarios(form, layout, template):
    """(b) unbalanced and (c) writes into locked cells, both in one soffice run."""
    check = ref(layout.rules["t3_balance"])
    total, natural = ref(layout.cells["t3.total.natural"]), ref(layout.cells["t3.open.natural"])
    prefilled = ref(layout.fields["agency"])
    unbalanced = OfficeJob(
        template, None, as_cells(layout, unbalanced_inputs(form)), [*computed_refs(form, layout).values(), check]
    )
    locked = OfficeJob(
        template,
        None,
        {total: 99, check: "✓ 平衡", prefilled: "别的机关", natural: 4},
        read=[total, check, prefilled, natural],
        locks=[total, check, prefilled, natural],
        sheets=True,
    )
    return dict(zip(("unbalanced", "locked"), run_office_jobs([unbalanced, locked]), strict=True))


# ---------------------------------------------------------------- (a) balanced


@pytest.mark.libreoffice
@needs_office
def test_balanced_totals_match_python(form, layout, balanced):
    result, saved = balanced
    assert result["refused"] == {}
    assert saved.is_file()
    expected = form.compute(balanced_inputs(form))
    got = {cid: result["values"][r] for cid, r in computed_refs(form, layout).items()}
    assert got == {cid: expected[cid] for cid in got}
    assert got["t3.total.total"] > 0


@pytest.mark.libreoffice
@needs_office
def test_balanced_check_cell(form, layout, balanced):
    result, _saved = balanced
    rule = next(r for r in form.rules if r.id == "t3_balance")
    assert check_cell_text(rule, form.compute(balanced_inputs(form))) == "✓ 平衡"
    assert result["values"][ref(layout.rules["t3_balance"])] == "✓ 平衡"


# ---------------------------------------------------------------- (b) unbalanced


@pytest.mark.libreoffice
@needs_office
def test_unbalanced_check_text_matches_python(form, layout, scenarios):
    result = scenarios["unbalanced"]
    assert result["refused"] == {}
    values = form.compute(unbalanced_inputs(form))
    rule = next(r for r in form.rules if r.id == "t3_balance")
    expected = check_cell_text(rule, values)
    assert expected == "✗ 不平衡：自然人 商业企业 "
    assert result["values"][ref(layout.rules["t3_balance"])] == expected
    for cid, r in computed_refs(form, layout).items():
        assert result["values"][r] == values[cid], cid


# ---------------------------------------------------------------- (c) locked cells


@pytest.mark.libreoffice
@needs_office
def test_locked_cells_refuse_writes(layout, scenarios):
    result = scenarios["locked"]
    total, check = ref(layout.cells["t3.total.natural"]), ref(layout.rules["t3_balance"])
    prefilled, natural = ref(layout.fields["agency"]), ref(layout.cells["t3.open.natural"])
    assert set(result["refused"]) == {total, check, prefilled}
    assert result["locked"] == {total: True, check: True, prefilled: True, natural: False}
    # the input went in; the total is the formula's, not the 99 that was refused
    assert result["values"][natural] == 4
    assert result["values"][total] == 4
    assert result["cells"][total]["formula"].startswith("=")
    assert result["values"][prefilled] == AGENCY
    assert result["values"][check] == "✗ 不平衡：自然人 总计 "


@pytest.mark.libreoffice
@needs_office
def test_every_sheet_protected_meta_hidden(form, scenarios):
    sheets = scenarios["locked"]["sheets"]
    assert {s.sheet for s in form.sections} <= set(sheets)
    assert all(s["protected"] for s in sheets.values()), sheets
    assert sheets[META_SHEET]["visible"] is False


# ---------------------------------------------------------------- (d) after a LibreOffice save


@pytest.fixture(scope="module")
def reopened(balanced):
    _result, saved = balanced
    return openpyxl.load_workbook(saved)


def unlocked_area(form, layout) -> set[tuple[str, str]]:
    """Every cell a clerk may type into: number inputs, text areas (merged) and non-prefilled fields."""
    out = {ref(layout.cells[c.id]) for c in form.input_cells}
    out |= {ref(layout.fields[f.id]) for f in form.fields if not f.prefilled}
    for pos in layout.texts.values():
        for r in range(TEXT_AREA_ROWS):
            for c in range(TEXT_AREA_COLS):
                out.add(ref(Pos(pos.sheet, pos.row + r, pos.col + c)))
    return out


@pytest.mark.libreoffice
@needs_office
def test_saved_protection_and_locks(form, layout, reopened):
    for ws in reopened.worksheets:
        assert ws.protection.sheet, ws.title
    allowed = unlocked_area(form, layout)
    for c in form.input_cells:
        sheet, a1 = ref(layout.cells[c.id])
        assert reopened[sheet][a1].protection.locked is False, (c.id, sheet, a1)
    for pos in layout.texts.values():
        assert reopened[pos.sheet][pos.a1].protection.locked is False
    must_lock = [layout.cells[c.id] for c in form.cells.values() if c.computed]
    must_lock += [*layout.rules.values(), *(layout.fields[f.id] for f in form.fields if f.prefilled)]
    for pos in must_lock:
        assert reopened[pos.sheet][pos.a1].protection.locked is True, pos.ref
    # 填报说明 is left out: its legend sample “填写项” uses the unlocked input style (reported, harmless)
    for ws in (w for w in reopened.worksheets if w.title != GUIDE_SHEET):
        stray = [
            c.coordinate
            for row in ws.iter_rows()
            for c in row
            if not c.protection.locked and (ws.title, c.coordinate) not in allowed
        ]
        assert stray == [], ws.title


@pytest.mark.libreoffice
@needs_office
def test_saved_validations(form, layout, reopened):
    def validation_of(sheet: str, a1: str):
        ws = reopened[sheet]
        col, row = openpyxl.utils.cell.coordinate_from_string(a1)
        col = openpyxl.utils.column_index_from_string(col)
        for dv in ws.data_validations.dataValidation:
            for rng in str(dv.sqref).split():
                c1, r1, c2, r2 = range_boundaries(rng)
                if c1 <= col <= c2 and r1 <= row <= r2:
                    return dv
        return None

    for c in form.input_cells:
        dv = validation_of(*ref(layout.cells[c.id]))
        assert dv is not None, c.id
        assert dv.type == ("whole" if c.kind.type == "integer" else "decimal"), c.id
        assert dv.showErrorMessage and dv.error, c.id
    for pos in layout.texts.values():
        dv = validation_of(pos.sheet, pos.a1)
        assert dv is not None and dv.type == "textLength", pos.ref


@pytest.mark.libreoffice
@needs_office
def test_saved_metadata_and_formulas(form, layout, balanced, reopened):
    props = {p.name: p.value for p in reopened.custom_doc_props.props}
    assert props["toolkit.form_id"] == form.id
    assert props["toolkit.form_version"] == form.version
    assert props["toolkit.fingerprint"] == form.fingerprint
    assert props["toolkit.agency"] == AGENCY
    assert props["toolkit.year"] == str(YEAR)
    meta = reopened[META_SHEET]
    assert meta.sheet_state == "hidden"
    assert {meta.cell(r, 1).value: meta.cell(r, 2).value for r in range(1, meta.max_row + 1)}["form_id"] == form.id
    # formulas survive, and their cached values are LibreOffice's recalculated ones
    _result, saved = balanced
    cached = openpyxl.load_workbook(saved, data_only=True)
    expected = form.compute(balanced_inputs(form))
    for cid, (sheet, a1) in computed_refs(form, layout).items():
        assert str(reopened[sheet][a1].value).startswith("="), cid
        assert cached[sheet][a1].value == expected[cid], cid
    check = layout.rules["t3_balance"]
    assert cached[check.sheet][check.a1].value == "✓ 平衡"


# ---------------------------------------------------------------- PDF


@pytest.mark.libreoffice
@needs_office
def test_convert_to_pdf(template, tmp_path):
    (pdf,) = convert_to_pdf([template], tmp_path / "pdf", timeout=120)
    assert pdf == tmp_path / "pdf" / "测试局.pdf"
    assert pdf.stat().st_size > 0
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 1
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "NotoSerifCJK" in fonts  # 宋体 mapped by toolkit/fonts.conf to Noto Serif CJK SC


# ---------------------------------------------------------------- without LibreOffice


def test_missing_libreoffice_is_a_user_error(monkeypatch, template, tmp_path):
    monkeypatch.setattr(office, "find_soffice", lambda: None)
    monkeypatch.setattr(pdf, "find_soffice", lambda: None)  # the product's PDF conversion looks for soffice itself
    assert not office.office_available()
    assert "未安装 LibreOffice" in office.office_unavailable_reason()
    with pytest.raises(UserError, match="未安装 LibreOffice：请运行 apt-get install"):
        convert_to_pdf([template], tmp_path)
    with pytest.raises(UserError, match="未安装 LibreOffice"):
        fill_workbook(template, None, {})


def test_fonts_conf_maps_windows_names():
    text = office.fonts_conf_path().read_text(encoding="utf-8")
    for name in ("SimSun", "宋体", "方正小标宋简体", "SimHei", "黑体", "FangSong", "仿宋_GB2312", "KaiTi", "楷体_GB2312"):
        assert f'<alias binding="strong"><family>{name}</family>' in text, name
    assert "/etc/fonts/fonts.conf" in text
