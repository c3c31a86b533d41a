"""The form spec loader: every mistake reported at once, located by line, with a did-you-mean."""

from __future__ import annotations

import io
import json
import pickle
import re
from importlib import resources

import openpyxl
import pytest
from click.testing import CliRunner

from toolkit.cli import main
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import PROBLEM_CODES, SpecError, SpecProblem, builtin_forms, get_form, load_form, parse_form

# A tiny but complete form: one text section, one 3×3 table with row totals, one balance rule.
TINY = """\
id: tiny
version: "1"
name: 小表式
title: "{agency}{year}年小报告"
password: pw
kinds:
  count: {type: integer, min: 0, max: 1000, label: 非负整数}
fields:
  - {id: agency, label: 机关名称, prefilled: true}
  - {id: year, label: 年度, prefilled: true}
sections:
  - id: s1
    title: 一、总体情况
    sheet: 一、总体情况
    text: {required: true, max_length: 500}
  - id: s2
    title: 二、表
    sheet: 二、表
    tables:
      - id: t
        caption: 小表
        corner: 项目
        columns:
          - {id: a, label: 甲}
          - {id: b, label: 乙}
          - {id: total, label: 合计}
        rows:
          - {id: x, label: 行一}
          - {id: y, label: 行二}
          - {id: sum, label: 总计}
computed:
  - eq: "t.{r}.total = t.{r}.a + t.{r}.b"
    each: {r: t.rows}
  - eq: "t.sum.{c} = t.x.{c} + t.y.{c}"
    each: {c: t.columns}
    except: {c: [total]}
rules:
  - id: balance
    check: "t.sum.total = t.x.total + t.y.total"
    title: 合计平衡
    message: 总计应等于各行合计之和
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line number of the nth line containing needle."""
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[nth - 1]


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_form(text, "tiny.yaml")
    problems = info.value.problems
    assert problems and all(isinstance(p, str) and p.startswith("tiny.yaml") for p in problems)
    assert str(info.value) == "\n".join(problems)
    return problems


def test_tiny_form_is_valid():
    form = parse_form(TINY, "tiny.yaml")
    assert form.id == "tiny"
    assert {c for c, cell in form.cells.items() if cell.computed} == {
        "t.x.total",
        "t.y.total",
        "t.sum.total",
        "t.sum.a",
        "t.sum.b",
    }
    # t.sum.total appears once although both the row and the column pattern could define it.
    values = form.compute({c.id: 1 for c in form.input_cells})
    assert values["t.sum.total"] == 4 and values["t.sum.a"] == 2
    # Dependency order: each equation comes after those it reads.
    order = [e.target for e in form.equations]
    assert order.index("t.sum.total") > order.index("t.sum.a")


def test_unknown_cell_has_line_and_did_you_mean():
    text = TINY.replace("t.{r}.a + t.{r}.b", "t.{r}.a + t.{r}.bb")
    problems = problems_of(text)
    line = line_of(text, "t.{r}.bb")
    for row in ("x", "y", "sum"):
        match = [p for p in problems if f"“t.{row}.bb”" in p]
        assert len(match) == 1, problems
        assert f"第{line}行" in match[0]
        assert f"是否应为“t.{row}.b”" in match[0]


def test_unknown_cell_in_a_rule():
    text = TINY.replace('check: "t.sum.total = t.x.total + t.y.total"', 'check: "t.sum.total = t.x.totl + t.y.total"')
    (problem,) = problems_of(text)
    # The rule's entry (its `- id:` line) or the line of its check.
    assert any(f"第{n}行" in problem for n in (line_of(text, "- id: balance"), line_of(text, "t.x.totl"))), problem
    assert "“t.x.totl”" in problem and "是否应为“t.x.total”" in problem


def test_duplicate_row_id():
    text = TINY.replace("{id: y, label: 行二}", "{id: x, label: 行二}")
    problems = problems_of(text)
    assert any(f"第{line_of(text, '行二')}行" in p and "行标识“x”重复" in p for p in problems), problems


def test_duplicate_column_id():
    text = TINY.replace("{id: b, label: 乙}", "{id: a, label: 乙}")
    problems = problems_of(text)
    assert any(f"第{line_of(text, 'label: 乙')}行" in p and "列标识“a”重复" in p for p in problems), problems


