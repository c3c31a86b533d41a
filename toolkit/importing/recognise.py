"""Who and when a published report is for, from its title: `{机关}{年度}年政府信息公开工作年度报告`
or, as governments often write it, `{年度}年{机关}政府信息公开工作年度报告`."""

from __future__ import annotations

import re
import unicodedata

from toolkit.core.digits import report_year

_TITLE = re.compile(
    r"(?P<before>[^\d]*?)(?P<year>(?:19|20)\d{2})年度?(?P<after>.*?)政府信息公开(?:工作)?(?:年度报告|年度工作报告|年报|报告)"
)
_SEPARATORS = re.compile(r"[_|｜\-—–]{1,2}")
_NOT_NAME = ("关于", "《", "》", "“", "”")


_LEAD = re.compile(r"^关于(?:印发|公布|发布)?")


def _clean_name(text: str) -> str:
    """The agency's name in a title: no 关于印发《…》 around it."""
    text = _LEAD.sub("", text.strip(" ：:，,"))
    for mark in _NOT_NAME:
        text = text.replace(mark, "")
    return text.strip(" ：:，,")


def title_of(titles: list[str]) -> tuple[str, int | None, str]:
    """(agency, year, the title it came from) from the first candidate that reads as a report title."""
    for candidate in titles:
        text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", candidate))
        for piece in [text, *_SEPARATORS.split(text)]:
            m = _TITLE.search(piece)
            if m:
                agency = _clean_name(m.group("before")) or _clean_name(m.group("after"))
                return agency, report_year(m.group("year")), m.group(0)
    return "", None, ""
