"""A collection as data: each input's entry and fate, last year's values, the region's totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from toolkit.forms.spec import Form
from toolkit.returns.model import ERROR, WARNING, Problem, Return

FATES = {
    "accepted": "通过",
    "rejected": "未通过",
    "duplicate": "重复报送",
    "unreadable": "无法读取",
    "wrong_form": "表式不符",
    "wrong_year": "年度不符",
    "missing": "未报送",
}
DEFAULT_NAME = "汇总"


@dataclass
class Entry:
    """One input file (or one listed agency that sent nothing) and what the merge did with it."""

    path: str
    ret: Return
    fate: str
    notes: list[Problem] = field(default_factory=list)  # duplicate, wrong form/year, not returned
    cross_year: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [*self.notes, *self.ret.problems, *self.cross_year]

    @property
    def errors(self) -> int:
        return sum(p.severity == ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == WARNING for p in self.problems)

    @property
    def fate_label(self) -> str:
        return FATES[self.fate]

    def to_dict(self) -> dict[str, Any]:
        """The return's own JSON (as `check --json` gives it) with the merge's fate and every problem of the entry."""
        problems = self.problems
        return {
            **self.ret.to_dict(),
            "path": self.path,
            "fate": self.fate,
            "fate_label": self.fate_label,
            "errors": sum(p.severity == ERROR for p in problems),
            "warnings": sum(p.severity == WARNING for p in problems),
            "problems": [p.to_dict() for p in problems],
        }


@dataclass
class Previous:
    """Last year's collection as far as cross-year rules need it."""

    path: str
    form_id: str
    year: int | None
    values: dict[str, dict[str, int | Decimal]]  # agency -> cell id -> value


@dataclass
class Collection:
    form: Form
    name: str
    year: int | None
    entries: list[Entry]  # one per input file in input order, then agencies not returned
    returns: list[Return]  # what the totals are made of, in report order
    totals: dict[str, int | Decimal]
    notes: list[str] = field(default_factory=list)  # merge-level remarks for the console
    previous: Previous | None = None
    include_invalid: bool = False

    def title(self, suffix: str) -> str:
        """The form's report title for the whole region, e.g. 原州区2024年政府信息公开工作年度报告汇编."""
        return self.form.report_title(self.name, self.year or "") + suffix

    def counts(self) -> dict[str, int]:
        c = Counter(e.fate for e in self.entries)
        return {fate: c.get(fate, 0) for fate in FATES}

    @property
    def clean(self) -> bool:
        """Every input accepted with no cross-year error and nobody missing."""
        return all(e.fate == "accepted" and not any(p.severity == ERROR for p in e.cross_year) for e in self.entries)

    def summary_return(self) -> Return:
        """The region as if it were one agency: what summary.docx is rendered from."""
        texts = {s.id: f"本部分为{self.name}汇总报告，具体内容见各机关年度报告。" for s in self.form.text_sections}
        first = self.form.text_sections[0].id if self.form.text_sections else ""
        if first:
            texts[first] = (
                f"本报告汇总了{self.name}{len(self.returns)}个机关报送的{self.year or ''}年度政府信息公开工作年度报告数据。"
            )
        fields = {"agency": self.name, "year": str(self.year or "")}
        return Return(
            path="", form=self.form, agency=self.name, year=self.year, fields=fields, values=dict(self.totals), texts=texts
        )


def sum_inputs(form: Form, rets: Iterable[Return]) -> dict[str, int | Decimal]:
    """Sum every input cell over the returns, then recompute the totals from the sums."""
    sums: dict[str, int | Decimal] = {c.id: 0 for c in form.input_cells}
    for r in rets:
        for cid in sums:
            sums[cid] += r.values.get(cid, 0)
    return form.compute(sums)
