"""Many reports rendered in worker processes: in order, a bounded number in flight, problems left behind.

Each worker compiles the template once (toolkit.reports.renderers) and renders its chunks from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path

from toolkit.core.batch import Progress, chunks, ordered_map
from toolkit.reports.render import render_document_xml, render_report
from toolkit.returns.model import Return

CHUNK = 8  # reports per task

_PARTS: dict[str, Callable[[Return, str | None], bytes]] = {"package": render_report, "document": render_document_xml}


def _render_chunk(rets: list[Return], template_path: str | None, part: str = "package") -> list[bytes]:
    render = _PARTS[part]
    return [render(r, template_path) for r in rets]


def _render(
    rets: list[Return], executor: Executor | None, template_path: str | Path | None, progress: Progress | None, part: str
) -> Iterator[bytes]:
    if not rets:
        return
    slim = [dataclasses.replace(r, problems=[]) for r in rets]  # a report needs no problems: less to send
    path = str(template_path) if template_path else None
    tasks = [(chunk, path, part) for chunk in chunks(slim, CHUNK)]
    for docs in ordered_map(executor, _render_chunk, tasks):
        yield from docs
        if progress:
            progress(len(docs))


def render_all(
    rets: list[Return],
    executor: Executor | None = None,
    template_path: str | Path | None = None,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """Rendered reports (.docx bytes) in order, a bounded number in flight."""
    return _render(rets, executor, template_path, progress, "package")


def render_documents(
    rets: list[Return],
    executor: Executor | None = None,
    template_path: str | Path | None = None,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """Only each report's word/document.xml, in order: what a combined document takes from a report
    (its styles, numbering and footers come from one whole package, render_report of the first)."""
    return _render(rets, executor, template_path, progress, "document")
