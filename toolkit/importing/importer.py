"""One published report in, one return out: the form recognised, every figure traced, totals compared.

The form is the one whose tables the report's tables fit best (the year alone cannot say it: a
2021 report printed on the 2019 tables exists). The totals printed are never imported: the return
holds the inputs and the form computes its totals, and each printed total that differs from the
computed one is a problem naming both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from toolkit.checking.check import refusal
from toolkit.checking.rules import rule_problems
from toolkit.forms.spec import DATE_FIELD, IDENTITY_FIELDS, Form, builtin_forms
from toolkit.importing.document import Document, Grid
from toolkit.importing.labels import closeness
from toolkit.importing.model import IMPORTED, Figure, Imported
from toolkit.importing.recognise import title_of
from toolkit.importing.sections import find_sections, is_heading
from toolkit.importing.sources import NotAReport, Source, load, read_document
from toolkit.importing.tables import Reading, read_tables
from toolkit.returns.model import ERROR, Problem, Return
from toolkit.returns.problems import format_number, limit_problems, problem

FIRST_YEAR = 2019  # the first year of the formats this tool knows (国办公开办函〔2019〕60号)
OLD_HEADERS = ("指标名称", "计量单位")  # the pre-2019 statistics table


@dataclass(frozen=True)
class Options:
    form: Form | None = None  # --form: this form only, not recognised
    year: int | None = None  # --year, over the title's
    agency: str | None = None  # --agency, over the title's


def _refused(
    source_path: str,
    code: str,
    kind: str = "",
    name: str = "",
    sha: str = "",
    agency: str = "",
    year: int | None = None,
    **params,
) -> Imported:
    """A report not imported, with the one problem saying why (and who and when it is for, when the title says)."""
    ret = Return(path=source_path, form=None, agency=agency, year=year, problems=[problem(code, **params)])
    return Imported(ret, kind, name or Path(source_path).name, sha)


def _grids(doc: Document) -> list[Grid]:
    return [b for b in doc.blocks if isinstance(b, Grid)]


def _old_format(doc: Document) -> bool:
    for grid in _grids(doc):
        texts = {t for row in grid.rows[:3] for t in (c.text for c in row)}
        if all(any(closeness(t, h) == 0 for t in texts) for h in OLD_HEADERS):
            return True
    return False


def _best_reading(forms: list[Form], grids: list[Grid]) -> Reading | None:
    """The form that reads the most figures with the fewest errors (the first of equals)."""
    readings = [read_tables(f, grids) for f in forms]
    best = max(readings, key=lambda r: (len(r.figures), -sum(p.severity == ERROR for p in r.problems)), default=None)
    return best if best and best.figures else None


def _missing(reading: Reading) -> list[Problem]:
    """A problem per table not found, and per row of a found table with inputs not printed."""
    out = []
    form = reading.form
    for table in form.tables:
        if table.id not in reading.seen_tables:
            out.append(problem("import_table_missing", title=table.caption or table.id, labels=table.caption))
            continue
        for row in table.rows:
            inputs = [c for c in table.columns if not form.cells[f"{table.id}.{row.id}.{c.id}"].computed]
            lost = [c for c in inputs if f"{table.id}.{row.id}.{c.id}" not in reading.figures]
            if lost:
                columns = "、".join(c.label for c in lost) if len(lost) < len(inputs) else "整行"
                labels = " / ".join(x for x in (*row.path[-1:], row.label) if x) or table.caption or table.id
                out.append(problem("import_missing", labels=labels, columns=columns, cell_id=f"{table.id}.{row.id}.{lost[0].id}"))
    return out


def _totals(form: Form, figures: Mapping[str, Figure], values: Mapping) -> list[Problem]:
    """Each printed total against the total computed from the printed inputs."""
    out = []
    for cell_id, fig in figures.items():
        if fig.total and values[cell_id] != fig.value:
            out.append(
                problem(
                    "import_total_mismatch",
                    sheet=f"第{fig.table}个表格第{fig.row}行第{fig.column}列",
                    cell_id=cell_id,
                    labels=form.cells[cell_id].label,
                    value=format_number(fig.value),
                    expected=format_number(values[cell_id]),
                )
            )
    return out


TITLE_BLOCKS = 200  # paragraphs, from the top, where a title not marked as one may be


def _identity(doc: Document, options: Options) -> tuple[str, int | None, str]:
    """Who and when: the options, else the title (the source's own titles first, then its first short paragraphs)."""
    paragraphs = [b for b in doc.blocks[:TITLE_BLOCKS] if isinstance(b, str) and len(b) <= 100]
    agency, year, title = title_of([*doc.titles, *paragraphs])
    return (options.agency or agency), (options.year or year), title


def import_source(source: Source, options: Options = Options(), forms: Mapping[str, Form] | None = None) -> Imported:
    candidates = [options.form] if options.form else list((forms or builtin_forms()).values())
    doc = read_document(source, lambda text: any(is_heading(f, text) for f in candidates))
    agency, year, title = _identity(doc, options)
    refuse = {"kind": doc.kind, "name": source.name, "sha": source.sha256, "agency": agency, "year": year}
    if (year is not None and year < FIRST_YEAR) or _old_format(doc):
        detail = f"{year}年度" if year is not None and year < FIRST_YEAR else "统计表为“指标名称、计量单位”的旧格式"
        return _refused(source.path, "import_old_format", detail=detail, **refuse)
    reading = _best_reading(candidates, _grids(doc))
    if reading is None:
        tables = "、".join(dict.fromkeys(s.title for f in candidates for s in f.sections if s.tables))
        return _refused(source.path, "import_refused", reason=f"没有找到年度报告的统计表格（{tables}）", **refuse)
    if year is None or not agency:
        what = "年度" if year is None else "机关名称"
        option = "--year" if year is None else "--agency"
        reason = f"无法从标题（{title or '未找到标题'}）中读出{what}，请用 {option} 指定"
        return _refused(source.path, "import_refused", reason=reason, **refuse)
    return _build(source, doc, reading, agency, year)


def _build(source: Source, doc: Document, reading: Reading, agency: str, year: int) -> Imported:
    form = reading.form
    inputs = {c.id: reading.figures[c.id].value if c.id in reading.figures else 0 for c in form.input_cells}
    values = form.compute(inputs)
    found = find_sections(form, doc.blocks, agency)
    problems = [*reading.problems, *_missing(reading), *_totals(form, reading.figures, values)]
    problems += _section_problems(form, found)
    problems += rule_problems(form, values)
    meta = {
        "form_id": form.id,
        "form_version": form.version,
        "fingerprint": form.fingerprint,
        "agency": agency,
        "year": str(year),
        "source": IMPORTED,
        "source_file": source.name,
        "source_sha256": source.sha256,
        "source_kind": doc.kind,
    }
    fields = {f.id: "" for f in form.fields} | dict(zip(IDENTITY_FIELDS, (agency, str(year)), strict=True))
    if found.date and DATE_FIELD in fields:
        fields[DATE_FIELD] = found.date
    ret = Return(
        path=source.path,
        form=form,
        agency=agency,
        year=year,
        fields=fields,
        values=values,
        texts=found.texts,
        metadata=meta,
        problems=limit_problems(problems),
    )
    figures = sorted(reading.figures.values(), key=lambda f: (f.table, f.row, f.column))
    return Imported(ret, doc.kind, source.name, source.sha256, figures, len(form.cells))


def _section_problems(form: Form, found) -> list[Problem]:
    out = []
    for section in form.sections:
        printed = found.headings.get(section.id)
        if printed is None:
            if section.text:
                out.append(problem("import_text_missing", title=section.title))
        elif closeness(printed, section.title) != 0:
            out.append(problem("import_fuzzy_label", sheet="标题", value=printed, expected=section.title))
    return out


def import_report(path: str | Path, options: Options = Options(), forms: Mapping[str, Form] | None = None) -> Imported:
    """Import one published report; a file that is no readable report is an Imported holding that one problem."""
    try:
        source = load(path)
        return import_source(source, options, forms)
    except NotAReport as e:
        return _refused(str(path), "unreadable", reason=e.reason)
    except Exception as e:  # a bug of ours stops this file only; the batch goes on (exit 3 at the end)
        return Imported(refusal(path, e), "", Path(path).name, "")
