"""A Word template compiled once per process into a renderer of whole report packages.

docxtpl, per report, unzips and parses the whole template, patches its XML, renders it, parses the
result again, and zips every part anew (≈ 20 ms). Here docxtpl's own steps run once per template:
the patched parts are compiled, every part no report changes is deflated once, and a report costs a
jinja render of document.xml (plus the headers and properties that hold template tags) and one
deflate. The package equals docxtpl's part by part: document.xml is written as lxml writes it, either
directly (`shape`: when the template cannot make the XML differ) or by parsing the rendered text
as docxtpl does. A template the compiled path cannot reproduce is rendered by docxtpl.
"""

from __future__ import annotations

import copy
import io
import re
import types
import zipfile
from dataclasses import dataclass

import jinja2
from docx.opc.coreprops import CoreProperties
from docx.opc.oxml import serialize_part_xml
from docx.oxml.parser import parse_xml
from docxtpl import DocxTemplate
from lxml import etree

from toolkit.core.errors import UserError
from toolkit.core.zipparts import Member, member, package
from toolkit.reports.docxtpl_path import CORE_PROPERTIES, CachedTemplate, insert_newlines, opened, property_text
from toolkit.reports.engine import CANONICAL_ENV, ENV, PLAIN_ENV, compile_template
from toolkit.reports.shape import shape_of

DOCUMENT, CORE = "word/document.xml", "docProps/core.xml"
FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_JINJA = ("{{", "{%", "{#")
_SPECIAL = "\t\a\n\f"  # what docxtpl's resolve_listing turns into runs, breaks and paragraphs
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)  # resolve_listing's paragraphs
_EMPTY = re.compile(r'<([\w:.-]+)((?:\s[^<>]*")?)></\1>')  # lxml writes an empty element as <x/>
_EMPTY_TEXT = re.compile(r'<(w:t)((?: [^<>]*")?)></w:t>')  # the one empty element most templates can make
_RECOVER = etree.XMLParser(recover=True)  # docxtpl's fix_tables parser
# Parts deflated per report at level 1: a third of level 6's time, and the package only ≈ 2 % larger
# (document.xml is a tenth of it; the parts deflated once are deflated at level 9).
REPORT_LEVEL = 1


class Unsupported(Exception):
    """The template uses something the compiled renderer does not reproduce: docxtpl renders it."""


def _special(xml: str, start: int) -> int:
    """Where the first character resolve_listing resolves is, from `start` (-1: none); str.find is
    several times faster than a regex class on a long non-ASCII string."""
    found = [i for i in (xml.find(c, start) for c in _SPECIAL) if i >= 0]
    return min(found) if found else -1


def finish(xml: str, split: bool = True) -> str:
    """docxtpl's post-processing of a rendered part (docxtpl_path.finish), without its cost: the
    same replacements, and resolve_listing run only on the paragraphs that hold what it resolves.
    `split`: the source had docxtpl's newline before each paragraph (which changes nothing else)."""
    if split:
        xml = xml.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")
    if "{_" in xml or "_}" in xml:
        xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    special = _special(xml, 0)
    if special < 0:
        return xml
    out, last, m = [], 0, _PARAGRAPH.search(xml)
    while m is not None and special >= 0:  # paragraphs as resolve_listing's left-to-right scan finds them
        if special < m.start():
            special = _special(xml, m.start())
            continue
        if special < m.end():
            out += [xml[last : m.start()], DocxTemplate.resolve_listing(None, m.group())]  # type: ignore[arg-type]
            last = m.end()
        m = _PARAGRAPH.search(xml, m.end())
    out.append(xml[last:])
    return "".join(out)


@dataclass
class _Header:
    """A header or footer: rendered per report when it holds template tags, else once."""

    name: str
    template: jinja2.Template | None
    fixed: bytes = b""


def _render(template: jinja2.Template, context: dict, where: object) -> str:
    try:
        return template.render(context)
    except jinja2.TemplateError as e:
        raise UserError(f"{where}：报告模板有误（{e}）") from None


def _compiled(source: str, where: object, env: jinja2.Environment = ENV) -> jinja2.Template:
    try:
        return compile_template(source, env)
    except jinja2.TemplateError as e:
        raise UserError(f"{where}：报告模板有误（{e}）") from None


