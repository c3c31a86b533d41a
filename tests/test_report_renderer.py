"""The compiled report renderer makes the package docxtpl makes, part by part.

The reference is docxtpl's own rendering (toolkit.reports.docxtpl_path, checked here against a plain
DocxTemplate). Every member is compared byte for byte after unzipping: nothing in these packages is
volatile (python-docx stamps no time on a template that has its own docProps/core.xml), so nothing is
normalised. The compiled renderer is called directly, never through the wrapper that falls back to
docxtpl when they differ, so a difference fails here instead of being hidden.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import docx
import pytest
import sample_2020 as sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.forms.spec import Form, builtin_forms, get_form
from toolkit.reports import renderers
from toolkit.reports.compiled import CompiledReport
from toolkit.reports.docxtpl_path import render_docxtpl
from toolkit.reports.render import render_document_xml, render_report, report_context, word_template_bytes
from toolkit.returns.model import Return

FORMS = sorted(builtin_forms())
TRICKY = "<&>\"'\n\t\r 　R&D <b>改进</b> &amp; {{ x }} {% y %} {_{ z }_} _x000D_"


def members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        return [(name, zf.read(name)) for name in zf.namelist()]


def assert_same_package(ours: bytes, reference: bytes) -> None:
    a, b = members(ours), members(reference)
    assert [n for n, _ in a] == [n for n, _ in b]
    for (name, mine), (_, theirs) in zip(a, b, strict=True):
        assert mine == theirs, name


def make_return(form: Form, values: dict, texts: dict, fields: dict | None = None, agency: str = "测试局") -> Return:
    inputs = {c.id: 0 for c in form.input_cells} | values
    return Return(
        path="x.xlsx",
        form=form,
        agency=agency,
        year=2024,
        fields={"date": "2025年1月20日", **(fields or {})},
        values=form.compute(inputs),
        texts=texts,
    )


def sample_return() -> Return:
    form = get_form(sample.FORM_ID)
    return make_return(form, sample.VALUES, dict(sample.TEXTS), dict(sample.FIELDS), sample.AGENCY)


def compare(ret: Return, template: Path | None = None, compiled: CompiledReport | None = None) -> CompiledReport:
    data = word_template_bytes(ret.form, template)
    context = report_context(ret)
    reference = render_docxtpl(data, context, "reference")
    if compiled is None:
        compiled = CompiledReport(data, template or ret.form.id)
        assert_same_package(compiled.render(context), reference)  # the first: parsed as docxtpl does
    assert_same_package(compiled.render(context), reference)  # then directly, where the template allows
    assert compiled.direct or template is not None  # a built-in template is rendered without a parse
    return compiled


_WARM: dict[str, CompiledReport] = {}


def warm(form: Form) -> CompiledReport:
    """A built-in template's renderer past its first report (so it renders directly)."""
    if form.id not in _WARM:
        _WARM[form.id] = compare(make_return(form, {}, {}))
    assert _WARM[form.id].direct
    return _WARM[form.id]


# ---------------------------------------------------------------- the reference is docxtpl


@pytest.mark.parametrize("form_id", FORMS)
def test_the_reference_is_what_a_plain_docxtpl_renders(form_id):
    from docxtpl import DocxTemplate

    from toolkit.reports.engine import ENV

    ret = make_return(get_form(form_id), {}, {"s1": "甲 & 乙 <丙>\n第二段"})
    tpl = DocxTemplate(io.BytesIO(word_template_bytes(ret.form)))
    tpl.render(report_context(ret), ENV, autoescape=True)
    plain = io.BytesIO()
    tpl.save(plain)
    reference = dict(members(render_docxtpl(word_template_bytes(ret.form), report_context(ret), "x")))
    assert reference["word/document.xml"] == dict(members(plain.getvalue()))["word/document.xml"]


# ---------------------------------------------------------------- built-in templates


def test_the_sample_renders_as_docxtpl_renders_it():
    compiled = compare(sample_return())
    assert compiled.direct  # the built-in template takes the path without a parse


