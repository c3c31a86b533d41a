"""Build the docxtpl report template of a form from its spec: `python -m toolkit.reports.builder`.

The template is generated, not drawn by hand, so a new or changed form spec gets an official-looking
starting template for free; offices may then restyle the built file in Word. Typography follows
GB/T 9704-2012 (党政机关公文格式). The build is byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips

from toolkit.core.fileio import atomic_write_bytes
from toolkit.forms.layout import Static, table_grid
from toolkit.forms.spec import Form, Section, Table, builtin_forms, get_form

HERE = Path(str(resources.files("docx_templates")))  # where the shipped templates live

# (East Asian font, the font Word should substitute when it is missing) — GB/T 9704-2012.
TITLE_FONT = ("方正小标宋简体", "宋体")
BODY_FONT = ("仿宋_GB2312", "仿宋")
HEADING1_FONT = ("黑体", "SimHei")
HEADING2_FONT = ("楷体_GB2312", "楷体")
TABLE_FONT = ("宋体", "SimSun")
LATIN_FONT = "Times New Roman"

BODY_PT, TITLE_PT, TABLE_PT, PAGE_NUMBER_PT = 16, 22, 10.5, 14  # 三号, 二号, 五号, 四号
LINE_PITCH = Twips(578)  # 28.9 pt: 22 lines on the A4 type area, as GB/T 9704 asks
ROW_MM = 6  # minimum table row height, so a one-line row is not cramped
PAGE_W, PAGE_H = 210, 297
MARGINS = {"top": 37, "bottom": 35, "left": 28, "right": 26}  # mm
FIXED_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)


# ---------------------------------------------------------------- fonts and styles


def _set_fonts(rpr, east_asia: str, latin: str) -> None:
    """Name the East Asian face in w:eastAsia (Word ignores a Latin-only name for CJK text)."""
    for old in rpr.findall(qn("w:rFonts")):
        rpr.remove(old)
    fonts = OxmlElement("w:rFonts")
    for attr, value in (("ascii", latin), ("hAnsi", latin), ("eastAsia", east_asia), ("cs", latin), ("hint", "eastAsia")):
        fonts.set(qn(f"w:{attr}"), value)
    rpr.insert(0, fonts)


def _clear_rpr(rpr, *tags: str) -> None:
    for tag in tags:
        for el in rpr.findall(qn(f"w:{tag}")):
            rpr.remove(el)


def _style(doc, name: str, style_id: str | None = None, base: str | None = "Normal"):
    """An existing style by name, or a new paragraph style (ASCII id so tools can find it)."""
    try:
        return doc.styles[name]
    except KeyError:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        if style_id:
            style.style_id = style_id
        if base:
            style.base_style = doc.styles[base]
        style.quick_style = True
        return style


@dataclass(frozen=True)
class Look:
    font: tuple[str, str]
    size: float
    latin: str = LATIN_FONT
    bold: bool = False
    align: WD_ALIGN_PARAGRAPH | None = None
    indent_chars: int = 0  # first-line indent, in characters
    line: Twips | None = LINE_PITCH  # exact line spacing; None = single
    keep_with_next: bool = False


def _apply(style, look: Look) -> None:
    """Give a style exactly this look, dropping theme fonts, colours and spacing inherited from the default template."""
    rpr = style.element.get_or_add_rPr()
    _clear_rpr(rpr, "color", "b", "bCs", "i", "iCs", "sz", "szCs", "kern", "spacing")
    _set_fonts(rpr, look.font[0], look.latin)
    style.font.size = Pt(look.size)
    style.font.bold = look.bold
    pf = style.paragraph_format
    pf.alignment = look.align
    pf.space_before = pf.space_after = Pt(0)
    pf.keep_with_next = look.keep_with_next
    if look.line is None:
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        pf.line_spacing_rule, pf.line_spacing = WD_LINE_SPACING.EXACTLY, look.line
    ppr = style.element.get_or_add_pPr()
    for tag in ("pBdr", "contextualSpacing"):  # the default Title's blue rule
        for el in ppr.findall(qn(f"w:{tag}")):
            ppr.remove(el)
    _first_line_indent(ppr, look.indent_chars, look.size)


def _first_line_indent(ppr, chars: int, size: float) -> None:
    """`firstLineChars` keeps the indent at two characters even when the font size changes."""
    for old in ppr.findall(qn("w:ind")):
        ppr.remove(old)
    ind = OxmlElement("w:ind")
    ind.set(qn("w:firstLineChars"), str(chars * 100))
    ind.set(qn("w:firstLine"), str(int(chars * size * 20)))
    ppr.append(ind)
    _sort_ppr(ppr)


_PPR_ORDER = [
    "pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr", "suppressLineNumbers",
    "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap", "overflowPunct", "topLinePunct", "autoSpaceDE",
    "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents",
    "suppressOverlap", "jc", "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle",
    "rPr", "sectPr", "pPrChange",
]  # fmt: skip


def _sort_ppr(ppr) -> None:
    """Keep w:pPr children in schema order: Word refuses files where they are not."""
    order = {qn(f"w:{t}"): i for i, t in enumerate(_PPR_ORDER)}
    children = sorted(ppr, key=lambda el: order.get(el.tag, len(order)))
    for el in children:
        ppr.append(el)


def _doc_defaults(doc) -> None:
    """Body font and Chinese language as document defaults, so new text a clerk types matches."""
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(rpr, BODY_FONT[0], LATIN_FONT)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    for tag in ("sz", "szCs"):
        rpr.find(qn(f"w:{tag}")).set(qn("w:val"), str(BODY_PT * 2))
    ppr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    for el in ppr.findall(qn("w:spacing")):
        ppr.remove(el)


STYLES = {
    # name: (style id for new styles, base, look)
    "Normal": (None, None, Look(BODY_FONT, BODY_PT, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent_chars=2)),
    "Title": (None, "Normal", Look(TITLE_FONT, TITLE_PT, latin=TITLE_FONT[0], align=WD_ALIGN_PARAGRAPH.CENTER, line=Pt(36))),
    "Heading 1": (None, "Normal", Look(HEADING1_FONT, BODY_PT, latin=HEADING1_FONT[0], indent_chars=2, keep_with_next=True)),
    "Heading 2": (None, "Normal", Look(HEADING2_FONT, BODY_PT, latin=HEADING2_FONT[0], indent_chars=2, keep_with_next=True)),
    "报告落款": ("Signature", "Normal", Look(BODY_FONT, BODY_PT, align=WD_ALIGN_PARAGRAPH.RIGHT)),
    "表格标题": ("TableCaption", None, Look(HEADING1_FONT, TABLE_PT, latin=HEADING1_FONT[0], align=WD_ALIGN_PARAGRAPH.CENTER, line=None)),
    "表头": ("TableHeading", None, Look(HEADING1_FONT, TABLE_PT, latin=HEADING1_FONT[0], align=WD_ALIGN_PARAGRAPH.CENTER, line=None)),
    "表格文字": ("TableText", None, Look(TABLE_FONT, TABLE_PT, align=WD_ALIGN_PARAGRAPH.LEFT, line=None)),
    "表格数字": ("TableNumber", None, Look(TABLE_FONT, TABLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, line=None)),
    "表间距": ("TableGap", None, Look(BODY_FONT, 6, line=Pt(8))),
    "表注": ("TableNote", None, Look(BODY_FONT, TABLE_PT, align=WD_ALIGN_PARAGRAPH.LEFT, line=None)),
    "Footer": (None, None, Look(TABLE_FONT, PAGE_NUMBER_PT, line=None)),
}  # fmt: skip


def _styles(doc) -> None:
    _doc_defaults(doc)
    for name, (style_id, base, look) in STYLES.items():
        style = _style(doc, name, style_id, base)
        _apply(style, look)
    right = doc.styles["报告落款"].paragraph_format
    right.right_indent = Pt(BODY_PT * 2)  # 不加盖印章的公文：署名右空二字 (GB/T 9704 7.3.5.2)
    for name in ("Heading 1", "Heading 2"):  # keep them as outline levels for Word's navigation pane
        _clear_rpr(doc.styles[name].element.get_or_add_rPr(), "rFonts")
        _set_fonts(doc.styles[name].element.get_or_add_rPr(), STYLES[name][2].font[0], STYLES[name][2].latin)


def _font_table(doc) -> None:
    """Declare each Chinese face with its substitute (w:altName) and GB2312 charset, for machines lacking it."""
    part = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    xml = part.blob.decode("utf-8")
    entries = []
    for name, alt in (TITLE_FONT, BODY_FONT, HEADING1_FONT, HEADING2_FONT, TABLE_FONT):
        entries.append(
            f'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
            '<w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font>'
        )
    part._blob = xml.replace("</w:fonts>", "".join(entries) + "</w:fonts>").encode("utf-8")


# ---------------------------------------------------------------- page set-up


def _page(section, landscape: bool) -> None:
    """A4 with GB/T 9704 margins; a landscape page is the portrait sheet turned, margins turning with it."""
    m = MARGINS
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(PAGE_H), Mm(PAGE_W)
        section.top_margin, section.right_margin = Mm(m["left"]), Mm(m["top"])
        section.bottom_margin, section.left_margin = Mm(m["right"]), Mm(m["bottom"])
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
        section.top_margin, section.bottom_margin = Mm(m["top"]), Mm(m["bottom"])
        section.left_margin, section.right_margin = Mm(m["left"]), Mm(m["right"])
    section.header_distance, section.footer_distance = Mm(15), Mm(20)


def _text_width_mm(landscape: bool) -> float:
    if landscape:
        return PAGE_H - MARGINS["top"] - MARGINS["bottom"]
    return PAGE_W - MARGINS["left"] - MARGINS["right"]


def _page_numbers(doc) -> None:
    """`— 1 —` page numbers: odd pages on the right, even pages on the left, one character in (GB/T 9704)."""
    doc.settings.odd_and_even_pages_header_footer = True
    section = doc.sections[0]
    for footer, align, side in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right_indent"),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left_indent"),
    ):
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0]
        p.style = doc.styles["Footer"]
        p.alignment = align
        setattr(p.paragraph_format, side, Pt(PAGE_NUMBER_PT))
        p.add_run("— ")
        _page_field(p)
        p.add_run(" —")


def _page_field(paragraph) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), " PAGE ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


# ---------------------------------------------------------------- tables


@dataclass(frozen=True)
class Placed:
    """One cell of the drawn grid: where it starts, how far it spans, what it says and how."""

    row: int
    col: int
    rows: int
    cols: int
    text: str
    style: str


_WORD_STYLES = {"caption": "表格标题", "header": "表头", "rowlabel": "表格文字"}


def _placed(s: Static) -> Placed:
    """A piece of the workbook's grid as Word draws it: a column's note under its header, the corner by its length."""
    style = _WORD_STYLES.get(s.style) or (
        "表头" if len(s.text) <= 8 else "表格文字"
    )  # 信息内容 is a header; 表三's note is prose
    return Placed(s.row, s.col, s.last_row - s.row + 1, s.last_col - s.col + 1, s.text, style)


def table_note(table: Table) -> str:
    """The line under a table for what its official headers do not print (the unit of 采购总金额): the workbook's wording."""
    notes = "；".join(f"{c.label}（{c.note}）" for c in table.columns if c.note)
    return f"注：{notes}" if notes else ""


