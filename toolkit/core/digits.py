"""The one parser of years, counts and dates written in a file or typed by a user: never int() on arbitrary text."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

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


_DATES = (
    re.compile(r"^(\d{4})\s*([./-])\s*(\d{1,2})\s*\2\s*(\d{1,2})$", re.ASCII),  # 2026.1.18, 2026-01-18, 2026/1/18
    re.compile(r"^(\d{4})\s*(年)\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$", re.ASCII),  # 2026年1月18日
)


def date_of(text: object) -> date | None:
    """A day written as 2026.1.18, 2026-01-18, 2026/1/18 or 2026年1月18日 (full-width digits too), else None."""
    text = unicodedata.normalize("NFKC", str(text if text is not None else "")).strip()[:40]
    m = next((m for m in (p.match(text) for p in _DATES) if m), None)
    if m is None:
        return None
    year, _, month, day = m.groups()
    year, month, day = int(year), int(month), int(day)
    if not YEAR_MIN <= year <= YEAR_MAX:
        return None
    try:
        return date(year, month, day)
    except ValueError:  # 2026.2.30
        return None


def chinese_date(day: date) -> str:
    """How a report signs its date: 2026年1月18日."""
    return f"{day.year}年{day.month}月{day.day}日"
