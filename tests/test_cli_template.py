"""`toolkit template`: single and batch generation, safe file names, clean Chinese errors (exit 2)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from toolkit.cli import main
from toolkit.forms.spec import builtin_forms

CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*args: str):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 always keeps stderr apart
        runner = CliRunner()
    return runner.invoke(main, ["template", *args])


def meta(path: Path) -> dict[str, str]:
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    return {p.name.removeprefix("toolkit."): p.value for p in wb.custom_doc_props}


def assert_clean_failure(result, *needles: str) -> None:
    """Exit 2 and one Chinese line on stderr, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("错误：") and CJK.search(lines[0]), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def xlsx_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.xlsx"))


# ---------------------------------------------------------------- success


def test_single_template_default_form(tmp_path):
    out = tmp_path / "司法局.xlsx"
    result = run("--agency", "原州区司法局", "--year", "2024", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert str(out) in result.stdout
    m = meta(out)
    assert (m["form_id"], m["agency"], m["year"]) == ("gov-info-2021", "原州区司法局", "2024")
    assert [p.name for p in tmp_path.iterdir()] == ["司法局.xlsx"], "no temporary files left behind"


def test_single_template_2019_into_a_folder(tmp_path):
    result = run("--form", "gov-info-2019", "--agency", " 某街道办事处 ", "--year", " 2020 ", "-o", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    (path,) = xlsx_files(tmp_path)
    assert path.parent == tmp_path
    assert "某街道办事处" in path.name and "2020" in path.name
    m = meta(path)
    assert (m["form_id"], m["agency"], m["year"]) == ("gov-info-2019", "某街道办事处", "2020")
    assert m["form_version"] == builtin_forms()["gov-info-2019"].version


def test_agency_with_slashes_written_safely_into_folder(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run("--agency", "../../上级/机关", "--year", "2024", "-o", str(out_dir))
    assert result.exit_code == 0, result.stderr
    (path,) = xlsx_files(out_dir)
    assert path.resolve().parent == out_dir.resolve()
    assert "/" not in path.name and "\\" not in path.name and not path.name.startswith(".")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert meta(path)["agency"] == "../../上级/机关"


def batch_names_check(out_dir: Path, tmp_path: Path, expected_agencies: list[str]) -> None:
    files = xlsx_files(out_dir)
    assert len(files) == len(expected_agencies)
    assert len({p.name.lower() for p in files}) == len(files), "file names must be distinct"
    for p in files:
        assert p.resolve().parent == out_dir.resolve(), f"{p} escaped the out dir"
        assert not p.name.startswith("."), p.name
    assert sorted(meta(p)["agency"] for p in files) == sorted(expected_agencies), "every agency has its own file"
    assert not [p for p in out_dir.iterdir() if p.suffix != ".xlsx"], "no temporary files left behind"


def test_batch_from_text_file(tmp_path):
    names = ["原州区司法局", "../evil", "/etc/passwd", "A/B", "A_B", "a_b", "原州区司法局", "", "  ", "# 注释行"]
    agencies = tmp_path / "agencies.txt"
    agencies.write_text("\n".join(names) + "\n", encoding="utf-8")
    out_dir = tmp_path / "模板"
    result = run("--form", "gov-info-2019", "--year", "2020", "--agencies", str(agencies), "--out-dir", str(out_dir))
    assert result.exit_code == 0, result.stderr
    expected = ["原州区司法局", "../evil", "/etc/passwd", "A/B", "A_B", "a_b"]
    assert f"已生成 {len(expected)} 份模板" in result.stdout
    batch_names_check(out_dir, tmp_path, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agencies.txt", "模板"]
    assert all(meta(p)["form_id"] == "gov-info-2019" for p in xlsx_files(out_dir))


def test_batch_from_csv_with_agency_column(tmp_path):
    agencies = tmp_path / "名单.csv"
    agencies.write_text(
        "序号,机关名称,联系人\n1,原州区司法局,张三\n2,../../x,李四\n3,原州区司法局,王五\n4,财政局/税务,赵六\n5,财政局_税务,钱七\n",
        encoding="utf-8-sig",
    )
    out_dir = tmp_path / "out"
    result = run("--year", "2024", "--agencies", str(agencies), "--out-dir", str(out_dir))
    assert result.exit_code == 0, result.stderr
    batch_names_check(out_dir, tmp_path, ["原州区司法局", "../../x", "财政局/税务", "财政局_税务"])


def test_batch_from_gb18030_text(tmp_path):
    agencies = tmp_path / "agencies.txt"
    agencies.write_bytes("甲局\n乙局\n".encode("gb18030"))
    out_dir = tmp_path / "out"
    result = run("--year", "2024", "--agencies", str(agencies), "--out-dir", str(out_dir))
    assert result.exit_code == 0, result.stderr
    batch_names_check(out_dir, tmp_path, ["甲局", "乙局"])


def _python_m(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
        check=False,
    )


def test_via_python_dash_m(tmp_path):
    out = tmp_path / "a.xlsx"
    ok = _python_m(tmp_path, "template", "--agency", "原州区司法局", "--year", "2024", "-o", str(out))
    assert ok.returncode == 0, ok.stderr
    assert meta(out)["agency"] == "原州区司法局"
    bad = _python_m(tmp_path, "template", "--agency", "原州区司法局", "--year", "20x0", "-o", str(out))
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and "20x0" in lines[0], bad.stderr
    assert "Traceback" not in bad.stderr


# ---------------------------------------------------------------- errors


def test_unknown_form(tmp_path):
    result = run("--form", "gov-info-2099", "--agency", "某局", "--year", "2024", "-o", str(tmp_path))
    assert_clean_failure(result, "gov-info-2099", "gov-info-2021", "gov-info-2019")
    assert not xlsx_files(tmp_path)


@pytest.mark.parametrize("agency", ["", "   ", "\t"])
def test_empty_agency(tmp_path, agency):
    result = run("--agency", agency, "--year", "2024", "-o", str(tmp_path))
    assert_clean_failure(result, "机关名称")
    assert not xlsx_files(tmp_path)


def test_missing_agency(tmp_path):
    assert_clean_failure(run("--year", "2024", "-o", str(tmp_path)), "--agency")


@pytest.mark.parametrize("year", ["20x0", "99", "１９", "2024.0", "-2024", "1899", "3000", ""])
def test_year_not_a_year(tmp_path, year):
    result = run("--agency", "某局", "--year", year, "-o", str(tmp_path))
    assert_clean_failure(result, "年度")
    assert not xlsx_files(tmp_path)


def test_output_folder_missing(tmp_path):
    result = run("--agency", "某局", "--year", "2024", "-o", str(tmp_path / "没有这个文件夹" / "a.xlsx"))
    assert_clean_failure(result)
    assert not (tmp_path / "没有这个文件夹").exists()


def test_output_under_a_regular_file(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    result = run("--agency", "某局", "--year", "2024", "-o", str(blocker / "a.xlsx"))
    assert_clean_failure(result, str(blocker))
    assert blocker.read_text(encoding="utf-8") == "x"


def test_out_dir_under_a_regular_file(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    agencies = tmp_path / "agencies.txt"
    agencies.write_text("甲局\n", encoding="utf-8")
    result = run("--year", "2024", "--agencies", str(agencies), "--out-dir", str(blocker / "sub"))
    assert_clean_failure(result, str(blocker / "sub"))


@pytest.mark.parametrize("content", ["", "\n\n", "  \n# 只有注释\n", "机关名称,联系人\n,张三\n"])
def test_agencies_empty_list(tmp_path, content):
    suffix = ".csv" if content.startswith("机关名称") else ".txt"
    agencies = tmp_path / f"agencies{suffix}"
    agencies.write_text(content, encoding="utf-8")
    out_dir = tmp_path / "out"
    result = run("--year", "2024", "--agencies", str(agencies), "--out-dir", str(out_dir))
    assert_clean_failure(result, "机关名单是空的")
    assert not out_dir.exists() or not xlsx_files(out_dir)


def test_agencies_csv_without_agency_column(tmp_path):
    agencies = tmp_path / "a.csv"
    agencies.write_text("名称,联系人\n甲局,张三\n", encoding="utf-8")
    result = run("--year", "2024", "--agencies", str(agencies), "--out-dir", str(tmp_path / "out"))
    assert_clean_failure(result, "机关名称")


def test_agencies_file_missing(tmp_path):
    result = run("--year", "2024", "--agencies", str(tmp_path / "nope.txt"), "--out-dir", str(tmp_path / "out"))
    assert_clean_failure(result, "nope.txt")


def test_agencies_needs_out_dir_and_excludes_agency(tmp_path):
    agencies = tmp_path / "a.txt"
    agencies.write_text("甲局\n", encoding="utf-8")
    assert_clean_failure(run("--year", "2024", "--agencies", str(agencies)), "--out-dir")
    assert_clean_failure(
        run("--year", "2024", "--agencies", str(agencies), "--agency", "乙局", "--out-dir", str(tmp_path / "o")), "--agencies"
    )
