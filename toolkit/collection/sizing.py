"""Sizes and print settings of collection.xlsx: spreadsheets neither widen columns nor grow rows of a written file.

Widths are in the spreadsheet's character units (a Chinese character takes two), heights in points.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

LINE = 15.0  # points a line of 11-point text takes
MAX_HEIGHT = 409.0  # the tallest row a spreadsheet allows
A4 = 9  # xlsxwriter's paper code


def text_width(text: str) -> int:
    """Character units the longest line of `text` takes: wide (Chinese) characters count two."""
    return max((sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in text.split("\n")), default=0)


def lines_in(text: str, width: float) -> int:
    """Lines `text` wraps into in a column `width` units wide (a cell keeps about one unit of padding)."""
    room = max(1, int(width - 1))
    return sum(max(1, -(-text_width(line) // room)) for line in text.split("\n"))


def row_height(cells: Iterable[tuple[str, float]], minimum: float = LINE) -> float:
    """A row tall enough to show every wrapped (text, column width) of it, within the spreadsheet's limit."""
    lines = max((lines_in(text, width) for text, width in cells if text), default=1)
    return min(MAX_HEIGHT, max(minimum, LINE * lines + 3))


def column_width(texts: Iterable[str], low: float, high: float) -> float:
    """A column as wide as its longest text (plus padding), kept between low and high."""
    return max(low, min(high, max((text_width(t) for t in texts), default=0) + 2))


def print_setup(
    ws, title: str, landscape: bool, header_rows: int = 0, pages_wide: int = 1, repeat_first_col: bool = False
) -> None:
    """A4, fitted to `pages_wide` page widths (as tall as it needs), header rows on every page, title and page numbers."""
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(pages_wide, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    ws.center_horizontally()
    if header_rows:
        ws.repeat_rows(0, header_rows - 1)
    if repeat_first_col:
        ws.repeat_columns(0, 0)
    ws.set_header(f"&C&10{_escape(title)}")
    ws.set_footer("&C&9第 &P 页，共 &N 页")


def _escape(text: str) -> str:
    """`&` starts a header code: a literal one is written twice."""
    return text.replace("&", "&&")
