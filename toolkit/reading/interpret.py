"""Read a returned workbook back into a Return: recognise the form, read every input, recompute
every total, and note what was tampered with. Bad filled-in data becomes Problems, never exceptions;
only an unreadable file raises (UnreadableFile). Text arrives clean from toolkit.reading.ooxml.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from toolkit.core.digits import chinese_date, date_of, year_of
from toolkit.forms.formulas import formula_key, formulas_of
from toolkit.forms.layout import INFO_SHEET, META_PREFIX, META_SHEET, Pos, cell_name, layout_of
from toolkit.forms.spec import DATE_FIELD, Cell, Form, Rule, builtin_forms
from toolkit.reading.guards import DEFAULT_LIMITS, Limits, UnreadableFile, open_package
from toolkit.reading.memo import remembered
from toolkit.reading.ooxml import VISIBLE, RawCell, Workbook, XlsxError, read_xlsx
from toolkit.reading.values import Reading, date_of_serial, number_reader, stored_number
from toolkit.returns.model import Problem, Return, Substitution
from toolkit.returns.problems import problem, shown

RECOGNITION_THRESHOLD = 0.9


RETURN, COLLECTION = "return", "collection"


def kind_of(meta: Mapping[str, str]) -> str:
    """What a workbook says it is: a collection made by `toolkit merge`, or (by default) a return."""
    return COLLECTION if meta.get("kind") == COLLECTION else RETURN


def read_metadata(book: Workbook) -> dict[str, str]:
    """What the file says about itself: custom properties first, then the hidden _meta sheet."""
    meta = {k.removeprefix(META_PREFIX): v for k, v in book.custom.items() if k.startswith(META_PREFIX)}
    if meta.get("form_id"):
        return meta
    sheet = book.sheets.get(META_SHEET)
    if sheet is None:
        return {}
    rows = {r for r, _ in sheet.cells}
    return {sheet.text(r, 0): sheet.text(r, 1) for r in sorted(rows) if sheet.text(r, 0)}


@dataclass(frozen=True)
class _Plan:
    """What reading a return of one form looks at, worked out once per form (not once per file): every
    label to compare, each input with its kind's reader, each total and check cell with its formula."""

    labels: tuple[tuple[str, tuple[tuple[int, int, str, str], ...]], ...]  # sheet -> (row, col, text, text.strip())
    inputs: tuple[tuple[Cell, Pos, Callable[[RawCell], Reading]], ...]
    totals: tuple[tuple[Cell, Pos, str, str], ...]  # the total's cell, where, its formula and formula_key
    checks: tuple[tuple[Rule, Pos, str, str], ...]  # a rule, its check cell, its formula and formula_key

    @property
    def label_count(self) -> int:
        return sum(len(statics) for _, statics in self.labels)


@lru_cache(maxsize=16)
def _plan(form: Form) -> _Plan:
    layout, formulas = layout_of(form), formulas_of(form)
    labels = tuple(  # (the label as a message quotes it, as the template prints it: with its line breaks)
        (sl.name, tuple((s.row, s.col, s.text.replace("\n", ""), s.text.strip()) for s in sl.statics if s.text))
        for sl in layout.sheets
    )
    readers = {c.kind: number_reader(c.kind) for c in form.input_cells}
    inputs = tuple((c, layout.cells[c.id], readers[c.kind]) for c in form.input_cells)
    totals = tuple(
        (form.cells[eq.target], layout.cells[eq.target], formulas.totals[eq.target], formula_key(formulas.totals[eq.target]))
        for eq in form.equations
    )
    checks = tuple(
        (rule, layout.rules[rule.id], formulas.checks[rule.id], formula_key(formulas.checks[rule.id])) for rule in form.rules
    )
    return _Plan(labels, inputs, totals, checks)


_formula_key, _stored_number = remembered(formula_key), remembered(stored_number)


def _same_formula(found: str, expected: str, expected_key: str) -> bool:
    """formula_key(found) == formula_key(expected), the usual case (the formula as written) without a regex."""
    return found == expected or _formula_key(found) == expected_key


def _label_mismatches(book: Workbook, form: Form) -> list[tuple[str, int, int, str, str]]:
    out = []
    for name, statics in _plan(form).labels:
        sheet = book.sheets.get(name)
        for row, col, text, stripped in statics:
            found = sheet.text(row, col).strip() if sheet else None
            if found != stripped:
                out.append((name, row, col, text, found or ""))
    return out


def _label_score(book: Workbook, form: Form) -> float:
    return 1 - len(_label_mismatches(book, form)) / max(_plan(form).label_count, 1)


