"""A damaged or odd page never stops the importer: each comes out imported, refused or unreadable, with
its problems, and never as an internal error (cells removed, texts replaced, rows doubled, bytes cut)."""

from __future__ import annotations

import os
from pathlib import Path

import lxml.html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from official_labels import T2_BLOCKS_2021, T3_ROWS_2021
from published_pages import T2_2021_ZERO, page, t2, t3, t4

from toolkit.pipeline import import_report

BASE = page(
    "某某区司法局2022年政府信息公开工作年度报告",
    t2(T2_BLOCKS_2021, T2_2021_ZERO),
    t3(T3_ROWS_2021, {"（一）予以公开": ("5", "0", "0", "0", "0", "0", "5")}),
    t4(("1", "0", "0", "0", "1", *("0",) * 10)),
)
EXAMPLES = int(os.environ.get("TOOLKIT_FUZZ_EXAMPLES", "40"))
TEXTS = st.sampled_from(
    [
        "",
        "0",
        "12件",
        "-3",
        "1,234",
        "（七）总计",
        "总计",
        "自然人",
        "第二十条第（一）项",
        "x" * 500,
        "三、本年度办理结果",
        "１２",
    ]
)


@st.composite
def damaged(draw) -> bytes:
    root = lxml.html.document_fromstring(BASE)
    cells = root.xpath("//td")
    for _ in range(draw(st.integers(0, 8))):
        cell = cells[draw(st.integers(0, len(cells) - 1))]
        action = draw(st.sampled_from(["remove", "text", "rowspan", "colspan", "double_row"]))
        if cell.getparent() is None:
            continue
        if action == "remove":
            cell.getparent().remove(cell)
        elif action == "text":
            for child in list(cell):
                cell.remove(child)
            cell.text = draw(TEXTS)
        elif action in ("rowspan", "colspan"):
            cell.set(action, draw(st.sampled_from(["0", "2", "7", "-1", "abc", "99999"])))
        elif cell.getparent().getparent() is not None:
            row = cell.getparent()
            row.addnext(lxml.html.fromstring(lxml.html.tostring(row)))
    data = lxml.html.tostring(root, encoding="utf-8")
    return data[: draw(st.integers(len(data) // 3, len(data)))] if draw(st.booleans()) else data


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=damaged())
def test_a_damaged_page_is_imported_or_refused_never_an_internal_error(tmp_path: Path, data: bytes):
    path = tmp_path / "page.html"
    path.write_bytes(data)
    im = import_report(path)
    assert im.status in ("imported", "refused", "unreadable")
    assert not im.ret.failed, [p.message for p in im.ret.problems]
    if im.status == "imported":
        assert len(im.figures) <= im.expected == len(im.ret.form.cells)
        assert set(im.ret.values) == set(im.ret.form.cells)  # a complete return, whatever was missing
