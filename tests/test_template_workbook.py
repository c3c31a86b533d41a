"""The generated workbook is locked where it should be, validated, computed and self-describing."""

from __future__ import annotations

import io
import random
import re
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils import range_boundaries
from openpyxl.utils.protection import hash_password

import toolkit
from toolkit.forms.formulas import check_cell_text, initial_values
from toolkit.forms.layout import META_SHEET, layout_of
from toolkit.forms.spec import builtin_forms
from toolkit.workbook.writer import build_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent))
import official_labels as official

FORM_IDS = ("gov-info-2021", "gov-info-2019")
AGENCY, YEAR = "原州区司法局", 2024
META_KEYS = ("form_id", "form_version", "fingerprint", "agency", "year", "toolkit_version", "generated_at")
CJK = re.compile(r"[\u4e00-\u9fff]")


class Generated:
    def __init__(self, form_id: str):
        self.form = builtin_forms()[form_id]
        self.layout = layout_of(self.form)
        self.started = datetime.now(timezone.utc)
        self.data = build_workbook(self.form, AGENCY, YEAR)
        self.wb = openpyxl.load_workbook(io.BytesIO(self.data))
        self.values = openpyxl.load_workbook(io.BytesIO(self.data), data_only=True)

    def address_of(self, cell_id: str) -> str:
        return self.layout.cells[cell_id].a1

    def input_positions(self) -> dict[tuple[str, str], str]:
        """(sheet, A1) -> "integer" | "decimal" | "text" for every place a clerk types into."""
        out = {}
        for cell_id, pos in self.layout.cells.items():
            cell = self.form.cells[cell_id]
            if not cell.computed:
                out[(pos.sheet, pos.a1)] = cell.kind.type
        for pos in self.layout.texts.values():
            out[(pos.sheet, pos.a1)] = "text"
        for field in self.form.fields:
            if not field.prefilled:
                pos = self.layout.fields[field.id]
                out[(pos.sheet, pos.a1)] = "text"
        return out


@pytest.fixture(scope="module", params=FORM_IDS)
def gen(request) -> Generated:
    return Generated(request.param)


def validations_covering(ws, a1: str) -> list:
    return [dv for dv in ws.data_validations.dataValidation if a1 in dv.sqref]


def merged_range_of(ws, a1: str):
    return next((r for r in ws.merged_cells.ranges if a1 in r), None)


# ---------------------------------------------------------------- inputs: unlocked and validated


def test_there_are_inputs_of_every_sort(gen):
    kinds = set(gen.input_positions().values())
    assert kinds == {"integer", "decimal", "text"}
    # t3 alone: 7 columns × leaf rows, of which the 总计 column and the （七）总计 row are computed.
    leaf_rows = [
        label for i, (d, label) in enumerate(official.FORMS[gen.form.id]["t3_rows"]) if not _has_children(i, gen.form.id)
    ]
    t3_inputs = [c for c in gen.form.input_cells if c.table.id == "t3"]
    assert len(t3_inputs) == 6 * (len(leaf_rows) - 1)


def _has_children(i: int, form_id: str) -> bool:
    rows = official.FORMS[form_id]["t3_rows"]
    return i + 1 < len(rows) and rows[i + 1][0] > rows[i][0]


def test_inputs_unlocked_and_start_blank(gen):
    """A fresh template holds no number: one sent back untouched is not an all-zero return."""
    for (sheet, a1), _sort in gen.input_positions().items():
        cell = gen.wb[sheet][a1]
        assert cell.protection.locked is False, f"{sheet}!{a1} should be unlocked"
        assert cell.value is None, f"{sheet}!{a1} starts blank, not {cell.value!r}"


