"""The template every agency gets prints as an office would send it out.

Each sheet is opened with openpyxl and its print settings asserted: A4, one page wide, the title and
table header repeated on every page, landscape for the wide tables (表三, 表四), rows tall enough for
their wrapped labels, columns wide enough for their headers on one line, one header style. The row and
column checks measure text here, independently of the writer: a CJK character is 2 column-width units
(Excel's unit: 宋体 11 pt ≈ 2.1 digits of Calibri 11 pt), anything else 1. Then the template is printed
by LibreOffice and the PDF's text must hold every line of 填报说明 and the whole 基本信息 title (a cut line
or a row too low to show its second line loses text).
"""

from __future__ import annotations

import io
import math
import re
import subprocess
import unicodedata

import openpyxl
import pytest
from office import convert_to_pdf, office_available, office_unavailable_reason
from openpyxl.utils import range_boundaries

from toolkit.forms.spec import builtin_forms
from toolkit.workbook.writer import build_workbook

YEARS = {"gov-info-2021": 2025, "gov-info-2019": 2020}
GUIDE, INFO = "填报说明", "基本信息"
WIDE = ("三、", "四、")  # the official tables 三 and 四 have 7 and 15 number columns
A4 = 9
DEFAULT_WIDTH, DEFAULT_HEIGHT = 8.43, 15.0
POINTS_PER_LINE = 14  # 11 pt text: no wrapped line fits in less
# 填报说明 is one column: LibreOffice does not shrink a one-column sheet to the page, and with DejaVu Sans
# standing in for Calibri its column unit is 7 pt; A4 portrait between the default 0.7" margins is 494 pt.
GUIDE_MAX_WIDTH = 494 / 7


