"""How much room a text takes in a spreadsheet cell: the one width and height model of every workbook we write.

Spreadsheets neither widen columns nor grow the rows of a written file, so the writer must size them.
Widths are in column units (one "0" of the 11 pt body font; a Chinese character takes two), heights in
points. The template, the annotated copy's 问题清单 and collection.xlsx all size by these functions.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from functools import cache

BODY_SIZE = 11  # pt, the body font
LINE_POINTS = 16  # one wrapped line of 11 pt CJK text (LibreOffice's fallback CJK fonts are tall)
ROW_POINTS = 15  # a row's default height
MAX_ROW_POINTS = 409  # the tallest row a spreadsheet allows
GLYPH = 1.1  # bold glyphs and the fallback fonts are wider than the nominal two units per character
PADDING = 2  # units a cell's padding takes
# Where a label may break without breaking a word: after a space, 、，；。, after a
# closing bracket, before an opening one (本年收费金额 / （单位：万元）).
_BREAK = re.compile(r"(?<=[\s、，；。）])|(?=（)")


@cache
def _units(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _line_units(line: str) -> int:
    return len(line) if line.isascii() else sum(map(_units, line))  # a 文字 sheet of 10,000 returns: millions of characters


def text_units(text: str, size: float = BODY_SIZE) -> float:
    """How wide the widest line of `text` prints, in column units: a wide (Chinese) character counts 2."""
    return max(map(_line_units, text.split("\n")), default=0) * size / BODY_SIZE


def label_width(text: str, size: float = BODY_SIZE) -> int:
    """The column width that shows every line of `text` unwrapped (padding and bold glyphs included)."""
    return math.ceil(text_units(text, size) * GLYPH + PADDING)


def wrapped_lines(text: str, width: float, size: float = BODY_SIZE) -> int:
    """How many lines `text` takes in a wrapping cell `width` units wide (each hard line break counted)."""
    usable = max(1.0, width / GLYPH - PADDING)
    scale = size / BODY_SIZE
    return sum(max(1, math.ceil(_line_units(line) * scale / usable)) for line in text.split("\n"))


def row_points(lines: int, size: float = BODY_SIZE) -> float:
    """The row height (pt) that shows `lines` wrapped lines of a `size` pt font."""
    if lines <= 1 and size <= BODY_SIZE:
        return ROW_POINTS
    return min(MAX_ROW_POINTS, max(ROW_POINTS, round(lines * LINE_POINTS * size / BODY_SIZE + 3)))


def row_height(cells: Iterable[tuple[str, float]], minimum: float = ROW_POINTS, size: float = BODY_SIZE) -> float:
    """A row tall enough to show every wrapped (text, column width) of it, within the spreadsheet's limit."""
    lines = max((wrapped_lines(text, width, size) for text, width in cells if text), default=1)
    return min(MAX_ROW_POINTS, max(minimum, row_points(lines, size)))


def column_width(texts: Iterable[str], low: float, high: float) -> float:
    """A column as wide as its widest text shown unwrapped, kept between low and high."""
    return max(low, min(high, max((label_width(t) for t in texts), default=0)))


def runs(text: str) -> list[str]:
    """The pieces of a label that must stay on one line: a break anywhere else splits a word."""
    return [piece.strip() for line in text.split("\n") for piece in _BREAK.split(line) if piece.strip()]


def run_width(text: str, size: float = BODY_SIZE) -> int:
    """The narrowest column that shows `text` without breaking a word: its longest run unwrapped."""
    return max((label_width(r, size) for r in runs(text)), default=0)


def break_label(text: str, width: float, size: float = BODY_SIZE) -> str:
    """A label too wide for its cell broken into lines at its runs' boundaries (本年收费金额 / （单位：万元）),
    so the spreadsheet never has to break it mid-word; a label that fits, or has line breaks already, stays."""
    if label_width(text, size) <= width or "\n" in text:
        return text
    lines = [""]
    for piece in _BREAK.split(text):
        if lines[-1] and label_width(lines[-1] + piece, size) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(line.strip() for line in lines if line.strip())
