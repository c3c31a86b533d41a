"""The linear combiner of collection.docx: every included agency's report, a contents list first.

Reports rendered from one template share styles, numbering, footers and namespaces, so the
combined document is made by streaming each report's body into one package: linear in time,
one report in memory at a time. (docxcompose rescans the whole master on every append:
quadratic, minutes for a thousand reports.) Each report ends with its own section break, so
it starts on a new page and keeps its page setup.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from toolkit.core.fileio import atomic_output
from toolkit.core.text import xml_safe
from toolkit.core.zipparts import part_target

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
DOC, DOC_RELS, TYPES, CORE = "word/document.xml", "word/_rels/document.xml.rels", "[Content_Types].xml", "docProps/core.xml"
SETTINGS = "word/settings.xml"
_BODY = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?body)\b[^>]*>")
_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)[\s>]")
NSW = f'xmlns:w="{W}"'
BOOKMARK_BASE = 1_000_000
FAST = 1  # deflate level of collection.docx: its body is ~80 KB of XML a report, 800 MB for 10,000 (level 6: 2-3x the time, 25% smaller)


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


# ---------------------------------------------------------------- the linear combiner


def _text(value: str) -> str:
    return escape(xml_safe(value))


def _field(instr: str, result: str = "") -> str:
    """A complex field's runs (begin, code, separate, cached result, end)."""
    cached = f"<w:r><w:t>{result}</w:t></w:r>" if result else ""
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve">{instr}</w:instrText></w:r>'
        f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>{cached}<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


def _entry(i: int, agency: str, tab: int) -> str:
    """One contents line: the agency, a dot leader, its first page (a PAGEREF field to its bookmark)."""
    page = _field(f" PAGEREF {_bookmark(i)} " + "\\h ", str(i + 1))
    return (
        f'<w:pPr><w:tabs><w:tab w:val="right" w:leader="dot" w:pos="{tab}"/></w:tabs>'
        '<w:spacing w:line="480" w:lineRule="exact"/><w:ind w:firstLineChars="0" w:firstLine="0"/><w:jc w:val="left"/></w:pPr>'
        f'<w:hyperlink w:anchor="{_bookmark(i)}" w:history="1"><w:r><w:t xml:space="preserve">{i}．{_text(agency)}</w:t></w:r>'
        f"<w:r><w:tab/></w:r>{page}</w:hyperlink>"
    )


def _contents(title: str, agencies: list[str], tab: int) -> str:
    """The 目录: each entry links to its report's bookmark and shows its page in a PAGEREF field, which
    LibreOffice computes when it lays the document out (so the PDF has real numbers) and Word updates
    on open (settings: updateFields). Not wrapped in a TOC field: LibreOffice prints a TOC field's
    cached text instead of the PAGEREFs inside it (measured: 2, 3, 4, 5 where the reports start on 2, 7, 11, 15)."""
    head = '<w:pPr><w:ind w:firstLineChars="0" w:firstLine="0"/><w:jc w:val="center"/></w:pPr>'
    out = [
        f'<w:p {NSW}>{head}<w:r><w:rPr><w:b/><w:sz w:val="36"/></w:rPr><w:t>{_text(title)}</w:t></w:r></w:p>',
        f'<w:p {NSW}>{head}<w:r><w:rPr><w:b/><w:sz w:val="32"/></w:rPr><w:t>目录</w:t></w:r></w:p>',
    ]
    out += [f"<w:p {NSW}>{_entry(i, agency, tab)}</w:p>" for i, agency in enumerate(agencies, start=1)]
    return "".join(out)


def _tab_stop(sect) -> int:
    """The right edge of the text in twips (page width less margins), for the contents' page numbers."""
    size, mar = (sect.find(_w("pgSz")), sect.find(_w("pgMar"))) if sect is not None else (None, None)
    try:
        return int(size.get(_w("w"))) - int(mar.get(_w("left"))) - int(mar.get(_w("right")))
    except (AttributeError, TypeError, ValueError):  # no or odd page set-up in a user's template
        return 8844  # A4 less 28 + 26 mm


_SETTINGS_AFTER = ("hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids", "mathPr", "themeFontLang")


def _update_fields(settings: bytes) -> bytes:
    """settings.xml with w:updateFields on: Word recomputes the 目录's page numbers when the file opens."""
    root = etree.fromstring(settings)
    for old in root.findall(_w("updateFields")):
        root.remove(old)
    flag = etree.Element(_w("updateFields"), {_w("val"): "true"})
    later = next((el for el in root if el.tag in {_w(t) for t in _SETTINGS_AFTER}), None)
    if later is None:
        root.append(flag)
    else:
        later.addprevious(flag)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _closing(raw: bytes, body: re.Match) -> bytes:
    """`</w:body></w:document>` spelled with the package's own prefixes."""
    start = raw.index(b"?>") + 2 if raw.startswith(b"<?") else 0
    return b"</" + body.group(1) + b"></" + _ROOT.search(raw, start).group(1) + b">"


