"""The generated workbooks carry the official labels (tests/official_labels.py), in the official order."""

from __future__ import annotations

import io
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from toolkit.forms.spec import builtin_forms
from toolkit.workbook.writer import build_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from official_labels import FORMS, SECTION_PREFIXES, T2_CORNER, T4_DATA_COLUMNS, TEXT_SECTIONS

FORM_IDS = ("gov-info-2021", "gov-info-2019")
AGENCY, YEAR = "原州区司法局", 2024


@dataclass(frozen=True)
class TextCell:
    row: int  # 1-based, top-left of its merged range
    col: int
    last_row: int
    last_col: int
    text: str


def text_cells(ws) -> list[TextCell]:
    """Every text cell of a sheet with the extent of its merged range, top to bottom, left to right."""
    spans = {(r.min_row, r.min_col): (r.max_row, r.max_col) for r in ws.merged_cells.ranges}
    out = []
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, str) and not c.value.startswith("="):
                last_row, last_col = spans.get((c.row, c.column), (c.row, c.column))
                out.append(TextCell(c.row, c.column, last_row, last_col, c.value))
    return out


def is_number_cell(ws, row: int, col: int) -> bool:
    """A data cell: a number, a formula, or a blank input (unlocked; a fresh template's inputs are blank)."""
    cell = ws.cell(row, col)
    value = cell.value
    blank_input = value is None and cell.protection.locked is False
    return blank_input or isinstance(value, (int, float)) or (isinstance(value, str) and value.startswith("="))


@pytest.fixture(scope="module", params=FORM_IDS)
def generated(request):
    form = builtin_forms()[request.param]
    wb = openpyxl.load_workbook(io.BytesIO(build_workbook(form, AGENCY, YEAR)))
    return request.param, form, wb


def section_sheets(wb):
    """The six section sheets in workbook order (between 基本信息 and the hidden _meta)."""
    return [ws for ws in wb.worksheets if ws.title.startswith(SECTION_PREFIXES)]


def sheet_of(wb, prefix: str):
    matches = [ws for ws in section_sheets(wb) if ws.title.startswith(prefix)]
    assert len(matches) == 1, f"exactly one sheet should start with {prefix}: {[ws.title for ws in wb.worksheets]}"
    return matches[0]


# ---------------------------------------------------------------- sections


def test_six_section_sheets_in_official_order(generated):
    form_id, _, wb = generated
    sheets = section_sheets(wb)
    assert [ws.title[:2] for ws in sheets] == list(SECTION_PREFIXES)
    # The section sheets follow each other, in order, in the workbook.
    positions = [wb.worksheets.index(ws) for ws in sheets]
    assert positions == list(range(positions[0], positions[0] + 6))
    for ws, title in zip(sheets, FORMS[form_id]["sections"], strict=True):
        assert ws["A1"].value == title, f"{ws.title}: section title"


def test_sheet_names_are_valid_and_unique(generated):
    _, _, wb = generated
    names = wb.sheetnames
    assert len(names) == len(set(names))
    for name in names:
        assert 1 <= len(name) <= 31
        assert not set(name) & set("[]:*?/\\")


def test_text_sections_have_no_table_labels(generated):
    _, _, wb = generated
    for title in TEXT_SECTIONS:
        ws = sheet_of(wb, title[:2])
        texts = [t.text for t in text_cells(ws)]
        assert texts[0] == title
        assert T2_CORNER not in texts
        assert not any(t.startswith("第二十条") for t in texts)


# ---------------------------------------------------------------- table 二


def test_table2_blocks_captions_headers_and_rows(generated):
    form_id, _, wb = generated
    ws = sheet_of(wb, "二、")
    cells = text_cells(ws)
    blocks = FORMS[form_id]["t2_blocks"]
    captions = [t for t in cells if t.text.startswith("第二十条")]
    assert [t.text for t in captions] == [caption for caption, _, _ in blocks], "captions, top to bottom"
    for caption_cell, (caption, columns, rows) in zip(captions, blocks, strict=True):
        header_row = caption_cell.row + 1
        header = [t.text for t in cells if t.row == header_row]
        assert header == [T2_CORNER, *columns], f"{caption}: header row left to right"
        first_col = caption_cell.col
        data_cols = range(first_col + 1, first_col + 1 + len(columns))
        # The data rows are the rows below the header that hold numbers in every column.
        found_rows = []
        r = header_row + 1
        while all(is_number_cell(ws, r, c) for c in data_cols):
            found_rows.append(ws.cell(r, first_col).value)
            r += 1
        assert found_rows == list(rows), f"{caption}: row labels top to bottom"
        assert not is_number_cell(ws, r, first_col + 1 + len(columns)), f"{caption}: no extra data column"


