"""A collection as data: each input's entry and fate, last year's values, the region's totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from toolkit.forms.spec import Form
from toolkit.returns.model import ERROR, WARNING, Problem, Return
from toolkit.workbook.mailing import Agency

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
CONTACT_FIELD, PHONE_FIELD = "contact", "phone"  # the 基本信息 fields an office calls


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

    @property
    def passed(self) -> bool:
        """Accepted with no error of its own or of the cross-year check: nothing to chase."""
        return self.fate == "accepted" and not self.errors

    @property
    def first_problem(self) -> Problem | None:
        """What 状态 shows first: the merge's note (why it is not counted), but a duplicate's own errors first."""
        own = [*self.ret.errors, *self.ret.warnings]
        order = [*own, *self.notes] if self.fate == "duplicate" else [*self.notes, *own]
        return next(iter(order), None)  # cross-year problems have their own column

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


@dataclass(frozen=True)
class Chase:
    """One row of 催报: who to call, why, and how to reach them."""

    agency: str
    kind: str  # result_of the entry: what colours the row
    result: str
    problem: str
    contact: str
    phone: str
    path: str


RESULT_ORDER = ("unreadable", "wrong_form", "wrong_year", "rejected", "missing", "duplicate", "warned", "accepted")


def result_of(e: Entry) -> str:
    """The entry's fate, with an accepted one that has warnings (or cross-year errors) apart: what colours 状态."""
    if e.fate == "accepted" and (e.errors or e.warnings):
        return "warned"
    return e.fate


def result_label(e: Entry) -> str:
    if result_of(e) == "warned":
        return "通过（有错误）" if e.errors else "通过（有警告）"
    return e.fate_label


def status_rank(e: Entry) -> tuple:
    """Problems first (unreadable, wrong form or year, rejected, not returned, duplicates), then warnings, then passed."""
    return (RESULT_ORDER.index(result_of(e)), e.ret.agency.strip() or "~", e.path)


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
    agencies: list[Agency] = field(default_factory=list)  # the --agencies list (empty without one)

    @property
    def expected(self) -> int | None:
        """How many agencies should have returned: the --agencies list's length; None without a list."""
        return len(self.agencies) or None

    @property
    def received(self) -> int:
        """How many agencies sent a usable return of this form and year (duplicates counted once)."""
        sent = {e.ret.agency.strip() for e in self.entries if e.fate in ("accepted", "rejected", "duplicate")}
        return len(sent - {""})

    def chase_list(self) -> list[Chase]:
        """Every agency to call: not returned, or no return of it passed; one row each, in 状态 order."""
        done = {e.ret.agency.strip() for e in self.entries if e.passed}
        book = {a.name.strip(): a for a in self.agencies}
        out: dict[str, Chase] = {}
        for e in sorted(self.entries, key=status_rank):
            key = e.ret.agency.strip() or e.path
            if e.passed or key in done or key in out:
                continue
            listed = book.get(key, Agency(key))
            first = e.first_problem or next(iter(e.cross_year), None)
            out[key] = Chase(
                agency=e.ret.agency.strip(),
                kind=result_of(e),
                result=result_label(e),
                problem=first.message if first else "",
                contact=e.ret.fields.get(CONTACT_FIELD, "").strip() or listed.contact,
                phone=e.ret.fields.get(PHONE_FIELD, "").strip() or listed.phone,
                path=e.path,
            )
        return list(out.values())

    def title(self, suffix: str) -> str:
        """The form's report title for the whole region, e.g. 原州区2024年政府信息公开工作年度报告汇编."""
        name = "" if self.name == DEFAULT_NAME else self.name  # not 汇总2024年…汇总 when no --name was given
        return self.form.report_title(name, self.year or "") + suffix

    def counts(self) -> dict[str, int]:
        c = Counter(e.fate for e in self.entries)
        return {fate: c.get(fate, 0) for fate in FATES}

    @property
    def clean(self) -> bool:
        """Every input accepted with no cross-year error and nobody missing."""
        return all(e.fate == "accepted" and not any(p.severity == ERROR for p in e.cross_year) for e in self.entries)


def sum_inputs(form: Form, rets: Iterable[Return]) -> dict[str, int | Decimal]:
    """Sum every input cell over the returns, then recompute the totals from the sums."""
    sums: dict[str, int | Decimal] = {c.id: 0 for c in form.input_cells}
    for r in rets:
        for cid in sums:
            sums[cid] += r.values.get(cid, 0)
    return form.compute(sums)
