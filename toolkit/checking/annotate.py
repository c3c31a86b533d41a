"""A copy of a return with its problems marked (fill + 批注), ready to send back to the agency."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from toolkit.core.fileio import atomic_write_bytes
from toolkit.forms.layout import GUIDE_SHEET
from toolkit.returns.model import ERROR, Return

_FILLS = {ERROR: PatternFill("solid", fgColor="FFC7CE"), "warning": PatternFill("solid", fgColor="FFEB9C")}
_AUTHOR = "toolkit 检查"


def annotate(ret: Return, out: Path) -> Path:
    """Write `out`: the original workbook (protection, inputs and texts untouched) with every
    located problem's cell tinted and commented; file-level problems go on 填报说明!A1."""
    wb = openpyxl.load_workbook(ret.path)
    by_cell: dict[tuple[str, str], list] = defaultdict(list)
    general = []
    for p in ret.problems:
        if p.sheet in wb.sheetnames and p.cell:
            by_cell[(p.sheet, p.cell)].append(p)
        else:
            general.append(p)
    for (sheet, ref), problems in by_cell.items():
        cell = wb[sheet][ref]
        severity = ERROR if any(p.severity == ERROR for p in problems) else "warning"
        cell.fill = _FILLS[severity]
        cell.comment = _comment("\n".join(_short(p.message) for p in problems))
    if general and GUIDE_SHEET in wb.sheetnames:
        wb[GUIDE_SHEET]["A1"].comment = _comment("\n".join(p.message for p in general))
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write_bytes(out, buffer.getvalue())
    return out


def _short(message: str) -> str:
    """Inside a comment the cell is already known: drop the `sheet!A1` prefix."""
    head, sep, rest = message.partition("：")
    if not sep or "!" not in head:
        return message
    labels = head[head.find("「") :] if "「" in head else ""
    return f"{labels}：{rest}" if labels else rest


def _comment(text: str) -> Comment:
    comment = Comment(text, _AUTHOR)
    comment.width, comment.height = 320, min(400, 60 + 18 * text.count("\n") + len(text) // 2)
    return comment
