"""Round trips and rule violations with random data, the check CLI, and annotated copies."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from filling import complete_fields, complete_texts, fill_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.cli import main
from toolkit.cli.check import report_json
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import get_form
from toolkit.pipeline import check_file

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
APPLICANTS = ("natural", "business", "research", "charity", "legal", "other")


def balanced_inputs(form, draw_int) -> dict[str, int]:
    """Random inputs for every input cell with table 三 balanced column by column.

    The expected sums are computed here from the spec's row lists, not by the code under test."""
    values = {c.id: draw_int() for c in form.input_cells}
    result_rows = [
        r.id
        for r in form.tables[[t.id for t in form.tables].index("t3")].rows
        if r.id not in ("new", "carried", "total", "carry_over")
    ]
    for col in APPLICANTS:
        handled = sum(values[f"t3.{r}.{col}"] for r in result_rows)
        out = handled + values[f"t3.carry_over.{col}"]
        values[f"t3.carried.{col}"] = min(values[f"t3.carried.{col}"], out)
        values[f"t3.new.{col}"] = out - values[f"t3.carried.{col}"]
    return values


@st.composite
def valid_returns(draw, form_id):
    form = get_form(form_id)
    ints = st.integers(min_value=0, max_value=500)
    values = balanced_inputs(form, lambda: draw(ints))
    for cell in form.input_cells:
        if cell.kind.type == "decimal":
            values[cell.id] = draw(st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False))
        elif cell.kind.min < 0:
            values[cell.id] = draw(st.integers(min_value=-500, max_value=500))
    return form, values


@SETTINGS
@given(data=st.data())
def test_random_valid_returns_round_trip_and_are_accepted(tmp_path, data):
    form, values = data.draw(valid_returns(data.draw(st.sampled_from(["gov-info-2021", "gov-info-2019"]))))
    path = fill_workbook(
        form,
        tmp_path / "r.xlsx",
        {k: float(v) if not isinstance(v, int) else v for k, v in values.items()},
        complete_texts(form),
        complete_fields(),
    )
    ret = check_file(path)
    assert ret.accepted, [p.message for p in ret.errors]
    for cell_id, value in values.items():
        assert ret.values[cell_id] == value, cell_id
    for col in APPLICANTS:  # totals recomputed: 总计 = sum of applicant columns, per row
        assert ret.values["t3.new.total"] == sum(values[f"t3.new.{c}"] for c in APPLICANTS)
        assert (
            ret.values[f"t3.new.{col}"] + ret.values[f"t3.carried.{col}"]
            == ret.values[f"t3.total.{col}"] + values[f"t3.carry_over.{col}"]
        )
    assert ret.values["t4.cases.review_total"] == sum(
        values[f"t4.cases.review_{k}"] for k in ("upheld", "corrected", "other", "pending")
    )


@SETTINGS
@given(data=st.data())
def test_random_imbalance_gives_exactly_the_expected_problems(tmp_path, data):
    form = get_form("gov-info-2021")
    values = balanced_inputs(form, lambda: data.draw(st.integers(0, 50)))
    broken = data.draw(st.sets(st.sampled_from(APPLICANTS), min_size=1, max_size=3))
    for col in broken:
        values[f"t3.new.{col}"] += data.draw(st.integers(1, 9))
    ret = check_file(fill_workbook(form, tmp_path / "r.xlsx", values, complete_texts(form), complete_fields()))
    layout = layout_of(form)
    # the 总计 column's failure only restates the broken columns': said in their detail, not listed again
    expected = {("rule_failed", "三、依申请公开", layout.cells[f"t3.new.{c}"].a1) for c in broken}
    assert {(p.code, p.sheet, p.cell) for p in ret.problems} == expected
    assert len(ret.problems) == len(expected)
    assert all("“总计”随之不符，不另列" in p.message for p in ret.problems)


def _returns(tmp_path: Path) -> tuple[Path, Path]:
    form = get_form("gov-info-2021")
    good = fill_workbook(form, tmp_path / "good.xlsx", texts=complete_texts(form), fields=complete_fields())
    bad = fill_workbook(
        form, tmp_path / "bad.xlsx", {"t3.open.natural": "12件", "t3.new.business": 2}, complete_texts(form), complete_fields()
    )
    return good, bad


def test_cli_groups_by_file_and_exits_1_on_errors(tmp_path):
    good, bad = _returns(tmp_path)
    (tmp_path / "~$bad.xlsx").write_bytes(b"owner file")
    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert f"== {bad}" in result.output and f"== {good}" in result.output
    assert "“12件”不是数字" in result.output
    assert "\n共检查 2 份：通过 1 份，有错误 1 份，无法读取 0 份。\n" in result.output


def test_cli_exit_0_when_all_accepted_and_2_when_unreadable(tmp_path):
    good, _ = _returns(tmp_path)
    assert CliRunner().invoke(main, ["check", str(good)]).exit_code == 0
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x00\x01 not a workbook")
    result = CliRunner().invoke(main, ["check", str(good), str(junk)])
    assert result.exit_code == 2 and "无法读取" in result.output
    missing = CliRunner().invoke(main, ["check", str(tmp_path / "nope.xlsx")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_cli_json_equals_the_library_result(tmp_path):
    good, bad = _returns(tmp_path)
    result = CliRunner().invoke(main, ["check", "--json", str(good), str(bad)])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data == report_json([check_file(good), check_file(bad)])
    assert data["schema"] == 1 and data["summary"] == {"files": 2, "accepted": 1, "rejected": 1, "unreadable": 0}
    problem = next(p for p in data["files"][1]["problems"] if p["code"] == "not_a_number")
    assert problem["location"] == f"三、依申请公开!{problem['cell']}" and problem["cell_id"] == "t3.open.natural"


def test_annotated_copy_marks_exactly_the_problem_cells(tmp_path):
    _, bad = _returns(tmp_path)
    before = bad.read_bytes()
    result = CliRunner().invoke(main, ["check", str(bad), "--annotate", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert bad.read_bytes() == before  # the original is never modified
    annotated = tmp_path / "out" / "bad_批注.xlsx"
    wb, original = openpyxl.load_workbook(annotated), openpyxl.load_workbook(bad)
    problems = check_file(bad).problems
    expected = {(p.sheet, p.cell) for p in problems if p.cell}
    commented = {(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment}
    assert commented == expected
    assert wb.sheetnames == ["问题清单", *original.sheetnames]  # the list comes first; the return's sheets follow
    for ws in wb.worksheets[1:]:
        assert ws.protection.sheet, ws.title
        for row in ws.iter_rows():
            for c in row:
                assert c.value == original[ws.title][c.coordinate].value
    assert wb.security.lockStructure