def test_inputs_have_validation_of_the_right_type(gen):
    expected_type = {"integer": "whole", "decimal": "decimal", "text": "textLength"}
    for (sheet, a1), sort in gen.input_positions().items():
        dvs = validations_covering(gen.wb[sheet], a1)
        assert len(dvs) == 1, f"{sheet}!{a1}: {len(dvs)} validations"
        dv = dvs[0]
        assert dv.type == expected_type[sort], f"{sheet}!{a1}: {dv.type}"
        assert dv.showErrorMessage, f"{sheet}!{a1}: invalid input must be refused"
        assert dv.errorStyle in (None, "stop"), f"{sheet}!{a1}: error style {dv.errorStyle}"
        for text in (dv.promptTitle, dv.prompt, dv.errorTitle, dv.error):
            assert text and CJK.search(text), f"{sheet}!{a1}: prompt/error text should be Chinese: {text!r}"


def test_number_validation_bounds_follow_the_kind(gen):
    for cell_id, pos in gen.layout.cells.items():
        cell = gen.form.cells[cell_id]
        if cell.computed:
            continue
        (dv,) = validations_covering(gen.wb[pos.sheet], pos.a1)
        assert dv.operator in (None, "between")
        assert Decimal(dv.formula1) == cell.kind.min, cell_id
        assert Decimal(dv.formula2) == cell.kind.max, cell_id
        if cell.kind.unit:
            assert cell.kind.unit in dv.prompt, f"{cell_id}: the prompt should state the unit"
    # Counts are non-negative; only 本年增/减 (gov-info-2019) may go negative.
    negative = {c.column.label for c in gen.form.input_cells if c.kind.min < 0}
    assert negative == ({"本年增/减"} if gen.form.id == "gov-info-2019" else set())


def test_text_validation_limits_length(gen):
    for section in gen.form.text_sections:
        pos = gen.layout.texts[section.id]
        (dv,) = validations_covering(gen.wb[pos.sheet], pos.a1)
        assert dv.operator == "lessThanOrEqual"
        assert int(dv.formula1) == section.text.max_length
        area = merged_range_of(gen.wb[pos.sheet], pos.a1)
        assert area is not None and area.size["rows"] >= 10, "text area should be a large merged cell"


def test_decimal_inputs_of_2021_and_2019(gen):
    decimals = {c.column.label for c in gen.form.input_cells if c.kind.type == "decimal"}
    if gen.form.id == "gov-info-2021":
        assert decimals == {"本年收费金额（单位：万元）"}
    else:
        assert decimals == {"采购总金额"}
    assert all(c.kind.decimals == 6 for c in gen.form.input_cells if c.kind.type == "decimal")


# ---------------------------------------------------------------- everything else locked


def test_everything_else_is_locked(gen):
    inputs: dict[str, set[str]] = {}
    for sheet, a1 in gen.input_positions():
        ws = gen.wb[sheet]
        area = merged_range_of(ws, a1)
        cells = inputs.setdefault(sheet, set())
        if area is None:
            cells.add(a1)
        else:
            cells.update(c.coordinate for row in ws.iter_rows(*_bounds(area)) for c in row)
    checked = 0
    for ws in gen.wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.coordinate in inputs.get(ws.title, set()):
                    continue
                if c.value is not None or c.has_style:
                    checked += 1
                    assert c.protection.locked is not False, f"{ws.title}!{c.coordinate} ({c.value!r}) should be locked"
    assert checked > 100


def _bounds(area) -> tuple[int, int, int, int]:
    min_col, min_row, max_col, max_row = range_boundaries(area.coord)
    return min_row, max_row, min_col, max_col


def test_every_sheet_and_the_structure_protected(gen):
    expected_hash = hash_password(gen.form.password)
    for ws in gen.wb.worksheets:
        p = ws.protection
        assert p.sheet, f"{ws.title} is not protected"
        assert p.password == expected_hash, f"{ws.title}: protected with the spec's password"
        # Rows and columns cannot be inserted or deleted (openpyxl: True = not allowed).
        assert p.insertRows and p.deleteRows and p.insertColumns and p.deleteColumns, ws.title
        assert p.formatCells, ws.title
    assert gen.wb.security is not None and gen.wb.security.lockStructure, "workbook structure is not protected"
    assert gen.wb.security.workbookPassword == expected_hash


