"""What check concludes and what goes back to a clerk: rules never count a non-number as 0, an untouched
template is named, dates are understood, `report --force` lists what it replaced, and the annotated copy
opens on a 问题清单 whose links lead to the cells, marks where the fix is and places comments by their cells."""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from collections import Counter
from datetime import datetime
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from filling import complete_fields, complete_texts, fill_workbook
from office import convert_to_pdf, office_available, office_unavailable_reason
from openpyxl.utils import coordinate_to_tuple

from toolkit.cli import main
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import get_form
from toolkit.pipeline import check_file
from toolkit.workbook.writer import build_workbook

FORM = get_form("gov-info-2021")
LAYOUT = layout_of(FORM)
T3 = "三、依申请公开"
APPLICANTS = ("natural", "business", "research", "charity", "legal", "other")
RULE_TINT = "F8CBAD"  # a cell a failed rule reads
ERROR_TINT = "FFC7CE"


def _a1(cell_id: str) -> str:
    return LAYOUT.cells[cell_id].a1


def _fill(tmp_path: Path, values: dict, name: str = "r.xlsx", **kw) -> Path:
    kw.setdefault("texts", complete_texts(FORM))
    kw.setdefault("fields", complete_fields())
    return fill_workbook(FORM, tmp_path / name, values, **kw)