def table_layout(table: Table) -> tuple[int, int, list[Placed]]:
    """The whole grid of a spec table, from the layout the workbook uses: (rows, columns, placed cells).

    Headers print the official labels verbatim; a column's note goes under the table (table_note)."""
    grid = table_grid(table)
    cells = [_placed(s) for s in grid.statics]
    cells += [Placed(row, col, 1, 1, f"{{{{ {cell_id} }}}}", "表格数字") for cell_id, (row, col) in grid.cells.items()]
    return grid.height, grid.width, cells


def column_widths(table: Table, total_mm: float) -> list[float]:
    """Equal value columns (one header line when room allows); group-label columns up to 5 characters; the rest to leaf labels."""
    n, labels = len(table.columns), table.label_depth
    if not labels:
        return [total_mm / n] * n
    char = TABLE_PT * 25.4 / 72
    widest = max(len(c.label) for c in table.columns) + 1
    value = min(total_mm * 0.55 / n, max(9, widest) * char)
    groups = [0.0] * (labels - 1)
    for row in table.all_rows:
        if row.children and row.depth < labels - 1:
            groups[row.depth] = max(groups[row.depth], min(len(row.label), 5) * char + 2.5)
    last = total_mm - n * value - sum(groups)
    return [*groups, last] + [value] * n


