"""A copy of a return that guides the clerk: it opens on a 问题清单 (problem list) and marks where the fix is.

A cell with a problem of its own (a non-number, a blank, a changed formula) is tinted by severity and
commented. A failed 勾稽关系 of a column tints every cell of that column the rule reads, totals and the
inputs behind them (the mistake is in one of them, not necessarily in the first), once per column, with the
comment on the first. Comments are placed next to their cells (toolkit.checking.vml).
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils import coordinate_to_tuple

from toolkit.checking.problem_list import LIST_SHEET, add_problem_list
from toolkit.checking.rules import rule_cells
from toolkit.checking.vml import Box, anchor_comments, box_of
from toolkit.core.fileio import atomic_write_bytes
from toolkit.forms.layout import layout_of
from toolkit.returns.model import ERROR, WARNING, Problem, Return

_FILLS = {
    ERROR: PatternFill("solid", fgColor="FFC7CE"),
    WARNING: PatternFill("solid", fgColor="FFEB9C"),
}
_RULE_FILL = PatternFill("solid", fgColor="F8CBAD")  # a cell a failed rule reads: the mistake may be here
_RULE_FAILURES = ("rule_failed", "rule_warning")
_AUTHOR = "toolkit 检查"


@dataclass
class _Mark:
    problems: list[Problem] = field(default_factory=list)  # commented here
    own: str = ""  # the worst severity of a problem of the cell itself ("" none)
    in_rule: bool = False  # read by a failed rule


def _marks(ret: Return, sheets: list[str]) -> dict[tuple[str, str], _Mark]:
    marks: dict[tuple[str, str], _Mark] = defaultdict(_Mark)
    for p in ret.problems:
        if p.sheet not in sheets or not p.cell:
            continue
        mark = marks[(p.sheet, p.cell)]
        mark.problems.append(p)
        if p.code in _RULE_FAILURES and ret.form is not None:
            for cell_id in rule_cells(ret.form, p):
                pos = layout_of(ret.form).cells[cell_id]
                marks[(pos.sheet, pos.a1)].in_rule = True
        elif not p.rule and mark.own != ERROR:  # a rule's own cell is not the mistake; a not-evaluated rule says which is
            mark.own = p.severity
    return marks


def _comment_text(problems: list[Problem]) -> str:
    lines = []
    for p in problems:
        line = _short(p.message)
        if p.code in _RULE_FAILURES:
            line += "（浅橙色的单元格参与此项校验，错误可能在其中任一格）"
        lines.append(line)
    return "\n".join(lines)


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


def _forget_earlier(wb) -> None:
    """A copy annotated before: its list and our comments are stale (the clerk's own comments stay)."""
    if LIST_SHEET in wb.sheetnames:
        del wb[LIST_SHEET]
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.comment is not None and cell.comment.author == _AUTHOR:
                    cell.comment = None


def annotate(ret: Return, out: Path) -> Path:
    """Write `out`: the original workbook (protection, inputs and texts untouched) opening on its 问题清单,
    with every located problem's cell tinted and commented; file-level problems are in the list only."""
    wb = openpyxl.load_workbook(ret.path)
    _forget_earlier(wb)
    boxes: dict[str, dict[tuple[int, int], Box]] = defaultdict(dict)
    for (sheet, ref), mark in _marks(ret, wb.sheetnames).items():
        cell = wb[sheet][ref]
        if mark.own:
            cell.fill = _FILLS[mark.own]
        elif mark.in_rule:
            cell.fill = _RULE_FILL
        if mark.problems:
            cell.comment = _comment(_comment_text(mark.problems))
            row, col = coordinate_to_tuple(ref)
            boxes[sheet][(row - 1, col - 1)] = box_of(wb[sheet], row - 1, col - 1, cell.comment.width, cell.comment.height)
    add_problem_list(wb, ret, ret.problems)
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write_bytes(out, anchor_comments(buffer.getvalue(), boxes))
    return out
