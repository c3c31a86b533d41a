"""Every problem is coded: each catalogue entry formats with sample values, rule failures carry their rule and expansion."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

from click.testing import CliRunner
from filling import complete_fields, complete_texts, fill_workbook

from toolkit.cli import main
from toolkit.forms.spec import get_form
from toolkit.returns.model import ERROR, WARNING
from toolkit.returns.problems import CATALOGUE, problem

FORM = get_form("gov-info-2021")
SAMPLE = {"value": "12件", "expected": "D8+E8", "sheet": "三、依申请公开", "count": 3, "detail": "自然人：左边为 1，右边为 2"}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_catalogue_entry_formats_with_sample_values():
    for code, (severity, template) in CATALOGUE.items():
        params = {name: SAMPLE.get(name, f"〈{name}〉") for name in _fields(template) - {"sheet"}}
        p = problem(code, sheet="三、依申请公开", cell="D8", labels="（一）予以公开 / 自然人", **params)
        assert p.code == code and p.severity == severity in (ERROR, WARNING)
        assert p.message.startswith("三、依申请公开!D8「（一）予以公开 / 自然人」：")
        assert "{" not in p.message and "}" not in p.message, (code, p.message)
        for name, value in params.items():
            assert str(value) in p.message, (code, name)
        spec_text = "message" in _fields(template)  # the rule's own message, written in the form spec
        assert spec_text or re.search(r"[\u4e00-\u9fff]", template), f"{code}: the message is for clerks, in Chinese"
        assert json.loads(json.dumps(p.to_dict(), ensure_ascii=False))["code"] == code


def test_value_and_expected_are_fields_of_their_own():
    p = problem("formula_changed", sheet="s", cell="A1", value="D8-E8", expected="D8+E8")
    assert (p.value, p.expected) == ("D8-E8", "D8+E8")
    assert p.to_dict()["expected"] == "D8+E8"


def test_a_failed_rule_names_its_rule_and_the_column_it_failed_for(tmp_path: Path):
    """一+二 = （七）+四 broken in the 科研机构 column only: the JSON says which rule and which expansion."""
    path = tmp_path / "r.xlsx"
    balanced = {"t3.new.research": 2, "t3.open.research": 2}
    broken = {**balanced, "t3.new.research": 3}
    fill_workbook(FORM, path, broken, complete_texts(FORM), complete_fields())
    result = CliRunner().invoke(main, ["check", "--json", str(path)])
    assert result.exit_code == 1, result.output
    problems = json.loads(result.output)["files"][0]["problems"]
    failed = [p for p in problems if p["code"] == "rule_failed"]
    by_column = {p["expansion"].get("c") for p in failed}
    assert "research" in by_column and "natural" not in by_column, failed
    rule_ids = {r.id for r in FORM.rules}
    assert all(p["rule"] in rule_ids for p in failed)
    research = next(p for p in failed if p["expansion"].get("c") == "research")
    assert research["cell_id"].endswith(".research")
    non_rule = [p for p in problems if p["code"] != "rule_failed"]
    assert all(p["rule"] == "" and p["expansion"] == {} for p in non_rule)
