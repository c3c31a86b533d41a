"""Edge cases found in review: each once crashed, lost a return or said the wrong thing."""

from __future__ import annotations

import shutil
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from filling import complete_fields, complete_texts, fill_workbook

from toolkit.cli import main
from toolkit.forms.spec import get_form
from toolkit.pipeline import check_or_refuse, merge_returns, write_outputs
from toolkit.reports.render import render_report

FORM = get_form("gov-info-2021")


def _good(path: Path, agency: str = "甲局") -> Path:
    return fill_workbook(FORM, path, texts=complete_texts(FORM), fields=complete_fields(), agency=agency)


def test_an_earlier_collection_among_the_returns_is_not_counted_as_an_agency(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _good(inbox / "a.xlsx")
    write_outputs(merge_returns([inbox], FORM, "区"), tmp_path / "out")
    shutil.copy(tmp_path / "out" / "collection.xlsx", inbox / "collection.xlsx")
    c = merge_returns([inbox], FORM, "区")
    fates = {Path(e.path).name: e.fate for e in c.entries}
    assert fates == {"a.xlsx": "accepted", "collection.xlsx": "wrong_form"}
    assert [r.agency for r in c.returns] == ["甲局"]


def test_merge_skips_its_own_output_folder(tmp_path):
    _good(tmp_path / "a.xlsx")
    runner = CliRunner()
    assert runner.invoke(main, ["merge", str(tmp_path), "-o", str(tmp_path / "汇总"), "-q"]).exit_code == 0
    again = runner.invoke(main, ["merge", str(tmp_path), "-o", str(tmp_path / "汇总"), "-q"])
    assert again.exit_code == 0, again.output


def test_region_name_with_a_backslash_and_ampersand(tmp_path):
    _good(tmp_path / "a.xlsx")
    result = CliRunner().invoke(main, ["merge", str(tmp_path), "-o", str(tmp_path / "o"), "--name", "A\\1&B区", "-q"])
    assert result.exit_code == 0, result.output
    assert docx.Document(tmp_path / "o" / "collection.docx").core_properties.title.startswith("A\\1&B区")


def test_document_title_property_is_escaped_once(tmp_path):
    ret = check_or_refuse(_good(tmp_path / "a.xlsx", agency="R&D <中心>"))
    (tmp_path / "r.docx").write_bytes(render_report(ret))
    assert docx.Document(tmp_path / "r.docx").core_properties.title == "R&D <中心>2024年政府信息公开工作年度报告"


def test_report_of_an_unknown_form_version_is_refused_not_unreadable(tmp_path):
    path = _good(tmp_path / "a.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.custom_doc_props["toolkit.fingerprint"].value = "0000000000000000"
    wb.save(path)
    result = CliRunner().invoke(main, ["report", str(path), "-o", str(tmp_path / "r.docx")])
    assert result.exit_code == 1, result.output
    assert "无法读取" not in result.output and "表式版本不符" in result.output


@pytest.mark.parametrize("agency", ["甲\x0b局", "甲\u202e局", "甲\ue000局"])
def test_agency_names_with_invisible_characters_are_refused(tmp_path, agency):
    result = CliRunner().invoke(main, ["template", "--agency", agency, "--year", "2024", "-o", str(tmp_path / "t.xlsx")])
    assert result.exit_code == 2 and "控制字符或不可见字符" in result.output
    assert not (tmp_path / "t.xlsx").exists()


def test_superscript_digits_are_not_a_year(tmp_path):
    result = CliRunner().invoke(main, ["template", "--agency", "甲", "--year", "¹²³⁴", "-o", str(tmp_path / "t.xlsx")])
    assert result.exit_code == 2 and "不是有效的年份" in result.output


def test_a_file_that_cannot_be_opened_is_reported_and_the_batch_goes_on(tmp_path, monkeypatch):
    good, locked = _good(tmp_path / "a.xlsx"), _good(tmp_path / "b.xlsx", agency="乙局")
    real_open = Path.open

    def deny(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    refused = check_or_refuse(locked)
    assert refused.status == "unreadable" and "无法打开文件" in refused.problems[0].message
    assert check_or_refuse(good).accepted
