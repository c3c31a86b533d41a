"""Every formula of every built-in form, evaluated by an Excel formula engine that is not ours.

The `formulas` package (PyPI; pure Python, its own parser and function library) loads a filled workbook
and calculates it; every computed cell (合计) and every rule's check cell (校验结果) must then equal the
product's Python side: `form.compute(inputs)` and `check_cell_text`. The workbooks are the product's
templates filled the way a script would (tests/filling.py: openpyxl, which saves formulas without cached
results, so the engine cannot read an answer from the file). Inputs are seeded random: balanced, one
column of table 三 out of balance, and not balanced at all, so check cells show ✓, ✗ and ⚠.

`formulas` needs no workaround for these workbooks: merged ranges, protected sheets, Chinese sheet
names (quoted, e.g. '三、依申请公开'), text with ✓/✗ and `&`, IF/AND all load and evaluate. The one quirk:
it upper-cases sheet (and possibly file) names in its result keys, `'[r.xlsx]_META'!A1`, a documented
"wontfix" (github.com/vinci1it2000/formulas/issues/90, /issues/152), so `engine_results` parses each key and
cells are looked up by (SHEET.upper(), A1), whatever it does with the file name. It takes about 0.2 s per workbook
here (load 0.13-0.22 s, calculate 0.025 s; the first one about 0.6 s, its lazy imports), plus 0.07 s to fill
the template, so EXAMPLES_PER_FORM = 6 examples of each form keep this file at about 5 s. More when needed:
`TOOLKIT_ENGINE_EXAMPLES=100 pytest tests/test_formula_engine.py`.
"""

from __future__ import annotations

import os
import random
import re
from decimal import Decimal
from pathlib import Path

import formulas
import pytest
from filling import complete_fields, complete_texts, fill_workbook
from test_check_rules import APPLICANTS, balanced_inputs

from toolkit.forms.formulas import check_cell_text, check_words
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import Form, builtin_forms

EXAMPLES_PER_FORM = int(os.environ.get("TOOLKIT_ENGINE_EXAMPLES", "6"))  # ≈ 0.3 s each (fill + formulas)
MODES = ("balanced", "one column off", "unbalanced")
FORM_IDS = sorted(builtin_forms())
EXAMPLES = [(form_id, seed) for form_id in FORM_IDS for seed in range(EXAMPLES_PER_FORM)]
_KEY = re.compile(r"^'?\[[^\]]*\](?P<sheet>.+?)'?!(?P<cell>[A-Z]+[0-9]+)$")


def example_inputs(form: Form, seed: int) -> dict[str, int | Decimal]:
    """Seeded inputs for every input cell; MODES[seed % 3] says how table 三 stands."""
    rng = random.Random(f"{form.id}/{seed}")
    mode = MODES[seed % len(MODES)]
    if mode == "unbalanced":
        values: dict[str, int | Decimal] = {c.id: rng.randint(0, 500) for c in form.input_cells}
    else:
        values = balanced_inputs(form, lambda: rng.randint(0, 500))
    if mode == "one column off":
        values[f"t3.new.{rng.choice(APPLICANTS)}"] += rng.randint(1, 9)
    for cell in form.input_cells:
        if cell.kind.type == "decimal":
            values[cell.id] = Decimal(rng.randint(0, 10**9)).scaleb(-cell.kind.decimals)
        elif cell.kind.min < 0:
            values[cell.id] = rng.randint(-500, 500)
    return values


def engine_results(path: Path) -> dict[tuple[str, str], object]:
    """(SHEET, A1) -> the value `formulas` calculated, for every single cell of its solution."""
    solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    out = {}
    for key, ranges in solution.items():
        m = _KEY.match(key)
        if m:
            out[(m["sheet"].replace("''", "'").upper(), m["cell"])] = ranges.value[0, 0]
    return out


def same_number(python: int | Decimal, engine: object) -> bool:
    if isinstance(engine, bool | str) or engine is None:
        return False
    try:
        return abs(Decimal(python) - Decimal(repr(float(engine)))) <= Decimal("1e-9")
    except (TypeError, ValueError):  # an Excel error value (#VALUE! …)
        return False


