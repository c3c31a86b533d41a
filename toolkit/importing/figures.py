"""A figure as printed in a published report, read into the form's number: what was done is said.

Reports print `0`, blanks and dashes for none, `1,234`, `12件`, `251000元` and `12.5万元`.
Each reading keeps the text as printed and a code for anything beyond plain digits, so the
importer can report it; text that is no number is never turned into one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from toolkit.forms.spec import Kind

_NUMBER = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?$")
_NONE = frozenset({"/", "-", "—", "——", "－", "–", "无", "\\", "×", "0件"})
_COUNT_UNITS = ("件", "个", "项", "次", "人", "条", "宗", "份")
_YUAN_PER_WAN = Decimal(10000)


@dataclass(frozen=True)
class Printed:
    value: int | Decimal | None  # None: not a number (the cell is not imported)
    code: str = ""  # "" plain | blank | dash | unit | yuan | not_a_number | not_integer
    normalised: str = ""  # the value as the form holds it, for the message


def read_figure(printed: str, kind: Kind, column_unit: str = "") -> Printed:
    """The form's value for one printed cell; `column_unit` is a unit printed in the column's header."""
    text = unicodedata.normalize("NFKC", printed).strip().replace(" ", "")
    if not text:
        return Printed(0, "blank", "0")
    if text in _NONE:
        return Printed(0, "dash", "0")
    unit = ""
    for suffix in ("万元", "元", *_COUNT_UNITS):
        if text.endswith(suffix) and len(text) > len(suffix):
            text, unit = text[: -len(suffix)], suffix
            break
    number = _number(text)
    if number is None:
        return Printed(None, "not_a_number")
    return _in_kind(number, kind, unit or column_unit, bool(unit))


def _number(text: str) -> Decimal | None:
    m = _NUMBER.match(text)
    if not m:
        return None
    try:
        return Decimal(m.group(0).replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None


def _in_kind(number: Decimal, kind: Kind, unit: str, typed: bool) -> Printed:
    code = "unit" if typed else ""
    if unit == "元" and kind.unit == "万元":
        number, code = number / _YUAN_PER_WAN, "yuan"
    if kind.type == "integer":
        if number != number.to_integral_value():
            return Printed(None, "not_integer", format(number, "f"))
        value: int | Decimal = int(number)
    else:
        value = number.normalize() if number != 0 else Decimal(0)
        if value == value.to_integral_value():
            value = value.quantize(Decimal(1))
    return Printed(value, code, format(value, "f") if isinstance(value, Decimal) else str(value))


_LOOKS_NUMERIC = re.compile(r"^[+-]?\d[\d,]*(?:\.\d+)?(?:万元|元|件|个|项|次|人|条|宗|份)?$")


def looks_numeric(printed: str) -> bool:
    """Whether a printed cell is a figure (so its row holds data, not headers)."""
    text = unicodedata.normalize("NFKC", printed).strip().replace(" ", "")
    return bool(_LOOKS_NUMERIC.match(text))
