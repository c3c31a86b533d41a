"""What an import produces: the return, where each of its figures came from, and the source file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from toolkit.returns.model import Return
from toolkit.returns.problems import format_number

IMPORTED = "imported"  # the workbook metadata's `source` for a return made from a published report


@dataclass(frozen=True)
class Figure:
    """One printed number and where it was: the table, the printed row label and column path, the text."""

    cell_id: str
    value: int | Decimal
    table: int  # the source's table number (1-based, reading order)
    row: int  # 1-based row of that table
    column: int  # 1-based column of that table
    row_label: str  # as printed
    column_path: str  # as printed, outermost first, joined by " / "
    printed: str  # the cell's text as printed
    total: bool = False  # a total the form computes: compared with the computed one, not imported

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "value": format_number(self.value)}


@dataclass
class Imported:
    """A published report read back: the Return (inputs, recomputed totals, texts) and its figures."""

    ret: Return
    kind: str  # 网页 | Word 文档 | PDF
    source_name: str
    sha256: str
    figures: list[Figure] = field(default_factory=list)
    expected: int = 0  # how many figures the form has (inputs and totals)
    output: str = ""  # the return workbook written, once written

    @property
    def refused(self) -> bool:
        """Nothing could be imported (a format before 2019, no report tables, no form, no file)."""
        return self.ret.form is None

    @property
    def status(self) -> str:
        """imported | refused (a report this tool cannot import) | unreadable (no report file, or a bug of ours)."""
        if any(p.code in ("unreadable", "internal_error") for p in self.ret.problems):
            return "unreadable"
        return "refused" if self.refused else "imported"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.ret.to_dict(),
            "status": self.status,
            "source": {"kind": self.kind, "name": self.source_name, "sha256": self.sha256},
            "figures_read": len(self.figures),
            "figures_expected": self.expected,
            "output": self.output or None,
            "texts": dict(self.ret.texts),
            "figures": [f.to_dict() for f in self.figures],
        }
