"""Merge many returns into one collection: every input's fate, the region's totals, cross-year checks.

Nothing is lost: each input file ends up in exactly one entry (accepted, rejected, duplicate,
unreadable, wrong form or wrong year), and agencies on the list that sent nothing are entries too.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from .batch import CHUNK, chunks, ordered_map
from .check import check_or_refuse
from .fileio import find_workbooks
from .model import ERROR, WARNING, Problem, Return
from .problems import format_number, problem
from .spec import Form, Rule, default_form, known_forms

FATES = {
    "accepted": "通过",
    "rejected": "未通过",
    "duplicate": "重复报送",
    "unreadable": "无法读取",
    "wrong_form": "表式不符",
    "wrong_year": "年度不符",
    "missing": "未报送",
}
DEFAULT_NAME = "汇总"

Progress = Callable[[int], object]


@dataclass
class Entry:
    """One input file (or one listed agency that sent nothing) and what the merge did with it."""

    path: str
    ret: Return
    fate: str
    notes: list[Problem] = field(default_factory=list)  # duplicate, wrong form/year, not returned
    cross_year: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [*self.notes, *self.ret.problems, *self.cross_year]

    @property
    def errors(self) -> int:
        return sum(p.severity == ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == WARNING for p in self.problems)

    @property
    def fate_label(self) -> str:
        return FATES[self.fate]


@dataclass
class Previous:
    """Last year's collection as far as cross-year rules need it."""

    path: str
    form_id: str
    year: int | None
    values: dict[str, dict[str, int | Decimal]]  # agency -> cell id -> value


@dataclass
class Collection:
    form: Form
    name: str
    year: int | None
    entries: list[Entry]  # one per input file in input order, then agencies not returned
    returns: list[Return]  # what the totals are made of, in report order
    totals: dict[str, int | Decimal]
    notes: list[str] = field(default_factory=list)  # merge-level remarks for the console
    previous: Previous | None = None
    include_invalid: bool = False

    def title(self, suffix: str) -> str:
        """The form's report title for the whole region, e.g. 原州区2024年政府信息公开工作年度报告汇编."""
        return self.form.report_title(self.name, self.year or "") + suffix

    def counts(self) -> dict[str, int]:
        c = Counter(e.fate for e in self.entries)
        return {fate: c.get(fate, 0) for fate in FATES}

    @property
    def clean(self) -> bool:
        """Every input accepted with no cross-year error and nobody missing."""
        return all(e.fate == "accepted" and not any(p.severity == ERROR for p in e.cross_year) for e in self.entries)

    def summary_return(self) -> Return:
        """The region as if it were one agency: what summary.docx is rendered from."""
        texts = {s.id: f"本部分为{self.name}汇总报告，具体内容见各机关年度报告。" for s in self.form.text_sections}
        first = self.form.text_sections[0].id if self.form.text_sections else ""
        if first:
            texts[first] = (
                f"本报告汇总了{self.name}{len(self.returns)}个机关报送的{self.year or ''}年度政府信息公开工作年度报告数据。"
            )
        fields = {"agency": self.name, "year": str(self.year or "")}
        return Return(
            path="", form=self.form, agency=self.name, year=self.year, fields=fields, values=dict(self.totals), texts=texts
        )


# ---------------------------------------------------------------- checking in parallel


def _check_chunk(paths: list[str], forms: dict[str, Form]) -> list[Return]:
    """Worker: check a chunk of files (a Form travels as its YAML, parsed once per worker)."""
    return [check_or_refuse(path, forms) for path in paths]


def _share_keys(ret: Return) -> Return:
    """Key the values with the form's own id strings: 10,000 unpickled returns need not hold 2M copies."""
    if ret.form is not None:
        ret.values = {cid: ret.values[cid] for cid in ret.form.cells if cid in ret.values}
    return ret


def check_all(paths: list[Path], form: Form, executor: Executor | None = None, progress: Progress | None = None) -> list[Return]:
    """check_or_refuse for every path, in input order, in the executor's workers."""
    forms = known_forms((form,))
    out: list[Return] = []
    for results in ordered_map(executor, _check_chunk, [([str(p) for p in chunk], forms) for chunk in chunks(paths, CHUNK)]):
        out += map(_share_keys, results)
        if progress:
            progress(len(results))
    return out


# ---------------------------------------------------------------- fates


