"""The fast paths produce exactly what the straightforward ones do."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import openpyxl
import pytest

from toolkit.forms.spec import builtin_forms
from toolkit.workbook.writer import build_workbook, build_workbook_directly


def _snapshot(data: bytes) -> dict:
    """Everything a clerk or the checker can see of a workbook, in comparable form."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    sheets = {}
    for ws in wb.worksheets:
        cells = {
            c.coordinate: (c.value, c.protection.locked, c.fill.fgColor.rgb, c.number_format, c.font.b)
            for row in ws.iter_rows()
            for c in row
            if c.value is not None or not c.protection.locked
        }
        validations = sorted(
            (str(dv.sqref), dv.type, dv.formula1, dv.prompt, dv.error) for dv in ws.data_validations.dataValidation
        )
        sheets[ws.title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": validations,
            "protected": (ws.protection.sheet, ws.protection.password, ws.sheet_state),
            "freeze": ws.freeze_panes,
            "conditional": sorted(str(r.sqref) for r in ws.conditional_formatting),
        }
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    return {"sheets": sheets, "props": props, "structure": wb.security.lockStructure, "title": wb.properties.title}


@pytest.mark.parametrize("form_id", sorted(builtin_forms()))
@pytest.mark.parametrize("agency", ["原州区司法局", "R&D <中心> \"引号\" 'x'", "总计"])
def test_stamped_template_equals_the_directly_written_one(form_id, agency):
    form = builtin_forms()[form_id]
    stamped = build_workbook(form, agency, 2024, generated_at="2025-01-02T03:04:05+08:00")
    direct = build_workbook_directly(form, agency, 2024, generated_at="2025-01-02T03:04:05+08:00")
    assert _snapshot(stamped) == _snapshot(direct)
    assert _snapshot(stamped)["props"]["toolkit.agency"] == agency


