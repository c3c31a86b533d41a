"""明细's agency rows written as sheet XML directly, then spliced into the package xlsxwriter made.

明细 holds a row per return and a column per cell: 1,000 returns are 210,000 numbers, and xlsxwriter
spends about 7 µs on each (1.6 s of a 2 s re-merge, measured). The rows here are the same XML that
xlsxwriter's constant_memory mode writes (inline strings, the formats' own style ids), joined from
strings prepared once per column; the header, the 合计 row and the sheet's settings stay xlsxwriter's.
The part is deflated while its rows are made, so 10,000 returns never stand in memory as one text.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from xml.sax.saxutils import escape

from xlsxwriter.utility import xl_col_to_name

from toolkit.core.zipparts import copied_member, package, streamed_member

_DEFAULT_PIXELS = 20  # a row of the default height (15 points) says nothing about its height
_LITERAL = re.compile(r"(_x[0-9a-fA-F]{4}_)")  # text that reads like an escape is escaped itself (Excel's rule)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # XML 1.0 cannot hold these: written _xHHHH_, as Excel does


def text_xml(text: str) -> str:
    """Cell text as XML character data, escaped as xlsxwriter escapes it."""
    if "_x" in text:
        text = _LITERAL.sub(r"_x005F\1", text)
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", escape(text))


class RowWriter:
    """<row> elements of text columns then number columns, each column's reference and style prepared once."""

    def __init__(self, text_styles: Sequence[int], number_styles: Sequence[int]):
        heads = [f'<c r="{xl_col_to_name(col)}' for col in range(len(text_styles) + len(number_styles))]
        text_tail, number_tail = '" s="{}" t="inlineStr"><is><t xml:space="preserve">', '" s="{}"><v>'
        self.texts = [(heads[j], text_tail.format(s)) for j, s in enumerate(text_styles)]
        self.numbers = [(heads[len(text_styles) + j], number_tail.format(s)) for j, s in enumerate(number_styles)]

    def row(self, index: int, height: float, texts: Iterable[str], numbers: Iterable[int | float]) -> str:
        """Row `index` (0-based) `height` points tall; the numbers written as xlsxwriter writes them (%.16G)."""
        r, pixels = str(index + 1), int(height * 4 / 3 + 0.5)  # whole pixels, as xlsxwriter's set_row
        tall = f' ht="{pixels * 0.75:.16g}" customHeight="1"' if pixels != _DEFAULT_PIXELS else ""
        cells = [f'<row r="{r}"{tall}>']
        cells += [f"{h}{r}{t}{text_xml(text)}</t></is></c>" for (h, t), text in zip(self.texts, texts, strict=True)]
        cells += [f"{h}{r}{t}{number:.16G}</v></c>" for (h, t), number in zip(self.numbers, numbers, strict=True)]
        cells.append("</row>")
        return "".join(cells)


def splice_rows(xlsx: bytes, part: str, before_row: int, rows: Iterable[str]) -> bytes:
    """The package with `rows` inserted into worksheet `part` before its row `before_row` (0-based),
    which xlsxwriter wrote; every other part is carried over as its deflated bytes."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zf:
        members = []
        for info in zf.infolist():
            if info.filename != part:
                members.append(copied_member(xlsx, info))
                continue
            data = zf.read(info)
            at = data.find(f'<row r="{before_row + 1}"'.encode())
            if at < 0:
                raise RuntimeError(f"{part}: row {before_row + 1} not found to insert before")
            members.append(streamed_member(part, _chunks(data[:at], rows, data[at:])))
    return package(members)


def _chunks(head: bytes, rows: Iterable[str], tail: bytes, per_chunk: int = 64) -> Iterator[bytes]:
    """head, the rows encoded some at a time, tail: the part as pieces small enough to stream."""
    yield head
    batch: list[str] = []
    for row in rows:
        batch.append(row)
        if len(batch) == per_chunk:
            yield "".join(batch).encode()
            batch.clear()
    if batch:
        yield "".join(batch).encode()
    yield tail
