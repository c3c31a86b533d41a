"""docxtpl's rendering of a report: the reference the compiled renderer must equal, and its fallback.

docxtpl's XML clean-up and the jinja compilation are memoised per distinct part; the rest is docxtpl's.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from collections import OrderedDict

import jinja2
from docxtpl import DocxTemplate
from lxml import etree

from toolkit.core.errors import UserError
from toolkit.core.text import xml_safe
from toolkit.reports.engine import ENV, PLAIN_ENV, compile_template

_PATCHED: OrderedDict[str, str] = OrderedDict()
_LOCK = threading.Lock()
CORE_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")  # rendered when they hold "{"


def insert_newlines(xml: str) -> str:
    """What docxtpl does before jinja sees a part (a line per paragraph, for error line numbers)."""
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


def finish(xml: str) -> str:
    """What docxtpl does to a part jinja rendered: paragraphs joined again, `{_{` unescaped, listings resolved."""
    xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
    xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    return DocxTemplate.resolve_listing(None, xml)  # type: ignore[arg-type]  # uses no state


def property_text(value: str, context: dict) -> str:
    """A document property holding a template, rendered (python-docx escapes it when it saves)."""
    return xml_safe(compile_template(value, PLAIN_ENV).render(context).replace("\n", ""))


class CachedTemplate(DocxTemplate):
    """docxtpl, with its XML clean-up and jinja compilation memoised per distinct part."""

    def patch_xml(self, src_xml):
        with _LOCK:
            done = _PATCHED.get(src_xml)
        if done is None:
            done = super().patch_xml(src_xml)
            with _LOCK:
                _PATCHED[src_xml] = done
                while len(_PATCHED) > 64:
                    _PATCHED.popitem(last=False)
        return done

    def render_xml_part(self, src_xml, part, context, jinja_env=None):
        self.current_rendering_part = part
        return finish(compile_template(insert_newlines(src_xml)).render(context))

    def render_properties(self, context, jinja_env=None):
        props = self.docx.core_properties
        for name in CORE_PROPERTIES:
            value = getattr(props, name)
            if value and "{" in value:
                setattr(props, name, property_text(value, context))


def opened(data: bytes, where: object) -> CachedTemplate:
    """The template parsed by python-docx; a damaged one is the user's problem to fix, not a crash."""
    doc = CachedTemplate(io.BytesIO(data))
    try:
        doc.init_docx()
    except (etree.XMLSyntaxError, zipfile.BadZipFile, KeyError, ValueError) as e:
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise UserError(f"{where}：报告模板已损坏（{reason}），请在 Word 中打开后重新保存") from None
    return doc


def render_docxtpl(data: bytes, context: dict, where: object) -> bytes:
    """The .docx bytes docxtpl renders from the template `data`."""
    doc = opened(data, where)
    try:
        doc.render(context, ENV, autoescape=True)
    except jinja2.TemplateError as e:
        raise UserError(f"{where}：报告模板有误（{e}）") from None
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def template_source(data: bytes, where: object) -> str:
    """The template's body, headers and footers as docxtpl gives them to jinja."""
    doc = opened(data, where)
    parts = [doc.patch_xml(doc.get_xml())]
    for uri in (doc.HEADER_URI, doc.FOOTER_URI):
        parts += [doc.patch_xml(doc.get_part_xml(part)) for _, part in doc.get_headers_footers(uri)]
    return "".join(parts)
