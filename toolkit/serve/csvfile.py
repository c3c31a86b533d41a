"""The CSV files the office opens in Excel or WPS (links, 催报): UTF-8 with a BOM, no cell run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable


def safe_cell(value: object) -> object:
    """A text cell Excel will not run as a formula (an agency named “=HYPERLINK(…)” stays text)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_bytes(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
