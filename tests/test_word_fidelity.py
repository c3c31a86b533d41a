"""What the Word outputs print, against the official formats: headers verbatim, units in a note,
the 附注 （此件公开发布）, a 目录 with page numbers, a summary that says what came in, Chinese glyphs.

The expected headers are typed here by hand from /work/shared/reference/official_formats.md,
not read from the form specs, so a spec that drifts from the official wording fails here.
"""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from bisect import bisect_right
from datetime import date
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from filling import complete_fields, complete_texts, fill_workbook, sample_workbook

from toolkit.cli import main
from toolkit.collection.documents import combine_reports
from toolkit.forms.spec import get_form, parse_form
from toolkit.reports.render import render_report
from toolkit.returns.model import Return

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
WORKBOOK_TEMPLATES = Path(__file__).resolve().parent.parent / "workbook_templates"
ATTRIBUTE = "（此件公开发布）"

# ---------------------------------------------------------------- the official headers, by hand

T3_CORNER = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
T3_HEADER = [
    ["申请人情况"] * 7,
    ["自然人", *["法人或其他组织"] * 5, "总计"],
    ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"],
]
RESULTS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
T4_HEADER = [
    ["行政复议"] * 5 + ["行政诉讼"] * 10,
    RESULTS + ["未经复议直接起诉"] * 5 + ["复议后起诉"] * 5,
    RESULTS * 3,
]
T3_ROWS_BEFORE_OTHER = [
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "（一）予以公开",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "1.属于国家秘密",
    "2.其他法律行政法规禁止公开",
    "3.危及“三安全一稳定”",
    "4.保护第三方合法权益",
    "5.属于三类内部事务信息",
    "6.属于四类过程性信息",
    "7.属于行政执法案卷",
    "8.属于行政查询事项",
    "1.本机关不掌握相关政府信息",
    "2.没有现成信息需要另行制作",
    "3.补正后申请内容仍不明确",
    "1.信访举报投诉类申请",
    "2.重复申请",
    "3.要求提供公开出版物",
    "4.无正当理由大量反复申请",
    "5.要求行政机关确认或重新出具已获取信息",
]
T3_ROWS = {
    "gov-info-2019": [*T3_ROWS_BEFORE_OTHER, "（六）其他处理", "（七）总计", "四、结转下年度继续办理"],
    "gov-info-2021": [
        *T3_ROWS_BEFORE_OTHER,
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        "3.其他",
        "（七）总计",
        "四、结转下年度继续办理",
    ],
}
T3_GROUPS = {
    "gov-info-2019": {"三、本年度办理结果", "（三）不予公开", "（四）无法提供", "（五）不予处理"},
    "gov-info-2021": {"三、本年度办理结果", "（三）不予公开", "（四）无法提供", "（五）不予处理", "（六）其他处理"},
}
# Table 二: (caption, header row) per block, then table 三 and table 四.
BLOCKS = {
    "gov-info-2019": [
        ("第二十条第（一）项", ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"]),
        ("第二十条第（五）项", ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"]),
        ("第二十条第（六）项", ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"]),
        ("第二十条第（八）项", ["信息内容", "上一年项目数量", "本年增/减"]),
        ("第二十条第（九）项", ["信息内容", "采购项目数量", "采购总金额"]),
    ],
    "gov-info-2021": [
        ("第二十条第（一）项", ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]),
        ("第二十条第（五）项", ["信息内容", "本年处理决定数量"]),
        ("第二十条第（六）项", ["信息内容", "本年处理决定数量"]),
        ("第二十条第（八）项", ["信息内容", "本年收费金额（单位：万元）"]),
    ],
}
BLOCK_ROWS = {
    "gov-info-2019": [
        ["规章", "规范性文件"],
        ["行政许可", "其他对外管理服务事项"],
        ["行政处罚", "行政强制"],
        ["行政事业性收费"],
        ["政府集中采购"],
    ],
    "gov-info-2021": [["规章", "行政规范性文件"], ["行政许可"], ["行政处罚", "行政强制"], ["行政事业性收费"]],
}
UNIT_NOTES = {"gov-info-2019": ["注：采购总金额（单位：万元）"], "gov-info-2021": []}
FORMS = sorted(BLOCKS)


def zero_return(form, agency="测试局", year=2024) -> Return:
    values = form.compute({c.id: 0 for c in form.input_cells})
    fields = {"date": "2025年1月20日"}
    texts = {s.id: f"{s.title}的内容。" for s in form.text_sections}
    return Return(path="x.xlsx", form=form, agency=agency, year=year, fields=fields, values=values, texts=texts)


def rendered(form) -> docx.document.Document:
    return docx.Document(io.BytesIO(render_report(zero_return(form))))


def texts_of(row) -> list[str]:
    return [cell.text for cell in row.cells]


def dedupe(texts: list[str]) -> list[str]:
    out: list[str] = []
    for t in texts:
        if not out or out[-1] != t:
            out.append(t)
    return out


# ---------------------------------------------------------------- headers and notes


@pytest.mark.parametrize("form_id", FORMS)
def test_table_two_blocks_print_the_official_captions_headers_and_rows(form_id):
    document = rendered(get_form(form_id))
    blocks = document.tables[: len(BLOCKS[form_id])]
    for (caption, header), rows, table in zip(BLOCKS[form_id], BLOCK_ROWS[form_id], blocks, strict=True):
        assert set(texts_of(table.rows[0])) == {caption}
        assert texts_of(table.rows[1]) == header, caption
        assert [texts_of(r)[0] for r in table.rows[2:]] == rows, caption


@pytest.mark.parametrize("form_id", FORMS)
def test_table_three_prints_the_official_corner_header_and_rows(form_id):
    document = rendered(get_form(form_id))
    table = document.tables[len(BLOCKS[form_id])]
    for i, expected in enumerate(T3_HEADER):
        cells = texts_of(table.rows[i])
        assert cells[:3] == [T3_CORNER] * 3
        assert cells[3:] == expected
    labels = [dedupe(texts_of(r)[:3]) for r in table.rows[3:]]
    assert [path[-1] for path in labels] == T3_ROWS[form_id]
    assert {p for path in labels for p in path[:-1]} == T3_GROUPS[form_id]


@pytest.mark.parametrize("form_id", FORMS)
def test_table_four_prints_the_official_three_level_header(form_id):
    document = rendered(get_form(form_id))
    table = document.tables[len(BLOCKS[form_id]) + 1]
    assert [texts_of(r) for r in table.rows[:3]] == T4_HEADER
    assert len(table.rows) == 4 and texts_of(table.rows[3]) == ["0"] * 15


def _paragraph_after(table) -> str:
    following = table._tbl.getnext()
    return "".join(t.text or "" for t in following.iter(f"{W}t")) if following is not None and following.tag == f"{W}p" else ""


@pytest.mark.parametrize("form_id", FORMS)
def test_a_unit_the_header_does_not_print_is_noted_under_its_table(form_id):
    document = rendered(get_form(form_id))
    notes = [p.text for p in document.paragraphs if p.text.startswith("注：")]
    assert notes == UNIT_NOTES[form_id]
    if form_id == "gov-info-2019":  # right under the 第二十条第（九）项 table, not somewhere else
        assert _paragraph_after(document.tables[4]) == "注：采购总金额（单位：万元）"
        assert document.paragraphs[[p.text for p in document.paragraphs].index(notes[0])].style.name == "表注"


def test_no_header_cell_carries_a_unit_in_brackets_the_official_header_lacks():
    document = rendered(get_form("gov-info-2019"))
    headers = {t for table in document.tables[:5] for t in texts_of(table.rows[1])}
    assert not any("单位" in h or "\n" in h for h in headers)


# ---------------------------------------------------------------- the 附注


@pytest.mark.parametrize("form_id", FORMS)
def test_the_publication_attribute_closes_the_report_by_default(form_id):
    paras = [p for p in rendered(get_form(form_id)).paragraphs if p.text]
    assert [p.text for p in paras[-3:]] == ["测试局", "2025年1月20日", ATTRIBUTE]
    assert paras[-1].style.name == "Normal"  # 居左空二字 (GB/T 9704 7.3.6), not right-aligned like the signature


def _form_without_attribute(value: str):
    text = (WORKBOOK_TEMPLATES / "gov-info-2021.yaml").read_text(encoding="utf-8")
    assert "  attribute: （此件公开发布）" in text
    text = text.replace("id: gov-info-2021", "id: no-attribute", 1).replace(
        "  attribute: （此件公开发布）", f"  attribute: {value}"
    )
    return parse_form(text, "no-attribute.yaml")


@pytest.mark.parametrize("value", ["false", '""'])
def test_the_attribute_is_absent_when_the_spec_turns_it_off(value):
    form = _form_without_attribute(value)
    assert form.id == "no-attribute"
    paras = [p.text for p in rendered(form).paragraphs if p.text]
    assert ATTRIBUTE not in paras
    assert paras[-2:] == ["测试局", "2025年1月20日"]


def test_another_attribute_text_is_printed_as_given():
    paras = [p.text for p in rendered(_form_without_attribute("（此件依申请公开）")).paragraphs if p.text]
    assert paras[-1] == "（此件依申请公开）"


# ---------------------------------------------------------------- collection.docx: the 目录


AGENCIES = ["固原市原州区司法局", "固原市原州区教育局", "固原市原州区卫生健康局", "固原市原州区人民政府办公室"]


@pytest.fixture(scope="module")
def collection_docx(tmp_path_factory) -> Path:
    form = get_form("gov-info-2019")
    reports = [render_report(zero_return(form, agency=a, year=2020)) for a in AGENCIES]
    path = tmp_path_factory.mktemp("collection") / "collection.docx"
    return combine_reports(reports, AGENCIES, path, "原州区2020年政府信息公开工作年度报告汇编")


def test_each_contents_entry_has_a_pageref_field_to_its_reports_bookmark(collection_docx):
    with zipfile.ZipFile(collection_docx) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    document = docx.Document(str(collection_docx))
    body = document.element.body
    bookmarks = {b.get(f"{W}name") for b in body.iter(f"{W}bookmarkStart")}
    instr = ["".join(el.text or "" for el in p.iter(f"{W}instrText")).split() for p in body.iter(f"{W}p")]
    pagerefs = [words[1] for words in instr if words[:1] == ["PAGEREF"]]
    assert len(pagerefs) == len(AGENCIES)
    assert set(pagerefs) <= bookmarks
    entries = [p.text for p in document.paragraphs[2 : 2 + len(AGENCIES)]]
    assert [re.sub(r"\t.*$", "", e) for e in entries] == [f"{i}．{a}" for i, a in enumerate(AGENCIES, start=1)]
    assert xml.count('w:leader="dot"') == len(AGENCIES)
    assert xml.count('fldCharType="begin"') >= len(AGENCIES)


def test_settings_ask_word_to_update_the_fields_on_open(collection_docx):
    with zipfile.ZipFile(collection_docx) as zf:
        settings = zf.read("word/settings.xml").decode("utf-8")
    assert re.search(r'<w:updateFields w:val="(true|1)"/>', settings)
    assert settings.index("updateFields") < settings.index("<w:compat>")  # schema order: Word refuses otherwise


def _tools_missing() -> str | None:
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        return "未安装 LibreOffice（soffice）"
    for tool in ("pdftotext", "pdfinfo", "pdffonts"):
        if shutil.which(tool) is None:
            return f"未安装 poppler-utils（{tool}）"
    return None


needs_office = pytest.mark.skipif(_tools_missing() is not None, reason=_tools_missing() or "")


def _page_texts(pdf: Path) -> list[str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    out = []
    for n in range(1, pages + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True, text=True, check=True
        )
        out.append(text.stdout)
    return out


@pytest.mark.libreoffice
@needs_office
def test_the_pdf_contents_show_the_page_each_report_starts_on(collection_docx, tmp_path):
    from toolkit.reports.pdf import convert_to_pdf

    (pdf,) = convert_to_pdf([collection_docx], tmp_path)
    pages = _page_texts(pdf)
    starts = {}
    for number, text in enumerate(pages, start=1):
        head = text.replace("\n", "").replace(" ", "")
        for agency in AGENCIES:
            if head.startswith(f"{agency}2020年") and agency not in starts:
                starts[agency] = number
    assert sorted(starts.values()) == sorted(set(starts.values())) and len(starts) == len(AGENCIES)
    contents = pages[0]
    for i, agency in enumerate(AGENCIES, start=1):
        m = re.search(rf"{i}．{agency}[.\s…·]*(\d+)", contents)
        assert m, contents
        assert int(m.group(1)) == starts[agency], (agency, contents)
    assert starts[AGENCIES[1]] > starts[AGENCIES[0]] + 1  # real numbers, not 2, 3, 4, 5


# ---------------------------------------------------------------- summary.docx


OFFICE_TEXT = """五、存在的主要问题及改进情况
一是部分机关主动公开不够及时；二是答复文书格式不够统一。
下一步，将加强培训和督促检查。

六、其他需要报告的事项
本年度全区未收取信息处理费。
"""


@pytest.fixture(scope="module")
def summary_docx(tmp_path_factory) -> Path:
    form = get_form("gov-info-2021")
    folder = tmp_path_factory.mktemp("summary")
    inbox = folder / "回收"
    inbox.mkdir()
    names = [f"原州区第{i:02d}局" for i in range(1, 16)]
    for name in names[:8]:
        fill_workbook(form, inbox / f"{name}.xlsx", texts=complete_texts(form), fields=complete_fields(), agency=name)
    (folder / "名单.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    (folder / "文字.txt").write_text(OFFICE_TEXT, encoding="utf-8")
    out = folder / "汇总"
    args = ["merge", str(inbox), "-o", str(out), "--name", "原州区", "--agencies", str(folder / "名单.txt")]
    result = CliRunner().invoke(main, [*args, "--text", str(folder / "文字.txt"), "-q"])
    assert result.exit_code == 1, result.output  # seven agencies have not returned
    return out / "summary.docx"


def _section(paragraphs: list[str], title: str) -> list[str]:
    start = paragraphs.index(title) + 1
    end = next((i for i in range(start, len(paragraphs)) if re.match(r"^[一二三四五六]、", paragraphs[i])), len(paragraphs))
    return paragraphs[start:end]


def test_summary_sections_five_and_six_are_the_offices_text(summary_docx):
    paras = [p.text for p in docx.Document(str(summary_docx)).paragraphs if p.text]
    assert _section(paras, "五、存在的主要问题及改进情况")[:2] == [
        "一是部分机关主动公开不够及时；二是答复文书格式不够统一。",
        "下一步，将加强培训和督促检查。",
    ]
    assert _section(paras, "六、其他需要报告的事项")[:1] == ["本年度全区未收取信息处理费。"]
    assert not any("本部分为" in p for p in paras)


def test_summary_says_how_many_were_expected_and_received(summary_docx):
    paras = [p.text for p in docx.Document(str(summary_docx)).paragraphs if p.text]
    overview = _section(paras, "一、总体情况")[0]
    assert "应报送15个机关" in overview and "已报送8个" in overview and "未报送7个" in overview
    assert "计入汇总8个" in overview


def test_summary_is_dated_today(summary_docx):
    today = date.today()
    paras = [p.text for p in docx.Document(str(summary_docx)).paragraphs if p.text]
    assert paras[-3:] == ["原州区", f"{today.year}年{today.month}月{today.day}日", ATTRIBUTE]


def test_without_text_the_summary_uses_the_specs_default_paragraphs(tmp_path):
    from toolkit.collection.model import Collection
    from toolkit.collection.summary import summary_return

    form = get_form("gov-info-2021")
    c = Collection(form, "原州区", 2024, [], [], {})
    texts = summary_return(c, today=date(2026, 12, 1)).texts
    assert texts["s5"].startswith("原州区各机关在2024年度政府信息公开工作年度报告中")
    assert "信息处理费" in texts["s6"]
    assert "{" not in texts["s5"] + texts["s6"]


def test_a_text_file_without_section_headings_is_refused_in_chinese(tmp_path):
    from toolkit.collection.summary import read_summary_text
    from toolkit.core.errors import UserError

    path = tmp_path / "文字.txt"
    path.write_text("只有一段话，没有标题。\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"文字\.txt：没有找到以“五、”“六、”开头的标题行"):
        read_summary_text(path, get_form("gov-info-2021"))


# ---------------------------------------------------------------- fonts in the PDF


def _font_file(family: str) -> tuple[str, int]:
    """The file and face index fontconfig has for a family (system configuration, not toolkit's)."""
    out = subprocess.run(["fc-match", "--format", "%{file}|%{index}", family], capture_output=True, text=True, check=True)
    path, index = out.stdout.split("|")
    return path, int(index)


def _cmap(path: str, face_family: str) -> dict[int, int]:
    """code point -> glyph id of the face called `face_family` in an OpenType collection (format 12 cmap)."""
    data = Path(path).read_bytes()
    count = struct.unpack(">I", data[8:12])[0] if data[:4] == b"ttcf" else 1
    offsets = struct.unpack(f">{count}I", data[12 : 12 + 4 * count]) if data[:4] == b"ttcf" else (0,)
    for off in offsets:
        tables = {}
        for i in range(struct.unpack(">H", data[off + 4 : off + 6])[0]):
            tag, _, at, _ = struct.unpack(">4sIII", data[off + 12 + 16 * i : off + 28 + 16 * i])
            tables[tag] = at
        if _family(data, tables[b"name"]) == face_family:
            return _format12(data, tables[b"cmap"])
    raise AssertionError(f"{path} 中没有 {face_family}")


def _family(data: bytes, at: int) -> str:
    _, count, strings = struct.unpack(">HHH", data[at : at + 6])
    for i in range(count):
        pid, _, _, nid, length, off = struct.unpack(">6H", data[at + 6 + 12 * i : at + 18 + 12 * i])
        if pid == 3 and nid == 1:
            return data[at + strings + off : at + strings + off + length].decode("utf-16-be")
    return ""


def _format12(data: bytes, at: int) -> dict[int, int]:
    for i in range(struct.unpack(">H", data[at + 2 : at + 4])[0]):
        pid, eid, off = struct.unpack(">HHI", data[at + 4 + 8 * i : at + 12 + 8 * i])
        if (pid, eid) == (3, 10):
            s = at + off
            groups = [
                struct.unpack(">III", data[s + 16 + 12 * k : s + 28 + 12 * k])
                for k in range(struct.unpack(">I", data[s + 12 : s + 16])[0])
            ]
            return _Lookup(groups)
    raise AssertionError("no format 12 cmap")


class _Lookup(dict):
    def __init__(self, groups):
        super().__init__()
        self.groups, self.starts = groups, [g[0] for g in groups]

    def __missing__(self, code: int) -> int:
        i = bisect_right(self.starts, code) - 1
        start, end, glyph = self.groups[i] if i >= 0 else (0, -1, 0)
        return glyph + code - start if start <= code <= end else 0


def _embedded_cids(pdf: Path) -> dict[str, set[int]]:
    """The CIDs of the glyphs LibreOffice embedded from the Noto CJK faces, by "Serif"/"Sans": its
    Type 1 subsets name them cidNNNNN (= the glyph id in the collection's shared CFF)."""
    data = pdf.read_bytes()
    cids: dict[str, set[int]] = {"Serif": set(), "Sans": set()}
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            stream = zlib.decompress(m.group(1))
        except zlib.error:
            continue
        name = re.match(rb"%!FontType1-1.0: (\S+)", stream)
        style = name and re.match(rb"Noto(Serif|Sans)CJK", name.group(1))
        if style:
            cids[style.group(1).decode()] |= {int(n) for n in re.findall(rb"/cid(\d+) put", stream)}
    return cids


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("pdf")
    xlsx = sample_workbook(folder / "sample.xlsx")
    result = CliRunner().invoke(main, ["report", str(xlsx), "--out-dir", str(folder / "out"), "--pdf", "-q"])
    assert result.exit_code == 0, result.output
    (pdf,) = (folder / "out").glob("*.pdf")
    (doc,) = (folder / "out").glob("*.docx")
    text = "".join(p.text for p in docx.Document(str(doc)).paragraphs) + "".join(
        c.text for t in docx.Document(str(doc)).tables for r in t.rows for c in r.cells
    )
    return pdf, text


@pytest.mark.libreoffice
@needs_office
def test_pdffonts_lists_simplified_chinese_faces_only(sample_pdf):
    pdf, _ = sample_pdf
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    names = [line.split()[0].split("+")[-1] for line in out.splitlines()[2:] if line.strip()]
    assert any(n.startswith("NotoSerifCJK") for n in names), out  # 宋体, 仿宋, 方正小标宋
    assert any(n.startswith("NotoSansCJK") for n in names), out  # 黑体
    allowed = r"Noto(Serif|Sans)CJK\w*-\w+(-\w+)?|UKaiCN|Liberation\w+|DejaVu\w+"
    assert all(re.fullmatch(allowed, n) for n in names), out  # no UKaiTW/HK, UMing, Droid or other CJK faces


@pytest.mark.libreoffice
@needs_office
def test_the_noto_glyphs_in_the_pdf_are_the_simplified_chinese_ones(sample_pdf):
    """pdffonts names every Noto CJK face of the collection "NotoSerifCJKjp" (the shared CFF's name), so the
    glyphs decide: each character whose SC and JP glyphs differ must be embedded as its SC glyph."""
    pdf, text = sample_pdf
    embedded = _embedded_cids(pdf)
    chars = {ord(ch) for ch in text if ord(ch) > 0x2E80}
    for style in ("Serif", "Sans"):
        cids = embedded[style]
        assert cids, f"no Noto {style} CJK glyphs embedded"
        path, _ = _font_file(f"Noto {style} CJK SC")
        sc, jp = _cmap(path, f"Noto {style} CJK SC"), _cmap(path, f"Noto {style} CJK JP")
        sc_glyphs = {sc[c] for c in chars}
        japanese_only = {jp[c] for c in chars if jp[c] != sc[c]} - sc_glyphs
        assert japanese_only, style  # the report has characters whose forms differ: the test can fail
        assert not cids & japanese_only, f"Noto {style} CJK：PDF 中有日文字形"
        assert cids <= sc_glyphs | {sc[c] for c in range(0x20, 0x3000)}, style  # every glyph is an SC glyph of the text


# ---------------------------------------------------------------- tables in line with the text


@pytest.mark.parametrize("form_id", FORMS)
def test_every_table_spans_exactly_the_text_width_with_no_indent(form_id):
    document = rendered(get_form(form_id))
    widths = {}
    for section in document.sections:
        widths[section.orientation] = (section.page_width - section.left_margin - section.right_margin) // 635  # EMU -> twips
    for table in document.tables:
        tblpr = table._tbl.tblPr
        grid = sum(int(c.get(f"{W}w")) for c in table._tbl.tblGrid.iter(f"{W}gridCol"))
        width = int(tblpr.find(f"{W}tblW").get(f"{W}w"))
        assert tblpr.find(f"{W}tblW").get(f"{W}type") == "dxa" and width == grid
        assert tblpr.find(f"{W}tblInd").get(f"{W}w") == "0"
        assert tblpr.find(f"{W}jc").get(f"{W}val") == "center"
        assert min(abs(width - w) for w in widths.values()) <= 2, (width, widths)


# ---------------------------------------------------------------- the missing-font notice


def test_the_notice_names_each_missing_official_font_with_its_stand_in():
    from toolkit.reports.fonts import missing_fonts_message

    message = missing_fonts_message({"宋体", "SimHei", "DejaVu Sans"})
    for name in ("方正小标宋简体", "仿宋_GB2312", "楷体_GB2312"):
        assert name in message
    assert "宋体（" not in message and "黑体" not in message
    assert missing_fonts_message({"方正小标宋简体", "仿宋", "黑体", "KaiTi", "SimSun"}) == ""


@pytest.mark.libreoffice
@needs_office
def test_report_pdf_names_the_missing_fonts_once_for_many_pdfs(tmp_path, monkeypatch):
    from toolkit.reports import fonts

    monkeypatch.setattr(fonts, "installed_families", lambda: {"宋体", "黑体"})
    form = get_form("gov-info-2021")
    inbox = tmp_path / "回收"
    inbox.mkdir()
    for name in ("甲局", "乙局"):
        fill_workbook(form, inbox / f"{name}.xlsx", texts=complete_texts(form), fields=complete_fields(), agency=name)
    result = CliRunner().invoke(main, ["report", str(inbox), "--out-dir", str(tmp_path / "out"), "--pdf", "-q"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out").glob("*.pdf"))) == 2
    assert result.output.count("本机没有公文字体") == 1
    assert "仿宋_GB2312（正文）以 Noto Serif CJK SC 代替" in result.output
    assert "楷体_GB2312（二级标题）以 AR PL UKai CN 代替" in result.output


# ---------------------------------------------------------------- the spec's report settings


def _spec_with_report(lines: str):
    text = (WORKBOOK_TEMPLATES / "gov-info-2021.yaml").read_text(encoding="utf-8")
    text = text.replace("id: gov-info-2021", "id: report-settings", 1)
    return text.replace("report:\n", "report:\n" + lines, 1)


def test_a_summary_text_for_a_section_that_has_none_is_refused_with_its_line():
    from toolkit.forms.spec import SpecError

    with pytest.raises(SpecError) as e:
        parse_form(_spec_with_report("  summary_text: x\n"), "x.yaml")
    assert "未知的键“summary_text”" in str(e.value)
    text = _spec_with_report("").replace("    s6: >-", "    s9: x\n    s6: >-", 1)
    with pytest.raises(SpecError) as e:
        parse_form(text, "x.yaml")
    assert "report.summary 中的“s9”不是文字部分的标识" in str(e.value)


def test_a_form_without_summary_defaults_still_gets_real_sentences_not_placeholders():
    from toolkit.collection.model import Collection
    from toolkit.collection.summary import summary_return

    text = (WORKBOOK_TEMPLATES / "gov-info-2019.yaml").read_text(encoding="utf-8")
    start, end = text.index("  summary:"), text.index("\n\n", text.index("  summary:"))
    form = parse_form(text[:start] + text[end + 1 :].replace("id: gov-info-2019", "id: no-summary", 1), "no-summary.yaml")
    assert form.summary == {}
    texts = summary_return(Collection(form, "原州区", 2020, [], [], {})).texts
    assert texts["s5"] == "原州区各机关存在的主要问题及改进情况见各机关的年度报告。"
    assert not any("本部分为" in t for t in texts.values())
