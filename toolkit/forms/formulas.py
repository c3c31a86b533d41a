"""The 勾稽关系 of a form evaluated in Python: the same parsed equations the workbook's formulas use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from toolkit.forms.layout import layout_of
from toolkit.forms.spec import Form, Rule


def initial_values(form: Form) -> dict[str, int | Decimal]:
    """Every cell's value in a fresh template (all inputs 0): the cached values written with formulas."""
    return form.compute({c.id: 0 for c in form.input_cells})


def check_words(rule: Rule) -> tuple[str, str]:
    """What a rule's check cell says when it holds and when it does not."""
    equality = all(i.comparison.op == "=" for i in rule.instances)
    ok = "✓ 平衡" if equality else "✓ 通过"
    if rule.severity == "warning":
        return ok, "⚠ 请核对"
    return ok, "✗ 不平衡" if equality else "✗ 不符合"


def check_cell_text(rule: Rule, values: dict) -> str:
    """The text Excel shows in the rule's check cell for these values (its cached value)."""
    ok, bad = check_words(rule)
    failing = [i for i in rule.instances if not i.comparison.holds(values)]
    if not failing:
        return ok
    if len(rule.instances) == 1:
        return bad
    return bad + "：" + "".join(f"{i.label} " for i in failing)


def check_formula(rule: Rule, address_of) -> str:
    """The Excel formula of a rule's check cell: ✓ when every instance holds, else the failing labels."""
    tests = [i.comparison.to_excel(address_of) for i in rule.instances]
    ok, bad = check_words(rule)
    if len(rule.instances) == 1:
        return f'IF({tests[0]},"{ok}","{bad}")'
    failing = "&".join(f'IF({t},"","{i.label} ")' for t, i in zip(tests, rule.instances, strict=True))
    return f'IF(AND({",".join(tests)}),"{ok}","{bad}："&{failing})'


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
        return layout.cells[cell_id].a1

    totals = {eq.target: eq.expr.to_excel(address_of) for eq in form.equations}
    return Formulas(totals, {rule.id: check_formula(rule, address_of) for rule in form.rules})