def _initial_fate(ret: Return, form: Form) -> tuple[str, list[Problem]]:
    if ret.status == "unreadable":
        return "unreadable", []
    if ret.metadata.get("kind") == "collection":  # an earlier merge's output lying among the returns
        return "wrong_form", [problem("collection_input")]
    found = ret.form_id
    if found and found != form.id:
        version = ret.form_version
        return "wrong_form", [problem("wrong_form", found=f"{found}（版本 {version}）", expected=form.id)]
    return ret.status, []


def _collection_year(rets: Iterable[Return], year: int | None) -> int | None:
    """The year asked for, else the commonest year among the usable returns (the latest on a tie)."""
    if year is not None:
        return year
    counts = Counter(r.year for r in rets if r.year is not None)
    if not counts:
        return None
    return max(counts, key=lambda y: (counts[y], y))


def _stamp(ret: Return) -> tuple:
    """Which of two returns of one agency is newer: template time, then file time, then path."""
    text = ret.metadata.get("generated_at", "")
    try:
        when = datetime.fromisoformat(text).timestamp()
    except ValueError:
        when = 0.0
    try:
        mtime = os.stat(ret.path).st_mtime
    except OSError:
        mtime = 0.0
    return (when, mtime, ret.path)


def _mark_duplicates(entries: list[Entry]) -> None:
    groups: dict[tuple, list[Entry]] = {}
    for e in entries:
        if e.fate in ("accepted", "rejected") and e.ret.form is not None:
            key = (e.ret.agency.strip() or e.path, e.ret.year)
            groups.setdefault(key, []).append(e)
    for group in groups.values():
        if len(group) < 2:
            continue
        newest = max(group, key=lambda e: _stamp(e.ret))
        for e in group:
            if e is not newest:
                e.fate = "duplicate"
                e.notes.append(problem("duplicate", other=newest.path))


def classify(rets: list[Return], form: Form, year: int | None = None) -> tuple[list[Entry], int | None]:
    """Each return's fate; the year the collection is for."""
    entries = []
    for ret in rets:
        fate, notes = _initial_fate(ret, form)
        entries.append(Entry(ret.path, ret, fate, notes))
    usable = [e.ret for e in entries if e.fate in ("accepted", "rejected") and e.ret.form is not None]
    year = _collection_year(usable, year)
    for e in entries:
        if e.fate in ("accepted", "rejected") and e.ret.year is not None and year is not None and e.ret.year != year:
            e.fate = "wrong_year"
            e.notes.append(problem("wrong_year", found=e.ret.year, expected=year))
    _mark_duplicates(entries)
    return entries, year


def _missing(entries: list[Entry], agencies: Sequence[str]) -> list[Entry]:
    sent = {e.ret.agency.strip() for e in entries if e.fate in ("accepted", "rejected", "duplicate")}
    return [
        Entry("", Return(path="", form=None, agency=name), "missing", [problem("not_returned", agency=name)])
        for name in agencies
        if name.strip() not in sent
    ]


def order_returns(rets: list[Return], agency_order: Sequence[str] | None = None) -> list[Return]:
    """Agency-list order when given (others after it), else by agency name; path breaks ties."""
    rank = {name.strip(): i for i, name in enumerate(agency_order or [])}
    big = len(rank)
    return sorted(rets, key=lambda r: (rank.get(r.agency.strip(), big), r.agency, r.path))


# ---------------------------------------------------------------- totals and cross-year


def sum_inputs(form: Form, rets: Iterable[Return]) -> dict[str, int | Decimal]:
    """Sum every input cell over the returns, then recompute the totals from the sums."""
    sums: dict[str, int | Decimal] = {c.id: 0 for c in form.input_cells}
    for r in rets:
        for cid in sums:
            sums[cid] += r.values.get(cid, 0)
    return form.compute(sums)


class _WithPrevious(Mapping):
    """This year's values plus last year's under `prev.`, without copying either."""

    def __init__(self, now: Mapping, prev: Mapping):
        self.now, self.prev = now, prev

    def __getitem__(self, key: str):
        return self.prev[key[5:]] if key.startswith("prev.") else self.now[key]

    def __iter__(self):
        yield from self.now
        yield from (f"prev.{k}" for k in self.prev)

    def __len__(self) -> int:
        return len(self.now) + len(self.prev)


