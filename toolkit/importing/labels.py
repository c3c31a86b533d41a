"""Matching printed labels to the form spec's: normalised first, then a bounded edit distance.

Published labels are noisy (`结 果 维 持`, `(一)予以公开`, `其他法律行政止公开`). A label is
matched exactly after normalisation, or else to the one spec label within a small edit distance
that no other label is as close to; anything else is no match or a tie, never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_QUOTES = str.maketrans({"“": '"', "”": '"', "〝": '"', "〞": '"', "‘": "'", "’": "'", "「": '"', "」": '"'})
_SPACE = re.compile(r"\s+")
_NUMBER_DOT = re.compile(r"^(\d+)[.、,，]")  # 1、属于… and 1．属于… are 1.属于…
_PREFIX = re.compile(r"^(?:[一二三四五六七八九十]+、|\([一二三四五六七八九十]+\)|\d+\.)")
_UNIT = re.compile(r"\((?:单位[:：]?)?\s*(万元|元)\)$")
_TRAILING = re.compile(r"[:：。;；]+$")


def normalise(text: str) -> str:
    """The comparable form of a label: NFKC (half-width brackets and digits), no spaces, one kind of quote."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _SPACE.sub("", text)
    text = _NUMBER_DOT.sub(r"\1.", text)
    return _TRAILING.sub("", text)


def unit_of(label: str) -> tuple[str, str]:
    """(label without a unit in brackets, the unit: 万元, 元 or ""): `采购总金额(万元)` → (`采购总金额`, `万元`)."""
    text = normalise(label)
    m = _UNIT.search(text)
    return (text[: m.start()], m.group(1)) if m else (text, "")


def bare(text: str) -> str:
    """A normalised label without its numbering (一、 (一) 1.)."""
    return _PREFIX.sub("", text, count=1)


def distance(a: str, b: str, bound: int) -> int:
    """Levenshtein distance, or bound + 1 as soon as it is surely above bound."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > bound:
            return bound + 1
        previous = current
    return previous[-1]


def bound_for(label: str) -> int:
    """How many edits a label of this length may carry and still be recognised: 1 for short labels, at most 4."""
    return max(1, min(4, len(bare(label)) // 4))


@dataclass(frozen=True)
class Match(Generic[T]):
    item: T | None  # the spec item, None when nothing or more than one fits
    label: str  # the spec label matched (when item is set)
    fuzzy: bool  # matched by edit distance, not exactly: a warning with both spellings
    candidates: tuple[T, ...] = ()  # the tied candidates when ambiguous


def closeness(printed: str, label: str) -> int | None:
    """0 when equal after normalisation, the edit distance when within the bound, else None."""
    a, b = normalise(printed), normalise(label)
    if not a or not b:
        return None
    if a == b:
        return 0
    limit = bound_for(b)
    d = min(distance(a, b, limit), distance(bare(a), bare(b), limit) if bare(b) else limit + 1)
    d = max(d, 1)  # equal but for the numbering (1.重复申请 for 2.重复申请) is still not the same label
    return d if d <= limit else None


def best(printed: str, choices: Sequence[tuple[str, T]]) -> Match[T]:
    """The one choice whose label is closest to `printed` (exact beats fuzzy); a tie is ambiguous."""
    scored = [(d, label, item) for label, item in choices if (d := closeness(printed, label)) is not None]
    if not scored:
        return Match(None, "", False)
    top = min(d for d, _, _ in scored)
    winners = _unique([(label, item) for d, label, item in scored if d == top])
    if len(winners) > 1:
        return Match(None, "", top > 0, tuple(item for _, item in winners))
    label, item = winners[0]
    return Match(item, label, top > 0)


def _unique(pairs: Iterable[tuple[str, T]]) -> list[tuple[str, T]]:
    out: list[tuple[str, T]] = []
    for label, item in pairs:
        if all(item is not other for _, other in out):
            out.append((label, item))
    return out
