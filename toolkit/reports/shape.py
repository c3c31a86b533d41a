"""What a docxtpl-patched template can do to the XML around it, read from its jinja tokens once.

A template whose printed values all land in text, whose blocks each start and end at the same place
in the XML tree and whose tables are outside every block renders to XML that is already what lxml
would write after parsing it: the compiled renderer may then skip the parse. `direct` and `tables`
are empty when that holds, else the reason it does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jinja2

_TAG = re.compile(r"<([^<>]*)>")
_OPENERS = {"for", "if", "macro", "call", "filter", "with", "block", "set"}
_MIDDLES = {"elif", "else"}
_REFUSED = {"include", "import", "from", "extends", "autoescape", "macro", "call", "filter"}  # or output captured
_RAW_FILTERS = {"safe", "urlize", "xmlattr"}  # their output is not escaped as text is
TABLE_MARKUP = ("<w:tbl", "</w:tbl>", "<w:tr", "</w:tr>", "<w:tc", "</w:tc>", "<w:tblGrid", "<w:gridCol", "w:gridSpan")


@dataclass(frozen=True)
class Shape:
    direct: str  # why the rendered XML must be parsed and written again ("" when it need not)
    tables: str  # why a table's columns may differ between renderings ("" when they cannot)
    empties: frozenset[str] = frozenset()  # elements that may render empty (lxml writes those as <x/>)


@dataclass
class _Element:
    name: str
    depth: int  # jinja blocks open when it started
    filled: bool = False  # has text or an element outside every block: never empty
    templated: bool = False  # has a jinja tag


class _Walk:
    def __init__(self) -> None:
        self.open: list[_Element] = []
        self.blocks: list[tuple[int, ...]] = []  # the open elements where each open block started
        self.empties: set[str] = set()
        self.direct = ""
        self.tables = ""

    def refuse(self, why: str, tables: bool = False) -> None:
        self.direct = self.direct or why
        if tables:
            self.tables = self.tables or why

    def content(self, jinja: bool) -> None:
        if not self.open:
            return
        top = self.open[-1]
        if jinja:
            top.templated = True
        elif len(self.blocks) == top.depth:
            top.filled = True

    def data(self, text: str) -> None:
        if self.blocks and any(m in text for m in TABLE_MARKUP):
            self.refuse("a table inside a block", tables=True)
        pos = 0
        for m in _TAG.finditer(text):
            if m.start() > pos:
                self.content(False)
            self.tag(m.group(1))
            pos = m.end()
        if pos < len(text):
            self.content(False)
        rest = _TAG.sub("", text)
        if "<" in rest or ">" in rest:
            self.refuse("a template tag inside an XML tag", tables=True)

    def tag(self, inner: str) -> None:
        if inner.startswith(("!", "?")):
            self.refuse("a comment or processing instruction")
        elif inner.startswith("/"):
            top = self.open.pop() if self.open else None
            if top is None or top.name != inner[1:].strip():
                self.refuse("unbalanced XML")
            elif top.templated and not top.filled:
                self.empties.add(top.name)
        elif inner.endswith("/"):
            self.content(False)
        else:
            self.content(False)
            self.open.append(_Element(inner.split(None, 1)[0] if inner.strip() else "", len(self.blocks)))

    def here(self) -> tuple[int, ...]:
        return tuple(map(id, self.open))

    def block(self, words: list[str]) -> None:
        keyword = words[0] if words else ""
        self.content(True)
        if keyword in _REFUSED:
            self.refuse(f"a {keyword} statement")
        if keyword in _OPENERS and not (keyword == "set" and "=" in words):
            if keyword == "set":
                self.refuse("a block set")
            self.blocks.append(self.here())
        elif keyword in _MIDDLES or keyword.startswith("end"):
            if not self.blocks or self.blocks[-1] != self.here():
                self.refuse("a block across XML elements")
            if keyword.startswith("end") and self.blocks:
                self.blocks.pop()


def _tokens(walk: _Walk, source: str, env: jinja2.Environment) -> None:
    words: list[str] | None = None  # the names and operators of the statement being read
    previous = ""
    for _, kind, value in env.lex(source):
        if kind == "data":
            walk.data(value)
        elif kind == "variable_begin":
            walk.content(True)
        elif kind == "block_begin":
            words = []
        elif kind == "block_end" and words is not None:
            walk.block(words)
            words = None
        elif kind in ("name", "operator") and words is not None:
            words.append(value)
        if kind == "name" and previous == "|" and value in _RAW_FILTERS:
            walk.refuse(f"the {value} filter")
        if kind != "whitespace":
            previous = value


def shape_of(source: str, env: jinja2.Environment) -> Shape:
    """The shape of a patched template part (what docxtpl hands to jinja)."""
    walk = _Walk()
    _tokens(walk, source, env)
    if walk.open or walk.blocks:
        walk.refuse("unclosed XML or block")
    if "docPr" in source:
        walk.refuse("pictures (docxtpl renumbers them)")
    return Shape(walk.direct, walk.tables, frozenset(walk.empties))
