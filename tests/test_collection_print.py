"""collection.xlsx as the office prints and acts on it: print settings, 状态 order and colours, 催报, 明细, 汇总, the pie.

One merge (through the CLI, with an --agencies CSV) of returns made here: two that pass (one with a
warning), one rejected, one older duplicate with an error of its own, one file that is no workbook,
and a listed agency that sent nothing. Expected values are written out here, not taken from the writer.
"""

from __future__ import annotations

import os
import random
import re
import sys
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from filling import complete_texts, fill_workbook
from office import office_unavailable_reason
from test_merge import random_inputs

from toolkit.cli import main
from toolkit.collection.workbook import summary_cells
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import get_form

FORM = get_form("gov-info-2021")
SHEETS = ["状态", "催报", "汇总", "明细", "文字", "图表"]
GREEN, YELLOW, RED, GREY, PURPLE = "FFC6EFCE", "FFFFE699", "FFF4B6B6", "FFD9D9D9", "FFDCD3EA"
CSV = (
    "机关名称,联系人,联系电话\n"
    "甲局,甲联系人,0954-1000001\n"
    "乙局,,\n"
    "丙局,丙联系人,0954-1000003\n"
    "丁局,丁联系人,0954-1000004\n"
    "戊局,戊联系人,0954-1000005\n"
)


def _return(folder: Path, name: str, agency: str, seed: int, fields: dict, raw: dict | None = None) -> Path:
    return fill_workbook(FORM, folder / name, random_inputs(random.Random(seed)), complete_texts(FORM), fields, agency, 2024, raw)


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("print")
    inbox = root / "回收"
    inbox.mkdir()
    layout = layout_of(FORM)
    cell = layout.cells["t3.open.natural"]
    date = {"date": "2025年1月20日"}
    _return(inbox, "甲.xlsx", "甲局", 1, {"contact": "甲本人", "phone": "13900000001", **date})
    # 乙 types a number as text (its own figure): accepted with a warning
    typed = str(random_inputs(random.Random(2))["t3.open.natural"])
    _return(inbox, "乙.xlsx", "乙局", 2, {"contact": "乙本人", "phone": "13900000002", **date}, {(cell.sheet, cell.a1): typed})
    # 丙's return breaks the balance: rejected; the contact comes from the CSV (the return has none)
    unbalanced = layout.cells["t3.new.natural"]
    _return(inbox, "丙.xlsx", "丙局", 3, date, {(unbalanced.sheet, unbalanced.a1): 99999})
    # 丁 sent twice: the older copy has "12件" in a number cell (its own error)
    old = _return(
        inbox, "丁_旧.xlsx", "丁局", 4, {"contact": "丁本人", "phone": "13900000004", **date}, {(cell.sheet, cell.a1): "12件"}
    )
    _return(inbox, "丁_新.xlsx", "丁局", 4, {"contact": "丁本人", "phone": "13900000004", **date})
    os.utime(old, (1_600_000_000, 1_600_000_000))
    (inbox / "坏.xlsx").write_bytes(b"not a workbook")
    listing = root / "名单.csv"
    listing.write_text(CSV, encoding="utf-8")
    out = root / "out"
    result = CliRunner().invoke(main, ["merge", str(inbox), "-o", str(out), "--agencies", str(listing), "--jobs", "1", "-q"])
    assert result.exit_code == 1, result.output
    return out / "collection.xlsx"


@pytest.fixture(scope="module")
def book(merged):
    return openpyxl.load_workbook(merged)


def _rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(min_row=2, values_only=True) if any(v is not None for v in r)]


def test_sheets_in_order(book):
    assert book.sheetnames == SHEETS


@pytest.mark.parametrize(
    ("sheet", "landscape", "wide", "titles", "title_cols"),
    [
        ("状态", True, 1, "$1:$1", None),
        ("催报", False, 1, "$1:$1", None),
        ("汇总", True, 1, None, None),
        ("明细", True, 17, "$1:$4", "$A:$A"),  # 200 cell columns, 12 to a page
        ("文字", True, 1, "$1:$1", "$A:$A"),
        ("图表", True, 1, None, None),
    ],
)
def test_every_sheet_prints_on_a4_fitted_to_its_width(book, sheet, landscape, wide, titles, title_cols):
    ws = book[sheet]
    assert int(ws.page_setup.paperSize) == 9
    assert ws.page_setup.orientation == ("landscape" if landscape else "portrait")
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (int(ws.page_setup.fitToWidth or 1), ws.page_setup.fitToHeight) == (wide, 0)  # absent means 1 (OOXML default)
    assert ws.print_title_rows == titles
    assert ws.print_title_cols == title_cols
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text


