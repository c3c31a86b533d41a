"""The Word report of one return: the spec's cell ids are the docxtpl template's context keys.

Templates are compiled once per process and rendered with autoescape on, because a batch renders
thousands of reports and an unescaped `&` or `<` in a clerk's text silently corrupts the document.
"""

from __future__ import annotations

import difflib
import io
import re
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import jinja2
from docxtpl import DocxTemplate
from jinja2 import meta, nodes
from lxml import etree

from toolkit.core.digits import chinese_date, date_of
from toolkit.core.errors import UserError
from toolkit.core.text import xml_safe
from toolkit.forms.spec import DATE_FIELD, Cell, Form
from toolkit.returns.model import Return

TEMPLATES = Path(str(resources.files("docx_templates")))  # the shipped Word templates (data only)
RESERVED = ("title", "agency", "year", "date", "attribute", "fields", "texts", "form")


# ---------------------------------------------------------------- context


class Paragraphs(list):
    """A text's paragraphs; `{{ texts.s1 }}` used without a loop still prints the whole text."""

    def __str__(self) -> str:
        return "\n".join(self)


def paragraphs(text: str | None) -> Paragraphs:
    """Paragraphs of a clerk's text: one per line, indentation (the style indents) and empty lines dropped."""
    lines = xml_safe(text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Paragraphs(line.strip() for line in lines if line.strip())


def format_value(value: int | Decimal | None, cell: Cell) -> str:
    """Integers plain; decimals to the kind's precision with trailing zeros trimmed (251000.5, not 251000.500000)."""
    if value is None:
        return ""
    if cell.kind.type == "integer":
        return str(int(value))
    quantum = Decimal(1).scaleb(-cell.kind.decimals)
    text = format(Decimal(value).quantize(quantum), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_date(text: str) -> str:
    """A date as the report signs it (2021年1月28日), whichever common form it was typed in; else as typed."""
    day = date_of(text)
    return chinese_date(day) if day else text.strip()


def _field_text(value: object) -> str:
    if isinstance(value, (datetime, date)):
        return chinese_date(value)
    return xml_safe(str(value if value is not None else ""))


TITLE_LINE = 20  # characters of 二号 on the A4 type area (156 mm / 7.8 mm)


def _width(text: str) -> float:
    return sum(0.5 if ord(ch) < 0x2E80 else 1 for ch in text)


def title_lines(title: str, tail: str) -> str:
    """A title too long for one line breaks before the form's `title_break`, not wherever the line runs out (GB/T 9704 7.3.3)."""
    head = title.removesuffix(tail) if tail else title
    if _width(title) <= TITLE_LINE or head == title or not head or _width(head) > TITLE_LINE:
        return title
    return f"{head}\n{tail}"


def report_context(ret: Return) -> dict:
    """Nested dicts, so `{{ t3.new.natural }}`, `{{ texts.s1 }}` and `{{ fields.contact }}` work in a template."""
    form = _form(ret)
    ctx: dict = {}
    for cell_id, cell in form.cells.items():
        table, row, column = cell_id.split(".")
        ctx.setdefault(table, {}).setdefault(row, {})[column] = format_value(ret.values.get(cell_id), cell)
    fields = {f.id: _field_text(ret.fields.get(f.id, "")) for f in form.fields}
    agency = xml_safe(ret.agency or fields.get("agency", ""))
    year = str(ret.year if ret.year is not None else fields.get("year", ""))
    fields.update(agency=agency, year=year, date=format_date(fields.get(DATE_FIELD, "")))
    ctx.update(
        title=title_lines(xml_safe(form.report_title(agency, year)), form.title_break),
        agency=agency,
        year=year,
        date=fields["date"],
        attribute=xml_safe(form.attribute),
        fields=fields,
        texts={s.id: paragraphs(ret.texts.get(s.id)) for s in form.text_sections},
        form={"id": form.id, "version": form.version, "name": form.name, "basis": form.basis},
    )
    return ctx


def _form(ret: Return) -> Form:
    if ret.form is None:
        raise UserError(f"{ret.path}：无法识别表式，不能生成报告")
    clash = [t.id for t in ret.form.tables if t.id in RESERVED]
    if clash:
        raise UserError(f"表式 {ret.form.id} 的表格标识 {'、'.join(clash)} 与报告模板的保留变量名冲突")
    return ret.form


# ---------------------------------------------------------------- rendering


class _Environment(jinja2.Environment):
    """`{{ t3.values.x }}` must mean the row called `values`, not dict.values: prefer keys over attributes."""

    def getattr(self, obj, attribute):
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


ENV = _Environment(autoescape=True)
PLAIN_ENV = _Environment(autoescape=False)  # document properties: python-docx escapes them itself
_COMPILED: OrderedDict[tuple[str, bool], jinja2.Template] = OrderedDict()
_LOCK = threading.Lock()


def _compile(source: str, env: jinja2.Environment = ENV) -> jinja2.Template:
    """Each distinct template part is compiled once per process (compiling costs more than rendering)."""
    key = (source, env.autoescape)
    with _LOCK:
        template = _COMPILED.get(key)
        if template is not None:
            _COMPILED.move_to_end(key)
            return template
    template = env.from_string(source)
    with _LOCK:
        _COMPILED[key] = template
        while len(_COMPILED) > 64:
            _COMPILED.popitem(last=False)
    return template


_PATCHED: OrderedDict[str, str] = OrderedDict()


class _CachedTemplate(DocxTemplate):
    """docxtpl, with its XML clean-up and jinja compilation memoised per distinct part."""

    def patch_xml(self, src_xml):
        with _LOCK:
            done = _PATCHED.get(src_xml)
        if done is None:
            done = super().patch_xml(src_xml)
            with _LOCK:
                _PATCHED[src_xml] = done
                while len(_PATCHED) > 64:
                    _PATCHED.popitem(last=False)
        return done

    def render_xml_part(self, src_xml, part, context, jinja_env=None):
        src_xml = re.sub(r"<w:p([ >])", r"\n<w:p\1", src_xml)
        self.current_rendering_part = part
        dst_xml = _compile(src_xml).render(context)
        dst_xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", dst_xml)
        dst_xml = dst_xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        return self.resolve_listing(dst_xml)

    def render_properties(self, context, jinja_env=None):
        props = self.docx.core_properties
        for name in ("author", "comments", "identifier", "language", "subject", "title"):
            value = getattr(props, name)
            if value and "{" in value:
                setattr(props, name, xml_safe(_compile(value, PLAIN_ENV).render(context).replace("\n", "")))


@dataclass
class _Source:
    data: bytes
    stamp: tuple[float, int]


_SOURCES: dict[Path, _Source] = {}


def _file_bytes(path: Path) -> bytes:
    """The template file's bytes, read again only when the file changes."""
    try:
        st = path.stat()
    except OSError as e:
        raise UserError(f"{path}：找不到报告模板（{e.strerror or e}）") from None
    stamp = (st.st_mtime, st.st_size)
    cached = _SOURCES.get(path)
    if cached is None or cached.stamp != stamp:
        cached = _Source(path.read_bytes(), stamp)
        _SOURCES[path] = cached
    return cached.data


def default_template(form: Form) -> Path:
    """The built-in template of a form (docx_templates/<form id>.docx)."""
    path = TEMPLATES / f"{form.id}.docx"
    if not path.is_file():
        raise UserError(
            f"表式 {form.id} 没有内置的报告模板：请用 python -m toolkit.reports.builder {form.id} 生成，或用 --template 指定"
        )
    return path


MAX_TEMPLATE_BYTES = 20 * 1024 * 1024  # a report template is ≈ 40 KB


def check_word_template(path: str | Path) -> Path:
    """A user's `--template`: an existing .docx package (not a workbook, a text file or a folder); UserError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}：找不到模板文件" if not path.exists() else f"{path}：不是文件，请给出 Word 模板（.docx）")
    if path.stat().st_size > MAX_TEMPLATE_BYTES:
        raise UserError(f"{path}：文件过大，不像 Word 模板（.docx）")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        names = set()
    if "word/document.xml" not in names:
        what = "Word 模板，而是 Excel 工作簿" if "xl/workbook.xml" in names else "Word 模板（.docx）"
        raise UserError(f"{path}：不是 {what}；请给出用 Word 保存的 .docx 模板")
    return path


_BUILT: dict[str, bytes] = {}  # form fingerprint -> template built from the spec


def word_template_bytes(form: Form, template_path: str | Path | None = None) -> bytes:
    """The user's template, else the built-in one, else one built from the spec (a new form needs no Word work)."""
    if template_path:
        return _file_bytes(Path(template_path).resolve())
    path = TEMPLATES / f"{form.id}.docx"
    if path.is_file():
        return _file_bytes(path.resolve())
    if form.fingerprint not in _BUILT:
        from toolkit.reports.builder import build_template  # python-docx costs start-up; only a new form needs it

        _BUILT[form.fingerprint] = build_template(form)
    return _BUILT[form.fingerprint]


def _opened(data: bytes, where: object) -> _CachedTemplate:
    """The template parsed by python-docx; a damaged one is the user's problem to fix, not a crash."""
    doc = _CachedTemplate(io.BytesIO(data))
    try:
        doc.init_docx()
    except (etree.XMLSyntaxError, zipfile.BadZipFile, KeyError, ValueError) as e:
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise UserError(f"{where}：报告模板已损坏（{reason}），请在 Word 中打开后重新保存") from None
    return doc


def render_report(ret: Return, template_path: str | Path | None = None) -> bytes:
    """The .docx bytes of the return's report (the caller decides whether a return with errors may be rendered)."""
    context = report_context(ret)
    doc = _opened(word_template_bytes(ret.form, template_path), template_path or ret.form.id)
    try:
        doc.render(context, ENV, autoescape=True)
    except jinja2.TemplateError as e:
        raise UserError(f"{template_path or ret.form.id}：报告模板有误（{e}）") from None
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- template variables


@dataclass(frozen=True)
class Variable:
    """One context key and what it means, for `toolkit context` and the template lint."""

    key: str
    kind: str  # 数值 / 合计 / 文字 / 基本信息 / 报告
    label: str
    detail: str = ""


def template_variables(form: Form) -> list[Variable]:
    """Every key a template can use, with its labels, in document order."""
    out = [
        Variable(
            "title", "报告", "报告标题", f"{form.title}" + (f"；过长时在“{form.title_break}”前换行" if form.title_break else "")
        ),
        Variable("agency", "报告", "机关名称"),
        Variable("year", "报告", "年度"),
        Variable("date", "报告", "落款日期", "基本信息中的填报日期，写成“2021年1月28日”"),
        Variable(
            "attribute", "报告", "附注", f"落款日期下一行，如“{form.attribute or '（此件公开发布）'}”；表式 report.attribute 设置"
        ),
    ]
    out += [Variable(f"fields.{f.id}", "基本信息", f.label) for f in form.fields]
    for section in form.sections:
        if section.text:
            detail = "段落列表：{%p for para in texts." + section.id + " %}…{{ para }}…{%p endfor %}"
            out.append(Variable(f"texts.{section.id}", "文字", section.title, detail))
        for table in section.tables:
            where = table.caption or section.title
            out += [_cell_variable(form.cells[f"{table.id}.{r.id}.{c.id}"], where) for r in table.rows for c in table.columns]
    out += [Variable(f"form.{k}", "报告", f"表式{v}") for k, v in (("id", "标识"), ("version", "版本"), ("name", "名称"))]
    return out


def _cell_variable(cell: Cell, table: str) -> Variable:
    row = " / ".join(p for p in (*cell.row.path, cell.row.label) if p)
    column = " / ".join(p for p in (*cell.column.path, cell.column.label) if p)
    kind = cell.kind.label + (f"（{cell.kind.unit}）" if cell.kind.unit else "")
    return Variable(cell.id, "合计" if cell.computed else "数值", f"{table}｜{row}｜{column}", kind)


def _known_keys(form: Form) -> set[str]:
    keys = {v.key for v in template_variables(form)}
    keys |= {f"fields.{k}" for k in ("agency", "year", "date")} | {"form.basis"}
    return keys


def _dotted(node: nodes.Node) -> str | None:
    """`t3.new.natural` from the jinja expression `t3.new.natural` or `t3["new"]["natural"]`."""
    parts = []
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return ".".join([node.name, *reversed(parts)])


def _template_source(path: Path) -> str:
    """The template's body, headers and footers as docxtpl gives them to jinja."""
    doc = _opened(_file_bytes(path.resolve()), path)
    parts = [doc.patch_xml(doc.get_xml())]
    for uri in (doc.HEADER_URI, doc.FOOTER_URI):
        parts += [doc.patch_xml(doc.get_part_xml(part)) for _, part in doc.get_headers_footers(uri)]
    return "".join(parts)


def lint_template(form: Form, path: str | Path) -> list[str]:
    """Keys a template uses that the form does not define (a typo would print an empty cell in every report)."""
    path = Path(path)
    source = _template_source(path)
    try:
        tree = ENV.parse(source)
    except jinja2.TemplateSyntaxError as e:
        return [f"模板语法错误：{e.message}"]
    free = meta.find_undeclared_variables(tree)
    known = _known_keys(form)
    roots = {k.split(".")[0] for k in known}
    problems = [_unknown(name, roots) for name in sorted(free - roots)]
    seen: set[str] = set()
    unknown: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = _dotted(node)
        if not key or key in seen or key.split(".")[0] not in free or key.split(".")[0] not in roots:
            continue
        seen.add(key)
        if not _declared(key, known):
            unknown.add(key)
    deepest = {k for k in unknown if not any(o.startswith(k + ".") for o in unknown)}
    return sorted(set(problems) | {_unknown(k, known) for k in deepest})


def _declared(key: str, known: set[str]) -> bool:
    """A known key, a prefix of one (`t3.new`), or an attribute of one (`agency.strip`)."""
    parts = key.split(".")
    prefixes = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return key in known or bool(prefixes & known) or any(k.startswith(key + ".") for k in known)


def _unknown(key: str, known: set[str]) -> str:
    hint = difflib.get_close_matches(key, known, 1)
    return f"模板中的变量“{key}”在表式中不存在" + (f"，是否应为“{hint[0]}”？" if hint else "")
