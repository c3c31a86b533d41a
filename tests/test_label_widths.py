"""No label breaks mid-word: every header and label cell we write is at least as wide (over its merged
columns) as its longest unbreakable run, in the template, in collection.xlsx 汇总, 图表, 状态 and 催报.

A label may wrap after a space or 、，；。, after a closing bracket or before an opening one
(本年收费金额 / （单位：万元）); anywhere else a break splits a word ("三、本年度办理结 / 果").
Widths are measured here on their own: a Chinese character takes two column units (at 11 pt, scaled
for other sizes), plus one unit of cell padding.
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from toolkit.collection.merge import merge_returns
from toolkit.collection.workbook import collection_bytes
from toolkit.forms.spec import get_form
from toolkit.workbook.writer import build_workbook

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FORMS = {"gov-info-2021": ("returns-2024", 2025), "gov-info-2019": ("returns-2020", 2020)}
BREAK = re.compile(r"(?<=[\s、，；。）])|(?=（)")
DEFAULT_WIDTH = 8.43


def units(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def longest_run(text: str) -> str:
    pieces = [p.strip() for line in text.split("\n") for p in BREAK.split(line) if p.strip()]
    return max(pieces, key=units, default="")


def width_of(ws, col: int) -> float:
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= col <= dim.max and dim.width:
            return dim.width
    return DEFAULT_WIDTH


def span_width(ws, cell) -> float:
    last = cell.column
    for rng in ws.merged_cells.ranges:
        if rng.min_row == cell.row and rng.min_col == cell.column:
            last = rng.max_col
    return sum(width_of(ws, c) for c in range(cell.column, last + 1))


def too_narrow(ws, cells) -> list[str]:
    out = []
    for cell in cells:
        if not isinstance(cell.value, str) or not cell.value.strip() or cell.value.startswith("="):
            continue
        run = longest_run(cell.value)
        need = units(run) * (cell.font.sz or 11) / 11 + 1
        have = span_width(ws, cell)
        if have < need:
            out.append(f"{ws.title}!{cell.coordinate} “{run}” needs {need:.1f}, has {have:.1f}")
    return out


def is_label(cell) -> bool:
    """A fixed label of the template: locked, not a note (italic), not a formula's cached text."""
    return cell.protection.locked is not False and not cell.font.i


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_template_labels_never_break_mid_word(form_id):
    wb = openpyxl.load_workbook(io.BytesIO(build_workbook(get_form(form_id), "原州区司法局", FORMS[form_id][1])))
    guide = wb["填报说明"]
    title = guide["A1"]
    assert title.value.endswith("\n填报说明") and all(  # broken into lines at its runs, each on one printed line
        units(line) * title.font.sz / 11 + 1 <= width_of(guide, 1) for line in title.value.split("\n")
    ), title.value
    bad = too_narrow(guide, [title])  # its title; the rest is prose that wraps
    for ws in wb.worksheets[1:]:
        if ws.sheet_state == "visible":
            bad += too_narrow(ws, [c for row in ws.iter_rows() for c in row if is_label(c)])
    assert not bad, bad


@pytest.fixture(scope="module", params=sorted(FORMS))
def collection(request):
    form = get_form(request.param)
    c = merge_returns(sorted((SAMPLES / FORMS[request.param][0]).glob("*.xlsx")), form)
    return openpyxl.load_workbook(io.BytesIO(collection_bytes(c)))


def test_summary_labels_never_break_mid_word(collection):
    ws = collection["汇总"]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str) and c.value[:1] not in "✓✗⚠"]
    assert len(cells) > 50
    bad = too_narrow(ws, cells)
    assert not bad, bad


@pytest.mark.parametrize("sheet", ["图表", "状态", "催报"])
def test_header_rows_never_break_mid_word(collection, sheet):
    ws = collection[sheet]
    bad = too_narrow(ws, list(ws[1]))
    assert not bad, bad
