"""Remembered answers of pure functions of what files store: every return of a form repeats the same
few hundred addresses, style numbers, figures and formulas, so each is worked out once per process,
not once per cell of every file (`check` of 1,000 returns).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

MEMO_TEXT = 10_000  # characters: a longer formula or figure (a crafted one) is worked out each time
# typed text: every clerk's paragraph is unique, so remembering it only costs memory (a merge worker
# grew by tens of MB); the form's own labels, which do recur, are all shorter than this
MEMO_FREE_TEXT = 200
MEMO_ENTRIES = 50_000


class Memo(dict):
    """`memo[key]` is `func(key)`, computed once. Bounded: emptied when full, so a hostile file costs
    memory once, never without end. Only for functions whose answer depends on the key alone."""

    def __init__(self, func: Callable[[Any], Any], limit: int = MEMO_ENTRIES):
        super().__init__()
        self.func, self.limit = func, limit

    def __missing__(self, key: Hashable) -> Any:
        value = self.func(key)  # may raise: nothing is remembered then
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


def remembered(func: Callable[[str], Any], limit: int = MEMO_ENTRIES, longest: int = MEMO_TEXT) -> Callable[[str], Any]:
    """func of a text, remembered for texts up to `longest` characters (longer ones computed each time)."""
    memo = Memo(func, limit)

    def lookup(text: str) -> Any:
        return memo[text] if len(text) <= longest else func(text)

    lookup.memo = memo  # type: ignore[attr-defined]
    return lookup
