"""What `report --force` counts instead of what was typed: every input of a return not used as typed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from toolkit.forms.layout import layout_of
from toolkit.returns.model import Return
from toolkit.returns.problems import format_number


@dataclass(frozen=True)
class Replacement:
    agency: str
    sheet: str
    cell: str  # A1 address
    cell_id: str
    labels: str
    typed: str  # "" for a blank cell
    used: int | Decimal

    @property
    def line(self) -> str:
        """One line for the clerk: 原州区司法局 三、依申请公开!D8「…」：填写的“12件”按 0 计."""
        typed = f"填写的“{self.typed}”" if self.typed else "未填写"
        return f"{self.agency} {self.sheet}!{self.cell}「{self.labels}」：{typed}，按 {format_number(self.used)} 计"


def replacements(ret: Return) -> list[Replacement]:
    """Every input whose content was replaced (by 0, or by a formula's cached number), in the form's order."""
    if ret.form is None:
        return []
    layout, out = layout_of(ret.form), []
    for cell in ret.form.input_cells:
        sub = ret.substitutions.get(cell.id)
        if sub is not None:
            pos = layout.cells[cell.id]
            out.append(Replacement(ret.agency, pos.sheet, pos.a1, cell.id, cell.label, sub.typed, sub.used))
    return out
