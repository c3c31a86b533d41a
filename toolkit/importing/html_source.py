"""A report page saved from a portal (site chrome included) as paragraphs and table grids.

The report is the part of the page that holds its section headings: blocks outside the lowest
element containing all of them (menus, footers, 附件下载, 扫一扫) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import lxml.html

from toolkit.core.digits import count_of
from toolkit.core.text import xml_safe
from toolkit.importing.document import Document, Grid, grid_from_rows

_BLOCK_TAGS = "p div h1 h2 h3 h4 h5 h6 li ul ol section article blockquote pre dd dt dl center address header footer main form"
BLOCKS = frozenset(_BLOCK_TAGS.split(" "))
SKIPPED = frozenset(("script", "style", "noscript", "template", "select", "option", "head", "iframe", "object", "svg", "button"))
_CJK = "\u2e80-\u9fff\uff00-\uffef\u3000-\u303f"
_BROKEN_LINE = re.compile(rf"(?<=[{_CJK}])[ \t\r\f\v]*\n\s*(?=[{_CJK}])")
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def clean(text: str) -> str:
    """Visible text as a browser shows it: a source line break between Chinese characters vanishes,
    other runs of white space are one space; no-break and ideographic spaces are kept as spaces."""
    text = _BROKEN_LINE.sub("", text)
    text = _SPACES.sub(" ", text).replace("\xa0", " ")
    return xml_safe(text).strip(" \u3000")


def _span(value: str | None) -> int:
    """A cell's rowspan/colspan: a count up to 100, anything else (², -1, 1e9) one cell."""
    return count_of(value, 100) or 1


def _grid(table, number: int) -> Grid:
    rows = []
    for tr in table.iter("tr"):
        if _owner(tr) is not table:
            continue
        cells = [(_cell_text(td), _span(td.get("rowspan")), _span(td.get("colspan"))) for td in tr if td.tag in ("td", "th")]
        rows.append(cells)
    return grid_from_rows(number, rows)


def _owner(el):
    return next((a for a in el.iterancestors("table")), None)


def _cell_text(td) -> str:
    parts = []
    _collect(td, parts)
    return clean("".join(parts))


def _collect(el, parts: list[str]) -> None:
    """The text of an element as shown: its paragraphs and line breaks as line breaks."""
    if el.text:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str) and (child.tag in BLOCKS or child.tag == "br"):
            parts.append("\n")
        if isinstance(child.tag, str) and child.tag not in SKIPPED:
            _collect(child, parts)
        if child.tail:
            parts.append(child.tail)


class _Walker:
    """The page's blocks in reading order, each with the element it came from."""

    def __init__(self):
        self.blocks: list[tuple[object, str | Grid]] = []
        self.tables = 0

    def flush(self, owner, buffer: list[str]) -> None:
        text = clean("".join(buffer))
        buffer.clear()
        if text:
            self.blocks.append((owner, text))

    def walk(self, el) -> None:
        buffer: list[str] = [el.text or ""]
        for child in el:
            if not isinstance(child.tag, str) or child.tag in SKIPPED:
                buffer.append(child.tail or "")
                continue
            if child.tag == "table" and _is_layout(child):  # an old portal's page laid out in a table
                self.flush(el, buffer)
                for cell in _own_cells(child):
                    self.walk(cell)
            elif child.tag == "table":
                self.flush(el, buffer)
                self.tables += 1
                self.blocks.append((child, _grid(child, self.tables)))
            elif child.tag == "br":
                self.flush(el, buffer)
            elif child.tag in BLOCKS or _has_block(child):
                self.flush(el, buffer)
                self.walk(child)
            else:
                buffer.append(_inline_text(child))
            buffer.append(child.tail or "")
        self.flush(el, buffer)


LAYOUT_TEXT = 400  # a data table's cell holds a label or a figure; a cell holding this much text lays out a page


def _own_cells(table) -> list:
    return [td for tr in table.iter("tr") if _owner(tr) is table for td in tr if td.tag in ("td", "th")]


def _is_layout(table) -> bool:
    """A table holding the page (its cells hold tables or whole paragraphs of text), not a table of figures."""
    for td in _own_cells(table):
        if any(d.tag == "table" for d in td.iterdescendants()) or len(td.text_content()) > LAYOUT_TEXT:
            return True
    return False


def _has_block(el) -> bool:
    return any(isinstance(d.tag, str) and (d.tag in BLOCKS or d.tag in ("table", "br")) for d in el.iterdescendants())


def _inline_text(el) -> str:
    parts: list[str] = []
    _collect(el, parts)
    return "".join(parts)


def _common_ancestor(elements: list):
    chains = [[el, *el.iterancestors()][::-1] for el in elements]
    common = None
    for level in zip(*chains, strict=False):  # as deep as the shallowest
        if all(x is level[0] for x in level):
            common = level[0]
        else:
            break
    return common


def _inside(el, container) -> bool:
    return el is container or any(a is container for a in el.iterancestors())


def read_html(data: bytes, path: str, is_heading: Callable[[str], bool]) -> Document:
    parser = lxml.html.HTMLParser(encoding=_encoding(data), remove_comments=True, no_network=True, huge_tree=False)
    root = lxml.html.document_fromstring(data, parser=parser)
    body = root.find("body") if root.find("body") is not None else root
    walker = _Walker()
    walker.walk(body)
    blocks = walker.blocks
    headings = [el for el, b in blocks if isinstance(b, str) and is_heading(b)]
    if len(headings) >= 2:
        container = _common_ancestor(headings)
        blocks = [(el, b) for el, b in blocks if _inside(el, container)]
    titles = [clean(t.text_content()) for t in root.iter("title", "h1", "h2")]
    titles += [b for _, b in blocks[:8] if isinstance(b, str)]
    return Document(path, "网页", [t for t in titles if t], [b for _, b in blocks])


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.IGNORECASE)


def _encoding(data: bytes) -> str:
    """The page's declared charset (portals use UTF-8 or GB2312/GBK), UTF-8 when none or unknown."""
    m = _CHARSET.search(data[:4096])
    name = m.group(1).decode("ascii").lower() if m else "utf-8"
    if name in ("gb2312", "gbk", "gb18030"):
        return "gb18030"
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name
