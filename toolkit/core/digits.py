"""The one parser of years and counts written in a file or typed by a user: never int() on arbitrary text."""

from __future__ import annotations

YEAR_MIN, YEAR_MAX = 2000, 2100


def year_of(text: object) -> int | None:
    """A year written as up to four ASCII digits ("2024"), else None: "²", "２０２４" or 5,000 digits are no year."""
    text = str(text if text is not None else "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None


def count_of(text: object, limit: int = 10**7) -> int | None:
    """A count written as ASCII digits and not above `limit`, else None (a file's claim, checked before it is used)."""
    text = str(text if text is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(limit)):
        return None
    value = int(text)
    return value if value <= limit else None


def report_year(text: object) -> int | None:
    """A year an annual report can be for: four digits between YEAR_MIN and YEAR_MAX, else None."""
    year = year_of(text)
    return year if year is not None and YEAR_MIN <= year <= YEAR_MAX and len(str(text).strip()) == 4 else None
