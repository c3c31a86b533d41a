"""The 勾稽关系 of a form evaluated in Python: the same parsed equations the workbook's formulas use.

The workbook's formulas guard every input with N(): a clerk's "12件" (or any text) counts as 0 in a
total instead of turning it and every check into #VALUE!, and each rule's check cell names the inputs
that are not numbers ("✗ D8 不是数字") before it says anything about the balance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from xlsxwriter.utility import xl_rowcol_to_cell

from toolkit.forms.layout import Pos, layout_of
from toolkit.forms.spec import Form, Rule

NOT_A_NUMBER = "不是数字"
MAX_FORMULA = 8000  # characters: Excel refuses formulas over 8192
_MAX_ARGS = 200  # per COUNT/COUNTA call: Excel allows 255 arguments


def initial_values(form: Form) -> dict[str, int | Decimal]:
    """Every cell's value in a fresh template (blank inputs count as 0): the cached values written with formulas."""
    return form.compute({c.id: 0 for c in form.input_cells})


def check_words(rule: Rule) -> tuple[str, str]:
    """What a rule's check cell says when it holds and when it does not."""
    equality = all(i.comparison.op == "=" for i in rule.instances)
    ok = "✓ 平衡" if equality else "✓ 通过"
    if rule.severity == "warning":
        return ok, "⚠ 请核对"
    return ok, "✗ 不平衡" if equality else "✗ 不符合"


def not_numbers_text(addresses: Iterable[str]) -> str:
    """What a check cell says when some of its inputs hold text: "✗ D8 E9 不是数字"."""
    return "✗ " + "".join(f"{a} " for a in addresses) + NOT_A_NUMBER


def check_cell_text(rule: Rule, values: dict) -> str:
    """The text Excel shows in the rule's check cell for these values (its cached value; every input a number)."""
    ok, bad = check_words(rule)
    failing = [i for i in rule.instances if not i.comparison.holds(values)]
    if not failing:
        return ok
    if len(rule.instances) == 1:
        return bad
    return bad + "：" + "".join(f"{i.label} " for i in failing)


def _numbers_formula(rule: Rule, address_of: Callable[[str], str]) -> str:
    """✓ when every instance holds, else the failing labels (every input read through N())."""
    tests = [i.comparison.to_excel(address_of) for i in rule.instances]
    ok, bad = check_words(rule)
    if len(rule.instances) == 1:
        return f'IF({tests[0]},"{ok}","{bad}")'
    failing = "&".join(f'IF({t},"","{i.label} ")' for t, i in zip(tests, rule.instances, strict=True))
    return f'IF(AND({",".join(tests)}),"{ok}","{bad}："&{failing})'


def _runs(positions: list[Pos]) -> list[str]:
    """Adjacent cells of one row as one range (D8:I8): short COUNT/COUNTA arguments."""
    runs: list[list[Pos]] = []
    for p in sorted(positions, key=lambda p: (p.row, p.col)):
        if runs and runs[-1][-1].row == p.row and runs[-1][-1].col == p.col - 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return [r[0].a1 if len(r) == 1 else f"{r[0].a1}:{xl_rowcol_to_cell(r[-1].row, r[-1].col)}" for r in runs]


def _count(function: str, refs: list[str]) -> str:
    return "+".join(f"{function}({','.join(refs[i : i + _MAX_ARGS])})" for i in range(0, len(refs), _MAX_ARGS))


def check_formula(rule: Rule, address_of: Callable[[str], str], inputs: list[Pos]) -> str:
    """The Excel formula of a rule's check cell: first the inputs that are not numbers, then ✓/✗ for the numbers."""
    numbers = _numbers_formula(rule, address_of)
    if not inputs:
        return numbers
    runs = _runs(inputs)
    test = f"{_count('COUNTA', runs)}>{_count('COUNT', runs)}"
    names = "&".join(f'IF(COUNT({p.a1})<COUNTA({p.a1}),"{p.a1} ","")' for p in sorted(inputs, key=lambda p: (p.row, p.col)))
    formula = f'IF({test},"✗ "&{names}&"{NOT_A_NUMBER}",{numbers})'
    if len(formula) > MAX_FORMULA:  # too many inputs to name one by one: say that some are not numbers
        formula = f'IF({test},"✗ 有填写项{NOT_A_NUMBER}",{numbers})'
    return formula


def rule_inputs(form: Form, rule: Rule) -> list[str]:
    """The input cells a rule depends on, through the totals it compares (the cells its check cell watches)."""
    exprs = {eq.target: eq.expr for eq in form.equations}
    seen: set[str] = set()
    todo = [ref for i in rule.instances for ref in i.comparison.refs]
    while todo:
        ref = todo.pop()
        if ref not in seen:
            seen.add(ref)
            todo += exprs[ref].refs if ref in exprs else ()
    return [c.id for c in form.input_cells if c.id in seen]


def formula_key(formula: str) -> str:
    """A formula as compared: spaces, `$` and case do not matter (clients rewrite them)."""
    return re.sub(r"[\s$]", "", formula).lstrip("=").upper()


@dataclass(frozen=True)
class Formulas:
    """Every formula of a form's workbook (without "="): the writer writes them, the reader compares."""

    totals: dict[str, str]  # cell id -> formula
    checks: dict[str, str]  # rule id -> formula of its check cell


@lru_cache(maxsize=16)
def formulas_of(form: Form) -> Formulas:
    layout = layout_of(form)

    def address_of(cell_id: str) -> str:
        """An input as N(D8) (text counts as 0), a total as itself (always a number)."""
        a1 = layout.cells[cell_id].a1
        return a1 if form.cells[cell_id].computed else f"N({a1})"

    totals = {eq.target: eq.expr.to_excel(address_of) for eq in form.equations}
    checks = {rule.id: check_formula(rule, address_of, [layout.cells[c] for c in rule_inputs(form, rule)]) for rule in form.rules}
    return Formulas(totals, checks)