def _add_table(doc, table: Table, width_mm: float) -> None:
    nrows, ncols, placed = table_layout(table)
    grid = doc.add_table(rows=nrows, cols=ncols)
    grid.style = doc.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    widths = [Mm(w).twips for w in column_widths(table, width_mm)]
    widths[-1] += Mm(width_mm).twips - sum(widths)  # rounding: the borders meet both margins exactly
    for j, w in enumerate(widths):
        grid.columns[j].width = Twips(w)
        for cell in grid.columns[j].cells:
            cell.width = Twips(w)
    _table_properties(grid, sum(widths))
    heading_rows = max(p.row + p.rows for p in placed if p.style in ("表头", "表格标题"))
    for i, row in enumerate(grid.rows):
        _row_properties(row, header=i < heading_rows)
    for p in placed:
        _fill(doc, grid, p)


def _fill(doc, grid, p: Placed) -> None:
    cell = grid.cell(p.row, p.col)
    if p.rows > 1 or p.cols > 1:
        cell = cell.merge(grid.cell(p.row + p.rows - 1, p.col + p.cols - 1))
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    lines = p.text.split("\n")
    para = cell.paragraphs[0]
    for extra in cell.paragraphs[1:]:
        extra._p.getparent().remove(extra._p)
    para.style = doc.styles[p.style]
    para.add_run(lines[0])
    for line in lines[1:]:
        cell.add_paragraph(line, style=doc.styles[p.style])