def identify_form(meta: Mapping[str, str], book: Workbook, forms: Mapping[str, Form]) -> tuple[Form | None, list[Problem]]:
    """The form a workbook was made from, by its metadata or, failing that, by its labels."""
    form_id = meta.get("form_id", "")
    if not form_id:
        scored = sorted(((_label_score(book, f), f.id) for f in forms.values()), reverse=True)
        if scored and scored[0][0] >= RECOGNITION_THRESHOLD:
            return forms[scored[0][1]], [problem("no_metadata", form_id=scored[0][1])]
        return None, [problem("unrecognised")]
    form = forms.get(form_id)
    version, fingerprint = meta.get("form_version", "?"), meta.get("fingerprint", "?")
    if form is None:
        return None, [problem("unknown_form", form_id=form_id, version=version, known="、".join(forms))]
    if fingerprint != form.fingerprint:
        mismatch = problem(
            "version_mismatch",
            form_id=form_id,
            version=version,
            fingerprint=fingerprint,
            our_version=form.version,
            our_fingerprint=form.fingerprint,
        )
        return None, [mismatch]
    return form, []


class _Reading:
    """Reads one recognised workbook into `ret`; split out so each step stays short."""

    def __init__(self, book: Workbook, form: Form, ret: Return):
        self.book, self.form, self.ret, self.layout = book, form, ret, layout_of(form)
        self.text_numbers: set[str] = set()  # read as numbers, but the workbook's N() counts them as 0

    def add(self, p: Problem) -> None:
        self.ret.problems.append(p)

    def sheets_present(self) -> bool:
        missing = [sl.name for sl in self.layout.sheets if sl.name not in self.book.sheets]
        for name in missing:
            self.add(problem("missing_sheet", sheet=name))
        for sl in self.layout.sheets:
            if sl.name in self.book.sheets and self.book.sheets[sl.name].state != VISIBLE:
                self.add(problem("hidden_sheet", sheet=sl.name))
        return not missing

    def labels(self) -> None:
        reported = set()
        for sheet, row, col, expected, found in _label_mismatches(self.book, self.form):
            if sheet not in reported:  # the first shifted label says it; the rest would repeat it
                reported.add(sheet)
                cell = cell_name(row, col)
                self.add(problem("label_changed", sheet=sheet, cell=cell, expected=expected, value=found))

    def fields(self) -> None:
        info = self.book.sheets[INFO_SHEET]
        for f in self.form.fields:
            pos = self.layout.fields[f.id]
            self.ret.fields[f.id] = _field_text(f.id, info.get(pos.row, pos.col), self.book.date1904)

    def inputs(self) -> dict[str, int | Decimal]:
        inputs: dict[str, int | Decimal] = {}
        sheets = self.book.sheets
        for cell, pos, read in _plan(self.form).inputs:
            raw = sheets[pos.sheet].get(pos.row, pos.col)
            reading = read(raw)
            inputs[cell.id] = reading.value if reading.value is not None else 0
            if reading.code == "text_number":
                self.text_numbers.add(cell.id)
            self.substitute(cell.id, raw, reading, inputs[cell.id])
            if raw.formula is None and not reading.code:
                continue  # typed as it should be: nothing to say
            where = {"sheet": pos.sheet, "cell": pos.a1, "cell_id": cell.id, "labels": cell.label}
            if raw.formula is not None:  # an input must be a typed value; a cached result is not one
                self.add(problem("input_is_formula", value=raw.formula, **where))
            elif reading.code:
                kind = cell.kind
                limits = {"min": kind.min, "max": kind.max, "decimals": kind.decimals, "unit": kind.unit}
                self.add(problem(reading.code, value=raw.value, normalised=reading.normalised, **where, **limits))
        return inputs

    def substitute(self, cell_id: str, raw: RawCell, reading: Reading, used: int | Decimal) -> None:
        """Note an input not used as typed (counted 0, or a formula's cached number): rules and `report --force` say so."""
        if reading.value is not None and raw.formula is None:
            return
        typed = str(shown(raw.value if raw.formula is None else "=" + raw.formula))  # bounded, like a problem's value
        code = "input_is_formula" if raw.formula is not None else reading.code or "not_a_number"
        counts = reading.value is not None or (code == "blank")  # a formula's number, or a blank (0)
        self.ret.substitutions[cell_id] = Substitution(typed, used, code, counts)

    def totals(self, inputs: Mapping[str, int | Decimal], values: Mapping[str, int | Decimal]) -> None:
        plan, sheets = _plan(self.form), self.book.sheets
        if self.text_numbers:  # a cached total is stale only if it differs from what the workbook itself computes
            values = self.form.compute({k: 0 if k in self.text_numbers else v for k, v in inputs.items()})
        for cell, pos, expected, key in plan.totals:
            raw = sheets[pos.sheet].get(pos.row, pos.col)
            if raw.formula is None:
                problem_code, details = "total_overwritten", {"value": raw.value or "（空）", "expected": expected}
            elif not _same_formula(raw.formula, expected, key):
                problem_code, details = "formula_changed", {"value": raw.formula, "expected": expected}
            elif raw.type == "n" and _stored_number(raw.value) != values[cell.id]:  # None for garbage: stale
                problem_code, details = "stale_total", {"value": raw.value, "computed": values[cell.id]}
            else:
                continue
            where = {"sheet": pos.sheet, "cell": pos.a1, "cell_id": cell.id, "labels": cell.label}
            self.add(problem(problem_code, **details, **where))
        for rule, pos, expected, key in plan.checks:
            raw = sheets[pos.sheet].get(pos.row, pos.col)
            if raw.formula is None or not _same_formula(raw.formula, expected, key):
                self.add(problem("check_formula_changed", sheet=pos.sheet, cell=pos.a1, labels=rule.title))

    def protection(self) -> None:
        for sl in self.layout.sheets:
            if not self.book.sheets[sl.name].protected:
                self.add(problem("sheet_unprotected", sheet=sl.name))

    def texts(self) -> None:
        for section in self.form.text_sections:
            pos = self.layout.texts[section.id]
            raw = self.book.sheets[pos.sheet].get(pos.row, pos.col)
            where = {"sheet": pos.sheet, "cell": pos.a1, "title": section.title}
            if raw.formula is not None:  # text typed with a leading "=" became a formula in Excel/WPS
                self.add(problem("text_is_formula", value="=" + raw.formula[:30], **where))
            elif raw.type == "n":
                self.add(problem("text_not_text", value=raw.value, **where))
            self.ret.texts[section.id] = raw.value.strip() if raw.formula is None else ""

    def run(self) -> None:
        if not self.sheets_present():
            return
        self.labels()
        self.fields()
        inputs = self.inputs()
        values = self.form.compute(inputs)
        self.ret.values = values
        self.totals(inputs, values)
        self.protection()
        self.texts()
        meta = self.ret.metadata
        self.ret.agency = meta.get("agency") or self.ret.fields.get("agency", "")
        year = meta.get("year") or self.ret.fields.get("year", "")
        self.ret.year = year_of(year)