def test_status_is_sorted_problems_first_and_coloured_by_result(book):
    ws = book["状态"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["序号", "机关名称", "结果", "错误数", "警告数", "第一个问题"]
    rows = _rows(ws)
    assert [(r[1], r[2]) for r in rows] == [
        ("（未能读出机关名称）", "无法读取"),
        ("丙局", "未通过"),
        ("戊局", "未报送"),
        ("丁局", "重复报送"),
        ("乙局", "通过"),
        ("丁局", "通过"),
        ("甲局", "通过"),
    ]
    assert [r[0] for r in rows] == list(range(1, 8))
    fills = [ws.cell(i, 2).fill.fgColor.rgb for i in range(2, 9)]
    assert fills == [RED, RED, GREY, PURPLE, YELLOW, GREEN, GREEN]
    assert ws.cell(2, 11).fill.fgColor.rgb == RED  # the whole row, up to 文件


def test_status_not_returned_has_no_error_count_and_a_duplicate_shows_its_own_error(book):
    rows = {(r[1], r[2]): r for r in _rows(book["状态"])}
    missing = rows[("戊局", "未报送")]
    assert missing[3] in (None, 0) and missing[4] in (None, 0)
    duplicate = rows[("丁局", "重复报送")]
    assert "12件" in duplicate[5] and "重复报送" not in duplicate[5]
    assert duplicate[3] >= 1


def test_status_form_column_is_wide_enough_and_rows_show_wrapped_text(book):
    ws = book["状态"]
    assert ws.column_dimensions["I"].width >= len("gov-info-2021") + 1  # 表式
    long_row = next(i for i in range(2, ws.max_row + 1) if len(str(ws.cell(i, 6).value or "")) > 40)
    assert ws.row_dimensions[long_row].height > 20


def test_chase_lists_who_to_call_with_contacts_from_the_return_or_the_csv(book):
    ws = book["催报"]
    assert [c.value for c in ws[1]] == ["序号", "机关名称", "情况", "问题", "联系人", "联系电话", "文件"]
    rows = {r[1]: (r[2], r[4] or "", r[5] or "") for r in _rows(ws)}
    assert rows == {
        "（未能读出机关名称）": ("无法读取", "", ""),
        "丙局": ("未通过", "丙联系人", "0954-1000003"),  # the return names nobody: the CSV's contact
        "戊局": ("未报送", "戊联系人", "0954-1000005"),  # not returned: the CSV's contact
    }  # 甲 and 乙 passed; 丁's newer return passed


def test_chase_prefers_the_return_s_own_contact(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    cell = layout_of(FORM).cells["t3.new.natural"]
    _return(inbox, "甲.xlsx", "甲局", 1, {"contact": "新联系人", "phone": "13911112222"}, {(cell.sheet, cell.a1): 99999})
    listing = tmp_path / "名单.csv"
    listing.write_text(CSV, encoding="utf-8")
    out = tmp_path / "out"
    CliRunner().invoke(main, ["merge", str(inbox), "-o", str(out), "--agencies", str(listing), "--jobs", "1", "-q"])
    rows = {r[1]: (r[2], r[4] or "", r[5] or "") for r in _rows(openpyxl.load_workbook(out / "collection.xlsx")["催报"])}
    assert rows["甲局"] == ("未通过", "新联系人", "13911112222")
    assert rows["乙局"] == ("未报送", "", "")
    assert len(rows) == 5


def test_detail_header_rows_are_tall_enough_and_titles_merged(book):
    ws = book["明细"]
    for row in (1, 2, 3):
        assert ws.row_dimensions[row].height and ws.row_dimensions[row].height > 15, row
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "E1:J1" in merged  # 表二 第二十条第（一）项 over its six cells
    assert ws["E1"].value == "二、主动公开政府信息情况 第二十条第（一）项"
    assert ws["E4"].value == "t2_1.rules.issued"
    assert ws["E4"].font.sz < ws["E3"].font.sz  # the id row is small print under the labels


def _units(text: str) -> int:
    return max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in text.split("\n"))


def test_summary_columns_are_sized_per_table(book):
    ws = book["汇总"]
    widths = {c: d.width for d in ws.column_dimensions.values() for c in range(d.min, d.max + 1)}  # ranges as written
    assert max(widths.values()) <= 3  # a grid of narrow columns: no table's column is another's huge one
    headers = [
        c
        for row in ws.iter_rows(min_row=3)
        for c in row
        if isinstance(c.value, str) and c.font.b and c.fill.fgColor.rgb == "FFEDEDED"
    ]
    assert len(headers) > 30
    for cell in headers:  # every line of a column header fits its cell: no header broken mid-word
        rng = next((r for r in ws.merged_cells.ranges if cell.coordinate in r), None)
        if rng and rng.max_row > rng.min_row and rng.max_col - rng.min_col > 8:
            continue  # the corner: a sentence wrapped in a tall block
        width = sum(widths[c] for c in range(rng.min_col, rng.max_col + 1)) if rng else widths[cell.column]
        assert _units(cell.value) <= width, (cell.coordinate, cell.value, width)
    # each table's figure columns have their own width: 表三 (six-character labels) wider than 表四's
    t3 = summary_cells(FORM)["t3.new.legal"]
    t4 = summary_cells(FORM)["t4.cases.review_upheld"]
    span = {(r.min_row, r.min_col): r.max_col - r.min_col + 1 for r in ws.merged_cells.ranges}
    assert span[(t3[0] + 1, t3[1] + 1)] > span[(t4[0] + 1, t4[1] + 1)]


def test_summary_fee_header_breaks_before_its_bracket(book):
    texts = [c.value for row in book["汇总"].iter_rows() for c in row if isinstance(c.value, str)]
    fee = [t for t in texts if t.startswith("本年收费金额")]
    assert fee and all("\n（" in t for t in fee if "（" in t)


def test_pie_labels_show_category_and_percent_only(merged):
    with zipfile.ZipFile(merged) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    (pie,) = [c for c in charts if "<c:pieChart>" in c]
    labels = re.search(r"<c:dLbls>(.*?)</c:dLbls>", pie, re.S).group(1)
    flags = dict(re.findall(r'<c:(show\w+) val="(\d)"/>', labels))
    assert flags.get("showCatName") == "1" and flags.get("showPercent") == "1"
    assert flags.get("showSerName", "0") == "0" and flags.get("showVal", "0") == "0"


def test_collection_still_checks_clean_and_reads_back(merged):
    from toolkit.collection.readback import read_collection
    from toolkit.pipeline import check_or_refuse

    ret = check_or_refuse(merged)
    assert ret.problems == [], [p.message for p in ret.problems]
    assert set(read_collection(merged).values) == {"甲局", "乙局", "丁局"}


@pytest.mark.skipif(office_unavailable_reason() is not None, reason=office_unavailable_reason() or "")
def test_libreoffice_prints_it_in_few_pages(merged, tmp_path):
    """The default PDF was 58 pages for four returns (状态 one column a page); now each sheet is fitted."""
    from toolkit.reports.pdf import convert_to_pdf

    (pdf,) = convert_to_pdf([merged], tmp_path)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert len(SHEETS) <= pages <= 30, pages


def test_agency_list_csv_gives_names_to_template_and_contacts_to_merge(tmp_path):
    from toolkit.workbook.mailing import Agency, read_agencies, read_agency_list

    listing = tmp_path / "名单.csv"
    listing.write_text(CSV + "甲局,重复的甲,1\n", encoding="utf-8")
    assert read_agency_list(listing) == ["甲局", "乙局", "丙局", "丁局", "戊局"]  # what `template --agencies` uses
    agencies = read_agencies(listing)
    assert agencies[0] == Agency("甲局", "甲联系人", "0954-1000001")  # the first row of a repeated name counts
    assert agencies[1] == Agency("乙局", "", "")
    plain = tmp_path / "名单.txt"
    plain.write_text("# 注释\n甲局\n\n乙局\n", encoding="utf-8")
    assert read_agencies(plain) == [Agency("甲局"), Agency("乙局")]
