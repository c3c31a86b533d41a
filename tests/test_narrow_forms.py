"""A user's own narrow form (one figure column, or text only): every title written and tall enough, no
English warning from the spreadsheet writer (xlsxwriter warns "Can't merge single cell" and writes nothing)."""

from __future__ import annotations

import math
import unicodedata
import warnings

import openpyxl
import pytest
from click.testing import CliRunner
from filling import fill_workbook

from toolkit.cli import main
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import load_form

ONE_COLUMN = """
id: one-column
version: "1"
name: 一栏统计
title: "{agency}{year}年一栏统计"
kinds:
  count: {type: integer, min: 0, max: 100000}
fields:
  - {id: agency, label: 机关名称, prefilled: true}
  - {id: year, label: 年度, prefilled: true}
sections:
  - id: s1
    title: 一、数量
    sheet: 一、数量
    tables:
      - id: t
        corner: 项目
        kind: count
        columns:
          - {id: n, label: 数量}
        rows:
          - {id: a, label: 甲}
          - {id: b, label: 乙}
rules:
  - id: a_vs_b
    check: "t.a.n >= t.b.n"
    title: 甲不少于乙
    message: 甲应不少于乙
"""

TEXT_ONLY = """
id: text-only
version: "1"
name: 工作说明
title: "{agency}{year}年政务公开工作情况说明（文字部分）"
fields:
  - {id: agency, label: 机关名称, prefilled: true}
  - {id: year, label: 年度, prefilled: true}
sections:
  - id: s1
    title: 一、说明
    sheet: 一、说明
    text: {required: true, max_length: 500}
"""


def units(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _invoke(*args):
    """Run a command, failing on any warning it emits (xlsxwriter's are English)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, [str(a) for a in args])
    assert not caught, [str(w.message) for w in caught]
    return result


@pytest.fixture(params=[ONE_COLUMN, TEXT_ONLY], ids=["one-column", "text-only"])
def merged(request, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(request.param, encoding="utf-8")
    form = load_form(spec)
    template = tmp_path / "模板.xlsx"
    made = _invoke("template", "--form", spec, "--agency", "甲局", "--year", 2025, "-o", template)
    assert made.exit_code == 0, made.output
    inbox = tmp_path / "回收"
    inbox.mkdir()
    values = {"t.a.n": 3, "t.b.n": 2} if form.cells else {}
    texts = {s.id: "本年度按计划开展工作。" for s in form.text_sections}
    for agency in ("甲局", "乙局"):
        fill_workbook(form, inbox / f"{agency}.xlsx", values, texts, {}, agency, 2025)
    out = tmp_path / "out"
    result = _invoke("merge", inbox, "--form", spec, "-o", out, "-q", "--jobs", 1)
    assert result.exit_code == 0, result.output
    return form, openpyxl.load_workbook(template), openpyxl.load_workbook(out / "collection.xlsx")


def test_the_template_writes_every_title_and_check_cell(merged):
    form, template, _ = merged
    for section in form.sections:
        ws = template[section.sheet]
        assert ws["A1"].value == section.title
    layout = layout_of(form)
    for rule in form.rules:
        pos = layout.rules[rule.id]
        ws = template[pos.sheet]
        check = ws[pos.a1].value
        assert isinstance(check, str) and check.startswith("=") and "甲不少于乙" not in check  # this rule's own formula
        assert rule.title in [c.value for c in ws[pos.a1[len(pos.a1.rstrip("0123456789")) :]]]  # titled on its row


def test_the_summary_title_is_written_and_tall_enough_for_its_lines(merged):
    _, _, book = merged
    ws = book["汇总"]
    title = ws["A1"].value
    assert title and title.endswith("（2 个机关）"), title
    merged_range = next((r for r in ws.merged_cells.ranges if r.min_row == 1 and r.min_col == 1), None)
    last = merged_range.max_col if merged_range else 1
    width = sum(ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width or 8.43 for c in range(1, last + 1))
    lines = math.ceil(units(title) * 14 / 11 / max(1.0, width - 1))  # 14 pt title, about one unit of padding
    assert (ws.row_dimensions[1].height or 15) >= lines * 14 * 14 / 11, (title, width, lines, ws.row_dimensions[1].height)
