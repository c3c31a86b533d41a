"""The command line in Chinese, click's own words included; commands in workflow order; examples; check for the office."""

from __future__ import annotations

import ast
import csv
import json
import re
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner
from filling import complete_fields, complete_texts, fill_workbook

from toolkit.cli import main
from toolkit.cli.chinese import MESSAGES, PLURALS
from toolkit.forms.spec import get_form

FORM = get_form(None)
# What click says in English: none of it may reach a user.
ENGLISH = re.compile(
    r"Usage|Options|Commands|Error|Try |Missing|Invalid|No such|Did you mean|Show this message|Show the version"
    r"|does not exist|is not a|is a (?:file|directory)|not in the range|requires an? |unexpected extra|default:|required"
    r"|\b(?:TEXT|INTEGER|FLOAT|PATH|RANGE|FILE|DIRECTORY|OPTIONS|COMMAND|ARGS)\b"
)
WORKFLOW = ["template", "check", "report", "merge"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_chinese_line(result) -> str:
    """Exit 2, one line on stderr starting 错误：, nothing English from click."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    assert not ENGLISH.search(lines[0]), lines[0]
    return lines[0]


def _click_msgids() -> set[str]:
    """Every msgid the installed click looks up through _() or ngettext() (the singular of a plural)."""
    found = set()
    for path in Path(click.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext"):
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


def test_every_message_of_the_installed_click_is_in_the_catalogue():
    msgids = _click_msgids()
    assert len(msgids) > 50  # the scan found click's strings (it would pass on nothing otherwise)
    assert "Show this message and exit." in msgids and "Did you mean {possibility}?" in msgids
    missing = sorted(m for m in msgids if m not in MESSAGES and m not in PLURALS)
    assert not missing, missing


@pytest.fixture
def returns(tmp_path) -> Path:
    return fill_workbook(FORM, tmp_path / "甲局.xlsx", {c.id: 0 for c in FORM.input_cells}, agency="甲局")


def bad_invocations(tmp_path: Path, a_return: Path) -> list[tuple]:
    a_file = tmp_path / "a.txt"
    a_file.write_text("x", encoding="utf-8")
    out = tmp_path / "out"
    return [
        ("chek",),  # no such command, did you mean
        ("check", "--jsn", a_return),  # no such option, did you mean one of
        ("check",),  # missing argument
        ("merge", a_return),  # missing option
        ("merge", a_return, "-o"),  # option requires an argument
        ("check", a_return, "--jobs", "abc"),  # not a valid integer
        ("check", a_return, "--jobs", "0"),  # not in the range
        ("check", a_return, "--max-size", "x"),  # not a valid float
        ("check", a_return, "--annotate", a_file),  # a file where a folder is wanted
        ("check", a_return, "--agencies", tmp_path / "没有.csv"),  # path does not exist
        ("check", a_return, "--agencies", tmp_path),  # a folder where a file is wanted
        ("template", "--year", "2024", "--agencies", tmp_path / "没有.txt", "--out-dir", out),
        ("template", "--agency", "甲局"),  # missing required option --year
        ("forms", "多余"),  # unexpected extra argument
        ("context", "gov-info-2021", "多余"),
        ("merge", a_return, "-o", out, "--year", "二〇二四"),
    ]


def test_bad_invocations_are_one_chinese_line(tmp_path, returns):
    for args in bad_invocations(tmp_path, returns):
        line = one_chinese_line(run(*args))
        assert "查看用法" in line, (args, line)


def test_did_you_mean_and_missing_argument_read_as_chinese(returns):
    assert "您要输入的是否是 “check”" in one_chinese_line(run("chek"))
    assert "“--json”" in one_chinese_line(run("check", "--jsn", returns))
    assert one_chinese_line(run("check")).startswith("错误：缺少参数 “文件或文件夹...”")
    assert "“abc”不是整数" in one_chinese_line(run("check", returns, "--jobs", "abc"))
    assert "“没有.csv”" in one_chinese_line(run("check", returns, "--agencies", Path("没有.csv")))


def test_click_in_full_standalone_mode_speaks_chinese_too():
    """A plain click command (usage, hint and error lines as click prints them): the catalogue covers them all."""

    @click.command(options_metavar="[选项]")  # the one English word click does not look up (a declaration's default)
    @click.option("--kind", type=click.Choice(["甲", "乙"]), required=True)
    def plain(kind):
        """A test command."""

    for args in (["--kind", "丙"], [], ["--kinds", "甲"]):
        result = CliRunner().invoke(plain, args)
        assert result.exit_code == 2
        assert "用法：" in result.output and "错误：" in result.output and "查看用法" in result.output, result.output
        assert not ENGLISH.search(result.output.replace("A test command.", "")), result.output
    assert "“丙”不是可选的值" in CliRunner().invoke(plain, ["--kind", "丙"]).output


def _help(*command: str) -> str:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    return result.output


def _command_names(text: str) -> list[str]:
    section = text.split("命令：\n", 1)[1]
    return [line.split()[0] for line in section.splitlines() if line.startswith("  ") and not line.startswith("    ")]


def test_commands_are_listed_in_workflow_order():
    names = _command_names(_help())
    assert names[:4] == WORKFLOW
    assert sorted(names[4:]) == sorted(set(main.commands) - set(WORKFLOW))


def _examples(text: str) -> list[list[str]]:
    """Each example's words; a line ending in a backslash goes on in the next one, as in a shell."""
    block = text.split("示例：\n", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ")
    return [line.split() for line in block.splitlines() if line.strip().startswith("toolkit ")]


def _commands(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's words after `toolkit`, a group's commands included (`round create`)."""
    found = []
    for name in sorted(group.commands):
        command = group.commands[name]
        words = (*path, name)
        found += _commands(command, words) if isinstance(command, click.Group) else [words]
    return found


COMMANDS = _commands()
GROUPS = sorted({words[:-1] for words in COMMANDS if len(words) > 1})


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_has_chinese_help_with_examples_using_real_flags(words):
    text = _help(*words)
    name = " ".join(words)
    assert text.startswith(f"用法：toolkit {name} [选项]") and "选项：" in text and "显示本帮助并退出。" in text
    assert not ENGLISH.search(text), ENGLISH.search(text)
    examples = _examples(text)
    assert examples, text
    command = main
    for word in words:
        command = command.commands[word]
    flags = {opt for p in command.params for opt in p.opts + p.secondary_opts}
    for example in examples:
        assert example[1 : 1 + len(words)] == list(words), example
        for word in example[1 + len(words) :]:
            if word.startswith("-"):
                assert word in flags, (name, word)


@pytest.mark.parametrize("words", GROUPS, ids=" ".join)
def test_every_group_of_commands_has_chinese_help(words):
    text = _help(*words)
    assert text.startswith(f"用法：toolkit {' '.join(words)} [选项] 命令 [参数]...") and "命令：" in text
    assert not ENGLISH.search(text), ENGLISH.search(text)


def test_the_group_help_is_chinese():
    text = _help()
    assert text.startswith("用法：toolkit [选项] 命令 [参数]...")
    assert "显示版本号并退出。" in text and not ENGLISH.search(text)
    assert run("--version").output.startswith("toolkit，版本 ")


@pytest.mark.parametrize("words", [(), *GROUPS, *COMMANDS], ids=" ".join)
def test_help_fits_an_80_column_terminal_and_breaks_chinese_between_characters(words):
    """click counts a Chinese character as one column and breaks lines at spaces only; a terminal shows it as two."""
    from toolkit.cli.chinese import width

    lines = _help(*words).splitlines()
    assert all(width(line) <= 80 for line in lines), [line for line in lines if width(line) > 80]
    assert not [line for line in lines if line.strip()[:1] in tuple("，。；：、）”")]


def test_toolkit_alone_shows_its_help_as_click_does():
    result = run()
    assert result.exit_code == 2 and result.stderr.startswith("用法：toolkit [选项] 命令 [参数]...")
    assert "命令：" in result.stderr and not result.stderr.startswith("错误")


def test_help_columns_are_aligned_for_chinese_value_names():
    """click counted 进程数 as 3 columns: the help of every option starts in the same terminal column."""
    from toolkit.cli.chinese import width

    lines = _help("check").split("选项：\n", 1)[1].splitlines()
    starts = set()
    for line in lines:
        m = re.match(r"^  (\S.*?)  +(\S.*)$", line)
        if m and line.lstrip().startswith("-"):
            starts.add(width(line[: line.index(m.group(2))]))
    assert len(starts) == 1, lines
    assert all(width(line) <= 80 for line in lines), lines


def test_year_is_one_type_with_one_message_in_template_and_merge(tmp_path, returns):
    kinds = {type(p.type) for name in ("template", "merge") for p in main.commands[name].params if p.name == "year"}
    assert len(kinds) == 1
    template = one_chinese_line(run("template", "--agency", "甲局", "--year", "20x0", "-o", tmp_path))
    merged = one_chinese_line(run("merge", returns, "-o", tmp_path / "o", "--year", "20x0"))
    assert "年度“20x0”不是有效的年份" in template
    assert template.split("（运行")[0] == merged.split("（运行")[0]
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob("*2024*"))


# ---------------------------------------------------------------- check for the office


def _agency_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["机关名称", "联系人", "联系电话"])
        w.writerows([["甲局", "", ""], ["乙局", "张三", "0954-1234567"], ["丙局", "", ""], ["丁局", "李四", "13800000000"]])
    return path


@pytest.fixture
def inbox(tmp_path) -> Path:
    """甲局 with a balance error, 丙局 twice (the older one stamped 2000), 戊局 fine, and a file that is no workbook."""
    folder = tmp_path / "回收"
    folder.mkdir()
    zeros = {c.id: 0 for c in FORM.input_cells}
    texts, fields = complete_texts(FORM), complete_fields()
    fill_workbook(FORM, folder / "甲局.xlsx", {**zeros, "t3.new.natural": 1}, texts, fields, agency="甲局")
    fill_workbook(FORM, folder / "丙局.xlsx", zeros, texts, fields, agency="丙局")
    older = fill_workbook(FORM, folder / "丙局_旧.xlsx", zeros, texts, fields, agency="丙局")
    wb = openpyxl.load_workbook(older)
    wb.custom_doc_props["toolkit.generated_at"].value = "2000-01-01T00:00:00+08:00"
    wb.save(older)
    fill_workbook(FORM, folder / "戊局.xlsx", zeros, texts, fields, agency="戊局")
    (folder / "坏文件.xlsx").write_text("不是工作簿", encoding="utf-8")
    return folder


def _closing(output: str) -> list[str]:
    lines = output.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("共检查")) :]


def test_check_names_who_failed_who_sent_twice_and_who_has_not_returned(inbox, tmp_path):
    result = run("check", "--jobs", "1", inbox, "--agencies", _agency_csv(tmp_path / "名单.csv"))
    assert result.exit_code == 2, result.output  # a file could not be read
    closing = _closing(result.stdout)
    assert closing[0] == "共检查 5 份：通过 3 份，有错误 1 份，无法读取 1 份。", closing
    assert "有错误（1 份）：甲局" in closing
    assert "无法读取（1 份）：坏文件.xlsx" in closing
    assert "重复报送：丙局交来 2 份（丙局_旧.xlsx、丙局.xlsx），以最新的 丙局.xlsx 为准" in closing
    assert "未报送（2 个机关）：乙局（张三，0954-1234567）、丁局（李四，13800000000）" in closing
    assert not ENGLISH.search(result.output)


def test_duplicates_and_missing_agencies_are_problems_exit_1(inbox, tmp_path):
    (inbox / "坏文件.xlsx").unlink()
    (inbox / "甲局.xlsx").unlink()
    agencies = _agency_csv(tmp_path / "名单.csv")
    assert run("check", "--jobs", "1", inbox / "戊局.xlsx").exit_code == 0
    assert run("check", "--jobs", "1", inbox).exit_code == 1  # 丙局 twice, every file accepted
    (inbox / "丙局_旧.xlsx").unlink()
    assert run("check", "--jobs", "1", inbox).exit_code == 0
    missing = run("check", "--jobs", "1", inbox, "--agencies", agencies)
    assert missing.exit_code == 1 and "未报送（3 个机关）：甲局、乙局（张三，0954-1234567）、丁局" in missing.stdout


def test_check_json_adds_duplicates_and_missing_and_keeps_its_keys(inbox, tmp_path):
    data = json.loads(run("check", "--json", "--jobs", "1", inbox, "--agencies", _agency_csv(tmp_path / "名单.csv")).stdout)
    assert set(data) == {"schema", "summary", "files", "duplicates", "missing"}
    assert set(data["summary"]) == {"files", "accepted", "rejected", "unreadable"}
    (dup,) = data["duplicates"]
    assert dup["agency"] == "丙局" and Path(dup["counted"]).name == "丙局.xlsx"
    assert [Path(p).name for p in dup["others"]] == ["丙局_旧.xlsx"]
    assert data["missing"] == [
        {"name": "乙局", "contact": "张三", "phone": "0954-1234567"},
        {"name": "丁局", "contact": "李四", "phone": "13800000000"},
    ]
    plain = json.loads(run("check", "--json", "--jobs", "1", inbox).stdout)
    assert plain["missing"] is None and len(plain["duplicates"]) == 1


@pytest.mark.parametrize("name", ["check", "merge", "template"])
def test_help_shows_defaults_and_ranges_in_chinese(name):
    """click writes `[default: 20.0; 0<x<=1024]` and `[1<=x<=64]`: read in Chinese, whole defaults without `.0`."""
    text = _help(name)
    assert not re.search(r"<=|<x|x<|>=|\d\.0\b", text), text
    assert "[1–64]" in text  # --jobs
    if name == "check":
        assert "[默认：20；大于0、不超过1024]" in "".join(text.split())
