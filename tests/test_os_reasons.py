"""The system's refusals reach the user in Chinese: no "No such file or directory" in a message."""

from __future__ import annotations

import errno

import pytest

from toolkit.core.errors import UserError, os_reason
from toolkit.reports.render import render_report
from toolkit.workbook.mailing import read_agencies


def test_common_system_errors_read_in_chinese():
    assert os_reason(FileNotFoundError(errno.ENOENT, "No such file or directory", "x")) == "不存在"
    assert os_reason(PermissionError(errno.EACCES, "Permission denied", "x")) == "没有权限"
    assert os_reason(OSError(errno.ENOSPC, "No space left on device")) == "磁盘空间不足"


def test_a_missing_agency_list_says_so_in_chinese(tmp_path):
    with pytest.raises(UserError) as e:
        read_agencies(tmp_path / "名单.csv")
    assert str(e.value) == f"{tmp_path / '名单.csv'}：无法读取机关名单（不存在）"


def test_a_missing_report_template_says_so_in_chinese(tmp_path):
    from filling import complete_fields, complete_texts, fill_workbook

    from toolkit.forms.spec import get_form
    from toolkit.pipeline import check_file

    form = get_form("gov-info-2021")
    path = fill_workbook(form, tmp_path / "r.xlsx", {}, complete_texts(form), complete_fields(), "甲局", 2024)
    with pytest.raises(UserError) as e:
        render_report(check_file(path), tmp_path / "无此模板.docx")
    assert "（不存在）" in str(e.value) and "No such" not in str(e.value), str(e.value)