def _field_text(field_id: str, raw: RawCell, date1904: bool) -> str:
    """A 基本信息 field as text; the date, typed as text in a common form or as a date (a day number
    to Excel), as the report signs it (2026年1月18日); a date not understood stays as typed (check warns)."""
    text = raw.value.strip()
    if field_id != DATE_FIELD:
        return text
    day = date_of(date_of_serial(text, date1904) if raw.type == "n" else text)
    return chinese_date(day) if day else text


def interpret(book: Workbook, path: str, forms: Mapping[str, Form] | None = None) -> Return:
    """A Return from an already parsed workbook (no file access)."""
    forms = forms if forms is not None else builtin_forms()
    meta = read_metadata(book)
    if kind_of(meta) == COLLECTION:  # not a return: toolkit.pipeline hands such files to the collection stage
        ret = Return(path=path, form=None, agency=meta.get("name", ""), year=year_of(meta.get("year")), metadata=meta)
        ret.problems.append(problem("collection_input"))
        return ret
    ret = Return(path=path, form=None, metadata=meta)
    ret.problems.extend(problem("duplicate_sheet", sheet=name) for name in book.duplicate_sheets)
    form, found = identify_form(meta, book, forms)
    ret.problems.extend(found)
    if form is None:
        ret.agency = meta.get("agency", "")
        ret.year = year_of(meta.get("year", ""))
        return ret
    ret.form = form
    _Reading(book, form, ret).run()
    return ret


def read_workbook(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Workbook:
    """The parsed package, or UnreadableFile saying why not."""
    zf = open_package(path, limits)
    try:
        return read_xlsx(zf, limits)
    except XlsxError as e:
        raise UnreadableFile(path, str(e)) from None
    finally:
        zf.close()


def read_return(path: str | Path, forms: Mapping[str, Form] | None = None, limits: Limits = DEFAULT_LIMITS) -> Return:
    """Read one returned workbook: inputs, recomputed totals, texts, and reading/tamper problems."""
    return interpret(read_workbook(path, limits), str(path), forms)