def cross_year_problems(form: Form, ret: Return, prev: Mapping[str, int | Decimal]) -> list[Problem]:
    """Problems of the form's cross-year rules for one agency; instances last year cannot answer are skipped."""
    from .layout import layout_of

    values, out = _WithPrevious(ret.values, prev), []
    for rule in form.cross_year:
        for inst in rule.instances:
            comp = inst.comparison
            if not all((r[5:] in prev) if r.startswith("prev.") else (r in values.now) for r in comp.refs):
                continue
            if comp.holds(values):
                continue
            out.append(_cross_year_problem(form, rule, inst, values, layout_of(form)))
    return out


def _cross_year_problem(form: Form, rule: Rule, inst, values: Mapping, layout) -> Problem:
    first = next(r for r in inst.comparison.refs if not r.startswith("prev."))
    pos, cell = layout.cells[first], form.cells[first]
    left, right = inst.comparison.left.evaluate(values), inst.comparison.right.evaluate(values)
    detail = f"{inst.label or cell.label}：本年为 {format_number(left)}，按上年数据应为 {format_number(right)}"
    code = "cross_year_warning" if rule.severity == WARNING else "cross_year_failed"
    return problem(code, sheet=pos.sheet, cell=pos.a1, cell_id=first, labels=cell.label, message=rule.message, detail=detail)


def _apply_previous(entries: list[Entry], form: Form, previous: Previous, year: int | None) -> list[str]:
    notes = []
    if previous.form_id and previous.form_id != form.id:
        notes.append(f"上年汇总的表式为 {previous.form_id}，与本年 {form.id} 不同：只核对两种表式共有的单元格")
    if previous.year is not None and year is not None and previous.year != year - 1:
        notes.append(f"上年汇总的年度为 {previous.year}，不是 {year - 1}：请确认 --previous 指定的文件")
    found = 0
    for e in entries:
        prev = previous.values.get(e.ret.agency.strip())
        if e.fate in ("accepted", "rejected") and prev is not None and e.ret.values:
            found += 1
            e.cross_year = cross_year_problems(form, e.ret, prev)
    notes.append(f"跨年度核对：{found} 个机关在上年汇总中找到对应数据")
    return notes


# ---------------------------------------------------------------- the API


def _included(entries: list[Entry], include_invalid: bool) -> list[Return]:
    fates = ("accepted", "rejected") if include_invalid else ("accepted",)
    return [e.ret for e in entries if e.fate in fates and e.ret.form is not None and e.ret.values]


def merge_returns(
    paths: Sequence[str | Path],
    form: Form | None = None,
    name: str | None = None,
    previous: str | Path | Previous | None = None,
    include_invalid: bool = False,
    executor: Executor | None = None,
    agency_order: Sequence[str] | None = None,
    year: int | None = None,
    progress: Progress | None = None,
) -> Collection:
    """Check every return under `paths` and merge them; never raises for a bad return.

    `previous` is last year's collection.xlsx (or a Previous already read); `executor` any
    concurrent.futures.Executor (a process pool, a Dask client's executor) or None for in-process.
    """
    form = form or default_form()
    files = find_workbooks(list(paths))
    prev = _load_previous(previous)
    rets = check_all(files, form, executor, progress)
    entries, year = classify(rets, form, year)
    entries += _missing(entries, agency_order or [])
    notes = _apply_previous(entries, form, prev, year) if prev else []
    included = order_returns(_included(entries, include_invalid), agency_order)
    totals = sum_inputs(form, included)
    return Collection(form, name or DEFAULT_NAME, year, entries, included, totals, notes, prev, include_invalid)


def _load_previous(previous: str | Path | Previous | None) -> Previous | None:
    if previous is None or isinstance(previous, Previous):
        return previous
    from .collection_xlsx import read_collection

    return read_collection(previous)


def exit_code(collection: Collection) -> int:
    """0 when every input was accepted (and nobody missing), 1 otherwise."""
    return 0 if collection.clean else 1


def write_outputs(
    c: Collection,
    out_dir: str | Path,
    executor: Executor | None = None,
    template_path: str | Path | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """collection.xlsx, collection.docx (when anything was accepted) and summary.docx in out_dir."""
    from .collection_docx import write_collection_docx, write_summary_docx
    from .collection_xlsx import write_collection

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    outputs = [write_collection(c, out / "collection.xlsx")]
    docx = write_collection_docx(c, out / "collection.docx", executor, template_path, progress)
    if docx is not None:
        outputs.append(docx)
    else:  # nothing accepted: an earlier run's collection.docx must not pass for this one's
        (out / "collection.docx").unlink(missing_ok=True)
    outputs.append(write_summary_docx(c, out / "summary.docx", template_path))
    return outputs