class CompiledReport:
    """One template's report renderer; `render(context)` gives the .docx bytes."""

    def __init__(self, data: bytes, where: object):
        self.where = where
        doc = opened(data, where)
        doc.render_init()
        patched = doc.patch_xml(doc.get_xml())
        self.shape = shape_of(patched, ENV)
        self.direct = not self.shape.direct  # until the first report shows the parse would change it
        self.direct_checked = False
        # Rendered directly, the newlines docxtpl puts before paragraphs (and takes out again) are
        # left out, unless the text itself has one there. Printed values are all text then, so the
        # same template serves the parse (what it escapes differently, lxml reads the same).
        self.split = not self.direct or "\n<w:p" in patched
        source = insert_newlines(patched) if self.split else patched
        try:
            self.body = compile_template(source, CANONICAL_ENV if self.direct else ENV)
        except jinja2.TemplateError:
            _compiled(insert_newlines(patched), where)  # raises docxtpl's own message
            raise Unsupported("a template only docxtpl compiles") from None
        self.fix_tables = True  # until a rendering shows docxtpl's fix_tables changes nothing
        self.empty = _EMPTY_TEXT if self.shape.empties <= {"w:t"} else _EMPTY
        self.head, self.tail = _document_frame(doc)
        self.headers = self._headers(doc)
        self.core, self.properties = self._properties(doc)
        self._static_footnotes(doc)
        self.members = self._members(doc)

    # ------------------------------------------------------------ compiling

    def _headers(self, doc: CachedTemplate) -> dict[str, _Header]:
        headers: dict[str, _Header] = {}
        for uri in (doc.HEADER_URI, doc.FOOTER_URI):
            for _, part in doc.get_headers_footers(uri):
                name = part.partname.membername
                if name in headers:
                    raise Unsupported("a header part used twice")
                source = insert_newlines(doc.patch_xml(doc.get_part_xml(part)))
                header = _Header(name, _compiled(source, self.where))
                if not any(t in source for t in _JINJA):
                    header.fixed, header.template = _header_xml(header.template, {}, self.where), None
                headers[name] = header
        return headers

    def _properties(self, doc: CachedTemplate) -> tuple[etree._Element, dict[str, str]]:
        props = doc.docx.core_properties
        templates = {n: getattr(props, n) for n in CORE_PROPERTIES if getattr(props, n) and "{" in getattr(props, n)}
        for value in templates.values():
            _compiled(value, self.where, PLAIN_ENV)
        return copy.deepcopy(props._element), templates

    def _static_footnotes(self, doc: CachedTemplate) -> None:
        for part in doc.docx.part.package.parts:
            if part.content_type == FOOTNOTES and any(t in doc.patch_xml(part.blob.decode("utf-8")) for t in _JINJA):
                raise Unsupported("footnotes with template tags")
        doc.render_footnotes({}, ENV)  # no tags: the same text for every report, rendered as docxtpl does

    def _members(self, doc: CachedTemplate) -> list[Member | str]:
        """The package's members in docxtpl's order: deflated ones, or the name of one rendered per report."""
        buffer = io.BytesIO()
        doc.docx.save(buffer)
        out: list[Member | str] = []
        with zipfile.ZipFile(buffer) as zf:
            for name in zf.namelist():
                header = self.headers.get(name)
                if name == DOCUMENT or (name == CORE and self.properties) or (header and header.template):
                    out.append(name)
                else:
                    out.append(member(name, header.fixed if header else zf.read(name), 9))
        if DOCUMENT not in out:
            raise Unsupported("no word/document.xml")
        return out

    # ------------------------------------------------------------ rendering

    def render(self, context: dict) -> bytes:
        """The report's .docx."""
        dynamic = {DOCUMENT: self.document_xml(context)}
        for name, header in self.headers.items():
            if header.template is not None:
                dynamic[name] = _header_xml(header.template, context, self.where)
        if self.properties:
            dynamic[CORE] = self.core_xml(context)
        return package(m if isinstance(m, Member) else member(m, dynamic[m], REPORT_LEVEL) for m in self.members)

    def document_xml(self, context: dict) -> bytes:
        """word/document.xml of the report, as docxtpl writes it."""
        direct = self._direct(context) if self.direct else None
        if direct is not None and self.direct_checked:
            return self._framed(direct)
        parsed = self._framed(self._parsed(context))
        if direct is not None:  # the first report: parsing it again must change nothing (a table's columns?)
            self.direct, self.direct_checked = self._framed(direct) == parsed, True
        return parsed

    def _direct(self, context: dict) -> str | None:
        """The body as lxml would write it, without parsing it (None when a value needs the parse)."""
        xml = finish(_render(self.body, context, self.where), self.split)
        if "&#3" in xml or "\r" in xml:  # a value escaped by markupsafe (`|e`), or a CR the parse makes LF
            return None
        return self.empty.sub(_self_closed, xml)

    def _parsed(self, context: dict) -> str:
        """The body rendered, parsed and written again, with docxtpl's table and picture fixes."""
        xml = finish(_render(self.body, context, self.where), self.split)
        if self.fix_tables:
            tree = DocxTemplate.fix_tables(None, xml)  # type: ignore[arg-type]
            if not self.shape.tables and etree.tostring(tree) == etree.tostring(etree.fromstring(xml, _RECOVER)):
                self.fix_tables = False  # no table in a block: what holds for one report holds for all
        else:
            tree = etree.fromstring(xml, _RECOVER)
        if "docPr" in xml:
            DocxTemplate.fix_docpr_ids(types.SimpleNamespace(docx_ids_index=1000), tree)  # type: ignore[arg-type]
        return etree.tostring(tree, encoding="unicode")

    def _framed(self, body: str) -> bytes:
        start, end = body.index(">") + 1, body.rindex("</")
        return (self.head + body[start:end] + self.tail).encode("utf-8")

    def core_xml(self, context: dict) -> bytes:
        """docProps/core.xml with its templated properties rendered."""
        element = copy.deepcopy(self.core)
        props = CoreProperties(element)
        for name, value in self.properties.items():
            setattr(props, name, property_text(value, context))
        return serialize_part_xml(element)


def _self_closed(m: re.Match) -> str:
    return f"<{m.group(1)}{m.group(2)}/>"


def _header_xml(template: jinja2.Template, context: dict, where: object) -> bytes:
    """A header or footer as docxtpl writes it: rendered, then parsed and written by python-docx."""
    return serialize_part_xml(parse_xml(finish(_render(template, context, where)).encode("utf-8")))


def _document_frame(doc: CachedTemplate) -> tuple[str, str]:
    """document.xml before and after the body's children, as python-docx writes it."""
    root = copy.deepcopy(doc.docx.element)
    body = root.body
    for child in list(body):
        body.remove(child)
    body.text = "\ue000"
    head, _, tail = serialize_part_xml(root).decode("utf-8").partition("\ue000")
    if not head.endswith(">") or not tail.startswith("</"):
        raise Unsupported("an unusual document element")
    return head, tail