def test_duplicate_table_id():
    extra = "      - id: t\n        columns: [{id: a, label: 甲}]\n        rows: [{id: x, label: 行一}]\n"
    text = TINY.replace("computed:", extra + "computed:", 1)
    problems = problems_of(text)
    dup = [p for p in problems if "表格标识“t”重复" in p]
    assert len(dup) == 1, problems
    assert f"第{line_of(text, '- id: t', nth=2)}行" in dup[0]


def test_cycle_between_computed_cells():
    text = TINY.replace("rules:\n", '  - eq: "t.x.a = t.y.a"\n  - eq: "t.y.a = t.x.a"\nrules:\n')
    problems = problems_of(text)
    cycle = [p for p in problems if "循环引用" in p]
    assert len(cycle) == 1, problems
    assert "t.x.a → t.y.a → t.x.a" in cycle[0] or "t.y.a → t.x.a → t.y.a" in cycle[0]
    assert re.search(r"第\d+行", cycle[0])


def test_total_referencing_itself():
    text = TINY.replace("rules:\n", '  - eq: "t.x.a = t.x.a + t.x.b"\nrules:\n')
    problems = problems_of(text)
    mine = [p for p in problems if "引用了自身" in p]
    assert len(mine) == 1 and "“t.x.a”" in mine[0]
    assert f"第{line_of(text, 't.x.a = t.x.a')}行" in mine[0]


def test_cell_defined_twice():
    text = TINY.replace("rules:\n", '  - eq: "t.x.total = t.x.a"\nrules:\n')
    problems = problems_of(text)
    twice = [p for p in problems if "定义了两次" in p]
    assert len(twice) == 1 and "“t.x.total”" in twice[0]
    assert f"第{line_of(text, 't.x.total = t.x.a')}行" in twice[0]
    assert f"另见第{line_of(text, 't.{r}.total')}行" in twice[0]


def test_bad_yaml_has_line_number():
    text = TINY.replace("  - {id: y, label: 行二}", "  - {id: y, label: 行二")
    (problem,) = problems_of(text)
    assert "YAML 格式错误" in problem
    assert re.search(r"第\d+行", problem)


def test_duplicate_yaml_key():
    text = TINY.replace('version: "1"\n', 'version: "1"\nversion: "2"\n')
    (problem,) = problems_of(text)
    assert "重复的键“version”" in problem
    assert f"第{line_of(text, 'version: ' + chr(34) + '2')}行" in problem


def test_all_problems_at_once():
    text = (
        TINY.replace("{id: y, label: 行二}", "{id: x, label: 行二}")
        .replace("{id: b, label: 乙}", "{id: a, label: 乙}")
        .replace('check: "t.sum.total = t.x.total + t.y.total"', 'check: "t.sum.total = t.x.totl"')
        .replace("rules:\n", '  - eq: "t.x.a = t.x.a"\nrules:\n')
    )
    problems = problems_of(text)
    for needle in ("行标识“x”重复", "列标识“a”重复", "“t.x.totl”", "引用了自身"):
        assert any(needle in p for p in problems), (needle, problems)
    assert len(problems) >= 4
    # Every problem is located by line.
    assert all(re.match(r"tiny\.yaml:第\d+行：", p) for p in problems), problems


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("          - {id: a, label: 甲}", "          - 甲", "“columns”中的“甲”"),
        ("          - {id: x, label: 行一}", "          - 行一", "“rows”中的“行一”"),
        ("sections:\n", "sections: 5\nold_sections:\n", "“sections”应是一个列表"),
        (
            '  - eq: "t.{r}.total = t.{r}.a + t.{r}.b"\n    each: {r: t.rows}\n',
            '  - "t.x.total = t.x.a + t.x.b"\n',
            "“computed”中的",
        ),
    ],
)
def test_wrong_shape_is_a_spec_error_not_a_crash(old, new, needle):
    assert old in TINY
    problems = problems_of(TINY.replace(old, new))
    assert any(needle in p for p in problems), problems


def test_not_a_mapping():
    assert problems_of("- 1\n- 2\n") == ["tiny.yaml：表式定义应是一个 YAML 映射"]


def test_builtin_forms_load_and_are_distinct():
    forms = builtin_forms()
    assert set(forms) >= {"gov-info-2021", "gov-info-2019"}
    assert get_form(None).id == "gov-info-2021"
    with pytest.raises(KeyError):
        get_form("gov-info-2099")


# ---------------------------------------------------------------- a user's spec file


