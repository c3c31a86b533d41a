"""collection.docx (every included agency's report, a contents list first) and summary.docx.

The reports come from collection.rendering (rendered in workers, or kept from an earlier run in the
merge cache) and are streamed into one package by collection.combine, one report in memory at a time.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

from toolkit.collection.cache import Cache, forms_stamp
from toolkit.collection.combine import _Combiner, combine_reports
from toolkit.collection.model import Collection
from toolkit.collection.rendering import prepared_reports, rendered_package, report_key, template_digest
from toolkit.collection.summary import summary_return
from toolkit.core.batch import Progress
from toolkit.core.fileio import atomic_write_bytes
from toolkit.reports.render import render_report

__all__ = ["_Combiner", "combine_reports", "render_report", "write_collection_docx", "write_summary_docx"]


def _keys(rets, form, template_path, cache: Cache | None) -> list[str | None]:
    if cache is None:
        return [None] * len(rets)
    digest, stamp = template_digest(form, template_path), forms_stamp([form])  # once, not per return
    return [report_key(r, digest, stamp) for r in rets]


def write_collection_docx(
    c: Collection,
    path: str | Path,
    executor: Executor | None = None,
    template_path: str | Path | None = None,
    progress: Progress | None = None,
    cache: Cache | None = None,
) -> Path | None:
    """collection.docx of the collection's returns (None when there is none to put in it); with a cache,
    only the reports it does not hold are rendered."""
    if not c.returns:
        return None
    rets = c.returns
    keys = _keys(rets, c.form, template_path, cache)
    base = rendered_package(rets[0], keys[0], template_path, cache)
    reports = prepared_reports(rets, keys, executor, template_path, progress, cache)
    agencies = [r.agency for r in rets]
    return combine_reports(
        reports, agencies, path, c.title("汇编"), base=base, redo=lambda i: render_report(rets[i], template_path)
    )


def write_summary_docx(
    c: Collection,
    path: str | Path,
    template_path: str | Path | None = None,
    texts: dict[str, str] | None = None,
    cache: Cache | None = None,
) -> Path:
    """summary.docx: the region's totals rendered with the agencies' template, titled with the region's name;
    `texts` (section id -> text, from `merge --text`) replace the form's default wording."""
    path = Path(path)
    ret = summary_return(c, texts)
    atomic_write_bytes(path, rendered_package(ret, _keys([ret], c.form, template_path, cache)[0], template_path, cache))
    return path
