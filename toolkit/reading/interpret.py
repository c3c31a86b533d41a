"""Read a returned workbook back into a Return: recognise the form, read every input, recompute
every total, and note what was tampered with. Bad filled-in data becomes Problems, never exceptions;
only an unreadable file raises (UnreadableFile). Text arrives clean from toolkit.reading.ooxml.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from xlsxwriter.utility import xl_rowcol_to_cell

from toolkit.core.digits import chinese_date, date_of, year_of
from toolkit.forms.formulas import formula_key, formulas_of
from toolkit.forms.layout import INFO_SHEET, META_PREFIX, META_SHEET, Layout, layout_of
from toolkit.forms.spec import DATE_FIELD, Form, builtin_forms
from toolkit.reading.guards import DEFAULT_LIMITS, Limits, UnreadableFile, open_package
from toolkit.reading.ooxml import VISIBLE, RawCell, Workbook, XlsxError, read_xlsx
from toolkit.reading.values import Reading, date_of_serial, read_number, stored_number
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


def _label_mismatches(book: Workbook, layout: Layout) -> list[tuple[str, int, int, str, str]]:
    out = []
    for sl in layout.sheets:
        sheet = book.sheets.get(sl.name)
        for s in sl.statics:
            found = sheet.text(s.row, s.col).strip() if sheet else None
            if s.text and found != s.text.strip():
                out.append((sl.name, s.row, s.col, s.text, found or ""))
    return out


def _label_score(book: Workbook, form: Form) -> float:
    layout = layout_of(form)
    total = sum(1 for sl in layout.sheets for s in sl.statics if s.text)
    return 1 - len(_label_mismatches(book, layout)) / max(total, 1)


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
        for sheet, row, col, expected, found in _label_mismatches(self.book, self.layout):
            if sheet not in reported:  # the first shifted label says it; the rest would repeat it
                reported.add(sheet)
                cell = xl_rowcol_to_cell(row, col)
                self.add(problem("label_changed", sheet=sheet, cell=cell, expected=expected, value=found))

    def fields(self) -> None:
        info = self.book.sheets[INFO_SHEET]
        for f in self.form.fields:
            pos = self.layout.fields[f.id]
            self.ret.fields[f.id] = _field_text(f.id, info.get(pos.row, pos.col), self.book.date1904)

    def inputs(self) -> dict[str, int | Decimal]:
        inputs: dict[str, int | Decimal] = {}
        for cell in self.form.input_cells:
            pos = self.layout.cells[cell.id]
            raw = self.book.sheets[pos.sheet].get(pos.row, pos.col)
            reading = read_number(raw, cell.kind)
            inputs[cell.id] = reading.value if reading.value is not None else 0
            if reading.code == "text_number":
                self.text_numbers.add(cell.id)
            self.substitute(cell.id, raw, reading, inputs[cell.id])
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
        formulas = formulas_of(self.form)
        if self.text_numbers:  # a cached total is stale only if it differs from what the workbook itself computes
            values = self.form.compute({k: 0 if k in self.text_numbers else v for k, v in inputs.items()})
        for eq in self.form.equations:
            pos, cell = self.layout.cells[eq.target], self.form.cells[eq.target]
            raw = self.book.sheets[pos.sheet].get(pos.row, pos.col)
            expected = formulas.totals[eq.target]
            where = {"sheet": pos.sheet, "cell": pos.a1, "cell_id": cell.id, "labels": cell.label}
            if raw.formula is None:
                self.add(problem("total_overwritten", value=raw.value or "（空）", expected=expected, **where))
            elif formula_key(raw.formula) != formula_key(expected):
                self.add(problem("formula_changed", value=raw.formula, expected=expected, **where))
            elif raw.type == "n" and stored_number(raw.value) != values[eq.target]:  # None for garbage: stale
                self.add(problem("stale_total", value=raw.value, computed=values[eq.target], **where))
        for rule in self.form.rules:
            pos = self.layout.rules[rule.id]
            raw = self.book.sheets[pos.sheet].get(pos.row, pos.col)
            if raw.formula is None or formula_key(raw.formula) != formula_key(formulas.checks[rule.id]):
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