def _table_properties(grid, width: int) -> None:
    """Fixed layout, the text width, no indent and narrow cell margins, so Word and LibreOffice draw
    the same widths and the borders line up with the text's margins (no outdent by the cell margin)."""
    tblpr = grid._tbl.tblPr
    for tag in ("tblW", "tblInd"):
        for old in tblpr.findall(qn(f"w:{tag}")):
            tblpr.remove(old)
    for tag, value in (("tblW", width), ("tblInd", 0)):
        el = OxmlElement(f"w:{tag}")
        el.set(qn("w:w"), str(value))
        el.set(qn("w:type"), "dxa")
        tblpr.append(el)
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)
    margins = OxmlElement("w:tblCellMar")
    for side, value in (("top", 20), ("left", 57), ("bottom", 20), ("right", 57)):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(value))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    tblpr.append(margins)
    _sort_tblpr(tblpr)


_TBLPR_ORDER = [
    "tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW", "jc",
    "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook",
]  # fmt: skip


def _sort_tblpr(tblpr) -> None:
    order = {qn(f"w:{t}"): i for i, t in enumerate(_TBLPR_ORDER)}
    for el in sorted(tblpr, key=lambda el: order.get(el.tag, len(order))):
        tblpr.append(el)


def _row_properties(row, header: bool) -> None:
    """Rows never split across pages; header rows repeat on every page the table runs onto."""
    row.height, row.height_rule = Mm(ROW_MM), WD_ROW_HEIGHT_RULE.AT_LEAST
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))
    if header:
        trpr.append(OxmlElement("w:tblHeader"))


# ---------------------------------------------------------------- the document


def _paragraph(doc, text: str, style: str):
    return doc.add_paragraph(text, style=doc.styles[style])


def _text_section(doc, section: Section) -> None:
    """A loop over the text's paragraphs: each becomes its own body paragraph when rendered."""
    _paragraph(doc, f"{{%p for para in texts.{section.id} %}}", "Normal")
    _paragraph(doc, "{{ para }}", "Normal")
    _paragraph(doc, "{%p endfor %}", "Normal")


def _tables(doc, section: Section, landscape: bool) -> None:
    for i, table in enumerate(section.tables):
        if i:
            _paragraph(doc, "", "表间距")
        _add_table(doc, table, _text_width_mm(landscape))
        if table_note(table):
            _paragraph(doc, table_note(table), "表注")
    _paragraph(doc, "", "表间距")


