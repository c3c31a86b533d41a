"""The report's text sections (一, 五, 六) found by their headings, paragraph by paragraph.

A heading is a short paragraph starting with the section's number (一、 … 六、) whose words are
close to the form's title for it; reports word some differently (五、政府信息公开工作存在的主要
问题及改进情况), so closeness is a similarity ratio, and a heading not as the form spells it is
reported as a fuzzy label. The closing (agency, date, 此件公开发布) is taken off the last section.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from toolkit.core.digits import chinese_date, date_of
from toolkit.forms.spec import Form, Section
from toolkit.importing.document import Grid
from toolkit.importing.labels import normalise

MIN_RATIO = 0.6
MAX_HEADING = 60
_DATE_LINE = re.compile(r"^(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")  # a day that may not exist (2月30日)
_CLOSING = re.compile(r"^[(（]?此件(?:公开发布|主动公开)[)）]?$")
_PAGE_NUMBER = re.compile(r"^[—\-－–]\s*\d+\s*[—\-－–]$")
# What follows a report on a portal page printed or saved whole: the last section ends before it.
_CHROME = re.compile(
    r"^(附件下载|附件[:：]|相关附件|扫一扫|分享到|【?打印本页|【?关闭窗口|【?打印】|【?关闭】|网站地图|版权所有|主办单位|.*ICP备|网站标识码)"
)


def _number(section: Section) -> str:
    return section.title.split("、", 1)[0] + "、" if "、" in section.title else ""


def heading_ratio(section: Section, text: str) -> float:
    """How close a paragraph is to being the section's heading (0 when it cannot be)."""
    prefix = _number(section)
    if not prefix or len(text) > MAX_HEADING:
        return 0.0
    if not text.startswith(prefix):  # numbered by Word's list numbering, the number is not in the text
        return 1.0 if normalise(text) == normalise(section.title.removeprefix(prefix)) else 0.0
    return difflib.SequenceMatcher(None, normalise(text), normalise(section.title)).ratio()


def is_heading(form: Form, text: str) -> bool:
    text = text.strip()
    return any(heading_ratio(s, text) >= MIN_RATIO for s in form.sections)


@dataclass
class Found:
    texts: dict[str, str]  # section id -> its paragraphs joined by line breaks
    headings: dict[str, str]  # section id -> the heading as printed
    date: str  # the closing date as 2026年1月18日 (as printed when no such day), or ""


def _headings(form: Form, blocks: list[str | Grid]) -> list[tuple[int, Section, str]]:
    """(block index, section, text) of each section's heading, in the form's order."""
    out, start = [], 0
    for section in form.sections:
        for i in range(start, len(blocks)):
            block = blocks[i]
            if isinstance(block, str) and heading_ratio(section, block.strip()) >= MIN_RATIO:
                out.append((i, section, block.strip()))
                start = i + 1
                break
    return out


def _signature(text: str, agency: str, dated: bool) -> bool:
    """The agency signing the report: its name, or (above a date) a short line holding its name
    (`平潭综合实验区管委会` under a title naming `平潭综合实验区`); a sentence is never one."""
    name, line = normalise(agency), normalise(text)
    if not name or not line:
        return False
    if line == name:
        return True
    short = len(text) <= 40 and not text.endswith(("。", "；", "，", "：", ".", ";"))
    return dated and short and (name in line or line in name)


def _closing(paragraphs: list[str], agency: str) -> tuple[list[str], str]:
    """The last section's paragraphs without the report's closing lines, and the closing date."""
    ps, date = list(paragraphs), ""
    while ps and _CLOSING.match(ps[-1]):
        ps.pop()
    day = date_of(ps[-1]) if ps else None  # the reader's one date parser: 2026年1月18日, 2026.1.18 …
    if day is not None or (ps and _DATE_LINE.match(ps[-1])):
        printed = ps.pop().replace(" ", "")
        date = chinese_date(day) if day else printed  # as read-back writes every date it understands; check says the rest
    while ps and (_CLOSING.match(ps[-1]) or _signature(ps[-1], agency, bool(date))):
        ps.pop()
    return ps, date


def _text_of(block: str | Grid) -> str | None:
    """A paragraph's text; a table of one written cell (a boxed or underlined paragraph, to a PDF reader) is one too."""
    if isinstance(block, str):
        return block
    cells = {cell.origin: cell.text for row in block.rows for cell in row if cell.text.strip()}
    return next(iter(cells.values())) if len(cells) == 1 else None


def _before_chrome(paragraphs: list[str]) -> list[str]:
    """The last section's paragraphs up to the site's own text (附件下载, 扫一扫, 版权所有 …)."""
    for i, p in enumerate(paragraphs):
        if _CHROME.match(p):
            return paragraphs[:i]
    return paragraphs


def find_sections(form: Form, blocks: list[str | Grid], agency: str) -> Found:
    found = Found({}, {}, "")
    heads = _headings(form, blocks)
    for n, (i, section, text) in enumerate(heads):
        found.headings[section.id] = text
        if not section.text:
            continue
        end = heads[n + 1][0] if n + 1 < len(heads) else len(blocks)
        paragraphs = [t.strip() for t in map(_text_of, blocks[i + 1 : end]) if t and t.strip()]
        paragraphs = [p for p in paragraphs if not _PAGE_NUMBER.match(p)]
        if n + 1 == len(heads):
            paragraphs, found.date = _closing(_before_chrome(paragraphs), agency)
        found.texts[section.id] = "\n".join(paragraphs)
    return found