def test_workbook_written_with_values_reads_back_like_one_filled_by_a_script(tmp_path):
    """build_filled_workbook (benchmarks, samples) equals filling the template cell by cell."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from filling import complete_fields, complete_texts, fill_workbook
    from test_check_rules import balanced_inputs

    from toolkit.pipeline import check_file
    from toolkit.returns.model import Return
    from toolkit.workbook.writer import build_filled_workbook

    form, counter = builtin_forms()["gov-info-2021"], iter(range(1, 10**6))
    values = balanced_inputs(form, lambda: next(counter) % 17)
    texts = {**complete_texts(form), "s1": 'R&D <b> "x"\n第二段'}
    by_script = check_file(fill_workbook(form, tmp_path / "script.xlsx", values, texts, complete_fields()))
    written = tmp_path / "written.xlsx"
    written.write_bytes(build_filled_workbook(Return("x", form, "测试局", 2024, {**complete_fields()}, values, texts)))
    direct = check_file(written)
    assert direct.accepted and [p.code for p in direct.problems] == []  # cached totals are right
    assert (direct.values, direct.texts, direct.fields) == (by_script.values, by_script.texts, by_script.fields)


def _returns(n: int):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from pipeline import random_return

    form = builtin_forms()["gov-info-2021"]
    return [random_return(form, i) for i in range(n)]


def test_fast_reader_reads_what_openpyxl_reads(tmp_path):
    from toolkit.forms.layout import layout_of
    from toolkit.pipeline import check_file
    from toolkit.workbook.writer import build_filled_workbook

    for i, ret in enumerate(_returns(3)):
        path = tmp_path / f"{i}.xlsx"
        path.write_bytes(build_filled_workbook(ret))
        fast, wb = check_file(path), openpyxl.load_workbook(path)
        layout = layout_of(ret.form)
        for cell in ret.form.input_cells:
            pos = layout.cells[cell.id]
            assert float(fast.values[cell.id]) == pytest.approx(wb[pos.sheet].cell(pos.row + 1, pos.col + 1).value), cell.id
        for section_id, pos in layout.texts.items():
            assert fast.texts[section_id] == wb[pos.sheet].cell(pos.row + 1, pos.col + 1).value


def _document_text(data: bytes) -> list[str]:
    """Paragraph texts and table cell texts in body order, as python-docx sees them."""
    import docx

    doc = docx.Document(io.BytesIO(data))
    out = []
    for block in doc.element.body.iterchildren():
        if block.tag.endswith("}p"):
            out.append("".join(t.text or "" for t in block.iter() if t.tag.endswith("}t")))
        elif block.tag.endswith("}tbl"):
            out += ["|".join(c.text for c in row.cells) for row in docx.table.Table(block, doc).rows]
    return [line for line in out if line.strip()]


def test_cached_rendering_equals_a_fresh_docxtpl_render():
    from docxtpl import DocxTemplate

    from toolkit.reports.render import default_template, render_report, report_context

    for ret in _returns(2):
        fast = render_report(ret)
        tpl = DocxTemplate(default_template(ret.form))
        tpl.render(report_context(ret), autoescape=True)
        plain = io.BytesIO()
        tpl.save(plain)
        assert _document_text(fast) == _document_text(plain.getvalue())


def test_linear_combination_holds_what_docxcompose_holds(tmp_path):
    from docx import Document
    from docxcompose.composer import Composer

    from toolkit.collection.documents import combine_reports
    from toolkit.reports.render import render_report

    rets = _returns(3)
    docs = [render_report(r) for r in rets]
    combine_reports(docs, [r.agency for r in rets], tmp_path / "fast.docx", "汇编")
    composer = Composer(Document(io.BytesIO(docs[0])))
    for data in docs[1:]:
        composer.append(Document(io.BytesIO(data)))
    composer.save(str(tmp_path / "composed.docx"))
    fast = _document_text((tmp_path / "fast.docx").read_bytes())
    composed = _document_text((tmp_path / "composed.docx").read_bytes())
    first_title = composed[0]
    start = len(fast) - 1 - fast[::-1].index(first_title)  # skip the contents list, which docxcompose has not
    assert fast[start:] == composed


def _outcome(path: Path) -> tuple:
    from toolkit.pipeline import check_or_refuse

    r = check_or_refuse(path)
    return r.to_dict(), r.values, r.texts, r.fields, r.substitutions, r.metadata


def _clear_reading_memos() -> None:
    """Forget everything the reader remembered between files (memos of texts, cells, per-form plans)."""
    import gc

    from toolkit.reading import interpret
    from toolkit.reading.memo import Memo

    for obj in gc.get_objects():
        if isinstance(obj, Memo):
            obj.clear()
    interpret._plan.cache_clear()


def test_what_the_reader_remembers_from_other_files_never_changes_a_result(tmp_path):
    """Returns read after others (memos warm) equal the same returns read from scratch, in another order."""
    sys.path.insert(0, str(Path(__file__).parent))
    from filling import complete_fields, complete_texts, fill_workbook

    form = builtin_forms()["gov-info-2021"]
    odd = ["十二", "1,234", "１２", " 12 ", -1, 1.5, "12件", "", "=1+1", "0.30000000000000004", "_x0031_"]
    paths = []
    for i in range(4):
        values = {c.id: (odd[(i + j) % len(odd)] if j % 9 == i else j % 13) for j, c in enumerate(form.input_cells)}
        texts = complete_texts(form) if i % 2 else {s.id: "=开头" for s in form.text_sections}
        paths.append(fill_workbook(form, tmp_path / f"{i}.xlsx", values, texts, complete_fields(), agency=f"局{i}"))
    warm = [_outcome(p) for p in paths]
    assert any(o[0]["problems"] for o in warm) and len({str(o[1]) for o in warm}) == 4  # varied, not all alike
    for i, path in reversed(list(enumerate(paths))):
        _clear_reading_memos()
        assert _outcome(path) == warm[i], path


def _parts_in_reading_order(path: Path, monkeypatch) -> list[tuple[str, int]]:
    """(part, its elements and attributes) in the order the reader reads them, counted here by hand."""
    from toolkit.reading import guards
    from toolkit.reading.interpret import read_workbook

    seen: list[tuple[str, int]] = []
    original = guards.read_part

    def recording(zf, name, limits=guards.DEFAULT_LIMITS):
        data = original(zf, name, limits)
        seen.append((name, data.count(b"<") - data.count(b"</") + data.count(b"=")))
        return data

    monkeypatch.setattr(guards, "read_part", recording)
    read_workbook(path)
    monkeypatch.undo()
    return seen


def test_the_tag_budget_refuses_at_the_part_that_passes_it_even_when_counting_is_put_off(tmp_path, monkeypatch):
    """Under the limit parts are not counted at once; the refusal still comes exactly where the sum passes it."""
    from toolkit.reading.guards import Limits, UnreadableFile
    from toolkit.reading.interpret import read_workbook
    from toolkit.workbook.writer import build_filled_workbook

    path = tmp_path / "r.xlsx"
    path.write_bytes(build_filled_workbook(_returns(1)[0]))
    parts = _parts_in_reading_order(path, monkeypatch)
    assert len(parts) > 5
    sums = [sum(tags for _, tags in parts[: i + 1]) for i in range(len(parts))]
    read_workbook(path, Limits(max_xml_tags=sums[-1]))  # exactly at the limit: read
    for (name, _), total in zip(parts, sums, strict=True):
        with pytest.raises(UnreadableFile) as refused:
            read_workbook(path, Limits(max_xml_tags=total - 1))  # one below what the parts up to here hold
        assert f"（部件 {name}，超过 {total - 1} 个标记）" in refused.value.reason


def _sheet_variants() -> dict[str, bytes]:
    """Well-formed sheets whose unread blocks (input prompts, extLst) hold things that look like what is read."""
    import hostile_returns as h

    good = h.sample_bytes()
    sheet = h.parts_of(good)[h.APPLICATIONS]
    fake_cell = b'<c r="D6" t="inlineStr"><is><t>99</t></is></c>'
    protection = b'<sheetProtection sheet="0"/>'
    nested = sheet.replace(b"</dataValidations>", b"<extLst>" + fake_cell + b"</extLst></dataValidations>", 1)
    ext = sheet.replace(b"</worksheet>", b"<extLst><ext uri='x'>" + protection + fake_cell + b"</ext></extLst></worksheet>", 1)
    commented = sheet.replace(b"<dataValidations", b"<!-- <dataValidations> --><dataValidations", 1)
    blanked, n = re.subn(rb'<c r="D6"( s="[0-9]+")?[^>]*>.*?</c>', rb'<c r="D6"\1/>', sheet, count=1)  # an input left blank
    assert n == 1
    return {
        "sample": good,
        "prompt holds a cell": h._edit_parts(good, {h.APPLICATIONS: nested}),
        "extLst holds protection and a cell": h._edit_parts(good, {h.APPLICATIONS: ext}),
        "a comment names the block": h._edit_parts(good, {h.APPLICATIONS: commented}),
        "an input is a styled blank": h._edit_parts(good, {h.APPLICATIONS: blanked}),
    }


@pytest.mark.parametrize("variant", list(_sheet_variants()))
def test_skipping_the_blocks_check_never_reads_changes_no_outcome(tmp_path, monkeypatch, variant):
    """The reader cuts input prompts, conditional formats and extLst before parsing a sheet (speed): the
    same file read with the cut turned off gives the same values, texts, fields and problems."""
    from toolkit.pipeline import check_file
    from toolkit.reading import ooxml

    path = tmp_path / "r.xlsx"
    path.write_bytes(_sheet_variants()[variant])

    def outcome():
        ret = check_file(path)
        return ret.values, ret.texts, ret.fields, [p.to_dict() for p in ret.problems]

    import hostile_returns as h

    sheet = h.parts_of(path.read_bytes())[h.APPLICATIONS]
    assert len(ooxml._read_parts_only(sheet)) < len(sheet) // 2 or variant != "sample"  # the cut really happens
    fast = outcome()
    monkeypatch.setattr(ooxml, "_read_parts_only", lambda data: data)
    assert outcome() == fast


def test_the_cut_leaves_out_blank_cells_and_only_them():
    """A text area is hundreds of bordered blank cells (`<c r="A5" s="9"/>`): left out before parsing, while
    every cell that holds something is parsed as before."""
    import xml.etree.ElementTree as ET

    import hostile_returns as h

    from toolkit.reading import ooxml

    sheet = h.parts_of(h.sample_bytes())["xl/worksheets/sheet3.xml"]  # 一、总体情况: one text area
    cut = ooxml._read_parts_only(sheet)

    def cells(data: bytes) -> tuple[list, int]:
        found = ET.fromstring(data).iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}c")
        every = [(c.get("r"), ET.tostring(c)) for c in found]
        return [cell for cell in every if b"<ns0:" in cell[1].split(b">", 1)[1]], len(every)

    (kept, total), (kept_cut, total_cut) = cells(sheet), cells(cut)
    assert kept_cut == kept and kept  # every cell with a value is still there, unchanged
    assert total_cut == len(kept) < total / 10  # and nothing else
