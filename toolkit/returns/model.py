"""Plain data passed between stages: a read-back return and the problems found in it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from toolkit.forms.spec import Form

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One finding in a return, located to its sheet and cell; `message` is the full Chinese text."""

    code: str
    severity: str  # ERROR | WARNING
    message: str
    sheet: str = ""
    cell: str = ""  # A1 address, e.g. D12
    cell_id: str = ""  # spec cell id, e.g. t3.open.natural
    labels: str = ""  # row / column labels of the cell
    value: str = ""  # what was found, as text
    expected: str = ""  # what should be there, as text (a formula, a total, a name), when known
    rule: str = ""  # id of the rule that failed (rule_failed, cross_year_failed, …)
    expansion: tuple[tuple[str, str], ...] = ()  # the rule's placeholders -> ids, e.g. (("c", "research"),)

    @property
    def location(self) -> str:
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "expansion": dict(self.expansion), "location": self.location}


@dataclass(frozen=True)
class Substitution:
    """An input whose content could not be used as typed: what it held and what was counted instead
    (0, or the cached result of a formula)."""

    typed: str  # what the cell held, as text: "" blank, "=A1+1" a formula, "12件", "-3"
    used: int | Decimal  # the value in Return.values
    code: str  # the reading problem's code: blank, not_a_number, negative, input_is_formula, …
    in_rules: bool  # whether a rule may count `used`: a blank as 0 (as the workbook's check cells do) or a
    # formula's cached number; never a non-number or a rejected number, which would make the verdict a guess


@dataclass
class Return:
    """One agency's filled workbook as read back: values are recomputed, never the file's cached ones."""

    path: str
    form: Form | None
    agency: str = ""
    year: int | None = None
    fields: dict[str, str] = field(default_factory=dict)  # field id -> text (基本信息)
    values: dict[str, int | Decimal] = field(default_factory=dict)  # cell id -> value, totals recomputed
    texts: dict[str, str] = field(default_factory=dict)  # section id -> text
    metadata: dict[str, str] = field(default_factory=dict)  # what the file says about itself
    substitutions: dict[str, Substitution] = field(default_factory=dict)  # input cell id -> what replaced its content
    problems: list[Problem] = field(default_factory=list)

    @property
    def form_id(self) -> str:
        return self.form.id if self.form else self.metadata.get("form_id", "")

    @property
    def form_version(self) -> str:
        return self.metadata.get("form_version", self.form.version if self.form else "")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def failed(self) -> bool:
        """A bug of ours stopped this file (its fate; the batch goes on, the command ends with exit 3)."""
        return any(p.code == "internal_error" for p in self.problems)

    @property
    def accepted(self) -> bool:
        return self.form is not None and not self.errors

    @property
    def status(self) -> str:
        """accepted | rejected | unreadable (a file that could not be read, or that a bug of ours stopped)."""
        if any(p.code in ("unreadable", "internal_error") for p in self.problems):
            return "unreadable"
        return "accepted" if self.accepted else "rejected"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "form_id": self.form_id,
            "form_version": self.form_version,
            "agency": self.agency,
            "year": self.year,
            "status": self.status,
            "accepted": self.accepted,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
        }
