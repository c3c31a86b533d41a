"""The Word report: every number lands under its own row and column, texts survive, the sample comes out right."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path

import docx
import pytest
import sample_2020 as sample
from click.testing import CliRunner
from filling import complete_fields, complete_texts, fill_workbook, sample_workbook

from toolkit.cli import main
from toolkit.forms.spec import Form, builtin_forms, get_form
from toolkit.reports.builder import build_template
from toolkit.reports.render import format_value, lint_template, render_report, report_context, template_variables, title_lines
from toolkit.returns.model import Return

FORMS = sorted(builtin_forms())
TEMPLATES = Path(__file__).resolve().parent.parent / "docx_templates"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


# ---------------------------------------------------------------- helpers


def distinct_inputs(form: Form) -> tuple[dict, dict]:
    """A different value in every input cell (negative for signed kinds, fractional for decimals) and its expected text."""
    values, texts = {}, {}
    for i, cell in enumerate(form.input_cells, start=1):
        if cell.kind.type == "decimal":
            values[cell.id], texts[cell.id] = Decimal(f"{i}.250000"), f"{i}.25"
        elif cell.kind.min < 0:
            values[cell.id], texts[cell.id] = -i, f"-{i}"
        else:
            values[cell.id], texts[cell.id] = i, str(i)
    return values, texts


def make_return(form: Form, inputs: dict, texts: dict | None = None, agency="测试局", year=2024, fields=None) -> Return:
    fields = {"date": "2025年1月20日", **(fields or {})}
    inputs = {c.id: 0 for c in form.input_cells} | inputs
    texts = texts if texts is not None else {s.id: f"{s.title}的内容。" for s in form.text_sections}
    return Return(path="x.xlsx", form=form, agency=agency, year=year, fields=fields, values=form.compute(inputs), texts=texts)


def open_docx(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def grid(table) -> list[list[str]]:
    """Cell texts by layout-grid position; a merged cell repeats its text over every position it covers."""
    return [[cell.text for cell in row.cells] for row in table.rows]


def _dedupe(texts: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for t in texts:
        if not out or out[-1] != t:
            out.append(t)
    return tuple(out)


def column_index(g: list[list[str]], top: int, depth: int, labels: int) -> dict[tuple[str, ...], int]:
    """Header path (outermost first, first line of each header cell) -> grid column."""
    return {_dedupe([g[r][j].split("\n")[0] for r in range(top, top + depth)]): j for j in range(labels, len(g[top]))}


def row_index(g: list[list[str]], first: int, labels: int) -> dict[tuple[str, ...], int]:
    """Row label path (groups first) -> grid row, for the data rows."""
    return {_dedupe(g[i][:labels]): i for i in range(first, len(g))}


def table_cells(doc_table, caption: str, header_depth: int, label_depth: int):
    """(grid, rows by label path, columns by header path) of one drawn table."""
    g = grid(doc_table)
    top = 1 if caption else 0
    if caption:
        assert set(g[0]) == {caption}
    return g, row_index(g, top + header_depth, label_depth), column_index(g, top, header_depth, label_depth)


def body_paragraphs(document) -> list[str]:
    return [p.text for p in document.paragraphs]


# ---------------------------------------------------------------- every value under its labels


@pytest.mark.parametrize("form_id", FORMS)
def test_every_value_lands_under_its_row_and_column_labels(form_id):
    form = get_form(form_id)
    inputs, _ = distinct_inputs(form)
    ret = make_return(form, inputs)
    document = open_docx(render_report(ret))
    assert len(document.tables) == len(form.tables)
    for table, drawn in zip(form.tables, document.tables, strict=True):
        g, rows, cols = table_cells(drawn, table.caption, table.header_depth, table.label_depth)
        assert len(rows) == len(table.rows), table.id
        for row in table.rows:
            i = rows[tuple(p for p in (*row.path, row.label) if p)]
            for column in table.columns:
                j = cols[(*column.path, column.label)]
                expected = format_value(
                    ret.values[f"{table.id}.{row.id}.{column.id}"], form.cells[f"{table.id}.{row.id}.{column.id}"]
                )
                assert g[i][j] == expected, f"{table.id}.{row.id}.{column.id}"


@pytest.mark.parametrize("form_id", FORMS)
def test_distinct_values_are_all_different_so_a_swap_would_show(form_id):
    form = get_form(form_id)
    inputs, texts = distinct_inputs(form)
    assert len(set(texts.values())) == len(texts)
    ctx = report_context(make_return(form, inputs))
    for cell_id, text in texts.items():
        table, row, column = cell_id.split(".")
        assert ctx[table][row][column] == text


def test_table_three_has_its_corner_note_and_official_header():
    form = get_form("gov-info-2019")
    document = open_docx(render_report(make_return(form, distinct_inputs(form)[0])))
    g = grid(document.tables[5])
    assert g[0][0] == sample.T3_CORNER
    assert g[0][3:] == ["申请人情况"] * 7
    assert g[1][4:9] == ["法人或其他组织"] * 5


# ---------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("251000.500000"), "251000.5"), (Decimal("3.000000"), "3"), (Decimal("0"), "0"), (7, "7"), (None, "")],
)
def test_decimals_keep_their_precision_without_trailing_zeros(value, expected):
    cell = get_form("gov-info-2019").cells["t2_9.procurement.amount"]
    assert format_value(value, cell) == expected


def test_amount_rounds_to_the_kinds_precision():
    cell = get_form("gov-info-2021").cells["t2_8.fees.amount"]
    assert format_value(Decimal("4166.2416194"), cell) == "4166.241619"


def test_negative_change_is_printed_with_its_sign():
    cell = get_form("gov-info-2019").cells["t2_5.licensing.change"]
    assert format_value(-3, cell) == "-3"


def test_iso_date_is_written_the_official_way():
    form = get_form("gov-info-2019")
    ctx = report_context(make_return(form, {}, fields={"date": "2021-01-28"}))
    assert ctx["date"] == "2021年1月28日"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("乙局2024年政府信息公开工作年度报告", "乙局2024年政府信息公开工作年度报告"),
        ("固原市原州区司法局2020年政府信息公开工作年度报告", "固原市原州区司法局2020年\n政府信息公开工作年度报告"),
        ("2022年上海市人民政府办公厅信息公开年报", "2022年上海市人民政府办公厅信息公开年报"),
        ("宁夏回族自治区固原市原州区人民政府办公室2024年政府信息公开工作年度报告",) * 2,
    ],
)
def test_a_long_title_breaks_before_the_fixed_phrase(title, expected):
    assert title_lines(title, "政府信息公开工作年度报告") == expected


# ---------------------------------------------------------------- texts


NASTY = "R&D <b>加粗</b> \"双引号\" '单引号' 😀 & &amp; {{ t3 }} {% if %}"


def test_markup_emoji_and_control_characters_render_and_the_file_opens():
    form = get_form("gov-info-2021")
    text = f"　　{NASTY}\x01\x07\x0b\x0c\x1b\r\n\n第二段\t带制表符。\r第三段。\ufffe"
    ret = make_return(form, {}, texts={"s1": text, "s5": NASTY, "s6": "\x00"}, agency="A&B<局>")
    document = open_docx(render_report(ret))
    paras = body_paragraphs(document)
    assert paras[0] == "A&B<局>2024年政府信息公开工作年度报告"
    i = paras.index(NASTY)
    assert paras[i + 1 : i + 3] == ["第二段\t带制表符。", "第三段。"]
    assert paras.count(NASTY) == 2
    assert document.paragraphs[i].style.name == "Normal"


def test_each_line_of_a_text_is_its_own_body_paragraph():
    form = get_form("gov-info-2019")
    ret = make_return(form, {}, texts={"s1": "甲。\n\n  乙。\n丙。", "s5": "丁。", "s6": "戊。"})
    document = open_docx(render_report(ret))
    paras = [p for p in document.paragraphs if p.text in ("甲。", "乙。", "丙。")]
    assert [p.text for p in paras] == ["甲。", "乙。", "丙。"]
    assert {p.style.name for p in paras} == {"Normal"}


def test_sections_appear_in_order_as_level_one_headings():
    form = get_form("gov-info-2019")
    document = open_docx(render_report(make_return(form, {})))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == list(sample.HEADINGS)


# ---------------------------------------------------------------- typography


def _style_fonts(document, name: str) -> str:
    fonts = document.styles[name].element.rPr.find(f"{W}rFonts")
    return fonts.get(f"{W}eastAsia")


def test_styles_carry_east_asian_font_names():
    form = get_form("gov-info-2021")
    document = open_docx(render_report(make_return(form, {})))
    assert _style_fonts(document, "Title") == "方正小标宋简体"
    assert _style_fonts(document, "Normal") == "仿宋_GB2312"
    assert _style_fonts(document, "Heading 1") == "黑体"
    assert _style_fonts(document, "Heading 2") == "楷体_GB2312"
    assert document.styles["Title"].font.size.pt == 22
    assert document.styles["Normal"].font.size.pt == 16
    assert document.styles["表格文字"].font.size.pt < 16


def test_font_table_names_the_fallback_faces():
    data = render_report(make_return(get_form("gov-info-2021"), {}))
    fonts = zipfile.ZipFile(io.BytesIO(data)).read("word/fontTable.xml").decode()
    for name, alt in (("方正小标宋简体", "宋体"), ("仿宋_GB2312", "仿宋"), ("楷体_GB2312", "楷体")):
        assert f'<w:font w:name="{name}"><w:altName w:val="{alt}"/>' in fonts


def test_title_and_body_use_their_styles_with_two_character_indent():
    document = open_docx(render_report(make_return(get_form("gov-info-2021"), {})))
    assert document.paragraphs[0].style.name == "Title"
    ind = document.styles["Normal"].element.pPr.find(f"{W}ind")
    assert ind.get(f"{W}firstLineChars") == "200"


def test_page_is_a4_with_official_margins_and_tables_three_and_four_landscape():
    document = open_docx(render_report(make_return(get_form("gov-info-2019"), {})))
    first = document.sections[0]
    assert (round(first.page_width.mm), round(first.page_height.mm)) == (210, 297)
    margins = [round(getattr(first, f"{side}_margin").mm) for side in ("top", "bottom", "left", "right")]
    assert margins == [37, 35, 28, 26]
    assert [s.page_width > s.page_height for s in document.sections] == [False, True, False]


def test_signature_is_agency_and_date_right_aligned():
    document = open_docx(render_report(make_return(get_form("gov-info-2019"), {}, fields={"date": "2025年1月20日"})))
    last = [p for p in document.paragraphs if p.text][-3:-1]  # the 附注 （此件公开发布） follows (test_word_fidelity)
    assert [p.text for p in last] == ["测试局", "2025年1月20日"]
    assert {p.style.name for p in last} == {"报告落款"}
    assert document.styles["报告落款"].paragraph_format.alignment == 2  # RIGHT


# ---------------------------------------------------------------- the sample report


def sample_return() -> Return:
    form = get_form(sample.FORM_ID)
    inputs = {c.id: 0 for c in form.input_cells} | sample.VALUES
    return Return(
        path="sample.xlsx",
        form=form,
        agency=sample.AGENCY,
        year=sample.YEAR,
        fields=dict(sample.FIELDS),
        values=form.compute(inputs),
        texts=dict(sample.TEXTS),
    )


def assert_tables_match_sample(document) -> None:
    assert len(document.tables) == len(sample.TABLES)
    for (caption, columns, rows), drawn in zip(sample.TABLES, document.tables, strict=True):
        header_depth = max(len(c) for c in columns)
        label_depth = max(len(path) for path, _ in rows)
        g, by_row, by_col = table_cells(drawn, caption, header_depth, label_depth)
        assert len(by_row) == len(rows), caption
        assert sorted(by_col) == sorted(columns), caption
        for path, values in rows:
            i = by_row[path]
            assert [g[i][by_col[c]] for c in columns] == [str(v) for v in values], (caption, path)


def assert_texts_match_sample(document) -> None:
    paras = body_paragraphs(document)
    for sid, expected in sample.PARAGRAPHS.items():
        start = paras.index(expected[0])
        assert tuple(paras[start : start + len(expected)]) == expected, sid


def test_sample_report_tables_equal_the_published_tables():
    assert_tables_match_sample(open_docx(render_report(sample_return())))


def test_sample_report_paragraphs_are_the_published_texts():
    document = open_docx(render_report(sample_return()))
    assert_texts_match_sample(document)
    paras = body_paragraphs(document)
    assert paras[0] == "固原市原州区司法局2020年\n政府信息公开工作年度报告"
    assert document.core_properties.title == "固原市原州区司法局2020年政府信息公开工作年度报告"
    assert [p for p in paras if p][-3:] == [sample.AGENCY, sample.DATE, "（此件公开发布）"]


def test_sample_workbook_checks_and_renders_through_the_command(tmp_path):
    xlsx = sample_workbook(tmp_path / "sample.xlsx")
    out = tmp_path / "报告.docx"
    result = CliRunner().invoke(main, ["report", str(xlsx), "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = docx.Document(str(out))
    assert_tables_match_sample(document)
    assert_texts_match_sample(document)


# ---------------------------------------------------------------- templates and context keys


@pytest.mark.parametrize("form_id", FORMS)
def test_committed_template_is_what_the_builder_makes_from_the_spec(form_id):
    built = zipfile.ZipFile(io.BytesIO(build_template(get_form(form_id))))
    committed = zipfile.ZipFile(TEMPLATES / f"{form_id}.docx")
    for part in ("word/document.xml", "word/styles.xml"):
        assert built.read(part) == committed.read(part), f"{form_id}.docx 已过期：请运行 python -m toolkit.reports.builder"


@pytest.mark.parametrize("form_id", FORMS)
def test_built_template_uses_only_known_keys(form_id):
    form = get_form(form_id)
    assert lint_template(form, TEMPLATES / f"{form_id}.docx") == []


def _edited_template(tmp_path: Path, form_id: str, old: str, new: str) -> Path:
    src = zipfile.ZipFile(TEMPLATES / f"{form_id}.docx")
    path = tmp_path / "edited.docx"
    with zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/document.xml":
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode())
            dst.writestr(info, data)
    return path


def test_lint_names_a_misspelt_key_and_suggests_the_right_one(tmp_path):
    template = _edited_template(tmp_path, "gov-info-2019", "t3.new.natural", "t3.new.naturel")
    problems = lint_template(get_form("gov-info-2019"), template)
    assert len(problems) == 1
    assert "t3.new.naturel" in problems[0] and "t3.new.natural" in problems[0]


def test_a_users_template_renders_with_the_same_keys(tmp_path):
    template = _edited_template(tmp_path, "gov-info-2019", "依据《", "根据《")
    document = open_docx(render_report(sample_return(), template))
    assert any(p.text.startswith("根据《中华人民共和国政府信息公开条例》") for p in document.paragraphs)


def test_a_key_named_like_a_dict_method_still_means_the_cell():
    form = get_form("gov-info-2019")
    ctx = report_context(make_return(form, {}))
    ctx["t3"]["values"] = {"natural": "42"}
    from toolkit.reports.render import ENV

    assert ENV.from_string("{{ t3.values.natural }}").render(ctx) == "42"


@pytest.mark.parametrize("form_id", FORMS)
def test_context_command_lists_every_cell_id_text_and_field(form_id):
    result = CliRunner().invoke(main, ["context", form_id])
    assert result.exit_code == 0, result.output
    keys = {line.split("\t")[0] for line in result.stdout.splitlines()}
    form = get_form(form_id)
    assert set(form.cells) <= keys
    assert {f"texts.{s.id}" for s in form.text_sections} <= keys
    assert {f"fields.{f.id}" for f in form.fields} <= keys
    assert {"title", "agency", "year", "date"} <= keys
    assert "申请人情况 / 法人或其他组织 / 商业企业" in result.stdout


def test_template_variables_label_cells_with_table_row_and_column():
    variables = {v.key: v for v in template_variables(get_form("gov-info-2019"))}
    v = variables["t3.secret.business"]
    assert (
        v.label
        == "三、收到和处理政府信息公开申请情况｜三、本年度办理结果 / （三）不予公开 / 1.属于国家秘密｜申请人情况 / 法人或其他组织 / 商业企业"
    )
    assert variables["t3.total.natural"].kind == "合计"


# ---------------------------------------------------------------- the command


def _workbook(tmp_path: Path, name: str, agency: str, values: dict | None = None) -> Path:
    form = get_form("gov-info-2021")
    return fill_workbook(
        form,
        tmp_path / name,
        values=values or {},
        texts=complete_texts(form),
        fields=complete_fields(),
        agency=agency,
    )


def test_report_refuses_a_return_with_errors_and_lists_them(tmp_path):
    xlsx = _workbook(tmp_path, "bad.xlsx", "错误局", {"t3.new.natural": 5})
    result = CliRunner().invoke(main, ["report", str(xlsx), "-o", str(tmp_path / "r.docx")])
    assert result.exit_code == 1
    assert "三、依申请公开!" in result.stderr
    assert "--force" in result.stderr
    assert not (tmp_path / "r.docx").exists()


def test_force_renders_a_return_with_errors(tmp_path):
    xlsx = _workbook(tmp_path, "bad.xlsx", "错误局", {"t3.new.natural": 5})
    result = CliRunner().invoke(main, ["report", str(xlsx), "-o", str(tmp_path / "r.docx"), "--force"])
    assert result.exit_code == 0, result.output
    g = grid(docx.Document(str(tmp_path / "r.docx")).tables[4])
    assert "5" in g[3]


def test_out_dir_writes_one_report_per_agency_with_safe_names(tmp_path):
    _workbook(tmp_path, "a.xlsx", "办公室/信息科")
    _workbook(tmp_path, "b.xlsx", "乙局")
    out = tmp_path / "报告"
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--out-dir", str(out), "-q"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["乙局2024年政府信息公开工作年度报告.docx", "办公室_信息科2024年政府信息公开工作年度报告.docx"]


def test_several_returns_need_an_out_dir(tmp_path):
    a, b = _workbook(tmp_path, "a.xlsx", "甲局"), _workbook(tmp_path, "b.xlsx", "乙局")
    result = CliRunner().invoke(main, ["report", str(a), str(b)])
    assert result.exit_code == 2
    assert "--out-dir" in result.stderr


def test_a_template_with_unknown_keys_stops_the_batch_before_writing(tmp_path):
    xlsx = _workbook(tmp_path, "a.xlsx", "甲局")
    template = _edited_template(tmp_path, "gov-info-2021", "t3.new.natural", "t3.neww.natural")
    result = CliRunner().invoke(main, ["report", str(xlsx), "--template", str(template), "-o", str(tmp_path / "r.docx")])
    assert result.exit_code == 2
    assert "t3.neww.natural" in result.stderr
    assert not (tmp_path / "r.docx").exists()


def test_pdf_without_libreoffice_says_how_to_install(tmp_path, monkeypatch):
    xlsx = _workbook(tmp_path, "a.xlsx", "甲局")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(main, ["report", str(xlsx), "-o", str(tmp_path / "r.docx"), "--pdf"])
    assert result.exit_code == 2
    assert "apt-get install libreoffice-writer" in result.stderr
