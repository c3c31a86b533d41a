"""The 勾稽关系 of a form evaluated in Python: the same parsed equations the workbook's formulas use.

The workbook's formulas guard every input with N(): a clerk's "12件" (or any text) counts as 0 in a
total instead of turning it and every check into #VALUE!, and each rule's check cell names the inputs
that are not numbers ("✗ D8 不是数字") before it says anything about the balance.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from toolkit.forms.layout import Pos, cell_name, layout_of
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


def address(pos: Pos, here: str) -> str:
    """A cell as a formula on sheet `here` names it: D8, or '二、主动公开'!D8 on another sheet."""
    if pos.sheet == here:
        return pos.a1
    return "'" + pos.sheet.replace("'", "''") + "'!" + pos.a1


def _runs(positions: list[Pos], here: str) -> list[str]:
    """Adjacent cells of one row as one range (D8:I8): short COUNT/COUNTA arguments."""
    runs: list[list[Pos]] = []
    for p in sorted(positions, key=lambda p: (p.sheet, p.row, p.col)):
        last = runs[-1][-1] if runs else None
        if last and (last.sheet, last.row, last.col) == (p.sheet, p.row, p.col - 1):
            runs[-1].append(p)
        else:
            runs.append([p])
    return [address(r[0], here) + ("" if len(r) == 1 else ":" + cell_name(r[-1].row, r[-1].col)) for r in runs]


def _count(function: str, refs: list[str]) -> str:
    return "+".join(f"{function}({','.join(refs[i : i + _MAX_ARGS])})" for i in range(0, len(refs), _MAX_ARGS))


def check_formula(rule: Rule, address_of: Callable[[str], str], inputs: list[Pos], here: str) -> str:
    """The Excel formula of a rule's check cell on sheet `here`: first the inputs that are not numbers, then ✓/✗."""
    numbers = _numbers_formula(rule, address_of)
    if not inputs:
        return numbers
    runs = _runs(inputs, here)
    test = f"{_count('COUNTA', runs)}>{_count('COUNT', runs)}"
    ordered = sorted(inputs, key=lambda p: (p.sheet != here, p.sheet, p.row, p.col))
    names = "&".join(
        f'IF(COUNT({address(p, here)})<COUNTA({address(p, here)}),"{p.a1 if p.sheet == here else p.ref} ","")' for p in ordered
    )
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
    """A formula as compared: spaces, `$`, a sheet name's quotes and case do not matter (clients rewrite them)."""
    return re.sub(r"[\s$']", "", formula).lstrip("=").upper()


@dataclass(frozen=True)
class Formulas:
    """Every formula of a form's workbook (without "="): the writer writes them, the reader compares."""

    totals: dict[str, str]  # cell id -> formula
    checks: dict[str, str]  # rule id -> formula of its check cell


@lru_cache(maxsize=16)
def formulas_of(form: Form) -> Formulas:
    layout = layout_of(form)

    def on(here: str) -> Callable[[str], str]:
        def address_of(cell_id: str) -> str:
            """An input as N(D8) (text counts as 0), a total as itself (always a number); another sheet's by name."""
            a1 = address(layout.cells[cell_id], here)
            return a1 if form.cells[cell_id].computed else f"N({a1})"

        return address_of

    totals = {eq.target: eq.expr.to_excel(on(layout.cells[eq.target].sheet)) for eq in form.equations}
    checks = {}
    for rule in form.rules:
        here = layout.rules[rule.id].sheet
        checks[rule.id] = check_formula(rule, on(here), [layout.cells[c] for c in rule_inputs(form, rule)], here)
    return Formulas(totals, checks)
