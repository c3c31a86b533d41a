"""Check a read-back return against every rule of its form: 勾稽关系, header fields, texts."""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Mapping
from pathlib import Path

from toolkit.checking.rules import rule_problems
from toolkit.core.digits import date_of
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import DATE_FIELD, Form
from toolkit.reading.guards import DEFAULT_LIMITS, Limits, UnreadableFile
from toolkit.reading.interpret import read_return
from toolkit.returns.model import WARNING, Problem, Return
from toolkit.returns.problems import limit_problems, problem


def field_problems(ret: Return) -> list[Problem]:
    layout, out = layout_of(ret.form), []
    for f in ret.form.fields:
        pos = layout.fields[f.id]
        value = ret.fields.get(f.id, "")
        where = {"sheet": pos.sheet, "cell": pos.a1, "labels": f.label}
        if not value:
            out.append(problem("field_missing", label=f.label, severity=None if f.prefilled else WARNING, **where))
        elif f.id == "agency" and ret.metadata.get("agency") and value != ret.metadata["agency"]:
            out.append(problem("agency_mismatch", value=value, expected=ret.metadata["agency"], **where))
        elif f.id == "year" and ret.metadata.get("year") and value != ret.metadata["year"]:
            out.append(problem("year_mismatch", value=value, expected=ret.metadata["year"], **where))
        elif f.id == DATE_FIELD and date_of(value) is None:  # read-back wrote every date it understood as 2026年1月18日
            year = ret.year + 1 if ret.year else 2026  # returns come in the January after their year
            out.append(problem("date_unclear", value=value, example=f"{year}年1月20日", dotted=f"{year}.1.20", **where))
    return out


def untouched_problems(ret: Return) -> list[Problem]:
    """A return whose figures are still the blank template's: every input blank (today's template), or every
    input 0 or blank with no text and no contact typed either (the pre-filled 0 of older templates). An agency
    that truly has nothing to report writes 0 and its texts, so all zeros alone are not enough to say it."""
    inputs = [c.id for c in ret.form.input_cells]
    subs = ret.substitutions
    blank = sum(1 for c in inputs if c in subs and subs[c].code == "blank")
    if not inputs:  # a form of texts only: nothing to compare with a template
        return []
    if blank == len(inputs):
        return [problem("untouched", state="全部填写项为空白")]
    if any(ret.values.get(c) != 0 or (c in subs and subs[c].code != "blank") for c in inputs):
        return []
    typed = [f.id for f in ret.form.fields if not f.prefilled and ret.fields.get(f.id)] + [t for t in ret.texts.values() if t]
    return [] if typed else [problem("untouched", state="全部填写项为 0 或空白，文字部分和联系人均未填写")]


def text_problems(ret: Return) -> list[Problem]:
    layout, out = layout_of(ret.form), []
    said = {(p.sheet, p.cell) for p in ret.problems if p.code == "text_is_formula"}  # already told why it is empty
    for section in ret.form.text_sections:
        pos, text = layout.texts[section.id], ret.texts.get(section.id, "")
        where = {"sheet": pos.sheet, "cell": pos.a1}
        if (pos.sheet, pos.a1) in said:
            continue
        if section.text.required and not text:
            out.append(problem("text_missing", title=section.title, **where))
        elif len(text) > section.text.max_length:
            out.append(problem("text_too_long", title=section.title, length=len(text), max=section.text.max_length, **where))
    return out


def check_return(ret: Return) -> Return:
    """Add the rule, field and text problems to a read-back return (in place) and return it,
    its problems limited per code and per file (the rest counted: returns.problems.limit_problems)."""
    if ret.form is not None and ret.values:
        ret.problems[:0] = untouched_problems(ret)  # first: it explains the many blanks listed after it
        ret.problems.extend(field_problems(ret))
        ret.problems.extend(rule_problems(ret.form, ret.values, ret.substitutions))
        ret.problems.extend(text_problems(ret))
    ret.problems = limit_problems(ret.problems)
    return ret


def check_file(path: str | Path, forms: Mapping[str, Form] | None = None, limits: Limits = DEFAULT_LIMITS) -> Return:
    """read_return + check_return: everything known about one returned file."""
    return check_return(read_return(path, forms, limits))


def check_or_refuse(path: str | Path, forms: Mapping[str, Form] | None = None, limits: Limits = DEFAULT_LIMITS) -> Return:
    """check_file of a return (merge's workers use it; toolkit.pipeline's also verifies collections), with a file
    that cannot be read, or that a bug of ours stopped, turned into a Return holding that one problem."""
    try:
        return check_file(path, forms, limits)
    except Exception as e:  # one file's fate, whatever it is; the batch goes on
        return refusal(path, e)


def refusal(path: str | Path, error: Exception) -> Return:
    """A file that could not be read (UnreadableFile), or that a bug of ours stopped, as a Return with its one problem."""
    if isinstance(error, UnreadableFile):
        return Return(path=str(path), form=None, problems=[problem("unreadable", reason=error.reason)])
    trace = traceback.format_exc(limit=8)[-4000:]  # shown with --debug; the message has the one line
    fault = problem("internal_error", error=f"{type(error).__name__}: {str(error)[:200]}")
    return Return(path=str(path), form=None, problems=[dataclasses.replace(fault, value=trace)])  # the whole trace