def test_password_override():
    form = builtin_forms()["gov-info-2021"]
    wb = openpyxl.load_workbook(io.BytesIO(build_workbook(form, AGENCY, YEAR, password="另一个密码")))
    assert all(ws.protection.password == hash_password("另一个密码") for ws in wb.worksheets)
    assert wb.security.lockStructure


def test_agency_and_year_prefilled_and_locked(gen):
    ws = gen.wb["基本信息"]
    labels = {ws.cell(gen.layout.fields[f.id].row + 1, 1).value: f for f in gen.form.fields}
    assert {"机关名称", "年度"} <= set(labels)
    for label, value in (("机关名称", AGENCY), ("年度", str(YEAR))):
        pos = gen.layout.fields[labels[label].id]
        cell = ws[pos.a1]
        assert str(cell.value) == value
        assert cell.protection.locked is not False, f"{label} must be locked"
        assert not validations_covering(ws, pos.a1)


# ---------------------------------------------------------------- formulas and cached values


_TERM = r"(?:[A-Z]+[0-9]+|N\([A-Z]+[0-9]+\))"  # a cell, or a cell through N() (text counts as 0, not #VALUE!)


def _signed_sum(formula: str, sheet: str, values: dict) -> int:
    """`=N(D8)+N(E8)-F8` evaluated over same-sheet cells: the only kind of formula a total may be."""
    assert re.fullmatch(rf"=-?{_TERM}([+-]{_TERM})*", formula), formula
    return sum(
        int(f"{sign or '+'}1") * values[(sheet, ref)] for sign, ref in re.findall(r"([+-]?)N?\(?([A-Z]+[0-9]+)", formula[1:])
    )


def test_inputs_in_totals_are_read_through_n(gen):
    """Every input a total adds is guarded (N(D8)), so a typed "12件" cannot make it #VALUE!."""
    inputs = {(p.sheet, p.a1) for cid, p in gen.layout.cells.items() if not gen.form.cells[cid].computed}
    for eq in gen.form.equations:
        pos = gen.layout.cells[eq.target]
        formula = gen.wb[pos.sheet][pos.a1].value
        bare = set(re.findall(r"(?<![A-Z(])([A-Z]+[0-9]+)(?!\))", formula[1:]))
        assert not {(pos.sheet, a1) for a1 in bare} & inputs, (eq.target, formula)


def test_computed_cells_have_the_spec_formula(gen):
    equations = {e.target: e for e in gen.form.equations}
    computed = {cid for cid, c in gen.form.cells.items() if c.computed}
    assert computed == set(equations)
    assert computed, "no computed cells"
    # The expectation does not come from the formula writer: each written formula, evaluated here as the
    # spreadsheet would (a signed sum of cells), must give the spec's own recomputation for random inputs.
    rng = random.Random(7)
    inputs = {c.id: rng.randint(0, 1000) for c in gen.form.input_cells}
    values = gen.form.compute(inputs)
    by_address = {(p.sheet, p.a1): values[cid] for cid, p in gen.layout.cells.items()}
    for target in equations:
        pos = gen.layout.cells[target]
        cell = gen.wb[pos.sheet][pos.a1]
        assert _signed_sum(cell.value, pos.sheet, by_address) == values[target], (target, cell.value)
        assert cell.protection.locked is not False, f"{target} formula must be locked"
        assert not validations_covering(gen.wb[pos.sheet], pos.a1), f"{target} is not an input"


def test_cached_values_are_the_initial_values(gen):
    initial = initial_values(gen.form)
    for eq in gen.form.equations:
        pos = gen.layout.cells[eq.target]
        cached = gen.values[pos.sheet][pos.a1].value
        assert cached == initial[eq.target] == 0, eq.target


