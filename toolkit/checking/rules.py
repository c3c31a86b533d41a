"""The one evaluator of a form's rules: 勾稽关系 inside a return, and cross-year rules against last year.

Both kinds are the same parsed comparisons the workbook's check formulas are written from; a failing
instance becomes a Problem that names its rule, the placeholder values it was expanded with and the
first cell it reads, so a program can tell one failure from another without parsing the message.

A rule never counts a non-number as 0: an instance reading (directly or through a total) an input that
holds no usable number is reported as not evaluated, naming that cell. An instance that is the sum of the
rule's other instances (the 总计 column of 一+二 = 三+四) only restates their failures: it is folded into
them (said in their detail), so one mistake is one problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from toolkit.forms.expr import LinearExpr
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import Form, Rule, RuleInstance
from toolkit.returns.model import WARNING, Problem, Substitution
from toolkit.returns.problems import format_number, problem

PREV = "prev."
SHOWN_CELLS = 3  # unusable cells named in a not-evaluated rule's message; the rest counted
_FOLDABLE = ("=", ">=", "<=", ">", "<")  # comparisons that hold for a sum when they hold for each part


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


# ---------------------------------------------------------------- what an instance reads


@lru_cache(maxsize=16)
def _equations(form: Form) -> dict[str, LinearExpr]:
    return {eq.target: eq.expr for eq in form.equations}


def _expand(form: Form, expr: LinearExpr, sign: int, out: dict[str | None, int | Decimal]) -> None:
    """Add sign × expr to `out` as coefficients of input cells (None: the constant), totals replaced by their sums."""
    equations = _equations(form)
    for t in expr.terms:
        if t.ref is None:
            out[None] = out.get(None, 0) + sign * t.sign * t.const
            continue
        prefix, ref = (PREV, t.ref[len(PREV) :]) if t.ref.startswith(PREV) else ("", t.ref)
        if ref in equations:
            inner: dict[str | None, int | Decimal] = {}
            _expand(form, equations[ref], sign * t.sign, inner)
            for k, v in inner.items():
                key = k if k is None else prefix + k
                out[key] = out.get(key, 0) + v
        else:
            out[t.ref] = out.get(t.ref, 0) + sign * t.sign


def _vector(form: Form, instance: RuleInstance) -> dict[str | None, int | Decimal]:
    """left − right as coefficients of input cells."""
    out: dict[str | None, int | Decimal] = {}
    _expand(form, instance.comparison.left, 1, out)
    _expand(form, instance.comparison.right, -1, out)
    return {k: v for k, v in out.items() if v}


@lru_cache(maxsize=16)
def _inputs_read(form: Form) -> dict[tuple[str, int], tuple[str, ...]]:
    """(rule id, instance index) -> this year's input cells it reads, in the form's order."""
    order = {cell_id: i for i, cell_id in enumerate(form.cells)}
    out = {}
    for rule in (*form.rules, *form.cross_year):
        for i, instance in enumerate(rule.instances):
            read = {k for k in _vector(form, instance) if k is not None and not k.startswith(PREV)}
            read |= {r for r in instance.comparison.refs if r in form.cells and not form.cells[r].computed}
            out[(rule.id, i)] = tuple(sorted(read, key=order.__getitem__))
    return out


@lru_cache(maxsize=16)
def _sums(form: Form) -> dict[tuple[str, int], tuple[int, ...]]:
    """(rule id, instance index) -> the other instances it is the sum of (the 总计 column of a column rule)."""
    out = {}
    for rule in (*form.rules, *form.cross_year):
        vectors = [_vector(form, inst) for inst in rule.instances]
        for i, inst in enumerate(rule.instances):
            others = [j for j in range(len(vectors)) if j != i]
            if inst.comparison.op not in _FOLDABLE or not others or not vectors[i]:
                continue
            total: dict[str | None, int | Decimal] = {}
            for j in others:
                for k, v in vectors[j].items():
                    total[k] = total.get(k, 0) + v
            if {k: v for k, v in total.items() if v} == vectors[i]:
                out[(rule.id, i)] = tuple(others)
    return out


def rule_cells(form: Form, p: Problem) -> tuple[str, ...]:
    """The cells a rule problem's instance reads, totals first, then the inputs behind them: where its fix is."""
    rules = {r.id: r for r in (*form.rules, *form.cross_year)}
    rule = rules.get(p.rule)
    if rule is None:
        return ()
    index = next((i for i, inst in enumerate(rule.instances) if inst.bindings == p.expansion), None)
    if index is None:
        return ()
    refs = [r for r in rule.instances[index].comparison.refs if not r.startswith(PREV)]
    return tuple(dict.fromkeys([*refs, *_inputs_read(form)[(rule.id, index)]]))


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class _Outcome:
    index: int
    instance: RuleInstance
    blocked: tuple[str, ...]  # unusable inputs read: not evaluated
    blanks: int  # blank inputs read, counted as 0
    holds: bool


