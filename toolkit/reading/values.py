"""Turning what a clerk typed (or pasted) into a number of the cell's kind, or saying why not."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from toolkit.forms.spec import Kind
from toolkit.reading.memo import MEMO_TEXT, Memo
from toolkit.reading.ooxml import RawCell

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SPACES = re.compile(r"[\s\u3000\u00a0]+")
MAX_NUMBER_TEXT = 64  # characters: no number a return holds is longer, and longer text costs regex work for nothing
_DAY_ONE = {False: date(1899, 12, 30), True: date(1904, 1, 1)}  # what serial 0 means, by the workbook's date system
_LAST_SERIAL = 2_958_465  # 9999-12-31, the last day Excel knows


@dataclass(frozen=True)
class Reading:
    """The value read from one input cell, with the problem code it raised (if any)."""

    value: int | Decimal | None
    code: str = ""  # "" fine; see problems.CATALOGUE for the rest
    normalised: str = ""  # for text_number: what the text was read as


def _from_text(text: str) -> tuple[Decimal | None, str]:
    """Accept full-width digits, thousands separators and spaces; anything else is not a number."""
    t = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    if _THOUSANDS.match(t):
        t = t.replace(",", "")
    if not _PLAIN.match(t):
        return None, ""
    try:
        return Decimal(t), t
    except InvalidOperation:
        return None, ""


def stored_number(text: str) -> Decimal | None:
    """A number as the file stored it, with binary-float noise (0.30000000000000004) removed."""
    if len(text) > MAX_NUMBER_TEXT:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if len(value.as_tuple().digits) > 15:
        value = Decimal(repr(float(value)))
    return value if value.is_finite() else None  # 1.0000000000000001E+400 became inf


def _in_kind(value: Decimal, kind: Kind, code: str, normalised: str) -> Reading:
    if value < kind.min:
        return Reading(None, "negative" if kind.min == 0 else "too_small")
    if value > kind.max:
        return Reading(None, "too_large")
    if kind.type == "integer":
        if value != value.to_integral_value():
            return Reading(None, "not_integer")
        return Reading(int(value), code, normalised)
    places = -value.normalize().as_tuple().exponent
    if isinstance(places, int) and places > kind.decimals:
        return Reading(value, "too_many_decimals")
    return Reading(value, code, normalised)


def _read_text(text: str, kind: Kind) -> Reading:
    if len(text) > MAX_NUMBER_TEXT:  # at once: no regex or normalisation over a megabyte of text
        return Reading(None, "not_a_number")
    if not _SPACES.sub("", text):
        return Reading(None, "blank")
    value, normalised = _from_text(text)
    if value is None:
        return Reading(None, "not_a_number")
    return _in_kind(value, kind, "text_number", normalised)


def _read_stored(cell_type: str, text: str, kind: Kind) -> Reading:
    if cell_type == "n":
        value = stored_number(text)  # None for text longer than any number
        return Reading(None, "not_a_number") if value is None else _in_kind(value, kind, "", "")
    if cell_type == "s":
        return _read_text(text, kind)
    if cell_type in ("b", "e"):
        return Reading(None, "not_a_number")
    return Reading(None, "blank")


def number_reader(kind: Kind) -> Callable[[RawCell], Reading]:
    """The reader of input cells of `kind`: a cell's value, or why it has none (blank, text, out of range); remembered
    by what a cell stores, since the same few figures recur in every return."""
    memo = Memo(lambda stored: _read_stored(stored[0], stored[1], kind))

    def read(cell: RawCell) -> Reading:
        if len(cell.value) > MEMO_TEXT:
            return _read_stored(cell.type, cell.value, kind)
        return memo[(cell.type, cell.value)]

    return read


def date_of_serial(text: str, date1904: bool = False) -> str | None:
    """A date stored as Excel's day number (45677, maybe with a time of day) as ISO text (2025-01-20), else None."""
    serial = stored_number(text)
    if serial is None or not 1 <= serial <= _LAST_SERIAL:
        return None
    days = int(serial)
    if not date1904 and days < 61:  # Excel counts a 29 February 1900 that never was: before it, one day less
        if days == 60:
            return None
        days += 1
    return (_DAY_ONE[date1904] + timedelta(days=days)).isoformat()
