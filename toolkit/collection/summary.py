"""What summary.docx says: the region's totals, how many agencies were expected and returned, the date,
and the office's own text for the free-text sections (`merge --text`, else the form's `report.summary`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from toolkit.collection.model import Collection
from toolkit.core.errors import UserError
from toolkit.forms.spec import DATE_FIELD, Form, Section
from toolkit.returns.model import Return
from toolkit.workbook.mailing import decode_text


def _number(section: Section) -> str:
    """`五、` of `五、存在的主要问题及改进情况`: what a heading line in the office's text starts with."""
    head, sep, _ = section.title.partition("、")
    return head + sep if sep else section.title


def _heading(line: str, sections: tuple[Section, ...]) -> Section | None:
    """The section a line heads: it starts with the section's number and is a title, not a sentence."""
    text = line.strip()
    if "。" in text or len(text) > 40:
        return None
    return next((s for s in sections if text.startswith(_number(s))), None)


def parse_summary_text(text: str, form: Form, where: str = "") -> dict[str, str]:
    """The office's text split at its section headings (五、… 六、…): section id -> text."""
    sections = form.text_sections
    out: dict[str, list[str]] = {}
    current: Section | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        section = _heading(line, sections)
        if section is not None:
            current = section
            out.setdefault(section.id, [])
        elif current is not None and line.strip():
            out[current.id].append(line.strip())
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
        raise UserError(f"{path}：无法读取汇总报告文字（{e.strerror or e}）") from None
    return parse_summary_text(decode_text(raw, path), form, str(path))


def overview(c: Collection) -> str:
    """Section 一's opening: what was expected, what came in and what the totals are made of."""
    year = f"{c.year}年度" if c.year else ""
    included, received = len(c.returns), c.received
    if c.expected is None:
        text = f"本报告汇总了{c.name}{included}个机关报送的{year}政府信息公开工作年度报告数据。"
    else:
        missing = c.counts()["missing"]  # listed agencies that sent nothing (an unlisted sender does not hide one)
        text = f"本报告汇总了{c.name}{year}政府信息公开工作年度报告数据：应报送{c.expected}个机关，已报送{received}个"
        text += f"，未报送{missing}个" if missing else "，全部已报送"
        text += f"；计入汇总{included}个。"
    left_out = received - included
    if left_out > 0:
        text += f"另有{left_out}个机关的报表未通过检查，未计入汇总。"
    return text


def _fill(template: str, c: Collection) -> str:
    return template.replace("{name}", c.name).replace("{year}", str(c.year or ""))


def summary_return(c: Collection, texts: dict[str, str] | None = None, today: date | None = None) -> Return:
    """The region as one agency: totals, the overview in section 一, the office's (or the form's) text in the others, today's date."""
    fields = {"agency": c.name, "year": str(c.year or "")}
    ret = Return(path="", form=c.form, agency=c.name, year=c.year, fields=fields, values=dict(c.totals), texts={})
    sections = c.form.text_sections
    for s in sections[1:]:
        default = c.form.summary.get(s.id) or f"{{name}}各机关{s.title.removeprefix(_number(s))}见各机关的年度报告。"
        ret.texts[s.id] = _fill(default, c)
    given = dict(texts or {})
    if sections:  # the counts always open section 一; the office's own 一, if any, follows them
        first = sections[0].id
        ret.texts[first] = "\n".join(t for t in (overview(c), given.pop(first, "")) if t)
    ret.texts.update(given)
    ret.fields[DATE_FIELD] = (today or date.today()).isoformat()
    return ret
