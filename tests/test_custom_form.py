"""A new data collection is a new YAML file: template, check, report and merge work without Python."""

from __future__ import annotations

import docx
import openpyxl
from click.testing import CliRunner
from filling import fill_workbook

from toolkit.cli import main
from toolkit.forms.spec import load_form

SPEC = """
id: training-stats
version: "1"
name: 政务公开培训情况统计
title: "{agency}{year}年政务公开培训情况"
kinds:
  count: {type: integer, min: 0, max: 100000}
fields:
  - {id: agency, label: 机关名称, prefilled: true}
  - {id: year, label: 年度, prefilled: true}
sections:
  - id: s1
    title: 一、培训情况
    sheet: 一、培训情况
    tables:
      - id: tr
        corner: 项目
        kind: count
        columns:
          - {id: sessions, label: 场次}
          - {id: people, label: 人次}
        rows:
          - {id: online, label: 线上培训}
          - {id: offline, label: 线下培训}
          - {id: total, label: 合计}
  - id: s2
    title: 二、说明
    sheet: 二、说明
    text: {required: true, max_length: 500}
computed:
  - eq: "tr.total.{c} = tr.online.{c} + tr.offline.{c}"
    each: {c: tr.columns}
rules:
  - id: people_vs_sessions
    check: "tr.{r}.people >= tr.{r}.sessions"
    each: {r: tr.rows}
    title: 人次不少于场次
    message: 每场培训至少一人次
"""


def test_a_users_form_spec_runs_the_whole_pipeline(tmp_path):
    spec = tmp_path / "training.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    form, runner = load_form(spec), CliRunner()
    returns = tmp_path / "returns"
    returns.mkdir()
    figures = {"甲局": (2, 30, 1, 12), "乙局": (4, 50, 0, 0)}
    for agency, (a, b, c, d) in figures.items():
        template = tmp_path / f"{agency}.xlsx"
        result = runner.invoke(main, ["template", "--form", str(spec), "--agency", agency, "--year", "2025", "-o", str(template)])
        assert result.exit_code == 0, result.output
        values = {"tr.online.sessions": a, "tr.online.people": b, "tr.offline.sessions": c, "tr.offline.people": d}
        fill_workbook(form, returns / f"{agency}.xlsx", values, {"s2": f"{agency}的说明 & <备注>"}, {}, agency, 2025)

    checked = runner.invoke(main, ["check", str(returns), "--form", str(spec)])
    assert checked.exit_code == 0, checked.output
    unknown = runner.invoke(main, ["check", str(returns)])  # without the spec the form is unknown
    assert unknown.exit_code == 1 and "training-stats" in unknown.output

    report = tmp_path / "甲局.docx"
    rendered = runner.invoke(main, ["report", str(returns / "甲局.xlsx"), "--form", str(spec), "-o", str(report)])
    assert rendered.exit_code == 0, rendered.output
    document = docx.Document(report)
    rows = {r.cells[0].text: [c.text for c in r.cells[1:]] for t in document.tables for r in t.rows}
    assert rows["线上培训"] == ["2", "30"] and rows["合计"] == ["3", "42"]
    assert any("甲局的说明 & <备注>" in p.text for p in document.paragraphs)

    merged = runner.invoke(main, ["merge", str(returns), "--form", str(spec), "-o", str(tmp_path / "out"), "--name", "某区"])
    assert merged.exit_code == 0, merged.output
    detail = openpyxl.load_workbook(tmp_path / "out" / "collection.xlsx", data_only=True)["明细"]
    column = next(c.column for row in detail.iter_rows(max_row=6) for c in row if c.value == "tr.total.people")
    people = {row[0].value: row[column - 1].value for row in detail.iter_rows() if row[0].value in ("甲局", "乙局", "合计")}
    assert people == {"甲局": 42, "乙局": 50, "合计": 92}
