"""`toolkit demo`, the README's main job, runs end to end on the shipped samples."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl

ROOT = Path(__file__).resolve().parent.parent


def test_demo_runs_template_check_report_merge(tmp_path):
    out = tmp_path / "demo-output"
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", "demo", "--out", str(out)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 0, result.stderr
    assert len(list((out / "templates").rglob("*.xlsx"))) == 8
    assert [p.name for p in (out / "annotated").iterdir()] == ["固原市原州区教育局_2024年_gov-info-2021_批注.xlsx"]
    reports = sorted(p.name for p in (out / "reports").iterdir())
    assert "固原市原州区司法局2020年政府信息公开工作年度报告.docx" in reports and len(reports) == 4
    status = openpyxl.load_workbook(out / "collection" / "collection.xlsx")["状态"]
    assert (
        sum(1 for row in status.iter_rows(values_only=True) if any(isinstance(v, str) and v.endswith(".xlsx") for v in row)) == 4
    )
    combined = docx.Document(out / "collection" / "collection.docx")
    text = "\n".join(p.text for p in combined.paragraphs)
    assert "固原市原州区卫生健康局" in text and "教育局2024年政府信息公开工作年度报告" not in text
    assert "通过 3 份，未通过 1 份" in result.stdout
