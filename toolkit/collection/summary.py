"""What summary.docx says: the region's totals, how many agencies were expected and returned, the date,
and the office's own text for the free-text sections (`merge --text`, else the form's `report.summary`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from toolkit.collection.model import Collection
from toolkit.core.errors import UserError, os_reason
from toolkit.forms.spec import DATE_FIELD, Form, Section
from toolkit.returns.model import Return
from toolkit.workbook.mailing import decode_text


def _number(section: Section) -> str:
    """`五、` of `五、存在的主要问题及改进情况`: what a heading line in the office's text starts with."""
    head, sep, _ = section.title.partition("、")
    return head + sep if sep else section.title


def _heading(line: str, sections: tuple[Section, ...], after: int) -> int | None:
    """The index of the section a line heads, or None: it starts with a later section's number followed by
    the beginning of its title (五、存在…), so the office's own numbered points (一、政策解读…) inside a part stay text."""
    text = line.strip()
    if "。" in text or len(text) > 40:
        return None
    for i, s in enumerate(sections[after + 1 :], start=after + 1):
        number = _number(s)
        if text.startswith(number) and text[len(number) :][:2] == s.title[len(number) :][:2]:
            return i
    return None


def parse_summary_text(text: str, form: Form, where: str = "") -> dict[str, str]:
    """The office's text split at its section headings (五、… 六、…, in the form's order): section id -> text."""
    sections = form.text_sections
    out: dict[str, list[str]] = {}
    current = -1
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        index = _heading(line, sections, current)
        if index is not None:
            current = index
            out.setdefault(sections[index].id, [])
        elif current >= 0 and line.strip():
            out[sections[current].id].append(line.strip())
    if not out:
        titles = "”“".join(_number(s) for s in sections[1:] or sections)
        raise UserError(
            f"{where or '汇总报告文字'}：没有找到以“{titles}”开头的标题行；请按部分写，每部分以其标题（如“{sections[-1].title}”）开头"
        )
    return {sid: "\n".join(lines) for sid, lines in out.items()}


def read_summary_text(path: str | Path, form: Form) -> dict[str, str]:
    """`merge --text FILE`: the office's text for summary.docx, by section."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}：无法读取汇总报告文字（{os_reason(e)}）") from None
    return parse_summary_text(decode_text(raw, path), form, str(path))


def overview(c: Collection) -> str:
    """Section 一's opening: what was expected, what came in and what the totals are made of."""
    name, what = c.display_name, c.form.report_title("", c.year) if c.year else c.form.name
    included, received = len(c.returns), c.received
    if c.expected is None:
        text = f"本报告汇总了{name}{included}个机关报送的{what}数据。"
    else:
        missing = c.counts()["missing"]  # listed agencies that sent nothing (an unlisted sender does not hide one)
        text = f"本报告汇总了{name}{what}数据：应报送{c.expected}个机关，已报送{received}个"
        text += f"，未报送{missing}个" if missing else "，全部已报送"
        text += f"；计入汇总{included}个。"
    left_out = received - included
    if left_out > 0:
        text += f"另有{left_out}个机关的报表未通过检查，未计入汇总。"
    return text


def _fill(template: str, c: Collection) -> str:
    return template.replace("{name}", c.display_name).replace("{year}", str(c.year or ""))


def summary_return(c: Collection, texts: dict[str, str] | None = None, today: date | None = None) -> Return:
    """The region as one agency: totals, the overview in section 一, the office's (or the form's) text in the others, today's date."""
    fields = {"agency": c.display_name, "year": str(c.year or "")}
    ret = Return(path="", form=c.form, agency=c.display_name, year=c.year, fields=fields, values=dict(c.totals), texts={})
    sections = c.form.text_sections
    for s in sections[1:]:
        default = c.form.summary.get(s.id) or f"{{name}}各机关{s.title.removeprefix(_number(s))}见各机关的年度报告。"
        ret.texts[s.id] = _fill(default, c)
    given = dict(texts or {})
    if sections:  # the counts always open section 一; the office's own 一, if any, follows them
        first = sections[0].id
        own = given.pop(first, "") or _fill(c.form.summary.get(first, ""), c)
        ret.texts[first] = "\n".join(t for t in (overview(c), own) if t)
    ret.texts.update(given)
    ret.fields[DATE_FIELD] = (today or date.today()).isoformat()
    return ret
