"""The 勾稽关系 of a form evaluated in Python: the same parsed equations the workbook's formulas use."""

from __future__ import annotations

from decimal import Decimal

from .spec import Form, Rule


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