def test_user_spec_file_by_path(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY, encoding="utf-8")
    assert load_form(spec).id == "tiny"
    out = tmp_path / "小表.xlsx"
    result = CliRunner().invoke(main, ["template", "--form", str(spec), "--agency", "某局", "--year", "2024", "-o", str(out)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(io.BytesIO(out.read_bytes()))
    props = {p.name: p.value for p in wb.custom_doc_props}
    assert props["toolkit.form_id"] == "tiny"
    assert props["toolkit.agency"] == "某局"
    form = load_form(spec)
    assert props["toolkit.fingerprint"] == form.fingerprint
    layout = layout_of(form)
    ws = wb["二、表"]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert {"小表", "项目", "甲", "乙", "合计", "行一", "行二", "总计"} <= set(texts)
    pos = layout.cells["t.sum.total"]
    assert ws[pos.a1].value == "=" + next(e for e in form.equations if e.target == "t.sum.total").expr.to_excel(
        lambda cid: layout.cells[cid].a1
    )


def test_user_spec_file_with_mistakes_fails_cleanly(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(TINY.replace("t.{r}.a + t.{r}.b", "t.{r}.a + t.{r}.bb"), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["template", "--form", str(spec), "--agency", "某局", "--year", "2024", "-o", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "表式定义有误" in result.output and "是否应为" in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.xlsx"))


def test_missing_spec_file_is_an_unknown_form(tmp_path):
    result = CliRunner().invoke(
        main, ["template", "--form", str(tmp_path / "nope.yaml"), "--agency", "某局", "--year", "2024", "-o", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "未知的表式" in result.output


def test_charts_name_a_cell_and_a_row_group_of_the_form():
    good = builtin_forms()["gov-info-2021"].charts
    assert (good.received, good.outcome_group.label, good.outcome_column) == ("t3.new.total", "三、本年度办理结果", "total")
    bad = TINY + "charts:\n  received: t.x.totl\n  outcome_group: 不存在\n  outcome_column: total\n"
    problems = problems_of(bad)
    assert any("t.x.totl" in p and "是否应为“t.x.total”" in p for p in problems)
    assert any("outcome_group“不存在”" in p for p in problems)
    assert parse_form(TINY, "tiny.yaml").charts is None


def test_word_and_chart_settings_do_not_change_the_fingerprint():
    base = parse_form(TINY, "tiny.yaml").fingerprint
    with_report = parse_form(TINY + "report:\n  intro: 开头语。\n", "tiny.yaml")
    assert with_report.fingerprint == base and with_report.intro == "开头语。"
    assert parse_form(TINY.replace("小表式", "另一个名字"), "tiny.yaml").fingerprint != base


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("max: 1000", "max: 1e8x", "“max”应为数字"),
        ("max: 1000", "max: 1000, decimals: six", "“decimals”应为整数"),
        ("max_length: 500", "max_length: many", "“max_length”应为整数"),
        ('check: "t.sum.total = t.x.total + t.y.total"', 'check: "0 = 0"', "没有引用本表式的任何单元格"),
    ],
)
def test_bad_numbers_and_empty_rules_are_spec_errors_not_crashes(old, new, words):
    assert old in TINY
    assert any(words in p for p in problems_of(TINY.replace(old, new)))


def test_only_what_shapes_the_workbook_makes_the_fingerprint():
    base = parse_form(TINY, "tiny.yaml").fingerprint
    for extra in ("default: true\n", "cross_year: []\n", "password: other\n"):
        assert (
            parse_form(
                TINY + extra if extra.split(":")[0] not in TINY else TINY.replace("password: pw", extra.strip()), "t"
            ).fingerprint
            == base
        )


def test_a_form_must_have_the_prefilled_agency_and_year_fields():
    problems = problems_of(TINY.replace("  - {id: year, label: 年度, prefilled: true}\n", ""))
    assert any("{id: year, prefilled: true}" in p for p in problems)


# ---------------------------------------------------------------- coded problems and unknown keys


def problems_with(text: str, code: str) -> list[SpecProblem]:
    return [p for p in problems_of(text) if p.code == code]


def test_a_misspelt_severity_is_refused_with_line_and_hint():
    text = TINY.replace("    message: 总计应等于各行合计之和\n", "    message: 总计应等于各行合计之和\n    severty: warning\n")
    (problem,) = problems_of(text)
    assert problem.code == "unknown_key"
    assert problem.line == line_of(text, "severty")  # the line of the key itself
    assert problem.hint == "severity"
    assert problem == f"tiny.yaml:第{problem.line}行：未知的键“severty”，是否应为“severity”？"


@pytest.mark.parametrize(
    ("old", "new", "key", "hint"),
    [
        ("password: pw", "passwd: pw", "passwd", "password"),  # top level
        ("password: pw", "colour: red", "colour", ""),  # nothing close: no hint
        ("        corner: 项目", "        cornr: 项目", "cornr", "corner"),  # a table
        ("{id: x, label: 行一}", "{id: x, lable: 行一}", "lable", "label"),  # a row
        ("{id: a, label: 甲}", "{id: a, label: 甲, colums: []}", "colums", "columns"),  # a column
        ("label: 非负整数}", "lable: 非负整数}", "lable", "label"),  # a kind
        ("prefilled: true}", "prefiled: true}", "prefiled", "prefilled"),  # a field
        ("    sheet: 二、表", "    sheet: 二、表\n    tabels: []", "tabels", "tables"),  # a section
        ("max_length: 500", "max_len: 500", "max_len", "max_length"),  # a section's text
        ("    each: {r: t.rows}", "    each: {r: t.rows}\n    excpt: {}", "excpt", "except"),  # computed
    ],
)
def test_an_unknown_key_is_refused_with_line_and_did_you_mean(old, new, key, hint):
    assert old in TINY
    text = TINY.replace(old, new, 1)
    (problem,) = problems_with(text, "unknown_key")
    assert (problem.line, problem.hint) == (line_of(text, key), hint)  # the line the key is written on
    assert problem.message == f"未知的键“{key}”" + (f"，是否应为“{hint}”？" if hint else "")


def test_an_unknown_key_in_charts_and_report():
    text = TINY + "charts:\n  received: t.sum.total\n  recieved_title: 总数\nreport:\n  intro: 开头语。\n  titel_break: 报告\n"
    found = {(p.line, p.hint) for p in problems_with(text, "unknown_key")}
    assert found == {(line_of(text, "recieved_title"), "received_title"), (line_of(text, "titel_break"), "title_break")}


def test_a_group_has_only_a_label_and_its_members():
    text = TINY.replace("{id: x, label: 行一}", "{id: g, label: 一组, rows: [{id: x, label: 行一}]}")
    (problem,) = problems_of(text)
    assert problem.code == "unknown_key" and problem.line == line_of(text, "一组")
    assert problem.message == "分组只能有“label”和“rows”，不能有“id”"


GROUPED = TINY.replace(
    "          - {id: x, label: 行一}\n          - {id: y, label: 行二}\n",
    "          - label: 一组\n            rows:\n              - {id: x, label: 行一}\n              - {id: y, label: 行二}\n",
)
CHARTS = "charts:\n  received: t.sum.total\n  outcome_group: 一组\n  outcome_column: total\n"

# One spec mistake for every code: the catalogue and what the builder reports stay in step.
MISTAKES = [
    ("yaml_syntax", TINY.replace("  - {id: y, label: 行二}", "  - {id: y, label: 行二")),
    ("duplicate_key", TINY.replace('version: "1"\n', 'version: "1"\nversion: "2"\n')),
    ("not_a_mapping", "- 1\n- 2\n"),
    ("not_a_mapping", TINY.replace("{id: a, label: 甲}", "甲")),
    ("not_a_mapping", TINY.replace("{required: true, max_length: 500}", "必填")),
    ("not_a_list", TINY.replace("sections:\n", "sections: 5\nold_sections:\n")),
    ("unknown_key", TINY.replace("password: pw", "passwd: pw")),
    ("missing_key", TINY.replace('version: "1"\n', "")),
    ("bad_id", TINY.replace("- id: s1", "- id: 1s")),
    ("duplicate_id", TINY.replace("{id: y, label: 行二}", "{id: x, label: 行二}")),
    ("duplicate_sheet", TINY.replace("    sheet: 二、表", "    sheet: 一、总体情况")),
    ("bad_sheet_name", TINY.replace("    sheet: 二、表", "    sheet: 二/表")),
    ("bad_value", TINY.replace("type: integer", "type: int")),
    ("bad_value", TINY.replace("    message: 总计", "    severity: fatal\n    message: 总计")),
    ("not_a_number", TINY.replace("max: 1000", "max: 1e8x")),
    ("unknown_kind", TINY.replace("{id: a, label: 甲}", "{id: a, label: 甲, kind: cont}")),
    ("empty_table", TINY.replace("        rows:\n", "        rows: []\n        old_rows:\n")),
    ("empty_section", TINY.replace("    text: {required: true, max_length: 500}\n", "")),
    ("bad_each", TINY.replace("each: {r: t.rows}", "each: {r: t.lines}")),
    ("bad_expression", TINY.replace('check: "t.sum.total = t.x.total + t.y.total"', 'check: "t.sum.total"')),
    ("unknown_cell", TINY.replace("t.{r}.a + t.{r}.b", "t.{r}.a + t.{r}.bb")),
    ("self_reference", TINY.replace("rules:\n", '  - eq: "t.x.a = t.x.a + t.x.b"\nrules:\n')),
    ("defined_twice", TINY.replace("rules:\n", '  - eq: "t.x.total = t.x.a"\nrules:\n')),
    ("cycle", TINY.replace("rules:\n", '  - eq: "t.x.a = t.y.a"\n  - eq: "t.y.a = t.x.a"\nrules:\n')),
    ("rule_without_cells", TINY.replace('check: "t.sum.total = t.x.total + t.y.total"', 'check: "0 = 0"')),
    ("missing_identity_field", TINY.replace("  - {id: year, label: 年度, prefilled: true}\n", "")),
    ("not_a_row_group", GROUPED + CHARTS.replace("一组", "二组")),
    ("unknown_column", GROUPED + CHARTS.replace("total\n", "totl\n")),
]


def test_the_mistakes_cover_every_code():
    assert parse_form(GROUPED + CHARTS, "tiny.yaml").charts.outcome_group.label == "一组"
    assert {code for code, _ in MISTAKES} == set(PROBLEM_CODES)


@pytest.mark.parametrize(("code", "text"), MISTAKES, ids=[f"{i}-{code}" for i, (code, _) in enumerate(MISTAKES)])
def test_every_problem_is_coded_and_located_as_its_text_says(code, text):
    problems = problems_of(text)
    assert code in {p.code for p in problems}, problems
    for p in problems:
        assert isinstance(p, SpecProblem) and p.code in PROBLEM_CODES, p
        assert isinstance(p.line, int) and p.line >= 0 and p.file == "tiny.yaml"
        assert p == (f"{p.file}:第{p.line}行" if p.line else p.file) + "：" + p.message
        if p.line:  # the line named holds part of the mapping, not a blank or a comment
            assert text.splitlines()[p.line - 1].strip()
        assert p.message.endswith(f"，是否应为“{p.hint}”？") if p.hint else "是否应为" not in p.message
        assert json.loads(json.dumps(p.to_dict(), ensure_ascii=False)) == {
            "code": p.code,
            "file": p.file,
            "line": p.line,
            "message": p.message,
            "hint": p.hint,
        }
        copy = pickle.loads(pickle.dumps(p))
        assert copy == p and copy.to_dict() == p.to_dict()


def test_an_unknown_code_is_a_bug_of_ours():
    with pytest.raises(ValueError, match="no_such_code"):
        SpecProblem("no_such_code", "tiny.yaml", 1, "……")


BUILTIN_YAML = sorted(
    (e for e in resources.files("workbook_templates").iterdir() if e.name.endswith((".yaml", ".yml"))), key=lambda e: e.name
)


def test_the_builtin_forms_still_load():
    assert len(BUILTIN_YAML) >= 2
    assert sorted(f.source for f in builtin_forms().values()) == [e.name for e in BUILTIN_YAML]


@pytest.mark.parametrize("entry", BUILTIN_YAML, ids=lambda e: e.name)
def test_no_builtin_yaml_has_an_unknown_key(entry):
    try:
        parse_form(entry.read_text(encoding="utf-8"), entry.name)
    except SpecError as e:
        assert not [p for p in e.problems if p.code == "unknown_key"]
        raise


def test_except_must_list_ids():
    """`except: {r: total}` (a word, not a list) must not leave out the rows t, o, a and l; `except: {r: 5}` must not crash."""
    for value in ("sum", "5"):
        text = TINY.replace(
            "rules:\n", f'  - eq: "t.{{r}}.a = t.{{r}}.b"\n    each: {{r: t.rows}}\n    except: {{r: {value}}}\nrules:\n'
        )
        problems = [p for p in problems_of(text) if p.code == "not_a_list"]
        assert len(problems) == 1 and "except.r" in problems[0], problems