def test_check_cells_show_balanced(gen):
    assert set(gen.layout.rules) == {r.id for r in gen.form.rules}
    assert "t3_balance" in gen.layout.rules
    for rule in gen.form.rules:
        pos = gen.layout.rules[rule.id]
        formula = gen.wb[pos.sheet][pos.a1].value
        assert isinstance(formula, str) and formula.startswith("=IF("), rule.id
        for instance in rule.instances:
            for ref in instance.comparison.refs:
                assert re.search(rf"\b{gen.address_of(ref)}\b", formula), f"{rule.id}: {ref} missing from the check formula"
        cached = gen.values[pos.sheet][pos.a1].value
        assert cached in ("✓ 平衡", "✓ 通过"), f"{rule.id}: {cached!r}"
        assert cached == check_cell_text(rule, initial_values(gen.form))
    t3 = gen.layout.rules["t3_balance"]
    assert gen.values[t3.sheet][t3.a1].value == "✓ 平衡"


# ---------------------------------------------------------------- metadata


def test_meta_sheet_and_custom_properties(gen):
    assert gen.wb.sheetnames[-1] == META_SHEET
    ws = gen.wb[META_SHEET]
    assert ws.sheet_state in ("hidden", "veryHidden")
    rows = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r[0] is not None}
    assert tuple(rows) == META_KEYS
    assert rows["form_id"] == gen.form.id
    assert rows["form_version"] == gen.form.version
    assert rows["fingerprint"] == gen.form.fingerprint and re.fullmatch(r"[0-9a-f]{16}", rows["fingerprint"])
    assert rows["agency"] == AGENCY
    assert rows["year"] == str(YEAR)
    assert rows["toolkit_version"] == toolkit.__version__
    stamp = datetime.fromisoformat(rows["generated_at"])
    assert stamp.tzinfo is not None
    assert gen.started - timedelta(seconds=5) <= stamp <= datetime.now(timezone.utc) + timedelta(seconds=5)
    props = {p.name: p.value for p in gen.wb.custom_doc_props}
    assert {f"toolkit.{k}": v for k, v in rows.items()} == {k: v for k, v in props.items() if k.startswith("toolkit.")}


def test_fingerprints_of_the_two_forms_differ():
    a, b = (builtin_forms()[f] for f in FORM_IDS)
    assert a.fingerprint != b.fingerprint


def test_generated_at_can_be_fixed():
    form = builtin_forms()["gov-info-2019"]
    data = build_workbook(form, "某街道办事处", 2020, generated_at="2021-01-05T09:00:00+08:00")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    props = {p.name: p.value for p in wb.custom_doc_props}
    assert props["toolkit.generated_at"] == "2021-01-05T09:00:00+08:00"
    assert props["toolkit.agency"] == "某街道办事处" and props["toolkit.year"] == "2020"
    assert props["toolkit.form_id"] == "gov-info-2019"


# ---------------------------------------------------------------- property: totals and the balance rule


def _row_ids(form, labels) -> list[str]:
    by_label = {r.label: r.id for r in next(t for t in form.tables if t.id == "t3").rows}
    return [by_label[label] for label in labels]


def _t3_structure(form):
    """Row ids of the result items that （七）总计 adds (from the official row list) and the column ids."""
    rows = official.FORMS[form.id]["t3_rows"]
    start = next(i for i, (_, label) in enumerate(rows) if label == official.T3_RESULTS)
    end = next(i for i, (_, label) in enumerate(rows) if label == official.T3_RESULTS_TOTAL)
    leaves = [label for i, (_, label) in enumerate(rows) if start < i < end and not _has_children(i, form.id)]
    t3 = next(t for t in form.tables if t.id == "t3")
    cols = {c.label: c.id for c in t3.columns}
    applicant = [cols[label] for label in official.T3_APPLICANT_COLUMNS]
    return _row_ids(form, leaves), applicant, cols[official.T3_TOTAL_COLUMN]