@pytest.mark.parametrize("form_id", FORMS)
def test_empty_texts_and_missing_figures(form_id):
    form = get_form(form_id)
    ret = make_return(form, {}, {}, {"contact": "", "phone": ""}, agency="")
    ret.values.clear()  # every cell prints empty: <w:t/> where docxtpl's parse makes one
    compare(ret)


@pytest.mark.parametrize("form_id", FORMS)
def test_tricky_texts_fields_and_a_title_that_breaks(form_id):
    form = get_form(form_id)
    texts = {s.id: TRICKY + "\n\n  缩进的第二段\t制表" for s in form.text_sections}
    fields = {"contact": TRICKY, "phone": "0954-1234567\r\n转 8", "date": "2025-01-20"}
    agency = "宁夏回族自治区固原市原州区人民政府办公室&<“信息”>"
    compare(make_return(form, {}, texts, fields, agency))


def _inputs(form: Form):
    def value(cell):
        if cell.kind.type == "decimal":
            return st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False)
        return st.integers(min_value=int(cell.kind.min), max_value=min(int(cell.kind.max), 10**9))

    return st.fixed_dictionaries({}, optional={c.id: value(c) for c in form.input_cells})


_text = st.text(st.sampled_from(list("<&>\"'\n\t\r 　甲乙丙R{}%#_x0")), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), form_id=st.sampled_from(FORMS))
def test_random_returns(data, form_id):
    form = get_form(form_id)
    values = data.draw(_inputs(form))
    texts = {s.id: data.draw(_text) for s in form.text_sections}
    fields = {"contact": data.draw(_text), "phone": data.draw(_text), "date": data.draw(_text)}
    compare(make_return(form, values, texts, fields, data.draw(_text)), compiled=warm(form))


def test_decimals_print_as_before():
    form = next(get_form(f) for f in FORMS if any(c.kind.type == "decimal" for c in get_form(f).input_cells))
    cells = [c for c in form.input_cells if c.kind.type == "decimal"]
    compare(make_return(form, {c.id: Decimal("251000.500000") for c in cells}, {}))


# ---------------------------------------------------------------- a user's template


def _user_template(tmp_path: Path, form_id: str, body: list[str], header: str = "") -> Path:
    """The built-in template with paragraphs added (python-docx writes each as one run) and a header."""
    document = docx.Document(io.BytesIO(word_template_bytes(get_form(form_id))))
    for text in body:
        document.add_paragraph(text)
    if header:
        document.sections[0].header.paragraphs[0].text = header
    path = tmp_path / "mine.docx"
    document.save(path)
    return path


USER_BODY = [
    "{{ agency }}（{{ fields.contact }}）：{{ t1.rules.new if t1 is defined else '' }}",
    "{%p if texts.s1 %}",
    "有内容：{{ texts.s1 }}",
    "{%p endif %}",
    "{%p for para in texts.s1 %}",
    "第{{ loop.index }}段：{{ para|upper }}",
    "{%p endfor %}",
    "{{ '{_{' }}不是变量{{ '}_}' }} {{ title|replace('年', '年度') }}",
]


@pytest.mark.parametrize("form_id", FORMS)
def test_a_users_template_with_blocks_a_header_and_filters(tmp_path, form_id):
    path = _user_template(tmp_path, form_id, USER_BODY, header="{{ agency }} {{ year }}年报告")
    form = get_form(form_id)
    for texts in ({s.id: "一 & 二\n三 <四>" for s in form.text_sections}, {}):
        compiled = compare(make_return(form, {}, texts, {"contact": "张三 & 李四"}), path)
    assert compiled.direct
    assert any(h.template is not None for h in compiled.headers.values())


def test_a_template_the_direct_path_refuses_is_parsed_like_docxtpl(tmp_path):
    """`|e` escapes as markupsafe does, a row loop changes a table: both rendered through lxml."""
    form = get_form("gov-info-2021")
    path = _user_template(tmp_path, form.id, ["{{ agency|e }} {{ fields.contact|e }}"])
    document = docx.Document(path)
    table = document.add_table(rows=3, cols=2)
    table.cell(0, 0).text, table.cell(2, 0).text = "{%tr for para in texts.s1 %}", "{%tr endfor %}"
    table.cell(1, 0).text, table.cell(1, 1).text = "{{ loop.index }}", "{{ para }}"
    document.save(path)
    for text in ("甲 'a' \"b\"\n乙", ""):
        compiled = compare(make_return(form, {}, {"s1": text}, {"contact": 'O\'Neil & "Co"'}, "A'B"), path)
    assert compiled.shape.tables != ""