def _annotate(tmp_path: Path, path: Path) -> Path:
    result = CliRunner().invoke(main, ["check", str(path), "--annotate", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    (annotated,) = (tmp_path / "out").glob("*_批注.xlsx")
    return annotated


def _list_rows(ws) -> list[dict]:
    header = [c.value for c in ws[3]]
    assert header == ["序号", "严重程度", "工作表", "单元格", "项目", "说明"]
    return [{h: c for h, c in zip(header, row, strict=True)} for row in ws.iter_rows(min_row=4) if row[0].value is not None]


def _fill_of(ws, ref: str) -> str:
    color = ws[ref].fill.fgColor.rgb if ws[ref].fill.fill_type == "solid" else ""
    return str(color)[-6:]


# ---------------------------------------------------------------- rules and non-numbers


def test_a_non_number_is_never_counted_as_0_in_a_rule(tmp_path):
    """ "12件" in 表三 (一)自然人: the cell's own error, and its column's balance said to be not evaluated, naming the cell."""
    ret = check_file(_fill(tmp_path, {"t3.open.natural": "12件", "t3.new.natural": 20}))
    cell = [p for p in ret.problems if p.code == "not_a_number"]
    assert [(p.sheet, p.cell, p.value) for p in cell] == [(T3, _a1("t3.open.natural"), "12件")]
    (skipped,) = [p for p in ret.problems if p.code == "rule_not_evaluated"]
    assert skipped.severity == "warning" and skipped.expansion == (("c", "natural"),)
    assert (skipped.sheet, skipped.cell) == (T3, _a1("t3.open.natural"))  # anchored where the fix is, not at row 一
    assert f"{T3}!{_a1('t3.open.natural')}" in skipped.message and "“12件”" in skipped.message
    assert "未能检查" in skipped.message
    assert not [p for p in ret.problems if "左边为" in p.message], [p.message for p in ret.problems]
    assert not [p for p in ret.problems if p.code == "rule_failed"]  # nor the 总计 column, which reads it too


def test_a_negative_number_blocks_its_rule_and_a_blank_counts_as_0_and_is_said(tmp_path):
    negative = check_file(_fill(tmp_path, {"t3.carried.business": -3}, "neg.xlsx"))
    (skipped,) = [p for p in negative.problems if p.code == "rule_not_evaluated"]
    assert "“-3”" in skipped.message and skipped.expansion == (("c", "business"),)
    blank = check_file(_fill(tmp_path, {"t3.new.research": 4, "t3.carried.research": None}, "blank.xlsx"))
    (failed,) = [p for p in blank.problems if p.code == "rule_failed"]
    assert "左边为 4，右边为 0" in failed.message and "其中 1 个未填写的单元格按 0 计" in failed.message


@pytest.mark.parametrize("broken", [("natural",), ("business", "legal")])
def test_one_balance_mistake_per_column_is_one_error(tmp_path, broken):
    """The 总计 column's failure restates the others': folded into their detail, never listed as an error of its own."""
    values = {}
    for c in broken:
        values[f"t3.new.{c}"] = 3
        values[f"t3.open.{c}"] = 2
    ret = check_file(_fill(tmp_path, values))
    assert [p.code for p in ret.errors] == ["rule_failed"] * len(broken)
    assert {p.cell_id for p in ret.errors} == {f"t3.new.{c}" for c in broken}
    assert all("“总计”随之不符，不另列" in p.message for p in ret.errors)


# ---------------------------------------------------------------- untouched template


def test_a_blank_template_sent_back_is_named_untouched(tmp_path):
    path = tmp_path / "blank.xlsx"
    path.write_bytes(build_workbook(FORM, "测试局", 2025))  # the template as toolkit writes it, nothing typed
    ret = check_file(path)
    first = ret.problems[0]
    assert first.code == "untouched" and first.severity == "warning"
    assert "报表的全部数字仍是空白模板的内容" in first.message and "似乎尚未填写" in first.message


def test_all_zeros_are_untouched_only_when_nothing_else_was_typed(tmp_path):
    """Older templates came with 0 everywhere: all zeros with no text and no contact is that template untouched;
    an agency with nothing to report writes 0 and its texts, and gets no such warning."""
    old = check_file(_fill(tmp_path, {}, "old.xlsx", texts={}, fields={}))
    assert [p.code for p in old.problems if p.code == "untouched"] == ["untouched"]
    assert "0 或空白" in old.problems[0].message
    zero = check_file(_fill(tmp_path, {}, "zero.xlsx"))
    assert zero.accepted and not [p for p in zero.problems if p.code == "untouched"]


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "typed", ["2026.1.18", "2026-01-18", "2026/1/18", "2026年1月18日", "２０２６年１月１８日", datetime(2026, 1, 18)]
)
def test_the_date_is_understood_in_its_common_forms(tmp_path, typed):
    ret = check_file(_fill(tmp_path, {}, fields={**complete_fields(), "date": typed}))
    assert ret.fields["date"] == "2026年1月18日"
    assert ret.accepted and not [p for p in ret.problems if p.code == "date_unclear"]


@pytest.mark.parametrize("typed", ["明年一月", "2026.2.30", "18.1.2026", "2026.1/18"])
def test_a_date_not_understood_is_a_warning_on_its_cell(tmp_path, typed):
    ret = check_file(_fill(tmp_path, {}, fields={**complete_fields(), "date": typed}))
    (p,) = [p for p in ret.problems if p.code == "date_unclear"]
    pos = LAYOUT.fields["date"]
    assert (p.severity, p.sheet, p.cell) == ("warning", pos.sheet, pos.a1)
    assert f"“{typed}”不是可识别的日期" in p.message and "2025年1月20日" in p.message
    assert ret.fields["date"] == typed  # kept as typed, for the clerk to correct


def test_the_report_signs_with_the_date_written_the_official_way(tmp_path):
    path = _fill(tmp_path, {}, fields={**complete_fields(), "date": "2026.1.18"})
    result = CliRunner().invoke(main, ["report", str(path), "-o", str(tmp_path / "r.docx")])
    assert result.exit_code == 0, result.output
    texts = [p.text.strip() for p in docx.Document(str(tmp_path / "r.docx")).paragraphs]
    assert "2026年1月18日" in texts and not [t for t in texts if "2026.1.18" in t]


# ---------------------------------------------------------------- report --force


def test_report_force_lists_every_value_it_replaced(tmp_path):
    path = _fill(tmp_path, {"t3.open.natural": "12件", "t2_1.rules.issued": -3, "t3.carried.legal": None})
    result = CliRunner().invoke(main, ["report", "--force", str(path), "-o", str(tmp_path / "r.docx")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.docx").exists()
    lines = [line.strip() for line in result.output.splitlines()]
    assert "注意：以下填写项的内容无法使用，报告中按所列数值计（--force）：" in lines
    t2 = LAYOUT.cells["t2_1.rules.issued"]
    expected = [
        f"测试局 {t2.sheet}!{t2.a1}「{FORM.cells['t2_1.rules.issued'].label}」：填写的“-3”，按 0 计",
        f"测试局 {T3}!{_a1('t3.open.natural')}「{FORM.cells['t3.open.natural'].label}」：填写的“12件”，按 0 计",
        f"测试局 {T3}!{_a1('t3.carried.legal')}「{FORM.cells['t3.carried.legal'].label}」：未填写，按 0 计",
    ]
    for line in expected:
        assert line in lines, result.output
    clean = CliRunner().invoke(main, ["report", str(_fill(tmp_path, {}, "ok.xlsx")), "-o", str(tmp_path / "ok.docx")])
    assert clean.exit_code == 0 and "按 0 计" not in clean.output


def test_report_force_says_a_returns_many_blanks_in_one_line(tmp_path):
    blank = [c.id for c in FORM.input_cells if c.table.id == "t3"][:5]
    path = _fill(tmp_path, {**dict.fromkeys(blank), "t3.open.natural": "12件"})
    result = CliRunner().invoke(main, ["report", "--force", str(path), "-o", str(tmp_path / "r.docx")])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    first = LAYOUT.cells[blank[0]]
    assert [line for line in lines if "未填写" in line] == [
        f"测试局 共 5 个填写项未填写，均按 0 计（如 {first.sheet}!{first.a1}、"
        f"{LAYOUT.cells[blank[1]].ref}、{LAYOUT.cells[blank[2]].ref}）"
    ]
    assert any("“12件”" in line for line in lines)


def test_report_json_lists_what_force_replaced(tmp_path):
    path = _fill(tmp_path, {"t3.open.natural": "12件"})
    result = CliRunner().invoke(main, ["report", "--force", "--json", str(path), "-o", str(tmp_path / "r.docx")])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["files"]
    assert entry["replaced"] == [
        {
            "sheet": T3,
            "cell": _a1("t3.open.natural"),
            "cell_id": "t3.open.natural",
            "labels": FORM.cells["t3.open.natural"].label,
            "typed": "12件",
            "used": 0,
        }
    ]


# ---------------------------------------------------------------- the annotated copy


def test_the_annotated_copy_opens_on_its_problem_list_with_links_to_the_cells(tmp_path):
    path = _fill(tmp_path, {"t3.open.natural": "12件", "t3.new.natural": 20}, fields={**complete_fields(), "date": "下周"})
    wb = openpyxl.load_workbook(_annotate(tmp_path, path))
    ws = wb.worksheets[0]
    assert ws.title == "问题清单" and wb.active.title == "问题清单"
    assert [s.title for s in wb.worksheets if s.sheet_view.tabSelected] == ["问题清单"]
    rows = _list_rows(ws)
    problems = sorted(check_file(path).problems, key=lambda p: p.severity != "error")  # errors first, stable
    assert len(rows) == len(problems)
    for row, p in zip(rows, problems, strict=True):
        assert row["严重程度"].value == {"error": "错误", "warning": "警告"}[p.severity]
        assert row["工作表"].value == p.sheet and (row["项目"].value or "") == p.labels
        assert row["单元格"].value == p.cell
        assert row["单元格"].hyperlink.location == f"'{p.sheet}'!{p.cell}"
        assert row["单元格"].hyperlink.target is None  # inside the workbook, not a file or web address
        assert p.message.endswith(row["说明"].value) and not row["说明"].value.startswith(p.sheet)
    mistyped = next(r for r in rows if "12件" in r["说明"].value and r["单元格"].value == _a1("t3.open.natural"))
    assert mistyped["严重程度"].value == "错误"
    t3 = wb[T3]
    assert _fill_of(t3, _a1("t3.open.natural")) == ERROR_TINT and t3[_a1("t3.open.natural")].comment is not None
    assert "“12件”不是数字" in t3[_a1("t3.open.natural")].comment.text


def test_the_problem_list_is_print_ready(tmp_path):
    ws = openpyxl.load_workbook(_annotate(tmp_path, _fill(tmp_path, {"t3.open.natural": "12件"}))).worksheets[0]
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.print_title_rows == "$3:$3"
    for row in ws.iter_rows(min_row=4):
        assert row[5].alignment.wrap_text and ws.row_dimensions[row[0].row].height >= 15
    long = max(ws.iter_rows(min_row=4), key=lambda r: len(r[5].value or ""))
    assert ws.row_dimensions[long[0].row].height >= 30  # a message of two lines or more gets the room


def test_a_balance_mistake_marks_its_column_once_and_is_one_error_row(tmp_path):
    """(一)商业企业 should be 2, was typed 3: the 商业企业 column's totals and inputs are tinted, the other columns and
    the 总计 column are not, and the list has one error row."""
    path = _fill(tmp_path, {"t3.new.business": 3, "t3.open.business": 2})
    wb = openpyxl.load_workbook(_annotate(tmp_path, path))
    errors = [r for r in _list_rows(wb.worksheets[0]) if r["严重程度"].value == "错误"]
    assert len(errors) == 1 and errors[0]["单元格"].value == _a1("t3.new.business")
    t3 = wb[T3]
    rows = [r.id for r in FORM.tables[[t.id for t in FORM.tables].index("t3")].rows]
    for r in rows:
        assert _fill_of(t3, _a1(f"t3.{r}.business")) == RULE_TINT, r
        for other in ("natural", "legal", "total"):
            assert _fill_of(t3, _a1(f"t3.{r}.{other}")) != RULE_TINT, (r, other)
    commented = [c.coordinate for row in t3.iter_rows() for c in row if c.comment]
    assert commented == [_a1("t3.new.business")]  # one comment for one mistake


def test_comments_are_anchored_next_to_their_cells(tmp_path):
    path = _fill(tmp_path, {"t3.open.natural": "12件", "t3.carried.other": "x", "t2_1.rules.issued": -3})
    annotated = _annotate(tmp_path, path)
    wb = openpyxl.load_workbook(annotated)
    with zipfile.ZipFile(annotated) as zf:
        drawings = [zf.read(n).decode() for n in zf.namelist() if n.endswith(".vml")]
    shapes = [s for d in drawings for s in re.findall(r"<\w+:shape .*?</\w+:shape>", d, re.S)]
    commented = [(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    assert len(shapes) == len(commented) >= 3
    assert all(s.startswith("<v:shape ") and "<x:Anchor>" in s for s in shapes)  # VML's own prefixes, as Excel reads them
    lefts = set()
    for shape in shapes:
        row = int(re.search(r"<\w+:Row>(\d+)</", shape).group(1))
        col = int(re.search(r"<\w+:Column>(\d+)</", shape).group(1))
        anchor = [int(x) for x in re.search(r"<\w+:Anchor>([^<]+)</", shape).group(1).split(",")]
        assert anchor[0] == col + 1 and anchor[2] in (row - 1, row), (anchor, row, col)  # right of the cell, by its row
        assert anchor[4] >= anchor[0] and anchor[6] >= anchor[2]
        lefts.add(re.search(r"margin-left:([\d.]+)pt", shape).group(1))
    assert len(lefts) > 1  # not all at openpyxl's one fixed place
    for sheet, ref in commented:
        assert coordinate_to_tuple(ref)  # every comment's cell is a real cell of its sheet
        assert sheet in wb.sheetnames


def test_annotating_an_annotated_copy_keeps_one_problem_list_and_no_stale_comment(tmp_path):
    """The clerk corrects one of two mistakes in the copy sent back: the new copy lists and comments only the other."""
    first = _annotate(tmp_path, _fill(tmp_path, {"t3.open.natural": "12件", "t3.open.legal": "3件"}))
    assert [p.code for p in check_file(first).errors] == ["not_a_number", "not_a_number"]  # still reads as the return
    wb = openpyxl.load_workbook(first)
    wb[T3][_a1("t3.open.natural")].value = 0
    again = tmp_path / "again.xlsx"
    wb.save(again)
    out = tmp_path / "again_out"
    assert CliRunner().invoke(main, ["check", str(again), "--annotate", str(out)]).exit_code == 1
    (copy,) = out.glob("*.xlsx")
    wb = openpyxl.load_workbook(copy)
    assert wb.sheetnames.count("问题清单") == 1 and wb.sheetnames[0] == "问题清单"
    # the cell's error and its column's not-evaluated balance, both where the fix is
    assert [r["单元格"].value for r in _list_rows(wb.worksheets[0])] == [_a1("t3.open.legal")] * 2
    commented = [c.coordinate for row in wb[T3].iter_rows() for c in row if c.comment]
    assert commented == [_a1("t3.open.legal")]


def _column_text(pdf: Path) -> tuple[list[str], str]:
    """Each page's text, and what the rightmost column (说明) printed: the words from its left edge on, the most
    common left edge of the right half (pdftotext alone mixes the lines of neighbouring wrapped cells)."""
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split("\f")
    html = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = []  # (page, x, text) in reading order
    for number, page in enumerate(html.split("<page ")[1:]):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        for x, text in re.findall(r'<word xMin="([\d.]+)"[^>]*>([^<]*)</word>', page):
            words.append((number, float(x), float(x) > width / 2, text))
    column = Counter(round(x) for _, x, right, _ in words if right).most_common(1)[0][0]
    return pages, "".join(t for _, x, _, t in words if x >= column - 2)


@pytest.mark.libreoffice
@pytest.mark.skipif(not office_available(), reason=office_unavailable_reason() or "")
def test_libreoffice_prints_the_problem_list_first_and_whole(tmp_path):
    """Printed by LibreOffice: the list is the first page, its header row repeated, every message whole
    (a row too short for its wrapped text would lose its last lines from the PDF)."""
    values = {f"t3.open.{c}": f"{i}件" for i, c in enumerate(APPLICANTS, 1)} | {"t3.new.total": 1}
    annotated = _annotate(tmp_path, _fill(tmp_path, values, fields={**complete_fields(), "date": "下周"}, zeros=False))
    (pdf,) = convert_to_pdf([annotated], tmp_path / "pdf", timeout=120)
    pages, column = _column_text(pdf)
    assert pages[0].lstrip().startswith("问题清单：测试局2024年度报表")
    listed = [p for p in pages if "严重程度" in p]
    assert len(listed) >= 2 and all(p.lstrip().startswith(("问题清单", "序号")) for p in listed)  # header on every page
    column = re.sub(r"\s+", "", column)
    for p in check_file(annotated).problems:
        message = p.message.removeprefix(p.location + (f"「{p.labels}」" if p.labels else "")).removeprefix("：")
        assert re.sub(r"\s+", "", message) in column, message


def test_the_problem_list_shows_errors_first_under_the_templates_header_style(tmp_path):
    """check finds the unclear date (a warning) before the balance that fails (an error);
    the list puts errors first, each kind in the order found, under a header styled as the template's."""
    path = _fill(tmp_path, {"t3.new.natural": 99999}, fields={**complete_fields(), "date": "下周"})
    found = check_file(path).problems
    last_error = max(i for i, p in enumerate(found) if p.severity == "error")
    assert any(p.severity == "warning" for p in found[:last_error]), [p.code for p in found]  # a warning between errors
    wb = openpyxl.load_workbook(_annotate(tmp_path, path))
    rows = _list_rows(wb["问题清单"])
    severities = [r["严重程度"].value for r in rows]
    assert severities == sorted(severities, key=lambda s: s != "错误") and severities[0] == "错误"
    ordered = [p for p in found if p.severity == "error"] + [p for p in found if p.severity != "error"]
    assert len(rows) == len(ordered)
    for row, p in zip(rows, ordered, strict=True):  # stable: each severity in the order check found it
        assert p.message.endswith(row["说明"].value) and row["工作表"].value == p.sheet

    template = openpyxl.load_workbook(io.BytesIO(build_workbook(FORM, "原州区司法局", 2025)))
    t3 = template[T3]
    leaf = next(c for row in t3.iter_rows() for c in row if c.value == "自然人")
    for head in wb["问题清单"][3]:
        assert head.font.b == leaf.font.b is True
        assert head.fill.fgColor.rgb == leaf.fill.fgColor.rgb and head.fill.fill_type == leaf.fill.fill_type
        assert head.border.left.style == leaf.border.left.style and head.border.bottom.style == leaf.border.bottom.style
        assert (head.alignment.horizontal, head.alignment.vertical) == (leaf.alignment.horizontal, leaf.alignment.vertical)