@st.composite
def filled_returns(draw):
    form = builtin_forms()[draw(st.sampled_from(FORM_IDS))]
    result_rows, applicant, total_col = _t3_structure(form)
    new, carried, carry_over = _row_ids(form, (official.T3_NEW, official.T3_CARRIED, official.T3_CARRY_OVER))
    values: dict[str, int | Decimal] = {}
    for cell in form.input_cells:
        if cell.kind.type == "decimal":
            values[cell.id] = draw(st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False))
        else:
            low = max(int(cell.kind.min), -1000)
            values[cell.id] = draw(st.integers(min_value=low, max_value=1000))
    # Make the balance hold in some columns and break in others, by choosing 一 from the rest.
    for c in applicant:
        results = sum(values[f"t3.{r}.{c}"] for r in result_rows)
        delta = draw(st.sampled_from((0, 0, 0, 1, -1, 7)))
        values[f"t3.{new}.{c}"] = max(0, results + values[f"t3.{carry_over}.{c}"] - values[f"t3.{carried}.{c}"] + delta)
    return form, values, (result_rows, applicant, total_col, new, carried, carry_over)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filled_returns())
def test_compute_totals_and_balance_check(sample):
    form, inputs, (result_rows, applicant, total_col, new, carried, carry_over) = sample
    values = form.compute(inputs)
    t3_rows = [r.id for r in next(t for t in form.tables if t.id == "t3").rows]
    # Rule 3: 总计 of every row is the sum of the six applicant columns.
    for r in t3_rows:
        assert values[f"t3.{r}.{total_col}"] == sum(values[f"t3.{r}.{c}"] for c in applicant), r
    # Rule 2: （七）总计 is the sum of the result items, column by column.
    total_row = _row_ids(form, (official.T3_RESULTS_TOTAL,))[0]
    for c in applicant:
        assert values[f"t3.{total_row}.{c}"] == sum(inputs[f"t3.{r}.{c}"] for r in result_rows), c
    # Hence the grand total is the sum of every result-item input.
    grand = sum(inputs[f"t3.{r}.{c}"] for r in result_rows for c in applicant)
    assert values[f"t3.{total_row}.{total_col}"] == grand
    # Table 四: each group's 总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结.
    t4 = next(t for t in form.tables if t.id == "t4")
    for group in range(3):
        cols = t4.columns[group * 5 : group * 5 + 5]
        assert [c.label for c in cols] == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
        row = t4.rows[0].id
        assert values[f"t4.{row}.{cols[4].id}"] == sum(inputs[f"t4.{row}.{c.id}"] for c in cols[:4])
    # Inputs are never overwritten by compute.
    assert all(values[k] == v for k, v in inputs.items())
    # The check text says ✗ exactly when rule 1 fails in some column, and names the failing columns.
    labels = {c.id: c.label for c in next(t for t in form.tables if t.id == "t3").columns}
    failing = {
        labels[c]
        for c in (*applicant, total_col)
        if values[f"t3.{new}.{c}"] + values[f"t3.{carried}.{c}"] != values[f"t3.{total_row}.{c}"] + values[f"t3.{carry_over}.{c}"]
    }
    rule = next(r for r in form.rules if r.id == "t3_balance")
    text = check_cell_text(rule, values)
    assert text.startswith("✗") == bool(failing), (text, failing)
    if failing:
        assert text.startswith("✗ 不平衡")
        named = set(text.split("：", 1)[1].split())
        assert named == failing
    else:
        assert text == "✓ 平衡"


def test_balance_check_catches_a_single_unit_off():
    for form_id in FORM_IDS:
        form = builtin_forms()[form_id]
        values = {c.id: 0 for c in form.input_cells}
        rule = next(r for r in form.rules if r.id == "t3_balance")
        assert check_cell_text(rule, form.compute(values)) == "✓ 平衡"
        values["t3.new.natural"] = 1
        text = check_cell_text(rule, form.compute(values))
        assert text.startswith("✗ 不平衡") and "自然人" in text and "总计" in text and "商业企业" not in text
        values["t3.open.natural"] = 1
        assert check_cell_text(rule, form.compute(values)) == "✓ 平衡"
