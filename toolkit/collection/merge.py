"""Merge many returns into one collection: every input's fate, the region's totals, cross-year checks.

Nothing is lost: each input file ends up in exactly one entry (accepted, rejected, duplicate,
unreadable, wrong form or wrong year), and agencies on the list that sent nothing are entries too.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from contextlib import suppress
from datetime import datetime
from pathlib import Path

from toolkit.checking.check import check_or_refuse
from toolkit.checking.rules import cross_year_problems
from toolkit.collection.cache import RETURNS, Cache, forms_stamp, key_of, sha256_file
from toolkit.collection.codec import Unstorable, return_data, stored_return
from toolkit.collection.model import DEFAULT_NAME, Collection, CompactValues, Entry, Previous, sum_inputs
from toolkit.core.agencies import Agency
from toolkit.core.batch import CHUNK, Progress, chunks, ordered_map, pool_for
from toolkit.core.fileio import find_workbooks
from toolkit.forms.spec import Form, default_form, known_forms
from toolkit.reading.interpret import COLLECTION, kind_of
from toolkit.returns.model import Problem, Return
from toolkit.returns.problems import problem

# ---------------------------------------------------------------- checking in parallel


def _slim(ret: Return) -> Return:
    """What a merge keeps of a checked return: no substitutions (the checker's business, done with), and
    its values compacted once in this process (10,000 returns need not hold 10,000 dicts of 250 entries)."""
    ret.substitutions = {}
    if ret.form is not None and not isinstance(ret.values, CompactValues):
        ret.values = CompactValues(ret.form, ret.values)
    return ret


def _checked(path: str, forms: dict[str, Form], store: Cache | None, known: tuple[str, str] | None) -> Return:
    """check_or_refuse, and the result stored under `known` (sha256, key) when the file still has that sha256."""
    ret = check_or_refuse(path, forms)
    ret.substitutions = {}  # not sent back: the merge does not need them
    if store is not None and known is not None and not ret.failed and sha256_file(path) == known[0]:
        with suppress(Unstorable):  # a value JSON cannot keep exactly: this one is simply not kept
            store.put_json(RETURNS, known[1], return_data(ret))
    return ret


def _check_chunk(paths: list[str], forms: dict[str, Form], folder: str | None = None, known: list | None = None) -> list[Return]:
    """Worker: check a chunk of files (a Form travels as its YAML, parsed once per worker)."""
    store = Cache(folder) if folder else None
    return [_checked(path, forms, store, k) for path, k in zip(paths, known or [None] * len(paths), strict=True)]


def _lookup(paths: list[str], forms: dict[str, Form], cache: Cache) -> tuple[dict[int, Return], list[tuple[str, str] | None]]:
    """The returns the cache already holds (by index), and each file's (sha256, key) for storing it."""
    stamp = forms_stamp(forms.values())
    found: dict[int, Return] = {}
    known: list[tuple[str, str] | None] = []
    for i, path in enumerate(paths):
        digest = sha256_file(path)
        key = key_of(RETURNS, path, digest, stamp) if digest else ""
        known.append((digest, key) if digest else None)
        ret = stored_return(cache.get_json(RETURNS, key), forms) if key else None
        if ret is not None:
            found[i] = _slim(ret)
    return found, known


def check_all(
    paths: list[Path], form: Form, executor: Executor | None = None, progress: Progress | None = None, cache: Cache | None = None
) -> list[Return]:
    """check_or_refuse for every path, in input order, in the executor's workers; what `cache` holds is not checked again."""
    forms = known_forms((form,))
    names = [str(p) for p in paths]
    found, known = _lookup(names, forms, cache) if cache is not None else ({}, [None] * len(names))
    if progress and found:
        progress(len(found))
    todo = [i for i in range(len(names)) if i not in found]
    folder = str(cache.folder) if cache is not None else None
    tasks = [([names[i] for i in part], forms, folder, [known[i] for i in part]) for part in chunks(todo, CHUNK)]
    checked = iter(todo)
    for results in ordered_map(pool_for(executor, len(todo)), _check_chunk, tasks):
        for ret in results:
            found[next(checked)] = _slim(ret)
        if progress:
            progress(len(results))
    return [found[i] for i in range(len(names))]


# ---------------------------------------------------------------- fates


def _initial_fate(ret: Return, form: Form) -> tuple[str, list[Problem]]:
    if ret.status == "unreadable":
        return "unreadable", []
    if kind_of(ret.metadata) == COLLECTION:  # an earlier merge's output lying among the returns (the reader said so)
        return "wrong_form", []
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


def duplicates(rets: Iterable[Return]) -> list[tuple[Return, list[Return]]]:
    """Two or more returns of one agency for one year: (the newest, which counts; the others). Shared with `check`."""
    groups: dict[tuple, list[Return]] = {}
    for r in rets:
        groups.setdefault((r.agency.strip() or r.path, r.year), []).append(r)
    found = []
    for group in groups.values():
        if len(group) > 1:
            newest = max(group, key=_stamp)
            found.append((newest, [r for r in group if r is not newest]))
    return found


def _mark_duplicates(entries: list[Entry]) -> None:
    usable = {id(e.ret): e for e in entries if e.fate in ("accepted", "rejected") and e.ret.form is not None}
    for newest, others in duplicates(e.ret for e in usable.values()):
        for r in others:
            usable[id(r)].fate = "duplicate"
            usable[id(r)].notes.append(problem("duplicate", other=newest.path))


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


def not_returned(agencies: Sequence[str], rets: Iterable[Return]) -> list[str]:
    """The listed agencies none of the returns is from, in list order. Shared with `check --agencies`."""
    sent = {r.agency.strip() for r in rets}
    return [name for name in agencies if name.strip() not in sent]


def _missing(entries: list[Entry], agencies: Sequence[str]) -> list[Entry]:
    sent = [e.ret for e in entries if e.fate in ("accepted", "rejected", "duplicate")]
    return [
        Entry("", Return(path="", form=None, agency=name), "missing", [problem("not_returned", agency=name)])
        for name in not_returned(agencies, sent)
    ]


def order_returns(rets: list[Return], agency_order: Sequence[str] | None = None) -> list[Return]:
    """Agency-list order when given (others after it), else by agency name; path breaks ties."""
    rank = {name.strip(): i for i, name in enumerate(agency_order or [])}
    big = len(rank)
    return sorted(rets, key=lambda r: (rank.get(r.agency.strip(), big), r.agency, r.path))


# ---------------------------------------------------------------- totals and cross-year


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
            e.cross_year = cross_year_problems(form, e.ret.values, prev)
    notes.append(f"跨年度核对：{found} 个机关在上年汇总中找到对应数据")
    return notes


# ---------------------------------------------------------------- the API


def _included(entries: list[Entry], include_invalid: bool) -> list[Return]:
    fates = ("accepted", "rejected") if include_invalid else ("accepted",)
    # a return read without figures is left out, unless its form has none (a text-only collection)
    return [e.ret for e in entries if e.fate in fates and e.ret.form is not None and (e.ret.values or not e.ret.form.cells)]


def merge_returns(
    paths: Sequence[str | Path],
    form: Form | None = None,
    name: str | None = None,
    previous: str | Path | Previous | None = None,
    include_invalid: bool = False,
    executor: Executor | None = None,
    agency_order: Sequence[str | Agency] | None = None,
    year: int | None = None,
    progress: Progress | None = None,
    cache: Cache | None = None,
) -> Collection:
    """Check every return under `paths` and merge them; never raises for a bad return.

    `previous` is last year's collection.xlsx (or a Previous already read); `executor` any
    concurrent.futures.Executor (a process pool, a Dask client's executor) or None for in-process.
    `agency_order` is the office's list (names, or Agency with contacts for 催报). `cache` (collection.cache)
    keeps each file's check result for the next run: only new or changed files are checked again.
    """
    form = form or default_form()
    files = find_workbooks(list(paths))
    prev = _load_previous(previous)
    rets = check_all(files, form, executor, progress, cache)
    entries, year = classify(rets, form, year)
    listed = [a if isinstance(a, Agency) else Agency(a) for a in agency_order or []]
    order = [a.name for a in listed]
    entries += _missing(entries, order)
    notes = _apply_previous(entries, form, prev, year) if prev else []
    included = order_returns(_included(entries, include_invalid), order)
    totals = sum_inputs(form, included)
    return Collection(form, name or DEFAULT_NAME, year, entries, included, totals, notes, prev, include_invalid, listed)


def _load_previous(previous: str | Path | Previous | None) -> Previous | None:
    if previous is None or isinstance(previous, Previous):
        return previous
    from toolkit.collection.readback import read_collection  # xlsxwriter's utility: not imported by `check`

    return read_collection(previous)


def exit_code(collection: Collection) -> int:
    """0 when every input was accepted (and nobody missing), 1 otherwise; 3 when a bug of ours stopped a file."""
    if any(e.ret.failed for e in collection.entries):
        return 3
    return 0 if collection.clean else 1
