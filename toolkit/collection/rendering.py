"""The reports of a collection, rendered once: in worker processes, made ready for the combiner there,
and kept in the merge cache, so a re-run renders only the returns whose report would change.

A report's key is what its rendering reads: the return's agency, year, fields, values and texts, the
form's text, the Word template's bytes and the toolkit's code (collection.cache.key_of). A return's
problems, path or cross-year findings are not in a report, so they are not in its key either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path

from toolkit.collection.cache import PACKAGES, REPORTS, Cache, key_of
from toolkit.collection.codec import Unstorable, return_data
from toolkit.collection.combine import Prepared, prepare
from toolkit.core.batch import Progress, chunks, ordered_map, pool_for
from toolkit.forms.spec import Form
from toolkit.reports.batch import CHUNK, for_report
from toolkit.reports.render import render_report, word_template_bytes
from toolkit.returns.model import Return


def template_digest(form: Form, template_path: str | Path | None) -> str:
    return hashlib.sha256(word_template_bytes(form, template_path)).hexdigest()


def report_key(ret: Return, digest: str, stamp: list) -> str | None:
    """The key of the return's rendered report; None when the return holds a value the codec cannot keep."""
    try:
        data = return_data(ret)
    except Unstorable:
        return None
    content = {k: data[k] for k in ("agency", "year", "fields", "values", "texts")}
    return key_of(REPORTS, digest, stamp, content)


def _render_chunk(rets: list[Return], template_path: str | None, folder: str | None, keys: list) -> list[Prepared]:
    """Worker: render and prepare each report, and keep it in the cache."""
    store = Cache(folder) if folder else None
    out = []
    for ret, key in zip(rets, keys, strict=True):
        prepared = prepare(render_report(ret, template_path))
        if store is not None and key:
            store.put_json(REPORTS, key, prepared.to_json())
        out.append(prepared)
    return out


def cached_prepared(cache: Cache | None, key: str | None) -> Prepared | None:
    data = cache.get_json(REPORTS, key) if cache is not None and key else None
    if not isinstance(data, dict):
        return None
    try:
        return Prepared.from_json(data)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None  # not what we store: a miss


def prepared_reports(
    rets: list[Return],
    keys: list[str | None],
    executor: Executor | None = None,
    template_path: str | Path | None = None,
    progress: Progress | None = None,
    cache: Cache | None = None,
) -> Iterator[Prepared | None]:
    """Each return's Prepared report, in order: from the cache when it has it, else rendered in the workers.
    None for an entry that went bad after it was found (the caller renders that one itself)."""
    cached = [cache is not None and key is not None and cache.has(REPORTS, key) for key in keys]
    todo = [i for i, hit in enumerate(cached) if not hit]
    slim = {i: for_report(rets[i]) for i in todo}
    path, folder = (str(template_path) if template_path else None), (str(cache.folder) if cache else None)
    tasks = [([slim[i] for i in part], path, folder, [keys[i] for i in part]) for part in chunks(todo, CHUNK)]
    rendered = (p for chunk in ordered_map(pool_for(executor, len(todo)), _render_chunk, tasks) for p in chunk)
    for i, hit in enumerate(cached):
        yield cached_prepared(cache, keys[i]) if hit else next(rendered)
        if progress:
            progress(1)


def rendered_package(ret: Return, key: str | None, template_path: str | Path | None, cache: Cache | None) -> bytes:
    """One whole rendered report (.docx bytes), from the cache when it has it (and kept there)."""
    data = cache.get(PACKAGES, key) if cache is not None and key else None
    if data is None:
        data = render_report(ret, template_path)
        if cache is not None and key:
            cache.put(PACKAGES, key, data)
    return data