def test_table2_2019_procurement_amount_shows_its_unit():
    """Official header is just 采购总金额; the unit (万元) must be stated next to it on the sheet."""
    wb = openpyxl.load_workbook(io.BytesIO(build_workbook(builtin_forms()["gov-info-2019"], AGENCY, YEAR)))
    ws = sheet_of(wb, "二、")
    cells = text_cells(ws)
    caption = next(t for t in cells if t.text == "第二十条第（九）项")
    header = next(t for t in cells if t.text == "采购总金额")
    assert header.row == caption.row + 1
    end = header.row + 1
    while is_number_cell(ws, end, header.col):
        end += 1
    # The block: caption, header, data rows and the free row below them; or a comment on the header.
    notes = [t.text for t in cells if caption.row <= t.row <= end and "万元" in t.text]
    comment = ws.cell(header.row, header.col).comment
    assert notes or (comment and "万元" in comment.text), "the unit 万元 of 采购总金额 is not shown in its block"


# ---------------------------------------------------------------- header trees (tables 三 and 四)


def check_header_tree(cells: list[TextCell], nodes, span: tuple[int, int], top_row: int, where: str) -> None:
    """Each node's label sits below its parent, within its parent's columns; siblings left to right and
    together covering the parent's columns exactly."""
    left, right = span
    found = []
    for label, _ in nodes:
        candidates = [t for t in cells if t.text == label and t.row >= top_row and left <= t.col and t.last_col <= right]
        assert candidates, f"{where}: header “{label}” not found in columns {left}..{right} from row {top_row}"
        found.append(min(candidates, key=lambda t: (t.row, t.col)))
    cols = [t.col for t in found]
    assert cols == sorted(cols) and len(set(cols)) == len(cols), f"{where}: {[n for n, _ in nodes]} not left to right"
    assert found[0].col == left and found[-1].last_col == right, f"{where}: headers do not cover their parent"
    for a, b in itertools.pairwise(found):
        assert b.col == a.last_col + 1, f"{where}: gap or overlap between “{a.text}” and “{b.text}”"
    for cell, (label, children) in zip(found, nodes, strict=True):
        if children:
            check_header_tree(cells, children, (cell.col, cell.last_col), cell.last_row + 1, f"{where} / {label}")


def leaf_count(nodes) -> int:
    return sum(leaf_count(children) if children else 1 for _, children in nodes)


def header_top(cells, nodes, sheet_title: str) -> TextCell:
    first = [t for t in cells if t.text == nodes[0][0]]
    assert first, f"{sheet_title}: top header “{nodes[0][0]}” missing"
    return first[0]


def test_table3_header_three_levels(generated):
    form_id, _, wb = generated
    ws = sheet_of(wb, "三、")
    cells = text_cells(ws)
    tree = FORMS[form_id]["t3_header"]
    top = header_top(cells, tree, ws.title)
    width = leaf_count(tree)
    assert width == 7
    check_header_tree(cells, tree, (top.col, top.col + width - 1), top.row, ws.title)


def test_table3_corner_note(generated):
    form_id, _, wb = generated
    ws = sheet_of(wb, "三、")
    cells = text_cells(ws)
    corner = [t for t in cells if t.text == FORMS[form_id]["t3_corner"]]
    assert len(corner) == 1, "the table 三 note is missing or its wording differs from the official text"
    top = header_top(cells, FORMS[form_id]["t3_header"], ws.title)
    note = corner[0]
    assert note.col == 1 and note.last_col < top.col, "the note sits in the top-left corner, left of the header"
    assert note.row <= top.row, "the note starts no lower than the header"


def t3_row_label_cells(ws, form_id: str) -> tuple[list[TextCell], int]:
    cells = text_cells(ws)
    top = header_top(cells, FORMS[form_id]["t3_header"], ws.title)
    first_data_col = top.col
    header_bottom = max(
        t.last_row for t in cells if t.col >= first_data_col and t.row >= top.row and not is_number_cell(ws, t.row, t.col)
    )
    labels = [t for t in cells if t.col < first_data_col and t.row > header_bottom]
    # Stop at the first label that is not beside the table's data (e.g. the check results below it).
    rows = []
    for t in labels:
        if not any(is_number_cell(ws, r, first_data_col) for r in range(t.row, t.last_row + 1)):
            break
        rows.append(t)
    return rows, first_data_col


