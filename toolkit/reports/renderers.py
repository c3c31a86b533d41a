"""Which renderer a template gets: the compiled one once its first report came out equal to docxtpl's,
docxtpl itself when the compiled one cannot reproduce the template or did not come out equal.

The check costs one docxtpl render per template per process; a template the checks refuse never
gives a report that differs from what docxtpl would have made. The toolkit's own templates (shipped,
or built from a form's spec) skip it: tests/test_report_renderer.py makes the same comparison.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections import OrderedDict

from toolkit.reports.compiled import DOCUMENT, CompiledReport, Unsupported
from toolkit.reports.docxtpl_path import render_docxtpl


class DocxtplReport:
    """The fallback: docxtpl renders every report of the template."""

    def __init__(self, data: bytes, where: object):
        self.data, self.where = data, where

    def render(self, context: dict) -> bytes:
        return render_docxtpl(self.data, context, self.where)

    def document_xml(self, context: dict) -> bytes:
        with zipfile.ZipFile(io.BytesIO(self.render(context))) as zf:
            return zf.read(DOCUMENT)


def same_parts(a: bytes, b: bytes) -> bool:
    """Two packages with the same members in the same order, each member's bytes equal."""
    with zipfile.ZipFile(io.BytesIO(a)) as za, zipfile.ZipFile(io.BytesIO(b)) as zb:
        if za.namelist() != zb.namelist():
            return False
        return all(za.read(name) == zb.read(name) for name in za.namelist())


class _Checked:
    """The compiled renderer, checked against docxtpl on its first report."""

    def __init__(self, compiled: CompiledReport, data: bytes, checked: bool = False):
        self.compiled, self.data, self.checked = compiled, data, checked

    def render(self, context: dict) -> bytes:
        if self.checked:
            return self.compiled.render(context)
        reference = render_docxtpl(self.data, context, self.compiled.where)
        ours = self.compiled.render(context)
        if not same_parts(ours, reference):
            _replace(self.data, DocxtplReport(self.data, self.compiled.where))
            return reference
        self.checked = True
        return ours

    def document_xml(self, context: dict) -> bytes:
        if not self.checked:
            with zipfile.ZipFile(io.BytesIO(self.render(context))) as zf:
                return zf.read(DOCUMENT)
        return self.compiled.document_xml(context)


_RENDERERS: OrderedDict[bytes, _Checked | DocxtplReport] = OrderedDict()
_LOCK = threading.Lock()


def _replace(data: bytes, renderer: _Checked | DocxtplReport) -> None:
    with _LOCK:
        _RENDERERS[data] = renderer
        while len(_RENDERERS) > 8:
            _RENDERERS.popitem(last=False)


def renderer_for(data: bytes, where: object, ours: bool = False) -> _Checked | DocxtplReport:
    """The renderer of the template `data` (a .docx), made once per process; `ours`: one of the
    toolkit's own templates, not a user's."""
    with _LOCK:
        found = _RENDERERS.get(data)
    if found is not None:
        return found
    try:
        made: _Checked | DocxtplReport = _Checked(CompiledReport(data, where), data, checked=ours)
    except Unsupported:
        made = DocxtplReport(data, where)
    _replace(data, made)
    return made