def _bookmark(i: int) -> str:
    return f"toolkit_report_{i}"


def _rels(zf: zipfile.ZipFile) -> dict[str, tuple[str, str, str]]:
    root = etree.fromstring(zf.read(DOC_RELS))
    return {r.get("Id"): (r.get("Type"), r.get("Target"), r.get("TargetMode", "Internal")) for r in root}


def _section_paragraph(sect: etree._Element) -> bytes:
    """A paragraph carrying a section break: the report before it keeps its page setup, the next starts a page."""
    sect = etree.fromstring(etree.tostring(sect))
    for t in sect.findall(_w("type")):
        sect.remove(t)
    p = etree.Element(_w("p"))
    etree.SubElement(p, _w("pPr")).append(sect)
    return etree.tostring(p)


def _mark_start(body: etree._Element, i: int) -> None:
    """Put the report's bookmark in its first paragraph (a new one when it starts with a table)."""
    first = body[0] if len(body) else None
    if first is None or first.tag != _w("p"):
        first = etree.Element(_w("p"))
        body.insert(0, first)
    at = 1 if len(first) and first[0].tag == _w("pPr") else 0
    start = etree.Element(_w("bookmarkStart"), {_w("id"): str(BOOKMARK_BASE + i), _w("name"): _bookmark(i)})
    end = etree.Element(_w("bookmarkEnd"), {_w("id"): str(BOOKMARK_BASE + i)})
    first.insert(at, start)
    first.insert(at + 1, end)


MARK = 999_999_999  # a prepared body's placeholder report number, replaced by its place in the document
_MARKER = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?bookmarkStart [^>]*/><(?:[A-Za-z_][\w.-]*:)?bookmarkEnd [^>]*/>")


@dataclass(frozen=True)
class Prepared:
    """One report's body ready to stream into collection.docx without parsing it again (made in a worker,
    kept in the merge cache): its XML split around a placeholder bookmark, its own section break (as the
    paragraph between reports, and as the document's last), and the relationships and namespaces it
    assumes the combined package has."""

    head: bytes
    mark: bytes
    tail: bytes
    section: tuple[bytes, bytes] | None
    rels: tuple[tuple[str, str, str, str], ...]
    nsmap: tuple[tuple[str, str], ...]

    def body(self, i: int) -> bytes:
        mark = self.mark.replace(str(BOOKMARK_BASE + MARK).encode(), str(BOOKMARK_BASE + i).encode())
        return self.head + mark.replace(_bookmark(MARK).encode(), _bookmark(i).encode()) + self.tail

    def to_json(self) -> dict:
        section = [t.decode() for t in self.section] if self.section else None
        parts = {k: getattr(self, k).decode() for k in ("head", "mark", "tail")}
        return {**parts, "section": section, "rels": [list(r) for r in self.rels], "nsmap": [list(n) for n in self.nsmap]}

    @classmethod
    def from_json(cls, data: dict) -> Prepared:
        """ValueError, KeyError, TypeError or AttributeError for anything that is not to_json's."""
        section = data["section"]
        if section is not None and len(section) != 2:
            raise ValueError("section")
        return cls(
            *(data[k].encode() for k in ("head", "mark", "tail")),
            section=tuple(t.encode() for t in section) if section is not None else None,
            rels=tuple(tuple(map(str, r)) for r in data["rels"]),
            nsmap=tuple((str(p), str(u)) for p, u in data["nsmap"]),
        )


def _sections(sect) -> tuple[bytes, bytes] | None:
    return (_section_paragraph(sect), etree.tostring(sect)) if sect is not None else None


def _split(body: etree._Element) -> etree._Element | None:
    """The report's sectPr taken out of its body (None when it has none)."""
    sect = body.find(_w("sectPr"))
    if sect is not None:
        body.remove(sect)
    return sect


def prepare(data: bytes) -> Prepared:
    """A rendered report (.docx bytes) made ready for the combiner; pure, so a worker process can do it."""
    src = zipfile.ZipFile(io.BytesIO(data))
    root = etree.fromstring(src.read(DOC))
    body = root.find(_w("body"))
    sect = _split(body)
    _mark_start(body, MARK)
    xml = _inner_xml(body)
    found = _MARKER.search(xml)
    rels = tuple(sorted((rid, *key) for rid, key in _rels(src).items()))
    nsmap = tuple(sorted((p or "", u) for p, u in root.nsmap.items()))
    return Prepared(xml[: found.start()], found.group(), xml[found.end() :], _sections(sect), rels, nsmap)


