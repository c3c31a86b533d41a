"""What an import writes: each report's return workbook, and the audit of a region's reports."""

from __future__ import annotations

import io
from pathlib import Path

import xlsxwriter

from toolkit.core.fileio import atomic_write_bytes, safe_filename, unique_path
from toolkit.core.page import Page, apply_xlsxwriter, landscape_for
from toolkit.importing.model import Imported
from toolkit.returns.model import ERROR
from toolkit.workbook.writer import build_filled_workbook

SOURCE_KEYS = ("source", "source_file", "source_sha256", "source_kind")


def write_return(imported: Imported, folder: str | Path, taken: set[str]) -> Path:
    """The return in the form's own workbook, named like a template (机关_年度_表式.xlsx), written atomically."""
    ret = imported.ret
    name = safe_filename(f"{ret.agency}_{ret.year}年_{ret.form.id}", ".xlsx")
    path = unique_path(Path(folder), name, taken)
    extra = {k: ret.metadata[k] for k in SOURCE_KEYS if k in ret.metadata}
    # what the import found, kept with the figures: a figure it could not read is 0 in the workbook
    extra |= {"import_errors": str(len(ret.errors)), "import_warnings": str(len(ret.warnings))}
    atomic_write_bytes(path, build_filled_workbook(ret, extra_metadata=extra))
    imported.output = str(path)
    return path


REPORT_HEADERS = (
    "文件",
    "类型",
    "机关",
    "年度",
    "表式",
    "读取数字",
    "表式数字",
    "错误",
    "警告",
    "第一个问题",
    "导入的报表",
    "SHA-256",
)
PROBLEM_HEADERS = ("文件", "机关", "年度", "级别", "代码", "位置", "单元格标识", "行列标签", "报告所印", "应为", "说明")
_SEVERITY = {"error": "错误", "warning": "警告"}


def _report_row(im: Imported) -> list[object]:
    r = im.ret
    first = next((p.message for p in r.problems if p.severity == ERROR), r.problems[0].message if r.problems else "")
    return [
        im.source_name,
        im.kind,
        r.agency,
        r.year or "",
        r.form_id,
        len(im.figures),
        im.expected,
        len(r.errors),
        len(r.warnings),
        first,
        Path(im.output).name if im.output else "",
        im.sha256,
    ]


def _problem_rows(im: Imported) -> list[list[object]]:
    r = im.ret
    return [
        [
            im.source_name,
            r.agency,
            r.year or "",
            _SEVERITY[p.severity],
            p.code,
            p.location,
            p.cell_id,
            p.labels,
            p.value,
            p.expected,
            p.message,
        ]
        for p in r.problems
    ]


def audit_workbook(imports: list[Imported]) -> bytes:
    """审查结果 (one row per published report) and 问题 (every problem); all text written as text."""
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
    bad = wb.add_format({"bg_color": "#FFC7CE"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    for title, headers, rows, widths in (
        ("审查结果", REPORT_HEADERS, [_report_row(im) for im in imports], (28, 8, 22, 6, 14, 8, 8, 6, 6, 70, 36, 20)),
        (
            "问题",
            PROBLEM_HEADERS,
            [row for im in imports for row in _problem_rows(im)],
            (28, 22, 6, 6, 22, 26, 22, 36, 10, 10, 90),
        ),
    ):
        ws = wb.add_worksheet(title)
        for c, (h, w) in enumerate(zip(headers, widths, strict=True)):
            ws.write_string(0, c, h, head)
            ws.set_column(c, c, w)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if isinstance(value, int):
                    ws.write_number(r, c, value)
                else:
                    ws.write_string(r, c, str(value), wrap)
        apply_xlsxwriter(ws, Page(landscape_for(widths), (0, 0), title=title))  # the house page setup, as every sheet we write
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
        if title == "审查结果":
            ws.conditional_format(1, 7, max(len(rows), 1), 7, {"type": "cell", "criteria": ">", "value": 0, "format": bad})
    wb.close()
    return buffer.getvalue()


def write_audit(imports: list[Imported], path: str | Path) -> None:
    atomic_write_bytes(path, audit_workbook(imports))