@pytest.mark.parametrize(("form_id", "seed"), EXAMPLES, ids=[f"{f}-{s}-{MODES[s % 3].replace(' ', '-')}" for f, s in EXAMPLES])
def test_formulas_engine_agrees_with_python(tmp_path, form_id, seed):
    form = builtin_forms()[form_id]
    layout = layout_of(form)
    inputs = example_inputs(form, seed)
    typed = {k: v if isinstance(v, int) else float(v) for k, v in inputs.items()}  # openpyxl writes floats
    path = fill_workbook(form, tmp_path / f"{form_id}-{seed}.xlsx", typed, complete_texts(form), complete_fields())
    engine = engine_results(path)
    values = form.compute(inputs)
    wrong = []
    for eq in form.equations:
        pos = layout.cells[eq.target]
        got = engine.get((pos.sheet.upper(), pos.a1), "（无结果）")
        if not same_number(values[eq.target], got):
            wrong.append(f"{pos.ref} {eq.target}: formulas {got!r}, Python {values[eq.target]}")
    for rule in form.rules:
        pos = layout.rules[rule.id]
        got, expected = engine.get((pos.sheet.upper(), pos.a1), "（无结果）"), check_cell_text(rule, values)
        if got != expected:
            wrong.append(f"{pos.ref} {rule.id}: formulas {got!r}, Python {expected!r}")
    assert not wrong, "\n".join(wrong)


def test_examples_show_every_rule_both_passing_and_failing():
    """The examples above are not all balanced: each rule's check cell shows ✓ in one and ✗/⚠ in another."""
    for form_id in FORM_IDS:
        form = builtin_forms()[form_id]
        shown = {rule.id: set() for rule in form.rules}
        for seed in range(EXAMPLES_PER_FORM):
            values = form.compute(example_inputs(form, seed))
            for rule in form.rules:
                ok, _ = check_words(rule)
                shown[rule.id].add(check_cell_text(rule, values) == ok)
        assert all(seen == {True, False} for seen in shown.values()), (form_id, shown)


NOT_NUMBERS = {"t3.new.natural": "12件", "t3.carry_over.other": "约10"}  # typed by a clerk, pasted past validation


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_text_in_an_input_is_named_and_never_an_error(tmp_path, form_id):
    """ "12件" counts as 0 in every total (no #VALUE!), and the check cell of each rule over it names the cells."""
    form = builtin_forms()[form_id]
    layout = layout_of(form)
    inputs = example_inputs(form, 0)
    typed = {k: v if isinstance(v, int) else float(v) for k, v in inputs.items()}
    path = fill_workbook(form, tmp_path / "text.xlsx", {**typed, **NOT_NUMBERS}, complete_texts(form), complete_fields())
    engine = engine_results(path)
    values = form.compute({**inputs, **dict.fromkeys(NOT_NUMBERS, 0)})
    wrong = []
    for eq in form.equations:
        pos = layout.cells[eq.target]
        got = engine.get((pos.sheet.upper(), pos.a1), "（无结果）")
        if not same_number(values[eq.target], got):
            wrong.append(f"{pos.ref} {eq.target}: formulas {got!r}, Python (text as 0) {values[eq.target]}")
    addresses = sorted((layout.cells[c].row, layout.cells[c].col, layout.cells[c].a1) for c in NOT_NUMBERS)
    named = "✗ " + "".join(f"{a1} " for _, _, a1 in addresses) + "不是数字"
    t3 = layout.rules["t3_balance"]
    assert engine.get((t3.sheet.upper(), t3.a1)) == named
    assert named == {"gov-info-2019": "✗ D6 I28 不是数字", "gov-info-2021": "✗ D6 I30 不是数字"}[form_id]  # as a clerk reads them
    for rule in form.rules:
        pos = layout.rules[rule.id]
        got = engine.get((pos.sheet.upper(), pos.a1))
        if rule.table_id != "t3" and got != check_cell_text(rule, values):
            wrong.append(f"{pos.ref} {rule.id}: formulas {got!r}, Python {check_cell_text(rule, values)!r}")
    assert not wrong, "\n".join(wrong)