def _outcomes(form: Form, rule: Rule, values: Mapping, subs: Mapping[str, Substitution]) -> list[_Outcome]:
    """Each instance's outcome; one `values` cannot answer (last year's form lacks a cell) is skipped as holding."""
    read, answers = _inputs_read(form), getattr(values, "answers", None)
    out = []
    for i, instance in enumerate(rule.instances):
        cells = read[(rule.id, i)]
        blocked = tuple(c for c in cells if c in subs and not subs[c].in_rules)
        blanks = sum(1 for c in cells if c in subs and subs[c].code == "blank")
        asked = answers is None or answers(instance.comparison.refs)
        holds = not asked or (not blocked and instance.comparison.holds(values))
        out.append(_Outcome(i, instance, blocked, blanks, holds))
    return out


def _where(form: Form, cell_id: str) -> dict[str, str]:
    pos = layout_of(form).cells[cell_id]
    return {"sheet": pos.sheet, "cell": pos.a1, "cell_id": cell_id, "labels": form.cells[cell_id].label}


def _first(instance: RuleInstance) -> str:
    return next(r for r in instance.comparison.refs if not r.startswith(PREV))


def _not_evaluated(form: Form, rule: Rule, o: _Outcome, subs: Mapping[str, Substitution]) -> Problem:
    layout, named = layout_of(form), []
    for cell_id in o.blocked[:SHOWN_CELLS]:
        pos = layout.cells[cell_id]
        named.append(f"{pos.ref}「{form.cells[cell_id].label}」填写的是“{subs[cell_id].typed}”")
    reason = "；".join(named)
    if len(o.blocked) > SHOWN_CELLS:
        reason += f"，另有 {len(o.blocked) - SHOWN_CELLS} 个单元格"
    subject = f"{rule.title}（{o.instance.label}）" if o.instance.label else rule.title
    return problem(
        "rule_not_evaluated",
        **_where(form, _first(o.instance)),
        severity=WARNING,
        rule=rule.id,
        expansion=o.instance.bindings,
        subject=subject,
        reason=reason,
    )


def _failure(form: Form, rule: Rule, o: _Outcome, values: Mapping, wording: _Wording, folded: str) -> Problem:
    instance = o.instance
    cell = form.cells[_first(instance)]
    left, right = instance.comparison.left.evaluate(values), instance.comparison.right.evaluate(values)
    detail = f"{instance.label or cell.label}：{wording.left} {format_number(left)}，{wording.right} {format_number(right)}"
    if o.blanks:
        detail += f"；其中 {o.blanks} 个未填写的单元格按 0 计"
    if folded:
        detail += f"；“{folded}”随之不符，不另列"
    code = wording.warning if rule.severity == WARNING else wording.error
    message = rule.message
    if wording is _WITHIN and rule.title != rule.message:
        message = f"{rule.title}：{rule.message}"
    return problem(code, **_where(form, cell.id), rule=rule.id, expansion=instance.bindings, message=message, detail=detail)


def _rule_problems(form: Form, rule: Rule, values: Mapping, subs: Mapping[str, Substitution], wording: _Wording):
    outcomes = [o for o in _outcomes(form, rule, values, subs) if not o.holds]
    sums = _sums(form)
    failing = {o.index for o in outcomes}
    folded = {o.index: o for o in outcomes if failing & set(sums.get((rule.id, o.index), ()))}
    for o in outcomes:
        if o.index in folded:
            continue
        if o.blocked:
            yield _not_evaluated(form, rule, o, subs)
            continue
        into = [f.instance.label for i, f in folded.items() if o.index in sums[(rule.id, i)] and not f.blocked]
        yield _failure(form, rule, o, values, wording, "、".join(x for x in into if x))


def rule_problems(
    form: Form, values: Mapping[str, int | Decimal], substitutions: Mapping[str, Substitution] | None = None
) -> list[Problem]:
    """One problem for every instance of every rule of the form that does not hold, or that reads an
    input holding no usable number (`substitutions`, from read-back): that one says it was not evaluated."""
    subs = substitutions or {}
    return [p for rule in form.rules for p in _rule_problems(form, rule, values, subs, _WITHIN)]


def cross_year_problems(form: Form, now: Mapping[str, int | Decimal], prev: Mapping[str, int | Decimal]) -> list[Problem]:
    """Problems of the form's cross-year rules for one agency; instances last year cannot answer are skipped."""
    values = WithPrevious(now, prev)
    return [p for rule in form.cross_year for p in _rule_problems(form, rule, values, {}, _ACROSS)]