def _is_landscape(section: Section) -> bool:
    return any(t.landscape for t in section.tables)


def _switch_page(doc, landscape: bool) -> None:
    """End the current section (its break paragraph made tiny so it adds no blank page) and start a new one."""
    new = doc.add_section(WD_SECTION.NEW_PAGE)
    doc.paragraphs[-1].style = doc.styles["表间距"]
    _page(new, landscape)


def _attribute(doc) -> None:
    """附注 (GB/T 9704 7.3.6): under the date, two characters in; the form's `report.attribute` sets its text."""
    _paragraph(doc, "{%p if attribute %}", "Normal")
    _paragraph(doc, "{{ attribute }}", "Normal")
    _paragraph(doc, "{%p endif %}", "Normal")


def _chinese_theme(doc) -> None:
    """python-docx's default settings name Japanese as the theme's East Asian language: Chinese, as the text is."""
    lang = doc.settings.element.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")


def build_document(form: Form):
    """The template as a python-docx Document: title, intro, six sections, signature."""
    doc = Document()
    _styles(doc)
    _font_table(doc)
    _chinese_theme(doc)
    _page(doc.sections[0], landscape=False)
    _paragraph(doc, "{{ title }}", "Title")
    _paragraph(doc, "", "Normal")
    if form.intro:
        _paragraph(doc, form.intro, "Normal")
    landscape = False
    for section in form.sections:
        if _is_landscape(section) != landscape:
            landscape = not landscape
            _switch_page(doc, landscape)
        _paragraph(doc, section.title, "Heading 1")
        if section.text:
            _text_section(doc, section)
        if section.tables:
            _tables(doc, section, landscape)
    if landscape:
        _switch_page(doc, False)
    _paragraph(doc, "", "Normal")
    _paragraph(doc, "{{ agency }}", "报告落款")
    _paragraph(doc, "{{ date }}", "报告落款")
    _attribute(doc)
    _page_numbers(doc)
    _properties(doc, form)
    return doc


def _properties(doc, form: Form) -> None:
    props = doc.core_properties
    props.title = "{{ title }}"
    props.author = "{{ agency }}"
    props.subject = form.name
    props.comments = f"由 toolkit 根据表式 {form.id}（{form.version}）生成的报告模板；变量名见 toolkit context {form.id}"
    props.keywords = ""
    props.last_modified_by = ""
    props.revision = 1
    props.created = props.modified = FIXED_TIME.replace(tzinfo=None)


def _reproducible(data: bytes) -> bytes:
    """Rewrite the zip with fixed timestamps, so rebuilding an unchanged spec gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == "docProps/thumbnail.jpeg":
                continue
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def build_template(form: Form) -> bytes:
    """The .docx bytes of the form's report template."""
    doc = build_document(form)
    _drop_thumbnail(doc)
    buf = io.BytesIO()
    doc.save(buf)
    return _reproducible(buf.getvalue())


def _drop_thumbnail(doc) -> None:
    """python-docx's default template carries a thumbnail of an empty page; Word would show it as the preview."""
    pkg = doc.part.package
    for rel in list(pkg.rels.values()):
        if rel.reltype.endswith("/thumbnail"):
            pkg.rels.pop(rel.rId)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m toolkit.reports.builder", description="根据表式生成 Word 报告模板")
    parser.add_argument("forms", nargs="*", help="表式标识或 YAML 路径（默认：全部内置表式）")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="输出文件夹（默认：docx_templates/）")
    args = parser.parse_args(argv)
    try:
        forms = [get_form(f) for f in args.forms] if args.forms else list(builtin_forms().values())
    except KeyError as e:
        print(
            f"错误：未知的表式“{e.args[0]}”，可用的表式：{'、'.join(builtin_forms())}（也可给出表式 YAML 文件路径）",
            file=sys.stderr,
        )
        return 2
    for form in forms:
        path = args.out_dir / f"{form.id}.docx"
        atomic_write_bytes(path, build_template(form))
        print(f"已生成：{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
