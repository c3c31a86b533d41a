"""What the commands hand back: one JSON shape for check, report and merge; exit 3 for our own bugs, --debug."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FILE_KEYS = {"path", "form_id", "form_version", "agency", "year", "status", "accepted", "errors", "warnings", "problems"}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    shutil.copytree(SAMPLES / "returns-2024", folder)
    (folder / "坏文件.xlsx").write_text("机关名称,数量\n甲,1\n", encoding="utf-8")
    return folder


def test_check_report_and_merge_json_share_one_shape(inbox, tmp_path):
    checked = run("check", "--json", "--jobs", "1", str(inbox))
    reported = run("report", "--json", "--jobs", "1", str(inbox), "--out-dir", str(tmp_path / "reports"))
    merged = run("merge", "--json", "--jobs", "1", str(inbox), "-o", str(tmp_path / "out"), "--name", "原州区")
    results = {}
    for name, result in (("check", checked), ("report", reported), ("merge", merged)):
        assert result.exit_code in (1, 2), (name, result.output)
        data = json.loads(result.stdout)  # nothing but the JSON on stdout
        assert data["schema"] == 1 and set(data) >= {"schema", "summary", "files"}
        for item in data["files"]:
            assert set(item) >= FILE_KEYS, (name, item.keys())
        results[name] = data
    assert checked.exit_code == 2 and reported.exit_code == 2  # one file cannot be read
    paths = [f["path"] for f in results["check"]["files"]]
    assert [f["path"] for f in results["report"]["files"]] == paths
    made = [f for f in results["report"]["files"] if f["report"]]
    assert len(made) == results["report"]["summary"]["reports"] == 3
    assert all(Path(f["report"]).is_file() and f["status"] == "accepted" for f in made)
    assert all(f["report"] is None for f in results["report"]["files"] if f["status"] != "accepted")
    fates = {Path(f["path"]).name: f["fate"] for f in results["merge"]["files"]}
    assert fates["坏文件.xlsx"] == "unreadable" and list(fates.values()).count("accepted") == 3
    assert results["merge"]["summary"]["included"] == 3
    assert {Path(p).name for p in results["merge"]["outputs"]} == {"collection.xlsx", "collection.docx", "summary.docx"}


def test_an_internal_error_exits_3_with_one_line_and_debug_shows_the_traceback(monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("toolkit.cli.check.check_or_refuse", broken)
    path = next((SAMPLES / "returns-2024").glob("*.xlsx"))
    plain = run("check", "--jobs", "1", str(path))
    assert plain.exit_code == 3
    assert "程序内部错误" in plain.stderr and "ZeroDivisionError" in plain.stderr and "--debug" in plain.stderr
    assert "Traceback" not in plain.output and len(plain.stderr.strip().splitlines()) == 1
    for args in (("--debug", "check", "--jobs", "1", str(path)), ("check", "--jobs", "1", str(path), "--debug")):
        debug = run(*args)
        assert debug.exit_code == 3 and "Traceback" in debug.stderr and "ZeroDivisionError" in debug.stderr


def test_bad_input_still_exits_2_without_a_traceback(tmp_path):
    result = run("check", str(tmp_path / "没有这个文件.xlsx"))
    assert result.exit_code == 2 and "Traceback" not in result.output


def _breaks_on(name: str, real):
    """check_file that hits a bug of ours on one file only."""

    def check_file(path, *args, **kwargs):
        if Path(path).name == name:
            raise KeyError("a bug")
        return real(path, *args, **kwargs)

    return check_file


def test_a_bug_on_one_file_is_that_files_fate_and_the_batch_goes_on(monkeypatch, inbox, tmp_path):
    import toolkit.checking.check as checking
    from toolkit import pipeline

    victim = sorted(inbox.glob("*.xlsx"))[0].name
    monkeypatch.setattr(pipeline, "check_file", _breaks_on(victim, pipeline.check_file))
    monkeypatch.setattr(checking, "check_file", _breaks_on(victim, checking.check_file))
    checked = run("check", "--jobs", "1", str(inbox))
    assert checked.exit_code == 3, checked.output
    assert "共检查 5 份" in checked.output and checked.output.count("== ") == 5
    assert f"{victim}：无法读取" in checked.output and "程序内部错误" in checked.output and "KeyError" in checked.output
    data = json.loads(run("check", "--json", "--jobs", "1", str(inbox)).stdout)
    (broken,) = [f for f in data["files"] if f["problems"] and f["problems"][0]["code"] == "internal_error"]
    assert Path(broken["path"]).name == victim and "Traceback" in broken["problems"][0]["value"]
    merged = run("merge", "--jobs", "1", str(inbox), "-o", str(tmp_path / "out"))
    assert merged.exit_code == 3, merged.output
    assert (tmp_path / "out" / "collection.xlsx").is_file() and "已生成" in merged.output
    reported = run("report", "--jobs", "1", str(inbox), "--out-dir", str(tmp_path / "reports"))
    assert reported.exit_code == 3 and "程序内部错误" in reported.output


def test_a_collection_is_not_rendered_as_a_report(tmp_path):
    """`report collection.xlsx` used to write a blank report titled with the region: it is refused, even with --force."""
    out = tmp_path / "out"
    assert run("merge", "--jobs", "1", str(SAMPLES / "returns-2024"), "-o", str(out)).exit_code == 1
    for extra in ((), ("--force",)):
        result = run("report", str(out / "collection.xlsx"), "-o", str(tmp_path / "r.docx"), *extra)
        assert result.exit_code == 1 and "不是机关报表" in result.output, result.output
        assert not (tmp_path / "r.docx").exists()