def _png() -> bytes:
    """A 1×1 PNG, for a template with a picture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    )


def test_cell_colours_spans_and_pictures_are_rendered_through_lxml(tmp_path):
    """docxtpl features that put values in attributes or renumber pictures: the parse path."""
    form = get_form("gov-info-2021")
    path = _user_template(tmp_path, form.id, ["{%p if agency == 'X' %}", "隐藏", "{%p endif %}", "{{r agency }}"])
    document = docx.Document(path)
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).text = "{% cellbg 'FF0000' %}{{ agency }}"
    table.cell(0, 1).text = "{% colspan 2 %}{{ fields.contact }}"
    table.cell(1, 0).text = "{{ t3.new.natural }}"
    document.add_picture(io.BytesIO(_png()), width=docx.shared.Cm(1))
    document.sections[0].header.paragraphs[0].add_run().add_picture(io.BytesIO(_png()), width=docx.shared.Cm(1))
    document.save(path)
    for agency in ("A&B <c>", "X", ""):
        compiled = compare(make_return(form, {}, {"s1": "a\nb"}, {"contact": 'O\'N "q"'}, agency), path)
    assert not compiled.direct


# ---------------------------------------------------------------- which renderer, and the API


def test_the_built_in_templates_get_the_compiled_renderer():
    ret = sample_return()
    data = word_template_bytes(ret.form)
    renderers._RENDERERS.pop(data, None)
    first = render_report(ret)
    renderer = renderers.renderer_for(data, ret.form.id)
    assert isinstance(renderer, renderers._Checked) and renderer.checked
    assert_same_package(first, render_docxtpl(data, report_context(ret), "x"))
    assert render_document_xml(ret) == dict(members(first))["word/document.xml"]


@pytest.mark.parametrize("form_id", FORMS)
def test_a_template_built_from_the_spec_renders_as_docxtpl_renders_it(tmp_path, form_id):
    from toolkit.reports.builder import build_template

    path = tmp_path / "built.docx"
    path.write_bytes(build_template(get_form(form_id)))
    form = get_form(form_id)
    compiled = compare(make_return(form, {}, {s.id: TRICKY for s in form.text_sections}), path)
    assert compiled.direct


def test_a_users_template_is_checked_against_docxtpl_on_its_first_report(tmp_path):
    path = _user_template(tmp_path, "gov-info-2019", ["{{ agency }}"])
    ret = sample_return()
    data = word_template_bytes(ret.form, path)
    renderers._RENDERERS.pop(data, None)
    first = render_report(ret, path)
    renderer = renderers.renderer_for(data, path)
    assert isinstance(renderer, renderers._Checked) and renderer.checked
    assert_same_package(first, render_docxtpl(data, report_context(ret), "x"))


def test_a_template_whose_first_report_differs_is_rendered_by_docxtpl(tmp_path, monkeypatch):
    path = _user_template(tmp_path, "gov-info-2019", ["{{ agency }}"])
    ret = sample_return()
    data = word_template_bytes(ret.form, path)
    renderers._RENDERERS.pop(data, None)
    monkeypatch.setattr(CompiledReport, "document_xml", lambda self, context: b"<w:document/>")
    assert_same_package(render_report(ret, path), render_docxtpl(data, report_context(ret), "x"))
    assert isinstance(renderers.renderer_for(data, path), renderers.DocxtplReport)
    renderers._RENDERERS.pop(data, None)


def test_the_package_opens_in_python_docx_with_the_returns_texts():
    ret = sample_return()
    document = docx.Document(io.BytesIO(render_report(ret)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert sample.PARAGRAPHS["s1"][0] in text
    assert document.core_properties.author == sample.AGENCY