def _inner_xml(body: etree._Element) -> bytes:
    """The body's children as XML, declarations left to the package root."""
    xml = etree.tostring(body)
    start = xml.index(b">") + 1
    return xml[start : xml.rindex(b"</")] if not xml[:start].endswith(b"/>") else b""


class _Combiner:
    """Streams report bodies into one package; the first report supplies styles, footers and settings."""

    def __init__(self, zf: zipfile.ZipFile, first: bytes, title: str, agencies: list[str]):
        self.zf, self.title = zf, title
        self.base = zipfile.ZipFile(io.BytesIO(first))
        raw = self.base.read(DOC)
        root = etree.fromstring(raw)
        self.nsmap = dict(root.nsmap)
        self.rels = _rels(self.base)
        self.own_rels = dict(self.rels)  # the first report's, which a prepared body must assume
        self.by_key = {v: k for k, v in self.rels.items()}
        self.extra_parts: dict[str, bytes] = {}
        self.types: dict[str, str] = {}
        self.count, self.pending = 0, None
        self.final = root.find(_w("body")).find(_w("sectPr"))
        for item in self.base.infolist():
            if item.filename == SETTINGS:
                zf.writestr(item, _update_fields(self.base.read(item.filename)))
            elif item.filename not in (DOC, DOC_RELS, TYPES, CORE):
                zf.writestr(item, self.base.read(item.filename))
        body = _BODY.search(raw)
        self.closing = _closing(raw, body)
        self.out = zf.open(DOC, "w", force_zip64=True)
        self.out.write(raw[: body.end()])
        self.out.write(_contents(title, agencies, _tab_stop(self.final)).encode())
        if self.final is not None:
            self.out.write(_section_paragraph(self.final))

    def fits(self, p: Prepared) -> bool:
        """Whether a prepared body can go in as it is: it uses the package's relationships and namespaces."""
        return all(self.own_rels.get(rid) == (kind, target, mode) for rid, kind, target, mode in p.rels) and all(
            self.nsmap.get(prefix or None) == uri for prefix, uri in p.nsmap
        )

    def add(self, report: bytes | Prepared) -> None:
        """The next report: rendered bytes, or a Prepared body that fits (see fits)."""
        self.count += 1
        if isinstance(report, Prepared):
            body, section = report.body(self.count), report.section
        else:
            body, section = self._own(report)
        if self.pending is not None:
            self.out.write(self.pending[0])
        self.pending = section
        self.out.write(body)

    def _own(self, data: bytes) -> tuple[bytes, tuple[bytes, bytes] | None]:
        src = zipfile.ZipFile(io.BytesIO(data))
        root = etree.fromstring(src.read(DOC))
        body = root.find(_w("body"))
        sect = _split(body)
        _mark_start(body, self.count)
        self._remap(body, sect, src)
        return self._inner(body, root), _sections(sect)

    def _inner(self, body: etree._Element, root: etree._Element) -> bytes:
        """The body's children as XML; declarations come from the package root when they agree."""
        if all(self.nsmap.get(p) == u for p, u in root.nsmap.items()):
            return _inner_xml(body)
        return b"".join(etree.tostring(child) for child in body)

    def _remap(self, body: etree._Element, sect, src: zipfile.ZipFile) -> None:
        """Point every r:* reference of the report at a relationship of the combined package."""
        rels = _rels(src)
        if all(self.rels.get(rid) == key for rid, key in rels.items()):
            return  # same relationships as the combined package (the usual case: one template)
        for tree in (body, sect) if sect is not None else (body,):
            for el in tree.xpath("descendant-or-self::*[@r:*]", namespaces={"r": R}):
                for name, value in el.attrib.items():
                    if name.startswith(f"{{{R}}}") and value in rels:
                        el.set(name, self._relationship(rels[value], value, src))

    def _relationship(self, key: tuple[str, str, str], rid: str, src: zipfile.ZipFile) -> str:
        if self.rels.get(rid) == key:
            return rid
        if key in self.by_key:
            return self.by_key[key]
        kind, target, mode = key
        if mode == "Internal":
            target = self._copy_part(target, src)
            key = (kind, target, mode)
        new = f"rIdMerge{len(self.rels) + 1}"
        self.rels[new], self.by_key[key] = key, new
        return new

    def _copy_part(self, target: str, src: zipfile.ZipFile) -> str:
        """The part a report's relationship names, copied under a name of its own; the new relationship target."""
        path = part_target(DOC, target)
        folder, name = posixpath.split(path)
        new = posixpath.join(folder, f"m{self.count}_{name}")
        try:
            self.extra_parts[new] = src.read(path)
        except KeyError:
            return target
        ext = name.rpartition(".")[2].lower()
        self.types.setdefault(ext, _content_type(src, ext))
        return posixpath.relpath(new, posixpath.dirname(DOC))

    def close(self) -> None:
        if self.final is not None:
            self.out.write(self.pending[1] if self.pending is not None else etree.tostring(self.final))
        self.out.write(self.closing)
        self.out.close()
        for name, data in self.extra_parts.items():
            self.zf.writestr(name, data)
        self.zf.writestr(DOC_RELS, self._rels_xml())
        self.zf.writestr(TYPES, self._types_xml())
        if CORE in self.base.namelist():
            self.zf.writestr(CORE, _retitle(self.base.read(CORE), self.title))

    def _rels_xml(self) -> bytes:
        root = etree.Element(f"{{{PKG}}}Relationships", nsmap={None: PKG})
        for rid, (kind, target, mode) in self.rels.items():
            attrs = {"Id": rid, "Type": kind, "Target": target}
            if mode != "Internal":
                attrs["TargetMode"] = mode
            etree.SubElement(root, f"{{{PKG}}}Relationship", attrs)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def _types_xml(self) -> bytes:
        root = etree.fromstring(self.base.read(TYPES))
        known = {d.get("Extension", "").lower() for d in root.findall(f"{{{CT}}}Default")}
        for ext, kind in self.types.items():
            if ext not in known and kind:
                etree.SubElement(root, f"{{{CT}}}Default", {"Extension": ext, "ContentType": kind})
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _content_type(src: zipfile.ZipFile, ext: str) -> str:
    root = etree.fromstring(src.read(TYPES))
    for d in root.findall(f"{{{CT}}}Default"):
        if d.get("Extension", "").lower() == ext:
            return d.get("ContentType", "")
    return ""