def test_table3_row_labels_in_order(generated):
    form_id, _, wb = generated
    ws = sheet_of(wb, "三、")
    rows, _ = t3_row_label_cells(ws, form_id)
    expected = FORMS[form_id]["t3_rows"]
    assert [t.text for t in rows] == [label for _, label in expected]


def test_table3_nesting_and_data_rows(generated):
    """Indentation = nesting; a group spans its children's rows and holds no numbers; leaves hold 7 numbers."""
    form_id, _, wb = generated
    ws = sheet_of(wb, "三、")
    rows, first_data_col = t3_row_label_cells(ws, form_id)
    expected = FORMS[form_id]["t3_rows"]
    column_of_depth: dict[int, int] = {}
    for cell, (depth, label) in zip(rows, expected, strict=True):
        assert column_of_depth.setdefault(depth, cell.col) == cell.col, f"“{label}” is not indented like its siblings"
    assert column_of_depth[0] < column_of_depth[1] < column_of_depth[2]
    for i, (cell, (depth, label)) in enumerate(zip(rows, expected, strict=True)):
        children = []
        for d, child in expected[i + 1 :]:
            if d <= depth:
                break
            children.append(child)
        if children:
            child_cells = [c for c in rows if c.text in children]
            assert cell.row == min(c.row for c in child_cells), f"group “{label}” starts at its first child"
            assert cell.last_row == max(c.last_row for c in child_cells), f"group “{label}” spans all its children"
        else:
            assert cell.row == cell.last_row, f"leaf row “{label}” spans one row"
            values = [ws.cell(cell.row, c).value for c in range(first_data_col, first_data_col + 7)]
            assert all(is_number_cell(ws, cell.row, c) for c in range(first_data_col, first_data_col + 7)), (label, values)
            assert not is_number_cell(ws, cell.row, first_data_col + 7), f"“{label}” has more than 7 number cells"


def test_table3_other_handling_differs_between_formats(generated):
    form_id, _, wb = generated
    ws = sheet_of(wb, "三、")
    rows, first_data_col = t3_row_label_cells(ws, form_id)
    other = next(t for t in rows if t.text == "（六）其他处理")
    if form_id == "gov-info-2019":
        assert other.row == other.last_row and is_number_cell(ws, other.row, first_data_col)
    else:
        assert other.last_row - other.row + 1 == 3, "gov-info-2021 （六）其他处理 groups three sub-items"


def test_table4_header_three_levels_and_one_data_row(generated):
    form_id, _, wb = generated
    ws = sheet_of(wb, "四、")
    cells = text_cells(ws)
    tree = FORMS[form_id]["t4_header"]
    top = header_top(cells, tree, ws.title)
    assert leaf_count(tree) == T4_DATA_COLUMNS
    check_header_tree(cells, tree, (top.col, top.col + T4_DATA_COLUMNS - 1), top.row, ws.title)
    header_bottom = max(t.last_row for t in cells if t.row >= top.row)
    data_row = header_bottom + 1
    cols = range(top.col, top.col + T4_DATA_COLUMNS)
    assert all(is_number_cell(ws, data_row, c) for c in cols), "table 四 has one row of 15 numbers"
    assert not is_number_cell(ws, data_row, top.col + T4_DATA_COLUMNS)
    assert not any(is_number_cell(ws, data_row + 1, c) for c in cols), "table 四 has only one data row"


def test_every_official_label_is_on_its_sheet(generated):
    """A summary check: the set of fixture labels per sheet is contained in the sheet's text cells."""
    form_id, _, wb = generated
    spec = FORMS[form_id]

    def tree_labels(nodes):
        for label, children in nodes:
            yield label
            yield from tree_labels(children)

    expected = {
        "二、": {T2_CORNER} | {x for cap, cols, rows in spec["t2_blocks"] for x in (cap, *cols, *rows)},
        "三、": {spec["t3_corner"], *(label for _, label in spec["t3_rows"]), *tree_labels(spec["t3_header"])},
        "四、": set(tree_labels(spec["t4_header"])),
    }
    for prefix, labels in expected.items():
        ws = sheet_of(wb, prefix)
        present = {t.text for t in text_cells(ws)}
        assert not labels - present, f"{ws.title}: missing {sorted(labels - present)}"
