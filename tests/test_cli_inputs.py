"""Every option is validated before any work: one Chinese line naming the option and why, exit 2, never an internal error."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RETURNS = SAMPLES / "returns-2024"
A_RETURN = next(RETURNS.glob("*.xlsx"))


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def refused(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "程序内部错误" not in result.output and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("size", ["nan", "inf", "-inf", "0", "-1", "1e9", "abc"])
def test_max_size_must_be_a_finite_positive_size(size):
    refused(run("check", "--max-size", size, A_RETURN), "--max-size")


@pytest.mark.parametrize("jobs", ["0", "1000", "x"])
def test_jobs_are_bounded(jobs, tmp_path):
    refused(run("check", "--jobs", jobs, A_RETURN), "--jobs")
    refused(run("merge", "--jobs", jobs, RETURNS, "-o", tmp_path / "o"), "--jobs")


def test_a_region_name_must_fit_the_files_it_goes_into(tmp_path):
    """A 250-character --name used to fail after every file was checked (xlsxwriter's 255-character property)."""
    refused(run("merge", RETURNS, "-o", tmp_path / "o", "--name", "区" * 250), "--name", "区域名称过长")
    refused(run("merge", RETURNS, "-o", tmp_path / "o", "--name", "原州\u202e区"), "--name", "不可见字符", "原州\\u202e区")
    assert not (tmp_path / "o" / "collection.xlsx").exists()


@pytest.mark.parametrize("command", ["report", "merge", "context"])
def test_a_template_must_be_a_word_template(command, tmp_path):
    args = {"report": ("report", A_RETURN, "-o", tmp_path / "r.docx"), "merge": ("merge", RETURNS, "-o", tmp_path / "o")}
    base = args.get(command, ("context",))
    refused(run(*base, "--template", A_RETURN), "--template", "Excel 工作簿")
    refused(run(*base, "--template", "/etc/passwd"), "--template", "不是 Word 模板")
    refused(run(*base, "--template", tmp_path), "--template", "不是文件")
    refused(run(*base, "--template", tmp_path / "没有.docx"), "--template", "找不到模板文件")


def test_a_previous_collection_that_is_a_folder_is_refused_before_any_work(tmp_path):
    refused(run("merge", RETURNS, "-o", tmp_path / "o", "--previous", tmp_path), "上年汇总文件", "不是文件")


def test_click_value_messages_are_in_chinese(tmp_path):
    refused(run("merge", RETURNS, "-o", tmp_path / "o", "--jobs", "1000"), "--jobs", "1000 超出允许的范围")
    refused(run("merge", RETURNS, "-o", tmp_path / "o", "--jobs", "二"), "--jobs", "“二”不是整数")
    refused(run("merge", RETURNS, "-o", tmp_path / "o", "--year", "二〇二四"), "--year", "年度“二〇二四”不是有效的年份")


def test_invisible_characters_are_shown_but_chinese_stays_readable(tmp_path):
    result = run("template", "--agency", "甲\u200b局", "--year", "2024", "-o", tmp_path / "t.xlsx")
    refused(result, "机关名称“甲\\u200b局”含有控制字符或不可见字符")


@pytest.mark.parametrize("command", ["report", "merge", "context"])
def test_a_damaged_word_template_is_a_clear_refusal(command, tmp_path):
    """A .docx whose document.xml is cut in half: python-docx's XMLSyntaxError must not end as an internal error."""
    damaged = tmp_path / "坏模板.docx"
    with zipfile.ZipFile(SAMPLES.parent / "docx_templates" / "gov-info-2021.docx") as src, zipfile.ZipFile(damaged, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data[: len(data) // 2] if name == "word/document.xml" else data)
    args = {
        "report": ("report", A_RETURN, "-o", tmp_path / "r.docx"),
        "merge": ("merge", RETURNS, "-o", tmp_path / "o", "--jobs", "1"),
    }
    result = run(*args.get(command, ("context",)), "--template", damaged)
    refused(result, "坏模板.docx", "报告模板已损坏")


def test_a_missing_or_unreadable_file_given_by_name_is_its_own_fate(monkeypatch, tmp_path):
    """Named files the command cannot read do not stop the others: each gets its 无法读取 line."""
    missing = tmp_path / "没有这个文件.xlsx"
    result = run("check", A_RETURN, missing)
    assert result.exit_code == 2, result.output
    assert result.output.count("== ") == 2 and "文件不存在" in result.output and "共检查 2 份" in result.output
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode, **kw: False if str(path) == str(A_RETURN) else real_access(path, mode, **kw)
    )
    result = run("check", A_RETURN)  # as click saw a file it may not read: no English usage error
    assert "not readable" not in result.output and "== " in result.output
    refused(run("check", missing), "文件或文件夹不存在")