def _retitle(core: bytes, title: str) -> bytes:
    element = f"<dc:title>{_text(title)}</dc:title>".encode()
    return re.sub(rb"<dc:title>.*?</dc:title>", lambda _: element, core, flags=re.S)  # a title is text, not a pattern


class _ZipFile(zipfile.ZipFile):
    """A ZipFile that can be abandoned half-written: it remembers its open member handle, and
    abandon() closes that handle and the archive without writing another byte. (Closing the archive
    with the handle open raises "Can't close the ZIP file while there is an open writing handle",
    which would hide the error, Ctrl-C or SIGTERM that stopped the writing.)"""

    handle = None

    def open(self, name, mode="r", *args, **kwargs):
        opened = super().open(name, mode, *args, **kwargs)
        if mode == "w":
            self.handle = opened
        return opened

    def abandon(self) -> None:
        if self.handle is not None and not self.handle.closed:
            io.BufferedIOBase.close(self.handle)  # marked closed: its own close() would flush into the file
        self._writing = False
        self.fp = None  # close() (and __del__) now write no central directory


@contextmanager
def _atomic_zip(path: Path):
    """A zip written through atomic_output: renamed over `path` only when complete. When the block
    fails the zip is abandoned unfinished, so the block's own exception is the one that propagates."""
    with atomic_output(path) as f:
        zf = _ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=FAST)
        try:
            yield zf
        except BaseException:
            zf.abandon()
            raise
        zf.close()


_END = object()


def combine_reports(
    reports: Iterable[bytes | Prepared | None],
    agencies: list[str],
    path: str | Path,
    title: str,
    base: bytes | None = None,
    redo: Callable[[int], bytes] | None = None,
) -> Path:
    """One .docx of the reports in order, each from a new page, after a contents list of `agencies`.

    A report is its rendered .docx bytes, or a Prepared body; `base` (the first report's bytes, by default
    the first of `reports`) supplies the package. A Prepared body that does not fit the package, or a None,
    is replaced by `redo(index)`, the report rendered again."""
    path, it = Path(path), iter(reports)
    first = next(it, _END)  # not None: a None report is one to redo
    if first is _END:
        return path
    with _atomic_zip(path) as zf:
        combiner = _Combiner(zf, base if base is not None else first, title, agencies)
        for i, report in enumerate(chain([first], it)):
            usable = isinstance(report, bytes) or (report is not None and combiner.fits(report))
            combiner.add(report if usable or redo is None else redo(i))
        combiner.close()
    return path