def units(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@pytest.fixture(scope="module", params=sorted(YEARS))
def book(request):
    form = builtin_forms()[request.param]
    data = build_workbook(form, "原州区司法局", YEARS[request.param])
    return request.param, openpyxl.load_workbook(io.BytesIO(data)), data


def printed_sheets(wb):
    return [ws for ws in wb.worksheets if ws.sheet_state == "visible"]


def width_of(ws, col: int) -> float:
    """The column's width; a <col> element may cover several columns (min..max)."""
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= col <= dim.max and dim.width:
            return dim.width
    return DEFAULT_WIDTH


def height_of(ws, row: int) -> float:
    dim = ws.row_dimensions.get(row)
    return dim.height if dim is not None and dim.height else DEFAULT_HEIGHT


def span_of(ws, cell) -> tuple[int, int, int, int]:
    """(min_col, min_row, max_col, max_row) of the merged range the cell starts, or of the cell alone."""
    for rng in ws.merged_cells.ranges:
        if rng.min_row == cell.row and rng.min_col == cell.column:
            return range_boundaries(rng.coord)
    return cell.column, cell.row, cell.column, cell.row


def text_cells(ws):
    return [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value and not c.value.startswith("=")]


def test_every_sheet_is_a4_one_page_wide(book):
    _, wb, _ = book
    for ws in printed_sheets(wb):
        assert ws.page_setup.paperSize == A4, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in (None, 1), ws.title  # absent means 1 (OOXML default)
        assert ws.page_setup.fitToHeight == 0, f"{ws.title}: as many pages down as needed, not shrunk onto one"


def test_title_and_table_header_repeat_on_every_page(book):
    _, wb, _ = book
    for ws in printed_sheets(wb):
        assert ws.print_title_rows, f"{ws.title} repeats no rows"
        first, last = (int(n) for n in re.findall(r"\d+", ws.print_title_rows))
        assert first == 1, ws.title
        if ws.title.startswith(WIDE):  # the whole multi-row header of 表三/表四, down to the leaf labels
            leaf = next(c for c in text_cells(ws) if c.value in ("商业企业", "结果维持"))  # a bottom header row
            assert last == span_of(ws, leaf)[3], (
                f"{ws.title}: repeats rows {ws.print_title_rows}, not the header down to row {leaf.row}"
            )


def test_wide_tables_are_landscape_the_rest_portrait(book):
    _, wb, _ = book
    for ws in printed_sheets(wb):
        expected = "landscape" if ws.title.startswith(WIDE) else "portrait"
        assert ws.page_setup.orientation == expected, ws.title


def test_wrapped_text_has_room_for_all_its_lines(book):
    """Every wrapping cell's rows are high enough for its text at its (merged) width."""
    _, wb, _ = book
    for ws in printed_sheets(wb):
        for cell in text_cells(ws):
            if not cell.alignment.wrap_text:
                continue
            c1, r1, c2, r2 = span_of(ws, cell)
            if r2 - r1 >= 10:  # a text area: many rows by design
                continue
            width = sum(width_of(ws, c) for c in range(c1, c2 + 1))
            size = cell.font.sz or 11
            lines = math.ceil(units(cell.value) * size / 11 / max(1.0, width - 2))
            height = sum(height_of(ws, r) for r in range(r1, r2 + 1))
            assert height >= lines * POINTS_PER_LINE * size / 11, (
                f"{ws.title}!{cell.coordinate} {cell.value!r}: {lines} lines in {height} pt"
            )


def header_cells(ws):
    """The header labels of a table sheet: the grey, bold, centred cells (corners included)."""
    return [c for c in text_cells(ws) if c.fill.fgColor.rgb and c.fill.fgColor.rgb.endswith("EDEDED") and c.border.left.style]


def test_header_columns_are_as_wide_as_their_labels(book):
    """No header label needs a second line: "本年处理决定数量" and "本年收费金额（单位：万元）" stay whole."""
    _, wb, _ = book
    seen = set()
    for ws in printed_sheets(wb):
        for cell in header_cells(ws):
            c1, _, c2, _ = span_of(ws, cell)
            if cell.value.startswith("（本列数据"):  # 表三's corner note: prose over three rows
                continue
            width = sum(width_of(ws, c) for c in range(c1, c2 + 1))
            assert width >= units(cell.value) + 1, f"{ws.title}!{cell.coordinate} {cell.value!r} in width {width}"
            seen.add(cell.value)
    assert {"本年处理决定数量", "社会公益组织", "未经复议直接起诉", "信息内容"} & seen, seen


def test_corner_is_a_header_like_the_others(book):
    _, wb, _ = book
    ws = next(ws for ws in wb.worksheets if ws.title.startswith("二、"))
    corner = next(c for c in text_cells(ws) if c.value == "信息内容")
    header = ws.cell(corner.row, corner.column + 1)
    assert header.value and header.value != "信息内容"
    assert corner.font.b and header.font.b
    assert (corner.font.sz, corner.fill.fgColor.rgb, corner.alignment.horizontal) == (
        header.font.sz,
        header.fill.fgColor.rgb,
        header.alignment.horizontal,
    )


def test_inputs_are_blank(book):
    _, wb, _ = book
    for ws in printed_sheets(wb):
        for row in ws.iter_rows():
            for c in row:
                if c.protection.locked is False:
                    assert c.value is None, f"{ws.title}!{c.coordinate} = {c.value!r}"


def test_guide_fits_the_page_and_shows_every_line(book):
    _, wb, _ = book
    ws = wb[GUIDE]
    assert width_of(ws, 1) <= GUIDE_MAX_WIDTH
    items = [c for c in text_cells(ws) if len(c.value) > 30]
    assert len(items) >= 8
    assert any(height_of(ws, c.row) >= 2 * POINTS_PER_LINE for c in items), "no item is given a second line"


def test_info_title_spans_the_used_columns(book):
    _, wb, _ = book
    ws = wb[INFO]
    used = max(c.column for c in text_cells(ws))
    c1, _, c2, _ = span_of(ws, ws["A1"])
    assert (c1, c2) == (1, used), ws.merged_cells.ranges


def test_date_hint_names_the_year_after_the_template(book):
    form_id, wb, _ = book
    hints = [c.value for c in text_cells(wb[INFO]) if c.value.startswith("例如")]
    assert hints == [f"例如 {YEARS[form_id] + 1}年1月20日"]


# ---------------------------------------------------------------- printed by LibreOffice


def pdf_text(pdf) -> list[str]:
    """The text of each page, without whitespace (a wrapped line joins the next)."""
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [re.sub(r"\s+", "", page) for page in out.split("\f")]


def fragments(text: str) -> list[str]:
    """The runs of a text between spaces and symbols: pdftotext may order the words of one line differently
    (a run after an ideographic space, a ✓ from a fallback font), never the characters within one run."""
    return [f for f in re.split(r"[\s\u3000✓✗⚠]+", text) if f]


@pytest.mark.libreoffice
@pytest.mark.skipif(not office_available(), reason=office_unavailable_reason() or "")
def test_libreoffice_prints_every_line_of_the_guide_and_the_info_title(tmp_path):
    sources = []
    for form_id, year in YEARS.items():
        path = tmp_path / f"{form_id}.xlsx"
        path.write_bytes(build_workbook(builtin_forms()[form_id], "原州区司法局", year))
        sources.append(path)
    for src, pdf in zip(sources, convert_to_pdf(sources, tmp_path / "pdf"), strict=True):
        wb = openpyxl.load_workbook(src)
        pages = pdf_text(pdf)
        guide = next(p for p in pages if "填报说明" in p)
        for cell in text_cells(wb[GUIDE]):
            missing = [f for f in fragments(cell.value) if f not in guide]
            assert not missing, f"{src.name}: 填报说明 prints “{cell.value}” without {missing}"
        info = next(p for p in pages if "联系电话" in p)
        missing = [f for f in fragments(wb[INFO]["A1"].value) if f not in info]
        assert not missing, f"{src.name}: the 基本信息 title is clipped: {missing}"
