"""The one evaluator of a form's rules: 勾稽关系 inside a return, and cross-year rules against last year.

Both kinds are the same parsed comparisons the workbook's check formulas are written from; a failing
instance becomes a Problem that names its rule, the placeholder values it was expanded with and the
first cell it reads, so a program can tell one failure from another without parsing the message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from toolkit.forms.layout import layout_of
from toolkit.forms.spec import Form, Rule, RuleInstance
from toolkit.returns.model import WARNING, Problem
from toolkit.returns.problems import format_number, problem

PREV = "prev."


@dataclass(frozen=True)
class _Wording:
    error: str  # problem code of a failed error rule
    warning: str  # problem code of a failed warning rule
    left: str  # how the detail names each side
    right: str


_WITHIN = _Wording("rule_failed", "rule_warning", "左边为", "右边为")
_ACROSS = _Wording("cross_year_failed", "cross_year_warning", "本年为", "按上年数据应为")


class WithPrevious(Mapping):
    """This year's values plus last year's under `prev.`, without copying either."""

    def __init__(self, now: Mapping, prev: Mapping):
        self.now, self.prev = now, prev

    def __getitem__(self, key: str):
        return self.prev[key[len(PREV) :]] if key.startswith(PREV) else self.now[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.now
        yield from (PREV + k for k in self.prev)

    def __len__(self) -> int:
        return len(self.now) + len(self.prev)

    def answers(self, refs: tuple[str, ...]) -> bool:
        """Whether both years hold every cell an instance reads (last year's form may lack some)."""
        return all((r[len(PREV) :] in self.prev) if r.startswith(PREV) else (r in self.now) for r in refs)


def _failure(form: Form, rule: Rule, instance: RuleInstance, values: Mapping, wording: _Wording) -> Problem:
    first = next(r for r in instance.comparison.refs if not r.startswith(PREV))
    pos, cell = layout_of(form).cells[first], form.cells[first]
    left, right = instance.comparison.left.evaluate(values), instance.comparison.right.evaluate(values)
    detail = f"{instance.label or cell.label}：{wording.left} {format_number(left)}，{wording.right} {format_number(right)}"
    code = wording.warning if rule.severity == WARNING else wording.error
    message = rule.message
    if wording is _WITHIN and rule.title != rule.message:
        message = f"{rule.title}：{rule.message}"
    return problem(
        code,
        sheet=pos.sheet,
        cell=pos.a1,
        cell_id=first,
        labels=cell.label,
        rule=rule.id,
        expansion=instance.bindings,
        message=message,
        detail=detail,
    )


def rule_problems(form: Form, values: Mapping[str, int | Decimal]) -> list[Problem]:
    """One problem for every instance of every rule of the form that does not hold."""
    return [
        _failure(form, rule, instance, values, _WITHIN)
        for rule in form.rules
        for instance in rule.instances
        if not instance.comparison.holds(values)
    ]


def cross_year_problems(form: Form, now: Mapping[str, int | Decimal], prev: Mapping[str, int | Decimal]) -> list[Problem]:
    """Problems of the form's cross-year rules for one agency; instances last year cannot answer are skipped."""
    values = WithPrevious(now, prev)
    return [
        _failure(form, rule, instance, values, _ACROSS)
        for rule in form.cross_year
        for instance in rule.instances
        if values.answers(instance.comparison.refs) and not instance.comparison.holds(values)
    ]
