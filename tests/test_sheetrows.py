"""明细's rows written as XML (collection.sheetrows) read back exactly as the rows xlsxwriter itself writes.

The reference is xlsxwriter: the same rows written cell by cell with write_string/write_number/set_row,
both files opened with openpyxl and compared cell by cell (value, number format, font, border,
alignment) and row by row (height).
"""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
import xlsxwriter

from toolkit.collection.sheetrows import RowWriter, splice_rows

ROWS = [
    ("甲局 <script>alert(1)</script> & 乙", "2024", " 前后有空格 ", 0, 12, 7539.443252, 1e-7),
    ("控制\x01字符\x1f _x0041_", "", "=SUM(A1)", 123456789012, 0.1 + 0.2, -3, 2.5),
    ("长" * 80, "2025", "路径/第三份.xlsx", 1, 2, 0.1234567890123456, 4),  # a decimal that needs all 16 digits
]
HEIGHTS = [15, 35, 47.3]


def _book(write_rows) -> bytes:
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    ws = wb.add_worksheet("明细")
    text = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    integer = wb.add_format({"border": 1, "num_format": "0"})
    decimal = wb.add_format({"border": 1, "num_format": "0.00####", "bold": True})
    ws.write_string(0, 0, "表头", text)
    write_rows(ws, (text, integer, decimal))
    ws.write_string(1 + len(ROWS), 0, "合计", text)
    wb.close()
    return buffer.getvalue()


def _by_xlsxwriter(ws, formats) -> None:
    text, integer, decimal = formats
    for i, (row, height) in enumerate(zip(ROWS, HEIGHTS, strict=True), start=1):
        ws.set_row(i, height)
        for col, value in enumerate(row[:3]):
            ws.write_string(i, col, value, text)
        for col, value in enumerate(row[3:], start=3):
            ws.write_number(i, col, value, integer if col < 5 else decimal)


def _spliced() -> bytes:
    styles: list = []
    data = _book(lambda ws, formats: styles.extend(f._get_xf_index() for f in formats))
    text, integer, decimal = styles
    writer = RowWriter([text] * 3, [integer, integer, decimal, decimal])
    rows = (writer.row(i, h, row[:3], row[3:]) for i, (row, h) in enumerate(zip(ROWS, HEIGHTS, strict=True), start=1))
    return splice_rows(data, "xl/worksheets/sheet1.xml", 1 + len(ROWS), rows)


def _cells(data: bytes):
    ws = openpyxl.load_workbook(io.BytesIO(data))["明细"]
    cells = [
        (c.coordinate, c.value, c.number_format, repr(c.font), repr(c.border), repr(c.alignment))
        for row in ws.iter_rows()
        for c in row
    ]
    return cells, [ws.row_dimensions[r].height for r in range(1, ws.max_row + 1)]


def test_rows_read_back_as_xlsxwriter_writes_them():
    expected_cells, expected_heights = _cells(_book(_by_xlsxwriter))
    cells, heights = _cells(_spliced())
    assert heights == expected_heights
    assert [a for a, b in zip(cells, expected_cells, strict=True) if a != b] == []
    assert len(cells) == (2 + len(ROWS)) * 7  # header, rows, 合计: the rows are there, not a vacuous comparison


def test_text_stays_text_and_markup_stays_escaped():
    data = _spliced()
    ws = openpyxl.load_workbook(io.BytesIO(data))["明细"]
    assert ws["A2"].value == "甲局 <script>alert(1)</script> & 乙"
    assert ws["C2"].value == " 前后有空格 " and ws["C3"].value == "=SUM(A1)" and ws["C3"].data_type == "s"
    assert ws["B2"].value == "2024" and ws["B2"].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert b"<script>" not in zf.read("xl/worksheets/sheet1.xml")


def test_a_missing_row_to_insert_before_is_an_internal_error():
    with pytest.raises(RuntimeError, match="row 99 not found"):
        splice_rows(_book(lambda ws, formats: None), "xl/worksheets/sheet1.xml", 98, iter(()))
