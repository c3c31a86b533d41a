"""How every sheet we write prints: one page setup, applied through xlsxwriter or openpyxl.

A4, fitted to the page width (as many pages down as needed), the same margins, page numbers in the
footer, header rows (and the label column) on every page, landscape where the sheet is wider than
A4 portrait holds. The template, the annotated copy's 问题清单 and collection.xlsx all print by this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

A4 = 9  # the OOXML paper code (xlsxwriter's set_paper and openpyxl's paperSize alike)
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.7, "bottom": 0.6}  # inches
PORTRAIT_UNITS = 92  # column units that fit across A4 portrait unscaled (where Calibri stands in, 7 pt each)
FOOTER, FOOTER_SIZE = "第 &P 页，共 &N 页", 9


@dataclass(frozen=True)
class Page:
    landscape: bool
    repeat_rows: tuple[int, int] | None = None  # 0-based first and last row printed on top of every page
    repeat_first_col: bool = False
    pages_wide: int = 1
    title: str = ""  # printed centred in the page header


def landscape_for(widths: Iterable[float], wide: bool = False) -> bool:
    """Landscape when a table asks for it or its columns are wider than A4 portrait holds."""
    return wide or sum(widths) > PORTRAIT_UNITS


def _escape(text: str) -> str:
    """`&` starts a header code: a literal one is written twice."""
    return text.replace("&", "&&")


def apply_xlsxwriter(ws, page: Page) -> None:
    """The page setup on an xlsxwriter worksheet."""
    ws.set_paper(A4)
    if page.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(page.pages_wide, 0)
    ws.set_margins(**MARGINS)
    ws.center_horizontally()
    if page.repeat_rows:
        ws.repeat_rows(*page.repeat_rows)
    if page.repeat_first_col:
        ws.repeat_columns(0, 0)
    if page.title:
        ws.set_header(f"&C&10 {_escape(page.title)}")  # the space ends the size code: "&102024年" is size 102024
    ws.set_footer(f"&C&{FOOTER_SIZE} {FOOTER}")


def apply_openpyxl(ws, page: Page) -> None:
    """The page setup on an openpyxl worksheet (the annotated copy's added sheet)."""
    ws.page_setup.paperSize = A4
    ws.page_setup.orientation = "landscape" if page.landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = page.pages_wide, 0
    for side, inches in MARGINS.items():
        setattr(ws.page_margins, side, inches)
    ws.print_options.horizontalCentered = True
    if page.repeat_rows:
        ws.print_title_rows = f"{page.repeat_rows[0] + 1}:{page.repeat_rows[1] + 1}"
    if page.repeat_first_col:
        ws.print_title_cols = "A:A"
    if page.title:
        ws.oddHeader.center.text = _escape(page.title)
    ws.oddFooter.center.text, ws.oddFooter.center.size = FOOTER, FOOTER_SIZE
