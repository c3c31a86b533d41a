"""Many reports rendered in worker processes: in order, a bounded number in flight, problems left behind.

Each worker compiles the template once (toolkit.reports.renderers) and renders its chunks from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path

from toolkit.core.batch import Progress, chunks, ordered_map
from toolkit.reports.render import render_report
from toolkit.returns.model import Return

CHUNK = 8  # reports per task


def for_report(ret: Return) -> Return:
    """What a worker needs to render a return's report: no problems (less to send to it)."""
    return dataclasses.replace(ret, problems=[])


def _render_chunk(rets: list[Return], template_path: str | None) -> list[bytes]:
    return [render_report(r, template_path) for r in rets]


def render_all(
    rets: list[Return],
    executor: Executor | None = None,
    template_path: str | Path | None = None,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """Rendered reports (.docx bytes) in order, a bounded number in flight."""
    if not rets:
        return
    slim = [for_report(r) for r in rets]
    path = str(template_path) if template_path else None
    for docs in ordered_map(executor, _render_chunk, [(chunk, path) for chunk in chunks(slim, CHUNK)]):
        yield from docs
        if progress:
            progress(len(docs))
